/**
 * The Redis Store: message records, per-number queues, idempotency keys and control state in Redis
 * or a Redis Cluster (key layout and slots: keys.ts; scripts: commands/). Every write is one
 * script or one command, so a resolved promise means Redis has applied it; with `appendfsync
 * always` (checked at open, durability.ts) it is on disk too.
 *
 * Times in scripts come from the injected clock (ARGV), never from Redis: idempotency and paging
 * behave the same under a test clock. Real TTLs only bound memory.
 */
import { Cluster, type ChainableCommander } from 'ioredis';
import type { Clock } from '../../clock.js';
import type { EndedPage, EndedQuery, RequeueChange } from '../ended.js';
import { storageUnavailable, storeClosed } from '../errors.js';
import { allowedFrom, initialRecord } from '../transitions.js';
import type {
  ControlEntry, EnqueueOutcome, MessageRecord, NewMessage, Priority, QueueCount, QueuePage, QueuePageQuery, Store, Transition,
} from '../types.js';
import { FINAL_STATES } from '../types.js';
import type { RedisClient, ScriptRunner } from './commands.js';
import { connectRedis, masters, type RedisTarget } from './connection.js';
import { checkDurability, type RedisDurability } from './durability.js';
import { RedisKeys } from './keys.js';
import { RedisWrites } from './writes.js';
import { bodyHashFromStored, decodeRecord, newRecordFields, seqText, storedBodyHash, transitionEffect, type DecodedRecord } from './record-codec.js';

/** Idempotency keys are honoured this long (the contract's "at least 24 h"), as in the embedded store. */
export const IDEMPOTENCY_MAX_MS = 48 * 3_600_000;
const DAY_MS = 86_400_000;
/** close() waits this long for QUIT before dropping the connection. */
const QUIT_WITHIN_MS = 1_000;
/** About a window's worth of messages per lane for a few hundred lanes; ~100 bytes each. */
const INDEX_CACHE_ENTRIES = 50_000;
const PRIORITIES: readonly Priority[] = [0, 1];
/** Recent departures kept per number for a handover (pair rate): at most this many recipients. */
const DEPARTURES_KEPT = 10_000;
/** The rule of each target state as the transition script reads it: `,from1,from2,`. */
const ALLOWED_FROM = new Map(
  (['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'expired', 'rejected'] as const).map((s) => [s, `,${allowedFrom(s).join(',')},`]),
);

export interface RedisStoreOptions {
  target: RedisTarget;
  clock: Clock;
  /** Prefix of every key (keys.ts); separates deployments sharing a Redis. Default `sendgate`. */
  prefix?: string;
  /**
   * Default 'fsync': refuse to open unless every master runs `appendonly yes` + `appendfsync always`.
   * `{ replicas, timeoutMs }`: every write waits (WAIT) for that many replicas instead.
   */
  durability?: RedisDurability;
  /** Final records are deleted (Redis TTL) this long after their last change (default 30 days). */
  finalRetentionMs?: number;
  /** A command unanswered this long fails with STORAGE_UNAVAILABLE (default 10 s). */
  commandTimeoutMs?: number;
  /** Hears about a lost connection (once per outage); the gateway logs it. */
  onError?: (err: unknown, what: string) => void;
  /**
   * A fleet member's id: each stored message is published on the wake channel (keys.ts) with it,
   * so the number's owner, wherever it runs, pages the message in. Absent: nothing is published.
   */
  wakeOrigin?: string;
}

/** What the enqueue script publishes: who stored a message for which number, priority and due time. */
export interface WakeNotice {
  origin: string;
  tenantId: string;
  phoneNumberId: string;
  priority: Priority;
  notBeforeMs: number;
}

export function encodeWake(w: WakeNotice): string {
  return `${w.origin}\n${w.tenantId}\n${w.phoneNumberId}\n${w.priority}\n${w.notBeforeMs}`;
}

export function decodeWake(text: string): WakeNotice | null {
  const parts = text.split('\n');
  if (parts.length !== 5) return null;
  const [origin, tenantId, phoneNumberId, priority, notBeforeMs] = parts as [string, string, string, string, string];
  return { origin, tenantId, phoneNumberId, priority: priority === '0' ? 0 : 1, notBeforeMs: Number(notBeforeMs) };
}

interface MessageIndex {
  tenantId: string;
  phoneNumberId: string;
  priority: Priority;
}

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly keys: RedisKeys;
  readonly run: ScriptRunner;
  private readonly wakeOrigin: string | null;
  /** Commands reach one server over one connection, in the order issued (no Cluster, no pipeline + WAIT). */
  private readonly ordered: boolean;
  private readonly finalRetentionMs: number;
  /** Every write, with the deployment's durability; the fleet's other Redis seams share it. */
  readonly writes: RedisWrites;
  /** Number → tenant as registered in `{g}:numbers` (bounded by the configured numbers). */
  private readonly numberTenants = new Map<string, string>();
  /**
   * Recent id → index entries (immutable once written), so a dispatcher's transitions skip the
   * index read: insertion order, the oldest dropped beyond INDEX_CACHE_ENTRIES.
   */
  private readonly indexCache = new Map<string, MessageIndex>();
  /** Operations in flight; close() waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per message id, the tail of its transitions still running (entries leave when it settles). */
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  /** The connection, shared by the fleet's other Redis seams (one connection per process). */
  private constructor(readonly client: RedisClient, private readonly clock: Clock, options: RedisStoreOptions) {
    this.keys = new RedisKeys(options.prefix ?? 'sendgate');
    this.wakeOrigin = options.wakeOrigin ?? null;
    this.finalRetentionMs = options.finalRetentionMs ?? 30 * DAY_MS;
    const durability = options.durability ?? 'fsync';
    this.writes = new RedisWrites(client, typeof durability === 'object' ? durability : null);
    this.run = this.writes.run;
    this.ordered = !(client instanceof Cluster) && this.writes.replicas === null;
  }

  /** Connects, checks durability, and resolves with a ready store (or rejects with why not). */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const client = await connectRedis(options.target, options.onError, options.commandTimeoutMs);
    try {
      await checkDurability(masters(client), options.durability ?? 'fsync');
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return new RedisStore(client, options.clock, options);
  }

  healthy(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  enqueue(message: NewMessage): Promise<EnqueueOutcome> {
    return this.op(async () => {
      const nowMs = this.clock.nowMs();
      const record = initialRecord(message);
      const { tenantId, id } = message;
      // The id index and the number's registration first: a record is never stored that a lookup
      // by id or the boot count could miss. A leftover index (duplicate, failed script) is harmless.
      const indexTtlMs = Math.max(0, message.deadlineAtMs - nowMs) + this.finalRetentionMs + DAY_MS;
      const indexed = Promise.all([
        this.write((p) => p.set(this.keys.messageIndex(id), `${tenantId}\n${message.phoneNumberId}\n${message.priority}`, 'PX', indexTtlMs)),
        this.register(message.phoneNumberId, tenantId),
      ]);
      // One server runs one connection's commands in order: the script may follow in the same
      // round trip (one fsync wait per send instead of two: bench/macro/fleet ingress). A Cluster
      // may put them on different nodes, so there the index is confirmed first.
      if (this.ordered) indexed.catch(() => undefined);
      else await indexed;
      const hasKey = message.idempotencyKey !== null;
      const recordKey = this.keys.record(tenantId, id);
      const [reply] = (await this.write((p) => this.run(
        'enqueue',
        [
          recordKey,
          hasKey ? this.keys.idempotency(tenantId, message.idempotencyKey!) : recordKey,
          this.keys.queue(tenantId, message.phoneNumberId, message.priority),
          this.keys.sequence(tenantId),
        ],
        [
          String(nowMs), String(IDEMPOTENCY_MAX_MS), String(IDEMPOTENCY_MAX_MS), hasKey ? '1' : '0',
          this.keys.recordPrefix(tenantId), storedBodyHash(message.bodyHash), String(record.notBeforeMs), id,
          this.wakeOrigin === null ? '' : this.keys.wakeChannel(),
          this.wakeOrigin === null ? '' : encodeWake({
            origin: this.wakeOrigin, tenantId, phoneNumberId: message.phoneNumberId, priority: message.priority, notBeforeMs: record.notBeforeMs,
          }),
          ...newRecordFields(record),
        ],
        p,
      ))) as [[string, unknown?]];
      if (this.ordered) await indexed;
      switch (reply[0]) {
        case 'created':
          this.remember(id, { tenantId, phoneNumberId: message.phoneNumberId, priority: message.priority });
          return { kind: 'created', record };
        case 'duplicate': return { kind: 'duplicate', record: decodeRecord(reply[1] as string[]).record };
        default: return { kind: 'conflict' };
      }
    });
  }

  findByIdempotencyKey(tenantId: string, key: string): Promise<{ record: MessageRecord; bodyHash: string | null } | null> {
    return this.op(async () => {
      const reply = (await this.run(
        'idempotent',
        [this.keys.idempotency(tenantId, key)],
        [String(this.clock.nowMs()), String(IDEMPOTENCY_MAX_MS), this.keys.recordPrefix(tenantId)],
      )) as [string, string[]] | null;
      return reply === null ? null : { record: decodeRecord(reply[1]).record, bodyHash: bodyHashFromStored(reply[0]) };
    });
  }

  transition(id: string, change: Transition): Promise<boolean> {
    return this.op(() => this.inOrder(id, () => this.transitionNow(id, change)));
  }

  /**
   * Changes of one message apply in the order they were issued (a `sent` writes its wamid index
   * first, and a `read` issued after it must not overtake it): each waits for the previous one.
   */
  private inOrder<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id);
    const next = previous === undefined ? work() : previous.then(work, work);
    const settled = next.then(() => undefined, () => undefined);
    this.chains.set(id, settled);
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id);
    });
    return next;
  }

  private transitionNow(id: string, change: Transition): Promise<boolean> {
    return (async () => {
      const index = await this.lookup(id);
      if (index === null) return false;
      const final = FINAL_STATES.has(change.state);
      if (change.state === 'sent') {
        // Written first and verified on read (findByWamid), like the id index.
        await this.write((p) => p.set(this.keys.wamidIndex(change.wamid), `${index.tenantId}\n${id}`, 'PX', this.finalRetentionMs + DAY_MS));
      }
      const effect = transitionEffect(change);
      const owes = effect.queue === 'owe';
      const score = change.state === 'queued' ? String(change.notBeforeMs) : owes ? String(change.atMs) : '0';
      const recordKey = this.keys.record(index.tenantId, id);
      const fence = change.state === 'sending' || change.state === 'queued' ? change.fence : undefined;
      const [reply] = await this.write((p) => this.run(
        'transition',
        [
          recordKey, this.keys.queue(index.tenantId, index.phoneNumberId, index.priority),
          fence === undefined ? recordKey : this.keys.numberLease(index.tenantId, index.phoneNumberId),
          owes ? this.keys.owedEndings(index.tenantId) : fence === undefined ? recordKey : this.keys.departures(index.tenantId, index.phoneNumberId),
          change.state === 'failed' || change.state === 'expired' ? this.keys.ended(index.tenantId, index.phoneNumberId, change.state) : recordKey,
        ],
        [
          change.state, change.state === 'rejected' && change.unsent === true ? ',queued,' : ALLOWED_FROM.get(change.state)!, effect.queue, score, final ? String(this.finalRetentionMs) : '0',
          fence === undefined ? '' : String(fence.token),
          fence === undefined || fence.departuresKeepMs <= 0 ? '' : `${change.atMs} ${Math.ceil(fence.departuresKeepMs)} ${DEPARTURES_KEPT}`,
          String(effect.set.length / 2), ...effect.set, ...effect.unset,
        ],
        p,
      ));
      const applied = reply === 1;
      if (applied && final) await this.write((p) => p.pexpire(this.keys.messageIndex(id), this.finalRetentionMs + DAY_MS));
      return applied;
    })();
  }

  requeue(id: string, change: RequeueChange): Promise<MessageRecord | null> {
    return this.op(() => this.inOrder(id, async () => {
      const index = await this.lookup(id);
      if (index === null) return null;
      const { tenantId } = index;
      // The id index outlives the message again: its fresh deadline plus the final retention.
      const indexTtlMs = Math.max(0, change.deadlineAtMs - change.atMs) + this.finalRetentionMs + DAY_MS;
      await this.write((p) => p.pexpire(this.keys.messageIndex(id), indexTtlMs));
      const [reply] = (await this.write((p) => this.run(
        'requeue',
        [
          this.keys.record(tenantId, id), this.keys.queue(tenantId, index.phoneNumberId, index.priority),
          this.keys.ended(tenantId, index.phoneNumberId, 'failed'), this.keys.ended(tenantId, index.phoneNumberId, 'expired'),
        ],
        [
          String(change.atMs), String(change.deadlineAtMs),
          this.wakeOrigin === null ? '' : this.keys.wakeChannel(),
          this.wakeOrigin === null ? '' : encodeWake({
            origin: this.wakeOrigin, tenantId, phoneNumberId: index.phoneNumberId, priority: index.priority, notBeforeMs: change.atMs,
          }),
        ],
        p,
      ))) as [string[] | null];
      return reply === null ? null : decodeRecord(reply).record;
    }));
  }

  /**
   * Every listed number's page after the cursor (the numbers that ever had a queue, filtered),
   * merged in cursor order: at most `limit` members read per number.
   */
  listEnded(query: EndedQuery): Promise<EndedPage> {
    return this.op(async () => {
      const numbers = Object.entries(await this.client.hgetall(this.keys.numbers()))
        .filter(([n, t]) => (query.phoneNumberId === undefined || n === query.phoneNumberId) && (query.tenantId === undefined || t === query.tenantId));
      const from = query.after === null ? '-' : `(${query.after}`;
      const pages = await Promise.all(numbers.map(async ([phoneNumberId, tenantId]) => {
        const members = await this.client.zrangebylex(this.keys.ended(tenantId, phoneNumberId, query.state), from, '+', 'LIMIT', 0, query.limit);
        return members.map((member) => ({ member, tenantId }));
      }));
      const page = pages.flat().sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0)).slice(0, query.limit);
      const found = await Promise.all(page.map(({ member, tenantId }) =>
        this.client.hgetall(this.keys.record(tenantId, member.slice(member.lastIndexOf(':') + 1)))));
      // A record gone (retention) or changed since (requeued) is left out; the cursor still moves past it.
      const records = found.filter((f) => f.state === query.state).map((f) => decodeRecord(Object.entries(f).flat()).record);
      return { records, next: page.length < query.limit ? null : page[page.length - 1]!.member };
    });
  }

  get(tenantId: string, id: string): Promise<MessageRecord | null> {
    return this.op(async () => {
      const fields = await this.client.hgetall(this.keys.record(tenantId, id));
      return Object.keys(fields).length === 0 ? null : decodeRecord(Object.entries(fields).flat()).record;
    });
  }

  /** A record by its id alone (through the id index): a fleet's `Prefer: wait` for a message sent elsewhere. */
  getById(id: string): Promise<MessageRecord | null> {
    return this.op(async () => {
      const index = await this.lookup(id);
      if (index === null) return null;
      const fields = await this.client.hgetall(this.keys.record(index.tenantId, id));
      return Object.keys(fields).length === 0 ? null : decodeRecord(Object.entries(fields).flat()).record;
    });
  }

  findByWamid(wamid: string): Promise<MessageRecord | null> {
    return this.op(async () => {
      const entry = await this.client.get(this.keys.wamidIndex(wamid));
      if (entry === null) return null;
      const [tenantId, id] = entry.split('\n') as [string, string];
      const fields = await this.client.hgetall(this.keys.record(tenantId, id));
      if (fields.wamid !== wamid) return null;
      return decodeRecord(Object.entries(fields).flat()).record;
    });
  }

  queuePage(query: QueuePageQuery): Promise<QueuePage> {
    return this.op(async () => {
      const tenantId = await this.tenantOf(query.phoneNumberId);
      if (tenantId === null) return { records: [], last: null, nextDueMs: null };
      const page = await this.page(tenantId, query);
      const tail = page.decoded[page.decoded.length - 1];
      return { records: page.decoded.map((d) => d.record), last: tail?.cursor ?? null, nextDueMs: page.nextDueMs };
    });
  }

  queueCounts(): Promise<QueueCount[]> {
    return this.op(async () => {
      const numbers = await this.client.hgetall(this.keys.numbers());
      const counts = await Promise.all(Object.entries(numbers).map(async ([phoneNumberId, tenantId]) => {
        const sizes = await Promise.all(PRIORITIES.map((p) => this.client.zcard(this.keys.queue(tenantId, phoneNumberId, p))));
        return { phoneNumberId, count: sizes.reduce((a, b) => a + b, 0) };
      }));
      return counts.filter((c) => c.count > 0);
    });
  }

  unfinished(): Promise<MessageRecord[]> {
    return this.op(async () => {
      const numbers = await this.client.hgetall(this.keys.numbers());
      const all: DecodedRecord[] = [];
      for (const [phoneNumberId, tenantId] of Object.entries(numbers)) {
        for (const priority of PRIORITIES) {
          const page = await this.page(tenantId, { phoneNumberId, priority, after: null, dueByMs: Infinity, limit: Number.MAX_SAFE_INTEGER });
          all.push(...page.decoded);
        }
      }
      // Oldest first, then arrival (seq is per tenant: a tie across tenants is ordered arbitrarily).
      all.sort((a, b) => a.record.createdAtMs - b.record.createdAtMs || a.cursor.seq - b.cursor.seq);
      return all.map((d) => d.record);
    });
  }

  /** A number's recipients sent to since `sinceMs` (fenced `sending` commits), with the last time each. */
  recentDepartures(tenantId: string, phoneNumberId: string, sinceMs: number): Promise<Array<{ to: string; atMs: number }>> {
    return this.op(async () => {
      const flat = await this.client.zrangebyscore(this.keys.departures(tenantId, phoneNumberId), sinceMs, '+inf', 'WITHSCORES');
      const out: Array<{ to: string; atMs: number }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ to: flat[i]!, atMs: Number(flat[i + 1]) });
      return out;
    });
  }

  /** Claims (re-dates to now) and returns a tenant's endings owed since before `beforeMs`. */
  owedEndings(tenantId: string, beforeMs: number, limit: number): Promise<string[]> {
    return this.op(async () => {
      const [ids] = await this.write((p) => this.run('owed-claim', [this.keys.owedEndings(tenantId)], [String(beforeMs), String(limit), String(this.clock.nowMs())], p));
      return ids as string[];
    });
  }

  endingSettled(tenantId: string, id: string): Promise<void> {
    return this.op(async () => {
      await this.write((p) => p.zrem(this.keys.owedEndings(tenantId), id));
    });
  }

  /** One control entry's value (null: none), read when a notice says another process changed it. */
  controlEntry(key: string): Promise<unknown> {
    return this.op(async () => {
      const entry = await this.client.hget(this.keys.control(), key);
      return entry === null ? null : (JSON.parse(entry) as { v: unknown }).v;
    });
  }

  controlEntries(): Promise<ControlEntry[]> {
    return this.op(async () => {
      const entries = await this.client.hgetall(this.keys.control());
      return Object.keys(entries).sort().map((key) => {
        const { v, at } = JSON.parse(entries[key]!) as { v: unknown; at: number };
        return { key, value: v, updatedAtMs: at };
      });
    });
  }

  putControl(key: string, value: unknown): Promise<void> {
    return this.op(async () => {
      await this.write((p) => {
        if (value === null) p.hdel(this.keys.control(), key);
        else p.hset(this.keys.control(), key, JSON.stringify({ v: value, at: this.clock.nowMs() }));
        if (this.wakeOrigin !== null) p.publish(this.keys.controlChannel(), `${this.wakeOrigin}\n${key}`);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    // Every write has been answered by now: QUIT only says goodbye, so a Redis that is down (or a
    // Cluster client queueing for a dead node) must not hold shutdown for long.
    let timer: NodeJS.Timeout | undefined;
    const quitting = this.client.quit().catch(() => undefined);
    await Promise.race([quitting, new Promise((resolve) => (timer = setTimeout(resolve, QUIT_WITHIN_MS)))]);
    clearTimeout(timer);
    this.client.disconnect();
  }

  /** Runs one store operation: refused once closed, tracked for close(), any failure a 503. */
  private op<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(storeClosed());
    // Fail fast while disconnected (ingress answers 503 now, not after a reconnect).
    if (this.client.status !== 'ready') return Promise.reject(storageUnavailable(new Error(`Redis connection ${this.client.status}`)));
    const running = work().catch((error: unknown) => {
      throw storageUnavailable(error);
    });
    this.inFlight.add(running);
    const done = () => this.inFlight.delete(running);
    running.then(done, done);
    return running;
  }

  private async page(tenantId: string, q: QueuePageQuery): Promise<{ decoded: DecodedRecord[]; nextDueMs: number | null }> {
    const [records, nextDue] = (await this.run(
      'queue-page',
      [this.keys.queue(tenantId, q.phoneNumberId, q.priority)],
      [
        q.after === null ? '' : String(q.after.notBeforeMs), q.after === null ? '' : seqText(q.after.seq),
        Number.isFinite(q.dueByMs) ? String(q.dueByMs) : '1e300', String(Math.min(q.limit, 1e9)), this.keys.recordPrefix(tenantId),
      ],
    )) as [string[][], string | null];
    return { decoded: records.map(decodeRecord), nextDueMs: nextDue === null ? null : Number(nextDue) };
  }

  /** Sends what `queue` issues (one slot) with the deployment's durability (writes.ts). */
  private write(queue: (p: ChainableCommander) => unknown): Promise<unknown[]> {
    return this.writes.write(queue);
  }

  private async lookup(id: string): Promise<MessageIndex | null> {
    const cached = this.indexCache.get(id);
    if (cached !== undefined) return cached;
    const entry = await this.client.get(this.keys.messageIndex(id));
    if (entry === null) return null;
    const [tenantId, phoneNumberId, priority] = entry.split('\n') as [string, string, string];
    const index = { tenantId, phoneNumberId, priority: Number(priority) as Priority };
    this.remember(id, index);
    return index;
  }

  private remember(id: string, index: MessageIndex): void {
    if (this.indexCache.size >= INDEX_CACHE_ENTRIES) this.indexCache.delete(this.indexCache.keys().next().value!);
    this.indexCache.set(id, index);
  }

  /** The number now belongs to another tenant (runtime catalog): its tenant is read again from `{g}:numbers`. */
  forgetNumber(phoneNumberId: string): void {
    this.numberTenants.delete(phoneNumberId);
  }

  private async tenantOf(phoneNumberId: string): Promise<string | null> {
    const known = this.numberTenants.get(phoneNumberId);
    if (known !== undefined) return known;
    const tenantId = await this.client.hget(this.keys.numbers(), phoneNumberId);
    if (tenantId !== null) this.rememberNumber(phoneNumberId, tenantId);
    return tenantId;
  }

  private async register(phoneNumberId: string, tenantId: string): Promise<void> {
    if (this.numberTenants.get(phoneNumberId) === tenantId) return;
    await this.write((p) => p.hset(this.keys.numbers(), phoneNumberId, tenantId));
    this.rememberNumber(phoneNumberId, tenantId);
  }

  private rememberNumber(phoneNumberId: string, tenantId: string): void {
    if (this.numberTenants.size >= INDEX_CACHE_ENTRIES) this.numberTenants.clear(); // reading or registering again is harmless
    this.numberTenants.set(phoneNumberId, tenantId);
  }
}
