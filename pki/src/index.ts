// The PKI layer: keys, a Signer for X.509 certificates, CA validation and
// PEM helpers. Shared by the identity controller and the webhook's
// serving-certificate manager.
export * from './keys.ts';
export * from './certificates.ts';
export * from './ca.ts';
export * from './pem.ts';
