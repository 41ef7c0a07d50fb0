// Preloaded into a sidecar process (node --import) to force a weaker TLS
// setting than its config says, as a tampered or badly built image would:
// every TLS context also accepts TLS 1.0/1.1 and one CBC suite. The config
// the sidecar reports (and its hash) is untouched: only a measurement can
// tell. Test-only.
import { syncBuiltinESMExports } from 'node:module';
import tls, { type SecureContextOptions } from 'node:tls';

const original = tls.createSecureContext.bind(tls);
tls.createSecureContext = (o: SecureContextOptions = {}) =>
  original({
    ...o,
    minVersion: 'TLSv1',
    ciphers: `${o.ciphers ?? ''}:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0`,
  });
syncBuiltinESMExports();
