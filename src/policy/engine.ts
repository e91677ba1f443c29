/**
 * The policy engine: admission checks that keep numbers safe (issue 5), in front of the durable
 * enqueue. admit() is synchronous: counters and buckets run on the limits core, windows and
 * deferrals are in-memory maps, consent is one indexed SQLite read (templates only).
 *
 * Order inside admit(), chosen so a refusal charges nothing:
 *   1. checks that charge nothing: undeliverable, service window, opt-out, marketing deferral,
 *      opt-in, links;
 *   2. the tier slot (core.unique);
 *   3. the repeat slot (core.repeat: if it refuses, the tier slot is released; if it admits,
 *      nothing after it can refuse).
 * Both charges go back with Admission.release() when the store then refuses the send (503, 409).
 * Warm-up is not an admission check: DESIGN says it delays, so the dispatcher paces a young
 * number's departures with `warmupCapsOf` and admission only notes the first send (age origin);
 * a backlog the caps cannot drain in time is refused by the deadline check, like any other.
 * Shadow mode runs the same checks and counts what would have been refused, refusing nothing
 * except opt-outs: honouring a user's STOP is not a policy to trial.
 *
 * Step 1 is screen(), steps 2-3 the charges: a fleet's engine (shared-engine.ts) runs the same
 * screen() over state it has just read from Redis, then charges both budgets in one script call.
 */
import { isTemplate } from '../cloud-api/index.js';
import type { Clock } from '../clock.js';
import type { Config, TenantConfig } from '../config/schema.js';
import type { Admission, AdmitInput } from '../gateway/ports.js';
import { detectOptOut } from '../webhooks/opt-out.js';
import { sendContent, type SendContent } from './content.js';
import { Deferrals } from './deferrals.js';
import { TierCharges, type TierLedger } from './messaging-limit.js';
import { refusal } from './refusals.js';
import { contentFingerprint } from './repeat.js';
import { ServiceWindows, SERVICE_WINDOW_MS } from './service-window.js';
import type { PolicyStore } from './store.js';
import { resolvePolicies, type NumberPolicy, type TenantPolicy } from './tenant-policy.js';
import { GatewayError } from '../errors.js';
import type {
  ConsentRecord, ConsentView, DeliveryFailure, DepartureInput, FinalEvent, InboundMessage, PolicyCore, PolicyEngine, PolicyName, PolicyStats, TierUse,
} from './types.js';
import { warmupCaps, type WarmupCaps } from './warmup.js';

export interface PolicyEngineDeps {
  config: Pick<Config, 'tenants' | 'webhooks'>;
  core: PolicyCore;
  clock: Clock;
  store: PolicyStore;
  /** Bounds of the in-memory maps (defaults: 500 000 open windows, 200 000 deferred recipients). */
  limits?: { windowEntries?: number; deferralEntries?: number };
}

const NO_WARNINGS: readonly string[] = Object.freeze([]);
export const NOTHING_CHARGED: Admission = Object.freeze({ warnings: NO_WARNINGS, release() {} });
const GIVES_BACK = new Set(['failed', 'expired', 'rejected']);
export const HISTORY_LIMIT = 50;

/** Where an admission's charges go back to (the engine: its core, or the fleet's budgets). */
interface GivesBack {
  giveBack(tenantId: string, to: string, tierHeld: boolean, repeatFingerprint: string | undefined, nowMs: number): void;
}

/** An admission that holds a tier slot and/or a repeat slot, and/or carries warnings. */
export class ChargedAdmission implements Admission {
  private released = false;
  constructor(
    readonly warnings: readonly string[],
    private readonly tierHeld: boolean,
    /** The content fingerprint whose repeat slot this admission counted (not one the recipient already held). */
    private readonly repeatFingerprint: string | undefined,
    private readonly engine: GivesBack,
    private readonly tenantId: string,
    private readonly to: string,
    private readonly clock: Clock,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.engine.giveBack(this.tenantId, this.to, this.tierHeld, this.repeatFingerprint, this.clock.nowMs());
  }
}

/**
 * What admission's first part (the checks that charge nothing) found, for the charging part.
 * One object per engine, overwritten by each screen(): admission is synchronous up to the charges.
 */
export interface Screened {
  np: NumberPolicy;
  windowOpen: boolean;
  warnings: string[] | undefined;
  /** The send is business-initiated (a template outside the window) and the tenant has a limit. */
  chargesTier: boolean;
  /** The repeated-content fingerprint to count, when the tenant checks repeats and the content is not exempt. */
  fingerprint: string | undefined;
}

export function createPolicyEngine(deps: PolicyEngineDeps): PolicyEngine {
  return new Engine(deps);
}

/** The engine of one process (embedded mode); shared-engine.ts extends it for a fleet on Redis. */
export class Engine implements PolicyEngine, GivesBack {
  protected readonly tenants: Map<string, TenantPolicy>;
  protected readonly numbers: Map<string, NumberPolicy>;
  protected readonly core: PolicyCore;
  protected readonly clock: Clock;
  protected readonly store: PolicyStore;
  protected readonly windows: ServiceWindows;
  protected readonly tier: TierLedger;
  protected readonly deferrals: Deferrals;
  /** First send through sendgate of warm-up numbers without `createdAt` (their age origin). */
  protected readonly firstSendMs = new Map<string, number>();
  private readonly counters: PolicyStats = { refused: {}, shadow: {}, warned: {} };
  /** judge() is running: refusals are found, not counted. */
  private judging = false;
  private readonly screened: Screened = { np: undefined!, windowOpen: false, warnings: undefined, chargesTier: false, fingerprint: undefined };
  private readonly webhooks: Config['webhooks'];
  /** Each tenant's messaging limit as configured (the live one may be Meta's, from a webhook). */
  private readonly configuredLimits = new Map<string, number | 'unlimited'>();

  /** `tier`: where tier slots are counted (default: the core, TierCharges; a fleet's: shared-engine.ts). */
  constructor(deps: PolicyEngineDeps, tier?: TierLedger) {
    ({ tenants: this.tenants, numbers: this.numbers } = resolvePolicies(deps.config));
    this.webhooks = deps.config.webhooks;
    for (const t of deps.config.tenants) this.configuredLimits.set(t.id, t.messagingLimit);
    this.core = deps.core;
    this.clock = deps.clock;
    this.store = deps.store;
    this.windows = new ServiceWindows(deps.store, deps.limits?.windowEntries ?? 500_000);
    this.tier = tier ?? new TierCharges(deps.core, deps.store);
    this.deferrals = new Deferrals(deps.store, deps.limits?.deferralEntries ?? 200_000);
    this.replay();
  }

  admit(input: AdmitInput): Admission {
    const s = this.screen(input);
    if (s === undefined) return NOTHING_CHARGED;
    const { np, warnings, fingerprint } = s;
    const t = np.tenant;
    const { to, nowMs } = input;
    let tierHeld = false;
    if (s.chargesTier) {
      const waitMs = this.tier.charge(t.id, to, t.messagingLimit as number, nowMs);
      if (waitMs === 0) tierHeld = true;
      else if (this.refuses(t, 'messagingLimit')) {
        // Only the core's ledger charges the core's table (a fleet's counts in Redis, no share there).
        const share = this.tier instanceof TierCharges && this.core.lastShareRefused();
        throw share ? refusal.tenantShare('messagingLimit', waitMs) : refusal.messagingLimit(t.messagingLimit as number, waitMs);
      }
    }
    let repeatHeld: string | undefined;
    if (fingerprint !== undefined) {
      const r = t.repeat!;
      const waitMs = this.core.repeat.take(t.id, fingerprint, to, r.windowMs, r.maxRecipients, nowMs);
      if (waitMs > 0 && this.refuses(t, 'repeat')) {
        const share = this.core.lastShareRefused();
        if (tierHeld) this.tier.release(t.id, to, nowMs);
        throw share ? refusal.tenantShare('repeat', waitMs) : refusal.repeat(r.maxRecipients, r.windowMs, waitMs);
      }
      if (waitMs === 0) repeatHeld = fingerprint;
    }
    return this.admitted(np, to, nowMs, warnings, tierHeld, repeatHeld);
  }

  /**
   * How admission would judge a send now, charging and counting nothing (a broadcast's plan runs
   * it once per recipient): the refusal of the checks that charge nothing, or whether the recipient
   * would take a new slot of the messaging limit.
   */
  judge(input: AdmitInput): { refusal: GatewayError | null; newTierSlot: boolean } {
    this.judging = true;
    try {
      const s = this.screen(input);
      if (s === undefined || !s.chargesTier) return { refusal: null, newTierSlot: false };
      return { refusal: null, newTierSlot: !this.tier.holds(s.np.tenant.id, input.to) };
    } catch (err) {
      if (err instanceof GatewayError) return { refusal: err, newTierSlot: false };
      throw err;
    } finally {
      this.judging = false;
    }
  }

  /**
   * The checks that charge nothing, in admission's order (header): throws the first refusal;
   * undefined when nothing applies (mark-as-read, a number unknown here); otherwise what the
   * charging part needs. Also computes the repeat fingerprint, so the charges run back to back.
   */
  protected screen(input: AdmitInput): Screened | undefined {
    const np = this.numbers.get(input.phoneNumberId);
    // Mark-as-read ('' recipient) reaches no one; numbers unknown here were refused by the route.
    if (np === undefined || input.to === '') return undefined;
    const t = np.tenant;
    const { to, phoneNumberId, nowMs } = input;
    const template = isTemplate(input.body);
    const marketing = template && (input.category === 'marketing' || input.category === 'unknown');
    const windowOpen = this.windows.isOpen(phoneNumberId, to, nowMs);
    let warnings: string[] | undefined;

    const deferral = this.deferrals.get(t.id, to, nowMs);
    if (deferral.undeliverableUntilMs > nowMs && this.refuses(t, 'undeliverable')) {
      throw refusal.undeliverable(to, deferral.undeliverableUntilMs, nowMs);
    }
    if (!template && t.serviceWindow && !windowOpen && this.refuses(t, 'serviceWindow')) {
      throw refusal.serviceWindow(to, phoneNumberId);
    }
    if (template) {
      const needsOptIn = !windowOpen && t.optIn !== 'off';
      // Marketing alone only asks "opted out?": the filter answers "no" without a read.
      const consent = needsOptIn || (marketing && this.store.mayBeOptedOut(t.id, to)) ? this.store.getConsent(t.id, to) : undefined;
      if (marketing && consent?.status === 'opt_out' && this.refuses(t, 'optOut', false)) throw refusal.optOut(consent);
      if (marketing && deferral.marketingUntilMs > nowMs && this.refuses(t, 'marketingDeferral')) {
        throw refusal.marketingDeferral(to, deferral.marketingUntilMs, nowMs);
      }
      if (needsOptIn && consent?.status !== 'opt_in') {
        if (t.optIn === 'enforce') {
          if (this.refuses(t, 'optIn')) throw refusal.optIn(to, consent?.status === 'opt_out');
        } else {
          warnings = [refusal.optInWarning(to)];
        }
      }
    }
    let content: SendContent | undefined;
    if (t.links !== undefined) {
      content = sendContent(input.body);
      const host = t.links.firstRefused(content);
      if (host !== undefined && this.refuses(t, 'links')) throw refusal.links(host);
    }
    const s = this.screened;
    s.np = np;
    s.windowOpen = windowOpen;
    s.warnings = warnings;
    s.chargesTier = template && !windowOpen && t.messagingLimit !== 'unlimited';
    s.fingerprint = t.repeat === undefined ? undefined : contentFingerprint(content ?? sendContent(input.body), this.core);
    return s;
  }

  /** The admission of a send that passed every check: notes the first send, counts warnings. */
  protected admitted(np: NumberPolicy, to: string, nowMs: number, warnings: string[] | undefined, tierHeld: boolean, repeatHeld: string | undefined): Admission {
    const t = np.tenant;
    this.noteFirstSend(np, nowMs);
    if (!tierHeld && repeatHeld === undefined && warnings === undefined) return NOTHING_CHARGED;
    // Counted only now: a send refused by a later policy was not admitted with a warning.
    if (warnings !== undefined) this.counters.warned[t.id] = (this.counters.warned[t.id] ?? 0) + 1;
    return new ChargedAdmission(warnings ?? NO_WARNINGS, tierHeld, repeatHeld, this, t.id, to, this.clock);
  }

  /** Gives back what an admission charged (the store refused the send, or it was released). */
  giveBack(tenantId: string, to: string, tierHeld: boolean, repeatFingerprint: string | undefined, nowMs: number): void {
    if (tierHeld) this.tier.release(tenantId, to, nowMs);
    if (repeatFingerprint !== undefined) this.core.repeat.release(tenantId, repeatFingerprint, to, nowMs);
  }

  departureRefusal(input: DepartureInput): GatewayError | null {
    const np = this.numbers.get(input.phoneNumberId);
    if (np === undefined || input.to === '') return null;
    const t = np.tenant;
    const { to, nowMs } = input;
    if (input.marketing) {
      const deferral = this.deferrals.get(t.id, to, nowMs);
      if (deferral.undeliverableUntilMs > nowMs && this.refuses(t, 'undeliverable')) return refusal.undeliverable(to, deferral.undeliverableUntilMs, nowMs);
      const consent = this.store.mayBeOptedOut(t.id, to) ? this.store.getConsent(t.id, to) : undefined;
      if (consent?.status === 'opt_out' && this.refuses(t, 'optOut', false)) return refusal.optOut(consent);
      if (deferral.marketingUntilMs > nowMs && this.refuses(t, 'marketingDeferral')) return refusal.marketingDeferral(to, deferral.marketingUntilMs, nowMs);
    }
    return this.departureTier(t, input);
  }

  /**
   * Admitted inside the window (nothing charged), leaving after it closed: Meta counts it now.
   * A recipient already counted (charged at admission, or by another send) costs nothing more.
   * A fleet's engine checks this asynchronously instead (the count is shared).
   */
  protected departureTier(t: TenantPolicy, input: DepartureInput): GatewayError | null {
    const { to, nowMs } = input;
    if (t.messagingLimit !== 'unlimited' && !this.tier.holds(t.id, to) && !this.windows.isOpen(input.phoneNumberId, to, nowMs)) {
      const waitMs = this.tier.charge(t.id, to, t.messagingLimit, nowMs);
      if (waitMs > 0 && this.refuses(t, 'messagingLimit')) return refusal.messagingLimit(t.messagingLimit, waitMs);
    }
    return null;
  }

  onInbound(message: InboundMessage): void {
    const np = this.numbers.get(message.phoneNumberId);
    if (np === undefined || message.from === '') return;
    const nowMs = this.clock.nowMs();
    // Meta's timestamp is when the user wrote; a clock ahead of ours must not stretch the window.
    const atMs = Number.isFinite(message.timestampMs) && message.timestampMs > 0 ? Math.min(message.timestampMs, nowMs) : nowMs;
    this.windows.open(message.phoneNumberId, message.from, atMs, nowMs);
    this.deferrals.clearUndeliverable(np.tenant.id, message.from);
    if (message.text !== undefined && detectOptOut(message.text, np.tenant.optOutWords)) {
      this.store.putConsent([{ tenantId: np.tenant.id, recipient: message.from, status: 'opt_out', source: 'inbound', atMs }], nowMs);
    }
  }

  onFinal(event: FinalEvent): void {
    if (!GIVES_BACK.has(event.state) || event.template === false) return;
    this.tier.release(event.tenantId, event.to, this.clock.nowMs());
  }

  onDeliveryFailure(event: DeliveryFailure): void {
    const t = this.tenants.get(event.tenantId);
    if (t === undefined) return;
    const nowMs = this.clock.nowMs();
    if (event.code === 131026) this.deferrals.set(t.id, event.to, { undeliverableUntilMs: nowMs + t.undeliverableMs });
    else if (event.code === 131049) this.deferrals.set(t.id, event.to, { marketingUntilMs: nowMs + t.marketingDeferralMs });
    else if (event.code === 131050) {
      // The user stopped marketing from this business in WhatsApp itself: the same as a STOP.
      this.store.putConsent([{ tenantId: t.id, recipient: event.to, status: 'opt_out', source: 'meta-131050', atMs: nowMs }], nowMs);
    }
  }

  setMessagingLimit(tenantId: string, limit: number | 'unlimited'): void {
    const t = this.tenants.get(tenantId);
    if (t === undefined) return;
    if (limit !== 'unlimited' && !(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`messaging limit must be a positive integer or "unlimited" (got ${limit})`);
    t.messagingLimit = limit;
  }

  setTenants(tenants: readonly TenantConfig[]): void {
    const resolved = resolvePolicies({ tenants: [...tenants], webhooks: this.webhooks });
    for (const [id, t] of resolved.tenants) {
      const old = this.tenants.get(id);
      if (old !== undefined && this.configuredLimits.get(id) === t.messagingLimit) t.messagingLimit = old.messagingLimit;
    }
    this.configuredLimits.clear();
    for (const t of tenants) this.configuredLimits.set(t.id, t.messagingLimit);
    this.tenants.clear();
    for (const [id, t] of resolved.tenants) this.tenants.set(id, t);
    this.numbers.clear();
    for (const [id, n] of resolved.numbers) this.numbers.set(id, n);
  }

  recordConsent(records: readonly ConsentRecord[]): number {
    return this.store.putConsent(records, this.clock.nowMs());
  }

  consentOf(tenantId: string, recipient: string): ConsentView {
    return { current: this.store.getConsent(tenantId, recipient), history: this.store.consentHistory(tenantId, recipient, HISTORY_LIMIT) };
  }

  warmupCapsOf(phoneNumberId: string, nowMs: number): WarmupCaps | null {
    const np = this.numbers.get(phoneNumberId);
    return np === undefined ? null : this.capsOf(np, nowMs);
  }

  async tierUse(tenantId: string): Promise<TierUse | undefined> {
    const t = this.tenants.get(tenantId);
    if (t === undefined) return undefined;
    return { used: await this.tierCount(tenantId, this.clock.nowMs()), limit: t.messagingLimit };
  }

  /** Recipients counted in the tenant's moving 24 h (this process's core; a fleet reads Redis). */
  protected async tierCount(tenantId: string, nowMs: number): Promise<number> {
    return this.core.unique.count(tenantId, nowMs);
  }

  stats(): PolicyStats {
    return structuredClone(this.counters);
  }

  flush(): void {
    this.store.flush();
  }

  close(): void {
    this.store.close();
  }

  /** Counts a refusal; true when it must be thrown (false: shadow mode, counted only). */
  protected refuses(t: TenantPolicy, policy: PolicyName, shadowable = true): boolean {
    const shadow = t.shadow && shadowable;
    if (this.judging) return !shadow;
    const table = shadow ? this.counters.shadow : this.counters.refused;
    const perTenant = (table[t.id] ??= {});
    perTenant[policy] = (perTenant[policy] ?? 0) + 1;
    return !shadow;
  }

  private capsOf(np: NumberPolicy, nowMs: number): WarmupCaps | null {
    return warmupCaps(np.number, nowMs, { firstSendMs: this.firstSendMs.get(np.number.phoneNumberId), schedule: np.tenant.warmup });
  }

  protected noteFirstSend(np: NumberPolicy, nowMs: number): void {
    const id = np.number.phoneNumberId;
    if (np.number.warmup !== true || np.number.createdAt !== undefined || this.firstSendMs.has(id)) return;
    this.firstSendMs.set(id, nowMs);
    this.store.write({ kind: 'firstSend', phoneNumberId: id, atMs: nowMs });
  }

  /** Boot: the last 24 h of windows and tier charges back into memory and the core, oldest first. */
  private replay(): void {
    const nowMs = this.clock.nowMs();
    const state = this.store.loadState(nowMs - SERVICE_WINDOW_MS, nowMs);
    for (const w of state.windows) this.windows.open(w.phoneNumberId, w.user, w.atMs, nowMs, false);
    for (const c of state.charges) if (this.tenants.has(c.tenantId)) this.tier.replay(c.tenantId, c.recipient, c.atMs);
    for (const d of state.deferrals) this.deferrals.set(d.tenantId, d.recipient, d, false);
    for (const f of state.firstSends) this.firstSendMs.set(f.phoneNumberId, f.atMs);
  }
}
