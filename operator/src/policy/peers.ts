// Peer identities of a policy ({namespace, serviceAccount} or {spiffeId})
// as the full SPIFFE IDs the sidecar compares, in the mesh's trust domain.
// Pure.
import { spiffeId, type PeerSpec } from '@acp/crds';

/** The SPIFFE ID of a peer: spiffeId as written, or built from namespace and serviceAccount. */
export function peerSpiffeId(peer: PeerSpec, trustDomain: string): string {
  if (peer.spiffeId !== undefined) return peer.spiffeId;
  return spiffeId(trustDomain, peer.namespace ?? '', peer.serviceAccount ?? '');
}

/** SPIFFE IDs of a list of peers, first occurrence kept (the config holds a set). */
export function peerSpiffeIds(peers: readonly PeerSpec[] | undefined, trustDomain: string): string[] {
  return [...new Set((peers ?? []).map((p) => peerSpiffeId(p, trustDomain)))];
}
