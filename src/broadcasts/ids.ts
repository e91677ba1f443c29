/** Broadcast ids: `bc_` + the same time-ordered, random 26 characters as message ids. */
import { newMessageId } from '../gateway/ids.js';

export function newBroadcastId(nowMs: number): string {
  return `bc_${newMessageId(nowMs).slice(3)}`;
}

export const BROADCAST_ID_PATTERN = /^bc_[0-9a-hjkmnp-tv-z]{26}$/;
