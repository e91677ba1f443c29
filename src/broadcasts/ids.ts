/** Broadcast ids: `bc_` + the same time-ordered, random 26 characters as message ids. */
import { newMessageId } from '../gateway/ids.js';

export function newBroadcastId(nowMs: number): string {
  return `bc_${newMessageId(nowMs).slice(3)}`;
}

export const BROADCAST_ID_PATTERN = /^bc_[0-9a-hjkmnp-tv-z]{26}$/;

/**
 * A broadcast's message is stored with the idempotency key `broadcast <id> <idx>` (a space: no
 * client key can take it), so a chunk admitted again finds its messages as duplicates.
 */
const KEY_PREFIX = 'broadcast ';

export function broadcastMessageKey(broadcastId: string, idx: number): string {
  return `${KEY_PREFIX}${broadcastId} ${idx}`;
}

/** The broadcast a message belongs to, from its idempotency key (null: not a broadcast's). */
export function broadcastOfKey(key: string | null | undefined): string | null {
  if (key == null || !key.startsWith(KEY_PREFIX)) return null;
  return key.slice(KEY_PREFIX.length, key.indexOf(' ', KEY_PREFIX.length));
}
