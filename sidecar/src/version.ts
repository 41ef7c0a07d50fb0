// The sidecar's release, reported on the admin port (/config) so the
// operator can tell an old sidecar from the one it injects. Kept equal to
// sidecar/package.json's version (version.test.ts checks it): the image
// does not ship package.json next to the bundle.
export const SIDECAR_VERSION = '0.1.0';
