// Session-ticket keys for TLS resumption. A base key, rotated on a schedule
// so a stolen key decrypts at most one period of tickets (a cluster primary
// holds it and shares it with its workers), and the key a listener actually
// installs: the base key bound to the session generation (options.ts: the
// trust bundle, own certificate and key, mTLS mode, allowedPeers, trust
// domain, TLS settings). Any change of those changes the installed key, so
// no ticket issued before decrypts any more, in every worker that applied
// the same change, without a message between them. The clock and the random
// source are passed in.
import { hkdfSync, randomBytes } from 'node:crypto';

/** Node's ticketKeys: 16 bytes name, 16 bytes HMAC secret, 16 bytes AES key. */
export const TICKET_KEY_BYTES = 48;

export interface TicketKeySource {
  /** The base key in force. */
  current(): Buffer;
  /** Replaces the base key (called on schedule, or by a cluster primary that shares one key with its workers). */
  rotate(next?: Buffer): Buffer;
}

export function createTicketKeys(random: (n: number) => Buffer = randomBytes): TicketKeySource {
  let key = random(TICKET_KEY_BYTES);
  return {
    current: () => key,
    rotate: (next) => {
      key = next ?? random(TICKET_KEY_BYTES);
      return key;
    },
  };
}

/** The listener's ticket key: HKDF-SHA256 of the base key, bound to the session generation. */
export function boundTicketKey(base: Buffer, generation: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', base, 'acp-session-ticket-key', `generation:${generation}`, TICKET_KEY_BYTES),
  );
}
