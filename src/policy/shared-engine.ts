/**
 * The policy engine of a fleet (storage.kind "redis"): the embedded engine's checks, in the same
 * order and with the same refusals (engine.ts), over state every process shares through Redis.
 *
 * A send's admission (`admitAsync`, which the send route awaits in this mode) is at most two
 * round trips to the tenant's slot:
 *   1. one pipeline reads the recipient's consent, service window and deferrals (and the number's
 *      first send) into the local view: the checks that charge nothing then run synchronously,
 *      exactly as in one process;
 *   2. when a budget must be charged, one budget script call checks and charges the messaging limit
 *      and repeated content together (redis-budgets.ts). A recipient this process already holds
 *      in the tier, or already counted for that content, needs no call: the local ledger is the
 *      cache of what is known (fleet-tier.ts).
 * Either failing answers STORAGE_UNAVAILABLE (503): nothing is accepted on a guess.
 *
 * Departure stays synchronous (the dispatcher's check right before `sending`) and reads the local
 * view, which the change feed keeps current with what other processes record (change-feed.ts).
 * Consent is durable in Redis before `recordConsentAsync` resolves; inbound messages' windows and
 * deferrals before `onInbound` resolves (the webhook consumer awaits it).
 *
 * Wiring (src/gateway, Redis mode), on the gateway's Redis client and the message store's key prefix:
 *   const keys = new RedisKeys(prefix);
 *   const policy = await createSharedPolicyEngine({ config, core, clock, client, keys, onError,
 *     store: openRedisPolicyStore({ client, keys, config, replicas }) });
 * then the consent routes `await policy.recordConsentAsync(...)` / `policy.consentOfAsync(...)`,
 * the send route awaits `admitAsync` (it does: shared-admission.ts), hooks stay
 * `policyConsumerHooks(policy, tenants)`, the dispatcher's departure check stays
 * `policy.departureRefusal(...)`, and shutdown awaits `policy.close()` before the client quits.
 */
import type { Config, TenantConfig } from '../config/schema.js';
import type { Admission, AdmitInput } from '../gateway/ports.js';
import type { RedisClient } from '../store/redis/commands.js';
import { defineScripts } from '../store/redis/commands.js';
import type { RedisKeys } from '../store/redis/keys.js';
import { storageUnavailable } from '../store/errors.js';
import { detectOptOut } from '../webhooks/opt-out.js';
import { PolicyChangeFeed, type PolicyChange } from './change-feed.js';
import { Engine, HISTORY_LIMIT, NOTHING_CHARGED, type PolicyEngineDeps } from './engine.js';
import { FleetTier } from './fleet-tier.js';
import { NOT_CHECKED, type TierRelease } from './redis-budgets.js';
import { RedisPolicyStore, type RecipientState } from './redis-store.js';
import { refusal } from './refusals.js';
import { SERVICE_WINDOW_MS } from './service-window.js';
import { SharedPolicyView } from './shared-view.js';
import { RecencyMap } from './recency-map.js';
import type { ConsentRecord, ConsentView, DeliveryFailure, DepartureInput, InboundMessage, PolicyEngine } from './types.js';
import type { GatewayError } from '../errors.js';
import type { TenantPolicy } from './tenant-policy.js';

/** The engine of a fleet: PolicyEngine plus the asynchronous steps the gateway awaits in Redis mode. */
export interface SharedPolicyEngine extends PolicyEngine {
  /** Admission with the fleet's state (at most two round trips); throws refusals as admit() does, or STORAGE_UNAVAILABLE. */
  admitAsync(input: AdmitInput): Promise<Admission>;
  /** Records consent; resolves once Redis holds it durably (the consent API answers after this). */
  recordConsentAsync(records: readonly ConsentRecord[]): Promise<number>;
  consentOfAsync(tenantId: string, recipient: string): Promise<ConsentView>;
  /** Resolves once the window (and an opt-out in the text) is in Redis. */
  onInbound(message: InboundMessage): Promise<void>;
  /** Resolves once the deferral (or the 131050 opt-out) is in Redis; never rejects (failures go to onError). */
  onDeliveryFailure(event: DeliveryFailure): Promise<void>;
  flush(): Promise<void>;
  /** Reads every limited tenant's tier count, which departure charges against (also every `usageRefreshMs`). */
  refreshTierUsage(): Promise<void>;
  /**
   * Departure's messaging-limit check, exact: a template admitted inside the service window that
   * leaves after it closed is charged now by the budget script (a recipient counted already,
   * whichever process admitted it, costs nothing). The synchronous departureRefusal leaves it out.
   */
  departureTierAsync(input: DepartureInput): Promise<GatewayError | null>;
  /**
   * A broadcast's plan: each recipient's shared state (consent, window, deferrals, and whether the
   * messaging limit counts them already) read in one round trip for the batch, then judged as
   * admission would judge them, charging nothing. Rejects with STORAGE_UNAVAILABLE.
   */
  judgeBatch(inputs: readonly AdmitInput[]): Promise<Array<{ refusal: GatewayError | null; newTierSlot: boolean }>>;
  /** Stops the change feed and waits for writes in flight; the Redis client stays the caller's. */
  close(): Promise<void>;
}

export interface RedisPolicyStoreOptions {
  client: RedisClient;
  /** The message store's key builder (same prefix). */
  keys: RedisKeys;
  config: Pick<Config, 'tenants'>;
  /** The store's durability `{ replicas, timeoutMs }` mode: consent writes WAIT for them too. */
  replicas?: { replicas: number; timeoutMs: number } | null;
}

/** The policy state of a fleet on the gateway's Redis client. */
export function openRedisPolicyStore(options: RedisPolicyStoreOptions): RedisPolicyStore {
  return new RedisPolicyStore({
    client: options.client, keys: options.keys, run: defineScripts(options.client), replicas: options.replicas ?? null,
    tenants: options.config.tenants.map((t) => ({ id: t.id, numbers: t.numbers.map((n) => n.phoneNumberId) })),
  });
}

export interface SharedPolicyEngineDeps extends Omit<PolicyEngineDeps, 'store'> {
  store: RedisPolicyStore;
  client: RedisClient;
  keys: RedisKeys;
  /** Background failures (writes, feed); the gateway logs them. */
  onError?: (err: unknown, what: string) => void;
  /** Repeat slots this process remembers as counted (default 100 000). */
  repeatEntries?: number;
  /** How often the tenants' tier counts are read for departure (default 5 s; 0: never, tests call refreshTierUsage). */
  usageRefreshMs?: number;
}

const DEFAULT_USAGE_REFRESH_MS = 5_000;

/**
 * Loads the fleet's state (windows and deferrals still running, first sends, current opt-outs),
 * subscribes to the change feed, and resolves with the engine.
 */
export async function createSharedPolicyEngine(deps: SharedPolicyEngineDeps): Promise<SharedPolicyEngine> {
  const onError = deps.onError ?? (() => {});
  const nowMs = deps.clock.nowMs();
  const boot = await deps.store.loadState(nowMs - SERVICE_WINDOW_MS, nowMs);
  // Charges stay in Redis (the budget script counts them): nothing to replay into this process.
  boot.charges = [];
  const view = new SharedPolicyView(deps.store, () => deps.clock.nowMs(), onError, boot);
  const engine = new FleetEngine(deps, view, new FleetTier(deps.store.budgets, onError, (work) => deps.store.track(work)), onError);
  await engine.loadOptOuts();
  await engine.listen();
  await engine.refreshTierUsage();
  engine.refreshEvery(deps.usageRefreshMs ?? DEFAULT_USAGE_REFRESH_MS);
  return engine;
}

class FleetEngine extends Engine implements SharedPolicyEngine {
  private readonly redis: RedisPolicyStore;
  private readonly view: SharedPolicyView;
  private readonly fleetTier: FleetTier;
  /** (tenant, fingerprint \n recipient) → when this process's count of it leaves the window. */
  private readonly repeatKnown = new RecencyMap<number>();
  private readonly repeatEntries: number;
  private feed: PolicyChangeFeed | undefined;
  private usageTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: SharedPolicyEngineDeps,
    view: SharedPolicyView,
    tier: FleetTier,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    super({ ...deps, store: view }, tier);
    this.redis = deps.store;
    this.view = view;
    this.fleetTier = tier;
    this.repeatEntries = deps.repeatEntries ?? 100_000;
  }

  /** The tier part of departure is asynchronous here (departureTierAsync): another process may hold the recipient. */
  protected override departureTier(_t: TenantPolicy, _input: DepartureInput): GatewayError | null {
    return null;
  }

  async departureTierAsync(input: DepartureInput): Promise<GatewayError | null> {
    const np = this.numbers.get(input.phoneNumberId);
    if (np === undefined || input.to === '') return null;
    const t = np.tenant;
    const { to, nowMs } = input;
    if (t.messagingLimit === 'unlimited' || this.fleetTier.holds(t.id, to) || this.windows.isOpen(input.phoneNumberId, to, nowMs)) return null;
    const answer = await this.redis.budgets.charge(t.id, to, { limit: t.messagingLimit, hold: true, shadow: false }, nowMs);
    this.fleetTier.noteUsed(t.id, answer.tierUsed);
    if (answer.tier > 0) return this.refuses(t, 'messagingLimit') ? refusal.messagingLimit(t.messagingLimit, answer.tier) : null;
    this.fleetTier.add(t.id, to, nowMs, true);
    return null;
  }

  override setTenants(tenants: readonly TenantConfig[]): void {
    const before = new Set(this.tenants.keys());
    super.setTenants(tenants);
    this.redis.setTenants(tenants.map((t) => ({ id: t.id, numbers: t.numbers.map((n) => n.phoneNumberId) })));
    // A tenant new to this process (created at run time, or created again) may have opt-outs already.
    const added = [...this.tenants.keys()].filter((id) => !before.has(id));
    if (added.length > 0) this.loadOptOuts(added).catch((err: unknown) => this.onError(err, 'policy: loading the opt-outs of a new tenant'));
  }

  async loadOptOuts(tenantIds: Iterable<string> = this.tenants.keys()): Promise<void> {
    for (const tenantId of [...tenantIds]) {
      for await (const page of this.redis.optedOut(tenantId)) for (const r of page) this.view.noteOptOut(r);
    }
  }

  async listen(): Promise<void> {
    this.feed = await PolicyChangeFeed.open({
      client: this.deps.client, channel: this.deps.keys.policyChanges(), onError: this.onError,
      onChange: (change) => this.applyChange(change),
      onResync: () => this.loadOptOuts(),
    });
  }

  async refreshTierUsage(): Promise<void> {
    const nowMs = this.clock.nowMs();
    await Promise.all([...this.tenants.values()].filter((t) => t.messagingLimit !== 'unlimited').map(async (t) => {
      this.fleetTier.noteUsed(t.id, await this.redis.budgets.count(t.id, nowMs));
    }));
  }

  protected override tierCount(tenantId: string, nowMs: number): Promise<number> {
    return this.redis.budgets.count(tenantId, nowMs);
  }

  refreshEvery(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.usageTimer = setInterval(() => {
      this.refreshTierUsage().catch((error: unknown) => this.onError(error, 'policy: reading the tier counts'));
    }, intervalMs);
    this.usageTimer.unref();
  }

  /** A fleet admits through admitAsync: this process alone cannot see the shared budgets. */
  override admit(): Admission {
    throw new Error('a fleet admits sends through admitAsync (the shared policy state is in Redis)');
  }

  async admitAsync(input: AdmitInput): Promise<Admission> {
    const np = this.numbers.get(input.phoneNumberId);
    if (np === undefined || input.to === '') return NOTHING_CHARGED;
    const t = np.tenant;
    const { to, nowMs } = input;
    let state: RecipientState;
    try {
      state = await this.redis.recipientState(t.id, input.phoneNumberId, to, nowMs);
    } catch (error) {
      throw storageUnavailable(error, 'The policy state could not be read; nothing was accepted, retry later.');
    }
    this.learn(t.id, input.phoneNumberId, to, state, nowMs);

    const s = this.screen(input);
    if (s === undefined) return NOTHING_CHARGED;
    const { warnings, fingerprint, chargesTier } = s;
    const heldHere = chargesTier && this.fleetTier.holdsNow(t.id, to, nowMs);
    const askTier = chargesTier && !heldHere;
    const askRepeat = fingerprint !== undefined && !this.countedHere(t.id, fingerprint, to, nowMs);
    let tierHeld = heldHere;
    let repeatHeld: string | undefined;
    if (askTier || askRepeat) {
      const limit = t.messagingLimit as number;
      const r = t.repeat!;
      let answer;
      try {
        answer = await this.redis.budgets.charge(t.id, to, {
          limit: askTier ? limit : undefined, hold: askTier, shadow: t.shadow,
          repeat: askRepeat ? { fingerprint: fingerprint!, windowMs: r.windowMs, maxRecipients: r.maxRecipients } : undefined,
        }, nowMs);
      } catch (error) {
        throw storageUnavailable(error, 'The messaging limit could not be checked; nothing was accepted, retry later.');
      }
      if (askTier) {
        this.fleetTier.noteUsed(t.id, answer.tierUsed);
        if (answer.tier > 0) {
          if (this.refuses(t, 'messagingLimit')) throw refusal.messagingLimit(limit, answer.tier);
        } else {
          tierHeld = true;
        }
      }
      if (askRepeat && answer.repeat !== NOT_CHECKED) {
        if (answer.repeat > 0) {
          // Not shadow: the script gave back the tier charge it made; a hold already here stays.
          if (this.refuses(t, 'repeat')) throw refusal.repeat(r.maxRecipients, r.windowMs, answer.repeat);
        } else {
          if (answer.repeat === 0) repeatHeld = fingerprint;
          this.rememberCounted(t.id, fingerprint!, to, nowMs + r.windowMs);
        }
      }
    }
    if (tierHeld) this.fleetTier.add(t.id, to, nowMs, askTier);
    return this.admitted(np, to, nowMs, warnings, tierHeld, repeatHeld);
  }

  override giveBack(tenantId: string, to: string, tierHeld: boolean, repeatFingerprint: string | undefined, nowMs: number): void {
    const tier: TierRelease = tierHeld && this.fleetTier.releaseLocal(tenantId, to) ? 'hold' : 'none';
    if (repeatFingerprint !== undefined) this.repeatKnown.delete(tenantId, `${repeatFingerprint}\n${to}`);
    this.fleetTier.giveBack(tenantId, to, tier, repeatFingerprint, nowMs);
  }

  override async onInbound(message: InboundMessage): Promise<void> {
    const np = this.numbers.get(message.phoneNumberId);
    if (np === undefined || message.from === '') return;
    const t = np.tenant;
    const nowMs = this.clock.nowMs();
    // As the embedded engine: Meta's timestamp, never ahead of our clock.
    const atMs = Number.isFinite(message.timestampMs) && message.timestampMs > 0 ? Math.min(message.timestampMs, nowMs) : nowMs;
    this.windows.open(message.phoneNumberId, message.from, atMs, nowMs, false);
    const writes: Array<Promise<unknown>> = [
      this.redis.write({ kind: 'window', phoneNumberId: message.phoneNumberId, user: message.from, atMs }, nowMs),
      this.redis.clearUndeliverable(t.id, message.from, nowMs).then((d) => this.deferralChanged(t.id, message.from, d, nowMs)),
    ];
    this.feed?.publish({ k: 'window', n: message.phoneNumberId, r: message.from, at: atMs });
    if (message.text !== undefined && detectOptOut(message.text, t.optOutWords)) {
      writes.push(this.recordConsentAsync([{ tenantId: t.id, recipient: message.from, status: 'opt_out', source: 'inbound', atMs }]));
    }
    await Promise.all(writes);
  }

  async judgeBatch(inputs: readonly AdmitInput[]): Promise<Array<{ refusal: GatewayError | null; newTierSlot: boolean }>> {
    // A plan's batch is one number's recipients: read per (tenant, number), one command per kind.
    const groups = new Map<string, { tenantId: string; phoneNumberId: string; nowMs: number; at: number[] }>();
    inputs.forEach((input, i) => {
      const np = this.numbers.get(input.phoneNumberId);
      if (np === undefined || input.to === '') return;
      const key = `${input.phoneNumberId}\n${input.nowMs}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, g = { tenantId: np.tenant.id, phoneNumberId: input.phoneNumberId, nowMs: input.nowMs, at: [] });
      g.at.push(i);
    });
    const counted: boolean[] = [];
    try {
      await Promise.all([...groups.values()].map(async (g) => {
        const states = await this.redis.recipientStates(g.tenantId, g.phoneNumberId, g.at.map((i) => inputs[i]!.to), g.nowMs);
        states.forEach((state, k) => {
          const i = g.at[k]!;
          this.learn(g.tenantId, g.phoneNumberId, inputs[i]!.to, state, g.nowMs);
          counted[i] = state.tierCounted;
        });
      }));
    } catch (error) {
      throw storageUnavailable(error, 'The policy state could not be read; nothing was planned, retry later.');
    }
    return inputs.map((input, i) => {
      const verdict = this.judge(input);
      return counted[i] === true && verdict.newTierSlot ? { refusal: verdict.refusal, newTierSlot: false } : verdict;
    });
  }

  /** Never rejects (its callers do not wait): a failure is reported to onError. */
  override async onDeliveryFailure(event: DeliveryFailure): Promise<void> {
    try {
      await this.learnFailure(event);
    } catch (error) {
      this.onError(error, `policy: recording Meta's ${event.code} for a recipient`);
    }
  }

  private async learnFailure(event: DeliveryFailure): Promise<void> {
    const t = this.tenants.get(event.tenantId);
    if (t === undefined) return;
    const nowMs = this.clock.nowMs();
    let change: { undeliverableUntilMs?: number; marketingUntilMs?: number } | undefined;
    if (event.code === 131026) change = { undeliverableUntilMs: nowMs + t.undeliverableMs };
    else if (event.code === 131049) change = { marketingUntilMs: nowMs + t.marketingDeferralMs };
    else if (event.code === 131050) {
      // The user stopped marketing from this business in WhatsApp itself: the same as a STOP.
      await this.recordConsentAsync([{ tenantId: t.id, recipient: event.to, status: 'opt_out', source: 'meta-131050', atMs: nowMs }]);
      return;
    }
    if (change === undefined) return;
    // Held here at once (this process's queued messages to them), merged in Redis for the fleet.
    this.deferrals.set(t.id, event.to, change, false);
    const merged = await this.redis.extendDeferral(t.id, event.to, change, nowMs);
    this.deferralChanged(t.id, event.to, merged, nowMs);
  }

  override setMessagingLimit(tenantId: string, limit: number | 'unlimited'): void {
    super.setMessagingLimit(tenantId, limit);
    if (this.tenants.has(tenantId)) this.feed?.publish({ k: 'limit', t: tenantId, limit });
  }

  async recordConsentAsync(records: readonly ConsentRecord[]): Promise<number> {
    const applied = await this.redis.putConsentApplied(records, this.clock.nowMs());
    for (const r of applied) {
      this.view.applied(r);
      this.feed?.publish({ k: 'consent', r });
    }
    return applied.length;
  }

  override recordConsent(): number {
    throw new Error('a fleet records consent through recordConsentAsync (durable in Redis before it answers)');
  }

  async consentOfAsync(tenantId: string, recipient: string): Promise<ConsentView> {
    const [current, history] = await Promise.all([
      this.redis.getConsent(tenantId, recipient), this.redis.consentHistory(tenantId, recipient, HISTORY_LIMIT),
    ]);
    return { current, history };
  }

  override consentOf(): ConsentView {
    throw new Error('a fleet reads consent through consentOfAsync');
  }

  override async flush(): Promise<void> {
    await this.redis.flush();
  }

  override async close(): Promise<void> {
    clearInterval(this.usageTimer);
    await this.feed?.close();
    await this.redis.close();
  }

  /** The recipient's shared state, read just now, into the local view the checks read. */
  private learn(tenantId: string, phoneNumberId: string, to: string, state: RecipientState, nowMs: number): void {
    this.view.learn(tenantId, to, state.consent);
    if (state.windowOpenedMs !== undefined) this.windows.open(phoneNumberId, to, state.windowOpenedMs, nowMs, false);
    this.deferrals.learn(tenantId, to, state.deferral, nowMs);
    if (state.firstSendMs !== undefined) this.learnFirstSend(phoneNumberId, state.firstSendMs);
  }

  private learnFirstSend(phoneNumberId: string, atMs: number): void {
    const known = this.firstSendMs.get(phoneNumberId);
    if (known === undefined || atMs < known) this.firstSendMs.set(phoneNumberId, atMs);
  }

  private deferralChanged(tenantId: string, recipient: string, d: { undeliverableUntilMs: number; marketingUntilMs: number }, nowMs: number): void {
    this.deferrals.learn(tenantId, recipient, d, nowMs);
    this.feed?.publish({ k: 'deferral', t: tenantId, r: recipient, u: d.undeliverableUntilMs, m: d.marketingUntilMs });
  }

  private countedHere(tenantId: string, fingerprint: string, to: string, nowMs: number): boolean {
    const leavesMs = this.repeatKnown.get(tenantId, `${fingerprint}\n${to}`)?.value;
    return leavesMs !== undefined && leavesMs > nowMs;
  }

  /** `leavesMs`: no later than the script's own (its bucket ends after now + window). */
  private rememberCounted(tenantId: string, fingerprint: string, to: string, leavesMs: number): void {
    if (this.repeatKnown.size >= this.repeatEntries) this.repeatKnown.remove(this.repeatKnown.oldest()!);
    this.repeatKnown.set(tenantId, `${fingerprint}\n${to}`, leavesMs);
  }

  private applyChange(change: PolicyChange): void {
    const nowMs = this.clock.nowMs();
    switch (change.k) {
      case 'consent':
        if (this.tenants.has(change.r.tenantId)) this.view.applied(change.r);
        return;
      case 'deferral':
        if (this.tenants.has(change.t)) this.deferrals.learn(change.t, change.r, { undeliverableUntilMs: change.u, marketingUntilMs: change.m }, nowMs);
        return;
      case 'window':
        if (this.numbers.has(change.n)) this.windows.open(change.n, change.r, change.at, nowMs, false);
        return;
      case 'firstSend':
        this.learnFirstSend(change.n, change.at);
        return;
      case 'limit':
        super.setMessagingLimit(change.t, change.limit);
        return;
    }
  }

  /** Also tells the fleet: a warm-up number's age origin is the fleet's first send. */
  protected override noteFirstSend(np: Parameters<Engine['noteFirstSend']>[0], nowMs: number): void {
    const had = this.firstSendMs.has(np.number.phoneNumberId);
    super.noteFirstSend(np, nowMs);
    if (!had && this.firstSendMs.has(np.number.phoneNumberId)) this.feed?.publish({ k: 'firstSend', n: np.number.phoneNumberId, at: nowMs });
  }
}

/** A fleet's engine (consent recorded and read asynchronously, in Redis). */
export function isFleetPolicy(policy: PolicyEngine): policy is SharedPolicyEngine {
  return typeof (policy as Partial<SharedPolicyEngine>).recordConsentAsync === 'function';
}
