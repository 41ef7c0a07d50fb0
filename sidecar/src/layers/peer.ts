// Layer: peer authorization. The caller's verified SPIFFE ID (from the TLS
// layer, once per connection) must be in mtls.allowedPeers when that list
// is not empty; a caller without a certificate (Permissive mode) passes
// only when the list is empty. Otherwise 403 ACP_ERR_PEER_NOT_ALLOWED. The
// operator's compliance prober (mtls.probePeers) is always answered here,
// 403 ACP_ERR_PEER_IS_PROBE: its handshake is the evidence, its request
// never reaches the app, whatever allowedPeers or the mode says.
import { AcpError } from '@acp/crds/sidecar';
import { refuse } from '../pipeline/rescue.ts';
import type { Layer } from '../pipeline/types.ts';

export const peerLayer: Layer = (next) => (ctx) => {
  const id = ctx.conn.peerId;
  // Thrown, not refused: in Audit mode too the prober never reaches the app.
  if (id !== undefined && ctx.policy.probePeers.has(id))
    throw new AcpError('ACP_ERR_PEER_IS_PROBE', `peer ${id} is the compliance prober`);
  const allowed = ctx.policy.allowedPeers;
  if (allowed) {
    if (id === undefined || !allowed.has(id)) {
      refuse(
        ctx,
        new AcpError('ACP_ERR_PEER_NOT_ALLOWED', id ? `peer ${id} is not allowed` : 'no peer identity'),
      );
    }
  }
  return next(ctx);
};
