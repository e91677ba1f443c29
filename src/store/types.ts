/**
 * The storage seam. The gateway talks to storage only through these interfaces; the embedded
 * (SQLite) implementation and the Redis implementation both satisfy them and both must pass
 * test/store/conformance.ts.
 *
 * Durability contract: every method that returns a Promise resolves only once its effect is
 * committed (it survives kill -9 of the process). Implementations may batch many calls into one
 * commit (group commit); callers must not assume ordering across different messages.
 */
import type { OperatorRecords } from './ended.js';

export type MessageState = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'expired' | 'rejected';

/** States after which the gateway will never send the message again. */
export const FINAL_STATES: ReadonlySet<MessageState> = new Set(['sent', 'delivered', 'read', 'failed', 'expired', 'rejected']);

/** Lane priority: lower goes first. Authentication/utility templates before marketing and the rest. */
export type Priority = 0 | 1;

/** An upstream (or gateway) error kept on the record for the status API. */
export interface RecordedError {
  code: number;
  title: string;
  details: string;
  /** HTTP status of the upstream answer, 0 for network errors. */
  httpStatus: number;
}

export interface NewMessage {
  /** Gateway message id, assigned at ingress (URL-safe, unique). */
  id: string;
  tenantId: string;
  phoneNumberId: string;
  /** Recipient as E.164 digits, no `+`. */
  to: string;
  /** Recipient exactly as the client sent it (echoed in `contacts[].input`). */
  toInput: string;
  /** The Cloud API request body to send upstream, as JSON text. */
  body: string;
  priority: Priority;
  createdAtMs: number;
  /** Never sent after this instant; expired instead. */
  deadlineAtMs: number;
  /** Client `Idempotency-Key`, scoped to the tenant. */
  idempotencyKey: string | null;
  /** Hash of the request body, compared when an idempotency key is reused. */
  bodyHash: string | null;
}

export interface MessageRecord extends NewMessage {
  state: MessageState;
  attempts: number;
  /**
   * Of `attempts`, those answered with a throttling or pausing code (130429, 131056, rate limits,
   * maintenance...): they do not count against maxAttempts, also after a restart. Absent: none.
   */
  throttled?: number;
  /** Earliest instant of the next attempt (retry backoff). */
  notBeforeMs: number;
  wamid: string | null;
  lastError: RecordedError | null;
  updatedAtMs: number;
  sentAtMs: number | null;
  deliveredAtMs: number | null;
  readAtMs: number | null;
}

export type EnqueueOutcome =
  | { kind: 'created'; record: MessageRecord }
  /** Same idempotency key, same body: the message stored earlier. Nothing new is stored. */
  | { kind: 'duplicate'; record: MessageRecord }
  /** Same idempotency key, different body. Nothing is stored. */
  | { kind: 'conflict' };

/**
 * A fleet member's claim on a message's number (distributed mode): the `sending` applies only
 * while the number's lease still carries `token`, and notes the recipient among the number's
 * recent departures for `departuresKeepMs` so the next holder keeps the pair rate. The embedded
 * store has one process and no leases: it ignores the fence.
 */
export interface Fence {
  token: number;
  departuresKeepMs: number;
}

/** A state change. Only the fields named for that state are touched. */
export type Transition =
  | { state: 'sending'; attempts: number; atMs: number; fence?: Fence }
  | { state: 'queued'; notBeforeMs: number; lastError: RecordedError | null; atMs: number; throttled?: number; fence?: Fence }
  | { state: 'sent'; wamid: string; atMs: number }
  | { state: 'delivered' | 'read'; atMs: number }
  | { state: 'failed'; lastError: RecordedError; atMs: number }
  | { state: 'expired'; atMs: number; lastError?: RecordedError }
  /** `unsent`: only from `queued` (withdrawn before it left; one committed `sending` may be on its way and is left alone). */
  | { state: 'rejected'; atMs: number; lastError?: RecordedError; unsent?: boolean };

/** Where a page of one number's messages of one priority ended, in service order (due time, then arrival). */
export interface PageCursor {
  notBeforeMs: number;
  /** Arrival order in the store (its insertion sequence). */
  seq: number;
}

export interface QueuePageQuery {
  phoneNumberId: string;
  priority: Priority;
  /** Only messages after this point (null: from the first). */
  after: PageCursor | null;
  /** Only messages due by then (`notBeforeMs <= dueByMs`). */
  dueByMs: number;
  limit: number;
}

export interface QueuePage {
  /** Unfinished (`queued` or `sending`) messages, in service order. */
  records: MessageRecord[];
  /** Where the last record stands (the next page's `after`); null when `records` is empty. */
  last: PageCursor | null;
  /** Earliest due time after `dueByMs` among the number's unfinished messages of that priority; null: none. */
  nextDueMs: number | null;
}

/** How many unfinished messages a number has (boot: which lanes have work). */
export interface QueueCount {
  phoneNumberId: string;
  count: number;
}

/**
 * The durable queue: what ingress writes and what the dispatcher pages back. The store is the
 * queue: lanes keep only a window of it in memory (src/dispatch/paging.ts).
 */
export interface MessageQueue {
  /** Stores the message durably (or finds the idempotent twin). Resolves after commit. */
  enqueue(message: NewMessage): Promise<EnqueueOutcome>;
  /** Per number, how many messages are unfinished (`queued` or `sending`). Boot reads this, not the messages. */
  queueCounts(): Promise<QueueCount[]>;
  /** The next page of a number's unfinished messages of one priority that are due, in service order. */
  queuePage(query: QueuePageQuery): Promise<QueuePage>;
  /** Every unfinished message, oldest first. Loads the whole backlog: tools and tests only, never boot. */
  unfinished(): Promise<MessageRecord[]>;
  /**
   * Per number and recipient, the latest departure (its `sent` commit, or the failure of an attempted
   * message) at or after `sinceMs`; messages still in flight are not counted (their retry follows
   * them). Boot holds those recipients for the rest of their pair interval, as a new fleet owner
   * does (Redis keeps its own per-number list: `Fence.departuresKeepMs`).
   */
  departuresSince?(sinceMs: number): Promise<Departure[]>;
}

/** A recipient a number sent to, and when (ms). */
export interface Departure {
  phoneNumberId: string;
  to: string;
  atMs: number;
}

/** Records: the status API and the dispatcher's state changes. */
export interface MessageRecords {
  get(tenantId: string, id: string): Promise<MessageRecord | null>;
  /**
   * The message an idempotency key (still honoured) was first used for, with that request's body
   * hash; null when the key is unknown or expired. Lets ingress answer a retry as the original
   * even when a check (deadline, policy) would now refuse a new message.
   */
  findByIdempotencyKey(tenantId: string, key: string): Promise<{ record: MessageRecord; bodyHash: string | null } | null>;
  findByWamid(wamid: string): Promise<MessageRecord | null>;
  /**
   * Applies a transition durably. Unknown ids are ignored (returns false); so is a change the
   * ordering rules refuse (src/store/transitions.ts: never backwards, final stays final).
   */
  transition(id: string, change: Transition): Promise<boolean>;
}

/**
 * A message that ends unsent (failed, expired, rejected) owes its tenant an event. The store notes
 * the debt in the commit of the final state; src/gateway/message-ended.ts pays it into the webhook
 * outbox and settles it, and pays at boot (and now and then) what a crash or a failed write left.
 */
export interface OwedEndings {
  /** Ids of a tenant's messages whose ending is owed since before `beforeMs`, at most `limit`. */
  owedEndings(tenantId: string, beforeMs: number, limit: number): Promise<string[]>;
  /** The event is in the outbox: the debt is gone. */
  endingSettled(tenantId: string, id: string): Promise<void>;
}

/** One piece of durable control state under its key (keys: src/dispatch/control-state.ts). */
export interface ControlEntry {
  key: string;
  value: unknown;
  updatedAtMs: number;
}

/** Control state: what steers a number besides its messages, kept across restarts. */
export interface ControlStateStore {
  /** Every entry, read at boot before the first departure. */
  controlEntries(): Promise<ControlEntry[]>;
  /** Replaces one entry durably; `null` deletes it. Resolves after commit. */
  putControl(key: string, value: unknown): Promise<void>;
}

export interface Store extends MessageQueue, MessageRecords, ControlStateStore, OperatorRecords, Partial<OwedEndings> {
  readonly kind: 'embedded' | 'redis';
  /** True while the store can commit. Drives /readyz and the 503 on ingress. */
  healthy(): boolean;
  /** Flushes pending commits and releases files/connections. */
  close(): Promise<void>;
}
