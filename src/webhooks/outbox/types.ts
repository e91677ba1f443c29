/**
 * The outgoing-webhook outbox: what makes a tenant webhook durable. An event is appended (and
 * committed) before `TenantWebhookSender.enqueue` resolves; it leaves the pending set only when the
 * tenant's endpoint answered 2xx or its retries are exhausted (then it stays, marked dead, for
 * inspection and replay).
 *
 * `seq` orders a tenant's appends. Per (tenant, orderKey) the sender delivers in `seq` order, so
 * an implementation must hand out increasing `seq` in commit order within a tenant (the embedded
 * outbox's is global; the Redis outbox's is per tenant, so an entry is named by tenant and seq).
 */

export interface NewOutboxEntry {
  /** Unique id, sent as `X-Sendgate-Event-Id`: receivers dedupe on it (delivery is at-least-once). */
  eventId: string;
  tenantId: string;
  /** Events with the same (tenantId, orderKey) are delivered one at a time, in append order. */
  orderKey: string;
  /** The JSON body, serialised once at enqueue: every retry sends (and signs) the same bytes. */
  body: string;
  /**
   * What `body` is, and so how it is signed: sendgate's own event (absent, `X-Sendgate-Signature`)
   * or Meta's envelope (`meta`, `X-Hub-Signature-256`). Kept with the entry, not read from the
   * tenant's config at delivery: a format change leaves pending events consistent.
   */
  format?: OutboxFormat;
  createdAtMs: number;
}

export type OutboxFormat = 'sendgate' | 'meta';

export interface OutboxEntry extends NewOutboxEntry {
  seq: number;
  /** Failed delivery attempts so far. */
  attempts: number;
  /** Not attempted before this instant. */
  nextAttemptAtMs: number;
}

/** An entry whose retries ran out, as operators list it before a replay. */
export interface DeadEntry extends OutboxEntry {
  /** Why the last attempt failed (status or network error). */
  lastError: string | null;
}

export interface Outbox {
  /**
   * True when other processes append to the same outbox (a fleet on one Redis) and every tenant's
   * seqs are dense (n+1 follows n, no gaps): a lane then takes an offered entry directly only when
   * it follows the last one it read, and reads the outbox otherwise.
   */
  readonly sharedSeqs?: boolean;
  /**
   * Appends durably; resolves after commit with the stored entry (its `seq` assigned), or null when
   * an entry with this event id is already stored (pending or dead): nothing new is stored. Event
   * ids derived from the source event make a redelivered Meta webhook a no-op here.
   */
  append(entry: NewOutboxEntry): Promise<OutboxEntry | null>;
  /** Pending entries of one tenant with `seq > afterSeq`, in `seq` order: the sender's paged reads. */
  pending(tenantId: string, afterSeq: number, limit: number): Promise<OutboxEntry[]>;
  /**
   * Pending entries of one (tenant, orderKey) with `afterSeq < seq <= upToSeq`, in `seq` order: the
   * lane's top-up of a recipient whose events it left in the outbox (its per-recipient cap).
   */
  pendingOfKey(tenantId: string, orderKey: string, afterSeq: number, upToSeq: number, limit: number): Promise<OutboxEntry[]>;
  /** Tenants that have pending entries, and how many in all: recovery at start. */
  summary(): Promise<{ tenants: string[]; pending: number }>;
  /**
   * Records the outcome of an attempt on a pending entry (anything else is left as it is).
   * `delivered` removes the entry from the pending set.
   */
  settle(tenantId: string, seq: number, outcome: SettleOutcome): Promise<void>;
  /**
   * Gives a tenant's dead entries a new life: each becomes pending again with a new `seq` (after
   * everything already queued), 0 attempts, due at `nowMs`. Same event id. Returns them in order.
   */
  requeueDead(tenantId: string, nowMs: number): Promise<OutboxEntry[]>;
  /** A tenant's dead entries with `seq > afterSeq`, in `seq` order, at most `limit`: the operator's list. */
  dead(tenantId: string, afterSeq: number, limit: number): Promise<DeadEntry[]>;
  close(): Promise<void>;
}

export type SettleOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; attempts: number; nextAttemptAtMs: number; lastError: string }
  | { kind: 'dead'; attempts: number; lastError: string };
