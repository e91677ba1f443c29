/**
 * The broadcast store: the seam between the service and where broadcasts are kept. Two backends,
 * picked with the storage (index.ts): SQLite `broadcasts.db` (sqlite-store.ts, one process) and
 * Redis (redis-store.ts, a fleet: every key in the tenant's slot, each chunk's commit one script).
 *
 * Counts: a method given a `counts` object leaves in it the broadcast's counts as stored after the
 * change (SQLite moves them itself; Redis answers them from the script, where any process may have
 * moved them). A recipient moves out of `pending` once, and an admitted one out of `queued` once,
 * however often a chunk or an end is committed again.
 */
import { STATUS_NAMES, type BroadcastRecord, type BroadcastState, type RecipientStatusName, type StoredRecipient } from './types.js';

/** A list read once, synchronously (a request's JSON) or not (an upload's rows in Redis). */
export type Rows<T> = Iterable<T> | AsyncIterable<T>;

/** A page of broadcasts for operators (GET /admin/broadcasts). */
export interface BroadcastListQuery {
  state?: BroadcastState;
  tenantId?: string;
  limit: number;
  /** Only broadcasts with an id below this one (older). */
  before?: string;
}

/** A chunk's outcome, committed at once with the cursor. */
export interface AdmittedChunk {
  tenantId: string;
  broadcastId: string;
  cursor: number;
  /** idx → message id of recipients whose message is stored (queued, or already further). */
  queued: Array<{ idx: number; messageId: string }>;
  /** idx of recipients a policy refused at admission (ended `rejected`, no message stored). */
  rejected: number[];
}

/** A message of some broadcast that ended (its recipient's status moves once). */
export interface MessageEnd {
  tenantId: string;
  messageId: string;
  status: RecipientStatusName;
}

/** An admitted recipient whose message has not ended. */
export interface QueuedRecipient {
  idx: number;
  messageId: string;
  to: string;
}

export interface UploadRow {
  toInput: string;
  components: string | null;
}

export interface BroadcastStore {
  /**
   * Stores a broadcast and its sendable recipients; it is answered (and found by get, active,
   * list) only once the last of them is durable. Returns the existing broadcast when the
   * idempotency key was taken (possibly still `creating`).
   */
  create(record: BroadcastRecord, recipients: Rows<StoredRecipient>): Promise<BroadcastRecord>;
  /** Boot: broadcasts whose create never finished go (Redis: they expire by themselves). */
  dropCreating(): Promise<number>;
  /** Retention: broadcasts ended before `beforeMs` go with their recipients; how many went (0: none left). */
  purgeEnded(beforeMs: number): Promise<number>;
  get(tenantId: string, id: string): Promise<BroadcastRecord | null>;
  byKey(tenantId: string, key: string): Promise<BroadcastRecord | null>;
  /** Broadcasts not yet ended (scheduled, running). */
  active(): Promise<BroadcastRecord[]>;
  /** Cancelled broadcasts whose messages could still leave (before their deadline, some queued). */
  draining(nowMs: number): Promise<BroadcastRecord[]>;
  /** Newest first, `limit` at most after the id `before`; `next`: this page's last id when more may follow. */
  list(query: BroadcastListQuery): Promise<{ records: BroadcastRecord[]; next: string | null }>;
  /** The next `limit` recipients from `fromIdx` on, in order. */
  page(tenantId: string, broadcastId: string, fromIdx: number, limit: number): Promise<StoredRecipient[]>;
  /** Admitted recipients whose message has not ended, after `afterIdx`, in order. */
  queuedOf(tenantId: string, broadcastId: string, afterIdx: number, limit: number): Promise<QueuedRecipient[]>;
  /**
   * A chunk admitted into the queue: its recipients, the cursor (only ever forward) and the counts
   * at once. False, and nothing changed, when the broadcast is no longer running (cancelled
   * elsewhere): the caller's `state` is then stale. Once the deadline expired the pending
   * recipients a chunk moves nothing (Redis answers false too: a former owner's chunk, late).
   */
  commitChunk(chunk: AdmittedChunk, counts: Record<RecipientStatusName, number>, waiting: boolean): Promise<boolean>;
  /**
   * Messages that ended: each admitted recipient moves once, its broadcast's counts with it (a
   * cancelled broadcast's rejected message counts `cancelled`). Ids of other messages match
   * nothing. `countsOf`: the in-memory counts to leave the stored ones in. Returns the broadcasts touched.
   */
  endMessages(ends: readonly MessageEnd[], countsOf: (broadcastId: string) => Record<RecipientStatusName, number> | undefined): Promise<Set<string>>;
  /** scheduled → running (no change from any other state). */
  startRun(tenantId: string, broadcastId: string): Promise<void>;
  /** The deadline passed: recipients not yet admitted end `expired`; the cursor goes to the end. */
  expirePending(tenantId: string, broadcastId: string, total: number, counts: Record<RecipientStatusName, number>): Promise<void>;
  /**
   * Ends a broadcast durably: its pending recipients take `pendingAs`, the counts are stored. Only
   * from scheduled or running: false when it had ended already (`counts` then hold the stored ones).
   */
  end(tenantId: string, broadcastId: string, state: BroadcastState, atMs: number, counts: Record<RecipientStatusName, number>, pendingAs: RecipientStatusName | null): Promise<boolean>;
  /** The broadcast's state as stored now (the departure check of a fleet), null when unknown. */
  stateOf(tenantId: string, broadcastId: string): Promise<BroadcastState | null>;

  /** Stores rows of an upload (the caller streams chunks). */
  appendUpload(tenantId: string, uploadId: string, firstSeq: number, rows: readonly UploadRow[]): Promise<void>;
  /** Marks an upload complete (only complete uploads can be referenced). */
  finishUpload(uploadId: string, tenantId: string, count: number, atMs: number): Promise<void>;
  upload(tenantId: string, uploadId: string): Promise<{ id: string; count: number } | null>;
  /** An upload's rows in order, read as needed. */
  uploadRows(tenantId: string, uploadId: string): Rows<UploadRow>;
  dropUpload(tenantId: string, uploadId: string): Promise<void>;
  /** Drops uploads made before `beforeMs` (Redis: they expire by themselves). */
  dropOldUploads(beforeMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Counts by recipient status: every status named, zeros included. */
export function emptyCounts(): Record<RecipientStatusName, number> {
  const counts = {} as Record<RecipientStatusName, number>;
  for (const name of STATUS_NAMES) counts[name] = 0;
  return counts;
}

/** A list in arrays of `size` (the last shorter), read either way; sync lists without a promise per row. */
export async function* batchesOf<T>(rows: Rows<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  if (Symbol.iterator in rows) {
    for (const row of rows) {
      batch.push(row);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  } else {
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}
