/**
 * The tenant outbox in Redis or a Redis Cluster, shared by every process of a fleet. Keys (all of a
 * tenant's in its slot) and their TTLs: src/store/redis/keys.ts; scripts:
 * src/store/redis/commands/outbox-*.lua, one atomic step each.
 *
 * Seqs are per tenant (its counter, incremented inside the append script), so they increase in
 * commit order and have no gaps: that is what lets a lane that delivers a tenant notice appends
 * made by other processes (`sharedSeqs`). Delivered entries are deleted; dead ones stay for
 * inspection and replay, at most `maxDeadPerTenant` per tenant and `deadRetentionMs` long.
 */
import type { RedisKeys } from '../../store/redis/keys.js';
import type { RedisWrites } from '../../store/redis/writes.js';
import type { DeadEntry, NewOutboxEntry, Outbox, OutboxEntry, SettleOutcome } from './types.js';

export interface RedisOutboxOptions {
  writes: RedisWrites;
  keys: RedisKeys;
  /** How long a dead entry is kept for replay (default 7 days). */
  deadRetentionMs?: number;
  /** Dead entries kept per tenant at most; the oldest go first (default 10 000). */
  maxDeadPerTenant?: number;
}

const DAY_MS = 86_400_000;
/** Tenants remembered as registered in `{wo}:tenants`; cleared beyond (registering again is harmless). */
const MAX_REGISTERED = 100_000;

/** seq, eventId, orderKey, body, createdAtMs, attempts, nextAttemptAtMs, format ('' for sendgate's events). */
type EntryReply = [string, string, string, string, string, string, string, string?];

export class RedisOutbox implements Outbox {
  readonly sharedSeqs = true;
  private readonly writes: RedisWrites;
  private readonly keys: RedisKeys;
  private readonly deadRetentionMs: number;
  private readonly maxDead: number;
  private readonly registered = new Set<string>();
  private closed = false;

  constructor(options: RedisOutboxOptions) {
    this.writes = options.writes;
    this.keys = options.keys;
    this.deadRetentionMs = options.deadRetentionMs ?? 7 * DAY_MS;
    this.maxDead = options.maxDeadPerTenant ?? 10_000;
  }

  async append(entry: NewOutboxEntry): Promise<OutboxEntry | null> {
    this.open();
    const { tenantId } = entry;
    // Registered first: a tenant with an entry is always found by summary(); a registration left
    // by a failed append costs one empty look-up.
    if (!this.registered.has(tenantId)) {
      await this.writes.write((p) => p.sadd(this.keys.outboxTenants(), tenantId));
      if (this.registered.size >= MAX_REGISTERED) this.registered.clear();
      this.registered.add(tenantId);
    }
    const seq = (await this.writes.script(
      'outbox-append',
      [this.keys.outboxSequence(tenantId), this.keys.outboxPending(tenantId), this.keys.outboxOrderKey(tenantId, entry.orderKey), this.keys.outboxEventId(tenantId, entry.eventId)],
      [this.keys.outboxEntryPrefix(tenantId), entry.eventId, entry.orderKey, entry.body, String(entry.createdAtMs), entry.format === 'meta' ? 'meta' : ''],
    )) as number | null;
    if (seq === null) return null;
    return { ...entry, seq, attempts: 0, nextAttemptAtMs: entry.createdAtMs };
  }

  async pending(tenantId: string, afterSeq: number, limit: number): Promise<OutboxEntry[]> {
    return this.page(tenantId, this.keys.outboxPending(tenantId), afterSeq, '+inf', limit);
  }

  async pendingOfKey(tenantId: string, orderKey: string, afterSeq: number, upToSeq: number, limit: number): Promise<OutboxEntry[]> {
    return this.page(tenantId, this.keys.outboxOrderKey(tenantId, orderKey), afterSeq, String(upToSeq), limit);
  }

  async summary(): Promise<{ tenants: string[]; pending: number }> {
    const client = this.writes.client;
    const known = await client.smembers(this.keys.outboxTenants());
    const counts = await Promise.all(known.map((tenantId) => client.zcard(this.keys.outboxPending(tenantId))));
    const tenants = known.filter((_, i) => counts[i]! > 0);
    return { tenants, pending: counts.reduce((sum, n) => sum + n, 0) };
  }

  async settle(tenantId: string, seq: number, outcome: SettleOutcome): Promise<void> {
    this.open();
    const attempts = outcome.kind === 'delivered' ? 0 : outcome.attempts;
    await this.writes.script(
      'outbox-settle',
      [this.keys.outboxEntry(tenantId, seq), this.keys.outboxPending(tenantId), this.keys.outboxDead(tenantId)],
      [
        String(seq), outcome.kind, String(attempts), outcome.kind === 'retry' ? String(outcome.nextAttemptAtMs) : '0',
        outcome.kind === 'delivered' ? '' : outcome.lastError, String(this.deadRetentionMs), String(this.maxDead),
        this.keys.outboxEntryPrefix(tenantId), this.keys.outboxOrderKeyPrefix(tenantId), this.keys.outboxEventIdPrefix(tenantId),
      ],
    );
  }

  async requeueDead(tenantId: string, nowMs: number): Promise<OutboxEntry[]> {
    this.open();
    const rows = (await this.writes.script(
      'outbox-requeue',
      [this.keys.outboxDead(tenantId), this.keys.outboxSequence(tenantId), this.keys.outboxPending(tenantId)],
      [String(nowMs), this.keys.outboxEntryPrefix(tenantId), this.keys.outboxOrderKeyPrefix(tenantId), this.keys.outboxEventIdPrefix(tenantId)],
    )) as EntryReply[];
    return rows.map((row) => toEntry(tenantId, row));
  }

  /** Plain reads (a listing, not a step of delivery): an entry that expired meanwhile is left out. */
  async dead(tenantId: string, afterSeq: number, limit: number): Promise<DeadEntry[]> {
    if (limit <= 0) return [];
    const client = this.writes.client;
    const seqs = await client.zrangebyscore(this.keys.outboxDead(tenantId), `(${afterSeq}`, '+inf', 'LIMIT', 0, limit);
    const rows = await Promise.all(seqs.map((seq) => client.hmget(this.keys.outboxEntry(tenantId, Number(seq)), 'i', 'k', 'b', 'c', 'a', 'n', 'e')));
    const out: DeadEntry[] = [];
    rows.forEach(([eventId, orderKey, body, createdAtMs, attempts, nextAttemptAtMs, lastError], i) => {
      if (eventId === null || eventId === undefined) return;
      out.push({
        ...toEntry(tenantId, [seqs[i]!, eventId, orderKey ?? '', body ?? '', createdAtMs ?? '0', attempts ?? '0', nextAttemptAtMs ?? '0']),
        lastError: lastError ?? null,
      });
    });
    return out;
  }

  /** The newest seq handed out for a tenant (0 when none): a lane compares it with what it has read. */
  async lastSeq(tenantId: string): Promise<number> {
    return Number((await this.writes.client.get(this.keys.outboxSequence(tenantId))) ?? 0);
  }

  /** How many events of a tenant are pending. */
  async pendingCount(tenantId: string): Promise<number> {
    return this.writes.client.zcard(this.keys.outboxPending(tenantId));
  }

  /** Stops accepting writes; the Redis client is its owner's to close. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private async page(tenantId: string, zset: string, afterSeq: number, upToSeq: string, limit: number): Promise<OutboxEntry[]> {
    if (limit <= 0) return [];
    const rows = (await this.writes.run('outbox-page', [zset], [String(afterSeq), upToSeq, String(limit), this.keys.outboxEntryPrefix(tenantId)])) as EntryReply[];
    return rows.map((row) => toEntry(tenantId, row));
  }

  private open(): void {
    if (this.closed) throw new Error('outbox closed');
  }
}

function toEntry(tenantId: string, [seq, eventId, orderKey, body, createdAtMs, attempts, nextAttemptAtMs, format]: EntryReply): OutboxEntry {
  const entry: OutboxEntry = {
    seq: Number(seq), eventId, tenantId, orderKey, body,
    createdAtMs: Number(createdAtMs), attempts: Number(attempts), nextAttemptAtMs: Number(nextAttemptAtMs),
  };
  if (format === 'meta') entry.format = 'meta';
  return entry;
}
