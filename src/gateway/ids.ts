/**
 * Gateway message ids: `sg_` + 10 chars of millisecond time + 16 random chars, Crockford base32.
 * Time-ordered (sorts by creation), URL-safe, 80 random bits; one randomBytes call per 256 ids
 * instead of one per id.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const POOL_BYTES = 16 * 256;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

export function newMessageId(nowMs: number): string {
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (offset + 16 > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += ALPHABET[pool[offset + i]! & 31];
  offset += 16;
  return `sg_${time}${rand}`;
}

export const MESSAGE_ID_PATTERN = /^sg_[0-9a-hjkmnp-tv-z]{26}$/;
