// Layer: peer authorization. The caller's verified SPIFFE ID (from the TLS
// layer, once per connection) must be in mtls.allowedPeers when that list
// is not empty; a caller without a certificate (Permissive mode) passes
// only when the list is empty. Otherwise 403 ACP_ERR_PEER_NOT_ALLOWED.
import { AcpError } from '@acp/crds/sidecar';
import { refuse } from '../pipeline/rescue.ts';
import type { Layer } from '../pipeline/types.ts';

export const peerLayer: Layer = (next) => (ctx) => {
  const allowed = ctx.policy.allowedPeers;
  if (allowed) {
    const id = ctx.conn.peerId;
    if (id === undefined || !allowed.has(id)) {
      refuse(
        ctx,
        new AcpError('ACP_ERR_PEER_NOT_ALLOWED', id ? `peer ${id} is not allowed` : 'no peer identity'),
      );
    }
  }
  return next(ctx);
};
