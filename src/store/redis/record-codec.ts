/**
 * A message record as a Redis hash: one field per MessageRecord field (numbers as decimal text,
 * `lastError` as JSON, a null field absent), plus `seq`, the 16-digit arrival number the queue's
 * members start with. And the field changes each transition makes, mirroring the embedded store's
 * UPDATE statements (src/store/embedded/statements.ts).
 */
import type { MessageRecord, MessageState, PageCursor, Priority, RecordedError, Transition } from '../types.js';

/** Width of the zero-padded arrival number (queue members: `<seq>:<id>`). */
export const SEQ_DIGITS = 16;

export function seqText(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** Field/value pairs of a new record (nulls omitted). */
export function newRecordFields(r: MessageRecord): string[] {
  const fields = [
    'id', r.id, 'tenantId', r.tenantId, 'phoneNumberId', r.phoneNumberId, 'to', r.to, 'toInput', r.toInput,
    'body', r.body, 'priority', String(r.priority), 'createdAtMs', String(r.createdAtMs),
    'deadlineAtMs', String(r.deadlineAtMs), 'state', r.state, 'attempts', String(r.attempts),
    'notBeforeMs', String(r.notBeforeMs), 'updatedAtMs', String(r.updatedAtMs),
  ];
  if (r.idempotencyKey !== null) fields.push('idempotencyKey', r.idempotencyKey);
  if (r.bodyHash !== null) fields.push('bodyHash', r.bodyHash);
  return fields;
}

/** The body hash as the idempotency entry stores it: null and '' must stay apart. */
export function storedBodyHash(hash: string | null): string {
  return hash === null ? '-' : `h${hash}`;
}

export function bodyHashFromStored(stored: string): string | null {
  return stored === '-' ? null : stored.slice(1);
}

export interface DecodedRecord {
  record: MessageRecord;
  cursor: PageCursor;
}

const numberOrNull = (v: string | undefined): number | null => (v === undefined ? null : Number(v));

/** A record from the flat field/value array HGETALL returns inside a script. */
export function decodeRecord(flat: readonly string[]): DecodedRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  const record: MessageRecord = {
    id: f.id!,
    tenantId: f.tenantId!,
    phoneNumberId: f.phoneNumberId!,
    to: f.to!,
    toInput: f.toInput!,
    body: f.body!,
    priority: Number(f.priority) as Priority,
    createdAtMs: Number(f.createdAtMs),
    deadlineAtMs: Number(f.deadlineAtMs),
    idempotencyKey: f.idempotencyKey ?? null,
    bodyHash: f.bodyHash ?? null,
    state: f.state as MessageState,
    attempts: Number(f.attempts),
    notBeforeMs: Number(f.notBeforeMs),
    wamid: f.wamid ?? null,
    lastError: f.lastError === undefined ? null : (JSON.parse(f.lastError) as RecordedError),
    updatedAtMs: Number(f.updatedAtMs),
    sentAtMs: numberOrNull(f.sentAtMs),
    deliveredAtMs: numberOrNull(f.deliveredAtMs),
    readAtMs: numberOrNull(f.readAtMs),
    ...(f.throttled !== undefined && Number(f.throttled) > 0 ? { throttled: Number(f.throttled) } : {}),
  };
  return { record, cursor: { notBeforeMs: record.notBeforeMs, seq: Number(f.seq) } };
}

/** What a transition does to the record's fields and to its number's queue. */
export interface TransitionEffect {
  set: string[];
  unset: string[];
  /** 'owe': leaves the queue, and its tenant event is owed (unsent endings: src/gateway/message-ended.ts). */
  queue: 'stay' | 'requeue' | 'leave' | 'owe';
}

export function transitionEffect(change: Transition): TransitionEffect {
  const at = String(change.atMs);
  switch (change.state) {
    case 'sending':
      return { set: ['attempts', String(change.attempts), 'updatedAtMs', at], unset: [], queue: 'stay' };
    case 'queued': {
      const set = ['notBeforeMs', String(change.notBeforeMs), 'updatedAtMs', at];
      if (change.throttled !== undefined) set.push('throttled', String(change.throttled));
      if (change.lastError === null) return { set, unset: ['lastError'], queue: 'requeue' };
      return { set: [...set, 'lastError', JSON.stringify(change.lastError)], unset: [], queue: 'requeue' };
    }
    case 'sent':
      return { set: ['wamid', change.wamid, 'sentAtMs', at, 'updatedAtMs', at], unset: [], queue: 'leave' };
    case 'delivered':
      return { set: ['deliveredAtMs', at, 'updatedAtMs', at], unset: [], queue: 'stay' };
    case 'read':
      return { set: ['readAtMs', at, 'updatedAtMs', at], unset: [], queue: 'stay' };
    case 'failed':
      return { set: ['lastError', JSON.stringify(change.lastError), 'updatedAtMs', at], unset: [], queue: 'owe' };
    case 'expired':
    case 'rejected': {
      const set = ['updatedAtMs', at];
      // Like the embedded store's COALESCE: an absent error keeps the one recorded before.
      if (change.lastError !== undefined) set.push('lastError', JSON.stringify(change.lastError));
      return { set, unset: [], queue: 'owe' };
    }
  }
}
