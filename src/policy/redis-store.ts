/**
 * The policy engine's durable state on Redis, shared by every process of a fleet (key layout,
 * TTLs and owners: src/store/redis/keys.ts; scripts: consent-3.lua, deferral-2.lua, budget-6.lua).
 * The same state as the SQLite PolicyStore (store.ts), with the same rules, but asynchronous: a
 * resolved promise means Redis applied it.
 *
 * Durability, as in the SQLite store:
 * - consent (and its audit log) is awaited before the consent API answers: with `appendfsync
 *   always` (the message store checks it at open) a reply is on disk; with `replicas` each consent
 *   write is followed by a WAIT on the same node and fails when too few replicas confirm.
 * - windows, deferrals, first sends and charges are not part of a send's 2xx promise: callers may
 *   fire them and hear about failures through `onError` (the engine does, see shared-engine.ts).
 *
 * `recipientState` is the one read on the send path: consent, service window and deferrals of one
 * recipient (and the number's first send) in one pipeline to one slot, so one round trip.
 */
import type { ChainableCommander } from 'ioredis';
import { UNIQUE_RING, UNIQUE_WINDOW_MS } from '../core/types.js';
import type { ScriptRunner, RedisClient } from '../store/redis/commands.js';
import { RedisWrites } from '../store/redis/writes.js';
import type { RedisKeys } from '../store/redis/keys.js';
import { RedisBudgets } from './redis-budgets.js';
import { SERVICE_WINDOW_MS } from './service-window.js';
import type { DeferralRow, LoadedState, StateWrite } from './store.js';
import type { ConsentRecord, ConsentStatus } from './types.js';
import type { Deferral } from './deferrals.js';

/** Audit log entries kept per recipient (the consent API shows the newest 50). */
export const CONSENT_LOG_MAX = 100;
/** The audit log of a recipient nobody recorded consent for in this long is dropped. */
export const CONSENT_LOG_TTL_MS = 400 * 86_400_000;
/** Charges replayed through write() count whatever the limit (they happened). */
const REPLAY_LIMIT = 0x7fff_ffff;
const SCAN_COUNT = 1000;
/** From a charge's exit (its minute's bucket plus one ring) back to that minute. */
const UNIQUE_CHARGE_SPAN_MS = UNIQUE_RING * (UNIQUE_WINDOW_MS / (UNIQUE_RING - 1));

export interface RedisPolicyStoreOptions {
  client: RedisClient;
  /** The key builder the message store uses (same prefix: one deployment). */
  keys: RedisKeys;
  /** Script runner of the client (defineScripts), shared with the message store when it has one. */
  run: ScriptRunner;
  /** The configured tenants and their numbers: windows live in the slot of the number's tenant. */
  tenants: ReadonlyArray<{ id: string; numbers: readonly string[] }>;
  /** `{ replicas, timeoutMs }`: consent writes wait for that many replicas (the store's durability mode). */
  replicas?: { replicas: number; timeoutMs: number } | null;
}

/** What admission needs to know about one recipient, read in one round trip. */
export interface RecipientState {
  consent: ConsentRecord | undefined;
  /** The user's last inbound to this number (ms), when within the last 24 h of `nowMs`. */
  windowOpenedMs: number | undefined;
  deferral: Deferral;
  /** The number's first send through the fleet (warm-up age origin), when recorded. */
  firstSendMs: number | undefined;
}

const NO_DEFERRAL: Deferral = Object.freeze({ undeliverableUntilMs: 0, marketingUntilMs: 0 });

function parseConsent(tenantId: string, recipient: string, stored: string | null): ConsentRecord | undefined {
  if (stored === null) return undefined;
  const first = stored.indexOf('\n');
  const last = stored.lastIndexOf('\n');
  return Object.freeze({
    tenantId, recipient, status: stored.slice(0, first) as ConsentStatus, source: stored.slice(first + 1, last), atMs: Number(stored.slice(last + 1)),
  });
}

function parseDeferral(stored: string | null, nowMs: number): Deferral {
  if (stored === null) return NO_DEFERRAL;
  const [u, m] = stored.split('\n').map(Number) as [number, number];
  return u > nowMs || m > nowMs ? { undeliverableUntilMs: u, marketingUntilMs: m } : NO_DEFERRAL;
}

const windowMember = (phoneNumberId: string, user: string): string => `${phoneNumberId}\n${user}`;

/** A recipient's state from what was read: a window counts while open at `nowMs`. */
function recipientStateOf(
  tenantId: string, recipient: string, consent: string | null, window: string | null, deferral: string | null, firstSend: string | null, nowMs: number,
): RecipientState {
  const openedMs = window === null ? undefined : Number(window);
  return {
    consent: parseConsent(tenantId, recipient, consent),
    windowOpenedMs: openedMs !== undefined && nowMs < openedMs + SERVICE_WINDOW_MS ? openedMs : undefined,
    deferral: parseDeferral(deferral, nowMs),
    firstSendMs: firstSend === null ? undefined : Number(firstSend),
  };
}

export class RedisPolicyStore {
  readonly budgets: RedisBudgets;
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly run: ScriptRunner;
  private readonly writes: RedisWrites;
  private readonly tenantOfNumber = new Map<string, string>();
  private tenantIds: string[];
  /** Writes in flight: flush() and close() wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: RedisPolicyStoreOptions) {
    this.client = options.client;
    this.keys = options.keys;
    this.run = options.run;
    this.writes = new RedisWrites(options.client, options.replicas ?? null, options.run);
    this.budgets = new RedisBudgets(options.run, options.keys);
    this.tenantIds = options.tenants.map((t) => t.id);
    for (const t of options.tenants) for (const n of t.numbers) this.tenantOfNumber.set(n, t.id);
  }

  /** The tenants changed at run time (src/gateway/catalog). */
  setTenants(tenants: ReadonlyArray<{ id: string; numbers: readonly string[] }>): void {
    this.tenantIds = tenants.map((t) => t.id);
    this.tenantOfNumber.clear();
    for (const t of tenants) for (const n of t.numbers) this.tenantOfNumber.set(n, t.id);
  }

  /** The tenant a number belongs to (its windows live in that tenant's slot). */
  tenantOf(phoneNumberId: string): string | undefined {
    return this.tenantOfNumber.get(phoneNumberId);
  }

  /** Records consent durably and logs each record; resolves with how many changed the current status. */
  async putConsent(records: readonly ConsentRecord[], recordedMs: number): Promise<number> {
    return (await this.putConsentApplied(records, recordedMs)).length;
  }

  /** As putConsent; resolves with the records that became current (dated as stored), in order. */
  putConsentApplied(records: readonly ConsentRecord[], recordedMs: number): Promise<ConsentRecord[]> {
    return this.track((async () => {
      // Records of one tenant go to one node: one pipeline (+ WAIT) per tenant, in order.
      const byTenant = new Map<string, ConsentRecord[]>();
      for (const r of records) {
        let list = byTenant.get(r.tenantId);
        if (list === undefined) byTenant.set(r.tenantId, (list = []));
        // Dated no later than its recording, whoever wrote it: a future date would mask every STOP until then.
        list.push(r.atMs > recordedMs ? { ...r, atMs: recordedMs } : r);
      }
      const applied: ConsentRecord[] = [];
      for (const [tenantId, list] of byTenant) {
        const replies = await this.durable((p) => {
          for (const r of list) {
            void this.run('consent', [this.keys.policyConsent(tenantId), this.keys.policyOptedOut(tenantId), this.keys.policyConsentLog(tenantId, r.recipient)], [
              r.recipient, r.status, r.source, String(r.atMs), String(recordedMs), String(CONSENT_LOG_MAX), String(CONSENT_LOG_TTL_MS),
            ], p);
          }
        });
        replies.forEach((reply, i) => {
          if (Number(reply) === 1) applied.push(list[i]!);
        });
      }
      return applied;
    })());
  }

  async getConsent(tenantId: string, recipient: string): Promise<ConsentRecord | undefined> {
    return parseConsent(tenantId, recipient, await this.client.hget(this.keys.policyConsent(tenantId), recipient));
  }

  /** Audit log of a recipient, newest first. */
  async consentHistory(tenantId: string, recipient: string, limit: number): Promise<ConsentRecord[]> {
    if (limit <= 0) return [];
    const entries = await this.client.lrange(this.keys.policyConsentLog(tenantId, recipient), 0, limit - 1);
    return entries.map((e) => {
      const parts = e.split('\n');
      // status, source (may itself hold newlines), atMs, recordedMs
      const atMs = Number(parts[parts.length - 2]);
      return { tenantId, recipient, status: parts[0] as ConsentStatus, source: parts.slice(1, -2).join('\n'), atMs };
    });
  }

  /** Every recipient of a tenant whose current consent is an opt-out (boot: the opt-out view). */
  async *optedOut(tenantId: string): AsyncGenerator<ConsentRecord[]> {
    let cursor = '0';
    do {
      const [next, recipients] = await this.client.sscan(this.keys.policyOptedOut(tenantId), cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (recipients.length === 0) continue;
      const stored = await this.client.hmget(this.keys.policyConsent(tenantId), ...recipients);
      const records: ConsentRecord[] = [];
      recipients.forEach((r, i) => {
        const record = parseConsent(tenantId, r, stored[i] ?? null);
        if (record?.status === 'opt_out') records.push(record);
      });
      yield records;
    } while (cursor !== '0');
  }

  /** Latest inbound time of (number, user) still recorded (windows leave 24 h after it). */
  async windowOpenedMs(phoneNumberId: string, user: string): Promise<number | undefined> {
    const tenantId = this.tenantOf(phoneNumberId);
    if (tenantId === undefined) return undefined;
    const score = await this.client.zscore(this.keys.policyWindows(tenantId), windowMember(phoneNumberId, user));
    return score === null ? undefined : Number(score);
  }

  /**
   * Consent, open window and deferrals of one recipient (and the number's first send): one
   * pipeline to the tenant's slot.
   */
  async recipientState(tenantId: string, phoneNumberId: string, recipient: string, nowMs: number): Promise<RecipientState> {
    // Issued in one tick: the client's auto-pipelining sends them as one write (a pipeline object
    // per send copied every script onto it: the store's write() measured ~80 µs of CPU per send).
    const [consent, window, deferral, firstSend] = await Promise.all([
      this.client.hget(this.keys.policyConsent(tenantId), recipient),
      this.client.zscore(this.keys.policyWindows(tenantId), windowMember(phoneNumberId, recipient)),
      this.client.hget(this.keys.policyDeferrals(tenantId), recipient),
      this.client.hget(this.keys.policyFirstSends(tenantId), phoneNumberId),
    ]);
    return recipientStateOf(tenantId, recipient, consent, window, deferral, firstSend, nowMs);
  }

  /**
   * recipientState of many recipients of one number (a broadcast's plan), one command per kind for
   * them all, and whether the messaging limit counts each of them now (ZMSCORE: Redis 6.2).
   */
  async recipientStates(tenantId: string, phoneNumberId: string, recipients: readonly string[], nowMs: number): Promise<Array<RecipientState & { tierCounted: boolean }>> {
    if (recipients.length === 0) return [];
    const [consent, windows, deferrals, firstSend, tierLeaves] = await Promise.all([
      this.client.hmget(this.keys.policyConsent(tenantId), ...recipients),
      this.client.zmscore(this.keys.policyWindows(tenantId), ...recipients.map((r) => windowMember(phoneNumberId, r))),
      this.client.hmget(this.keys.policyDeferrals(tenantId), ...recipients),
      this.client.hget(this.keys.policyFirstSends(tenantId), phoneNumberId),
      // Score: when the recipient's charge leaves the moving 24 h.
      this.client.zmscore(this.keys.policyBudget(tenantId).tierMembers, ...recipients),
    ]);
    return recipients.map((r, i) => ({
      ...recipientStateOf(tenantId, r, consent[i] ?? null, windows[i] ?? null, deferrals[i] ?? null, firstSend, nowMs),
      tierCounted: tierLeaves[i] !== null && tierLeaves[i] !== undefined && Number(tierLeaves[i]) > nowMs,
    }));
  }

  /** Extends (never shortens) a recipient's deferrals; resolves with the merged ones. */
  extendDeferral(tenantId: string, recipient: string, change: Partial<Deferral>, nowMs: number): Promise<Deferral> {
    return this.deferral(tenantId, recipient, 'extend', change, nowMs);
  }

  /** The user wrote to the business: reachable again (the marketing deferral stays). */
  clearUndeliverable(tenantId: string, recipient: string, nowMs: number): Promise<Deferral> {
    return this.deferral(tenantId, recipient, 'clear-undeliverable', {}, nowMs);
  }

  /** Applies one state change (the SQLite store's write-behind kinds), resolved once Redis has it. */
  write(change: StateWrite, nowMs: number): Promise<void> {
    return this.track((async () => {
      switch (change.kind) {
        case 'window': {
          const tenantId = this.tenantOf(change.phoneNumberId);
          if (tenantId === undefined) return;
          const key = this.keys.policyWindows(tenantId);
          const p = this.client.pipeline();
          // GT: a late or duplicated webhook never moves a window back.
          p.zadd(key, 'GT', change.atMs, windowMember(change.phoneNumberId, change.user));
          p.zremrangebyscore(key, '-inf', nowMs - SERVICE_WINDOW_MS);
          p.pexpire(key, SERVICE_WINDOW_MS);
          replies(await p.exec());
          return;
        }
        case 'deferral':
          await this.extendDeferral(change.tenantId, change.recipient, change, nowMs);
          return;
        case 'firstSend': {
          const tenantId = this.tenantOf(change.phoneNumberId);
          if (tenantId !== undefined) await this.client.hsetnx(this.keys.policyFirstSends(tenantId), change.phoneNumberId, String(change.atMs));
          return;
        }
        case 'charge':
          await this.budgets.charge(change.tenantId, change.recipient, { limit: REPLAY_LIMIT, hold: false, shadow: false }, change.atMs);
          return;
        case 'uncharge':
          await this.budgets.release(change.tenantId, change.recipient, 'force', undefined, nowMs);
          return;
      }
    })());
  }

  /** The state of every configured tenant still running at `nowMs`, each list oldest first (as the SQLite store's). */
  async loadState(sinceMs: number, nowMs: number): Promise<LoadedState> {
    const state: LoadedState = { windows: [], charges: [], deferrals: [], firstSends: [] };
    for (const tenantId of this.tenantIds) {
      const p = this.client.pipeline();
      p.zrangebyscore(this.keys.policyWindows(tenantId), `(${sinceMs}`, '+inf', 'WITHSCORES');
      p.zrangebyscore(this.keys.policyBudget(tenantId).tierMembers, `(${nowMs}`, '+inf', 'WITHSCORES');
      p.hgetall(this.keys.policyDeferrals(tenantId));
      p.hgetall(this.keys.policyFirstSends(tenantId));
      const [windows, charges, deferrals, firstSends] = replies(await p.exec()) as [string[], string[], Record<string, string>, Record<string, string>];
      for (let i = 0; i < windows.length; i += 2) {
        const [phoneNumberId, user] = windows[i]!.split('\n') as [string, string];
        state.windows.push({ phoneNumberId, user, atMs: Number(windows[i + 1]) });
      }
      // A charge leaves the window one ring after its minute's bucket: that minute is when it was made.
      for (let i = 0; i < charges.length; i += 2) {
        state.charges.push({ tenantId, recipient: charges[i]!, atMs: Number(charges[i + 1]) - UNIQUE_CHARGE_SPAN_MS });
      }
      for (const [recipient, stored] of Object.entries(deferrals)) {
        const d = parseDeferral(stored, nowMs);
        if (d !== NO_DEFERRAL) state.deferrals.push({ tenantId, recipient, ...d } satisfies DeferralRow);
      }
      for (const [phoneNumberId, atMs] of Object.entries(firstSends)) state.firstSends.push({ phoneNumberId, atMs: Number(atMs) });
    }
    state.windows.sort((a, b) => a.atMs - b.atMs);
    state.charges.sort((a, b) => a.atMs - b.atMs);
    return state;
  }

  /** Resolves once every write issued so far has been answered. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** Waits for writes in flight; the client belongs to the caller (the gateway closes it). */
  async close(): Promise<void> {
    await this.flush();
  }

  private deferral(tenantId: string, recipient: string, mode: 'extend' | 'clear-undeliverable', change: Partial<Deferral>, nowMs: number): Promise<Deferral> {
    return this.track((async () => {
      const [u, m] = (await this.run('deferral', [this.keys.policyDeferrals(tenantId), this.keys.policyDeferralEnds(tenantId)], [
        recipient, mode, String(change.undeliverableUntilMs ?? 0), String(change.marketingUntilMs ?? 0), String(nowMs),
      ])) as [number, number];
      return u === 0 && m === 0 ? NO_DEFERRAL : { undeliverableUntilMs: u, marketingUntilMs: m };
    })());
  }

  /** What `queue` issues (one slot), with the deployment's durability (store/redis/writes.ts). */
  private durable(queue: (p: ChainableCommander) => void): Promise<unknown[]> {
    return this.writes.write(queue);
  }

  /** Counts `work` among the writes in flight that flush() and close() wait for. */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }
}

function replies(results: Array<[Error | null, unknown]> | null): unknown[] {
  const out: unknown[] = [];
  for (const [error, reply] of results ?? []) {
    if (error !== null) throw error;
    out.push(reply);
  }
  return out;
}
