/**
 * Messages that ended unsent, as an operator sees them: listed newest first a page at a time
 * (`GET /admin/messages`), and put back in their number's queue (`POST /admin/messages/{id}/requeue`).
 * Both stores implement `OperatorRecords` and order a listing the same way, by one cursor format.
 *
 * Order: last change newest first, then arrival (the store's seq) newest first. The cursor names
 * the last record of a page: `<inverted ms, 15 digits>:<inverted seq, 15 digits>:<id>`. Sorting those
 * strings ascending gives exactly that order, so the Redis store keeps them as zset members (read
 * with ZRANGEBYLEX) and the embedded store turns them back into its columns.
 */
import type { MessageRecord } from './types.js';

/** The states an operator lists and requeues: the upstream refused (failed) or the deadline passed (expired). */
export type EndedState = 'failed' | 'expired';
export const ENDED_STATES: readonly EndedState[] = ['failed', 'expired'];

export interface EndedQuery {
  state: EndedState;
  tenantId?: string;
  phoneNumberId?: string;
  /** Records per page (the route bounds it). */
  limit: number;
  /** The previous page's `next`; null for the first page. */
  after: string | null;
}

export interface EndedPage {
  records: MessageRecord[];
  /** Cursor of the next page; null when this page is the last. */
  next: string | null;
}

export interface RequeueChange {
  /** When the requeue happens: the message is due then. */
  atMs: number;
  /** The fresh deadline. */
  deadlineAtMs: number;
}

/** What an operator does with records beside the dispatcher's transitions. */
export interface OperatorRecords {
  /** Records in `query.state`, newest change first, one page. */
  listEnded(query: EndedQuery): Promise<EndedPage>;
  /**
   * A failed or expired message back to `queued`: 0 attempts (and throttled), due at
   * `atMs`, a fresh deadline; its last error is kept for the record. Null when the message is
   * unknown or not failed/expired (nothing changes). In a fleet the number's owner is woken.
   */
  requeue(id: string, change: RequeueChange): Promise<MessageRecord | null>;
}

/**
 * Inverted time and seq: later ones give smaller numbers, so ascending order is newest first.
 * Below 2^53, so Lua (doubles) computes the same digits (transition-5.lua, requeue-4.lua).
 */
const INVERT_FROM = 999_999_999_999_999;
const CURSOR = /^(\d{15}):(\d{15}):([A-Za-z0-9_-]{1,128})$/;

const inverted = (n: number): string => String(INVERT_FROM - n).padStart(15, '0');

export function endedCursor(updatedAtMs: number, seq: number, id: string): string {
  return `${inverted(updatedAtMs)}:${inverted(seq)}:${id}`;
}

export interface DecodedCursor {
  updatedAtMs: number;
  seq: number;
  id: string;
}

/** The cursor's parts, or null when it is not one this store handed out. */
export function decodeEndedCursor(cursor: string): DecodedCursor | null {
  const m = CURSOR.exec(cursor);
  if (m === null) return null;
  return { updatedAtMs: INVERT_FROM - Number(m[1]), seq: INVERT_FROM - Number(m[2]), id: m[3]! };
}

export function isEndedCursor(cursor: string): boolean {
  return CURSOR.test(cursor);
}
