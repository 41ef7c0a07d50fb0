// The sidecar's release, reported on the admin port (/config) so the
// operator can tell an old sidecar from the one it injects. Defined once in
// @acp/crds (SIDECAR_RELEASE, which the operator expects) and kept equal to
// sidecar/package.json's version (version.test.ts checks it): the image
// does not ship package.json next to the bundle.
import { SIDECAR_RELEASE } from '@acp/crds/sidecar';

export const SIDECAR_VERSION: string = SIDECAR_RELEASE;
