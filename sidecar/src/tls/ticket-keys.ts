// Session-ticket keys for TLS resumption, rotated on a schedule so a
// stolen key decrypts at most one period of tickets. Holds the current
// 48-byte key and tells a listener when to install a new one. The clock and
// the random source are passed in.
import { randomBytes } from 'node:crypto';

export interface TicketKeySource {
  /** The key in force. */
  current(): Buffer;
  /** Replaces the key (called on schedule, or by a cluster primary that shares one key with its workers). */
  rotate(next?: Buffer): Buffer;
}

export function createTicketKeys(random: (n: number) => Buffer = randomBytes): TicketKeySource {
  let key = random(48);
  return {
    current: () => key,
    rotate: (next) => {
      key = next ?? random(48);
      return key;
    },
  };
}
