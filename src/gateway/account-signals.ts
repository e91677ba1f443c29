/**
 * What Meta's account signals change, for the tenant owning the account (`tenants[].wabaIds`, from
 * `entry[].id`) or the number (its display number, configured or learned from message webhooks):
 *
 *   business_capability_update  max_daily_conversations_per_business (older: ..._per_phone; -1 =
 *                               unlimited) → the tenant's messaging limit
 *   phone_number_quality_update max_daily_conversations_per_business / current_limit → the tenant's
 *                               messaging limit; THROUGHPUT_UPGRADE → the number's mps to 1000;
 *                               FLAGGED / DOWNGRADE → quality flag on (UNFLAGGED / UPGRADE: off)
 *   account_update              a messaging restriction or a ban (DISABLE) → the tenant is paused
 *                               (`by: 'meta'`) until the restrictions' expiration (checked every
 *                               minute, also after a restart); REINSTATE, or a restriction event
 *                               without one, ends a pause Meta caused
 *   user_preferences            marketing `stop` → opt-out, `resume` → opt-in (source `meta-user-preferences`)
 *   template_category_update    the template's category in the categories cache (template-categories.ts)
 *
 * Durable before Meta's 200: the limit, the quality flag and learned display numbers are written to
 * the store's control state (both backends) under `meta:` keys and restored at boot; pauses and mps
 * go through the dispatcher's own durable control state. A signal no tenant owns is counted
 * (`sendgate_meta_signals_total{outcome="unmapped"}`) and logged, never dropped silently.
 */
import type { Clock } from '../clock.js';
import type { ConsentRecord } from '../policy/types.js';
import type { ControlEntry, ControlStateStore } from '../store/types.js';
import type { MessagingLimit, MetaEvent, SignalEvent } from '../webhooks/index.js';
import type { TenantRegistry } from './tenants.js';

/** What Meta sets a number to after a throughput upgrade (reference/cloud-api.md §2). */
export const UPGRADED_MPS = 1000;
/** Restrictions that stop a WABA's messages; others (adding phone numbers, ...) leave sending alone. */
const MESSAGING_RESTRICTIONS = new Set(['RESTRICTED_BIZ_INITIATED_MESSAGING', 'RESTRICTED_CUSTOMER_INITIATED_MESSAGING']);
const FLAG_EVENTS = new Set(['FLAGGED', 'DOWNGRADE']);
const UNFLAG_EVENTS = new Set(['UNFLAGGED', 'UPGRADE']);

export const signalKeys = {
  tenant: (tenantId: string): string => `meta:tenant:${tenantId}`,
  number: (phoneNumberId: string): string => `meta:number:${phoneNumberId}`,
};

interface TenantSignalState {
  messagingLimit?: MessagingLimit;
  /** A Meta restriction paused the tenant: a later lift resumes it. */
  pausedByMeta?: boolean;
  /** When every messaging restriction has expired (ms); absent for a ban or a restriction without an expiration. */
  pausedUntilMs?: number;
  atMs: number;
}

interface NumberSignalState {
  displayPhoneNumber?: string;
  qualityFlagged?: boolean;
  qualityEvent?: string;
  atMs: number;
}

/** The dispatcher's side: pauses and per-number limits, durable there. Bound once it exists. */
export interface SignalControl {
  pauseTenant(tenantId: string, by: 'meta'): void;
  resumeTenant(tenantId: string): void;
  setLimits(phoneNumberId: string, change: { mps: number }): void;
}

export interface SignalLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AccountSignalsOptions {
  tenants: TenantRegistry;
  setMessagingLimit(tenantId: string, limit: MessagingLimit): void;
  recordConsent(records: ConsentRecord[]): unknown;
  store: Pick<ControlStateStore, 'putControl'>;
  clock: Clock;
  /** How often expired restrictions are looked for (default 60 s). */
  expiryCheckMs?: number;
  /** The template categories cache (template_category_update). */
  templates?: { update(wabaId: string, name: string, language: string, category: string): boolean };
}

export type SignalOutcome = 'applied' | 'unmapped' | 'ignored';

export interface AccountSignalsStats {
  /** `<field>:<outcome>` → count. Bounded: 5 fields × 3 outcomes. */
  counts: Record<string, number>;
  /** Numbers whose quality Meta flagged and did not unflag since. */
  flagged: string[];
}

const FIELD_OF: Record<SignalEvent['kind'], string> = {
  capability: 'business_capability_update',
  quality: 'phone_number_quality_update',
  account: 'account_update',
  preference: 'user_preferences',
  template: 'template_category_update',
};

export class AccountSignals {
  private readonly counts = new Map<string, number>();
  /** Both bounded by the config: only configured tenants and numbers get an entry. */
  private readonly tenantState = new Map<string, TenantSignalState>();
  private readonly numberState = new Map<string, NumberSignalState>();
  private control: SignalControl | undefined;
  private log: SignalLog | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(private readonly options: AccountSignalsOptions) {}

  /**
   * The dispatcher and the logger exist only after the components: bound before listen. From then
   * on, restrictions whose expiration passed (also while the gateway was down) end the pause.
   */
  attach(control: SignalControl, log: SignalLog): void {
    this.control = control;
    this.log = log;
    void this.resumeExpired();
    this.expiryTimer = setInterval(() => void this.resumeExpired(), this.options.expiryCheckMs ?? 60_000);
    this.expiryTimer.unref();
  }

  close(): void {
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
  }

  /** Resumes tenants whose Meta restriction has expired (Meta sends no webhook when it lapses). */
  resumeExpired(): Promise<void> {
    // One check at a time: an overlapping call waits for the running one instead of resuming twice.
    this.checking ??= this.checkExpired().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkExpired(): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    for (const [tenantId, state] of this.tenantState) {
      if (state.pausedByMeta !== true || state.pausedUntilMs === undefined || state.pausedUntilMs > nowMs) continue;
      try {
        await this.saveTenant(tenantId, { pausedByMeta: false });
      } catch {
        continue; // not stored: tried again at the next check
      }
      this.control?.resumeTenant(tenantId);
      this.log?.info({ tenant: tenantId, expiredAt: new Date(state.pausedUntilMs).toISOString() }, 'Meta restriction expired: tenant resumed');
    }
  }

  /** Re-applies what Meta said before a restart (entries of the store's control state). */
  restore(entries: readonly ControlEntry[]): void {
    for (const { key, value } of entries) {
      if (value === null || typeof value !== 'object') continue;
      if (key.startsWith('meta:tenant:')) {
        const state = value as TenantSignalState;
        const tenantId = key.slice('meta:tenant:'.length);
        if (this.options.tenants.tenant(tenantId) === undefined) continue;
        this.tenantState.set(tenantId, state);
        if (state.messagingLimit !== undefined) this.options.setMessagingLimit(tenantId, state.messagingLimit);
      } else if (key.startsWith('meta:number:')) {
        const id = key.slice('meta:number:'.length);
        if (this.options.tenants.number(id) === undefined) continue;
        const state = value as NumberSignalState;
        this.numberState.set(id, state);
        if (state.displayPhoneNumber !== undefined) this.options.tenants.learnDisplayNumber(id, state.displayPhoneNumber);
      }
    }
  }

  /** Learns display numbers from message webhooks' metadata (quality signals name numbers by it). */
  async learn(events: readonly MetaEvent[]): Promise<void> {
    for (const event of events) {
      if ((event.kind !== 'status' && event.kind !== 'inbound') || event.displayPhoneNumber === undefined) continue;
      if (this.options.tenants.learnDisplayNumber(event.phoneNumberId, event.displayPhoneNumber)) {
        await this.saveNumber(event.phoneNumberId, { displayPhoneNumber: event.displayPhoneNumber.replace(/[^0-9]/g, '') });
      }
    }
  }

  /** The consumer's `onSignal`: resolves once what it changed is durable (else Meta delivers it again). */
  readonly onSignal = async (event: SignalEvent): Promise<void> => {
    const outcome = await this.apply(event);
    const field = FIELD_OF[event.kind];
    const key = `${field}:${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (outcome === 'unmapped') {
      this.log?.warn({ field, wabaId: event.wabaId, displayPhoneNumber: displayOf(event) }, 'Meta account signal names no tenant: add the WABA id to tenants[].wabaIds or the number\'s displayPhoneNumber');
    }
  };

  stats(): AccountSignalsStats {
    const flagged = [...this.numberState].filter(([, s]) => s.qualityFlagged === true).map(([id]) => id);
    return { counts: Object.fromEntries(this.counts), flagged };
  }

  private async apply(event: SignalEvent): Promise<SignalOutcome> {
    switch (event.kind) {
      case 'capability': {
        const tenant = this.options.tenants.accountTenant(event);
        if (tenant === undefined) return 'unmapped';
        return (await this.setLimit(tenant.id, event.maxDailyConversationsPerBusiness, event.kind)) ? 'applied' : 'ignored';
      }
      case 'quality': {
        const entry = event.phoneNumberId !== null ? this.options.tenants.number(event.phoneNumberId) : this.options.tenants.byDisplay(event.displayPhoneNumber);
        const tenant = entry?.tenant ?? this.options.tenants.accountTenant(event);
        if (tenant === undefined) return 'unmapped';
        let applied = await this.setLimit(tenant.id, event.maxDailyConversations ?? event.currentLimit, event.kind);
        if (entry === undefined) return applied ? 'applied' : event.event === '' ? 'ignored' : 'unmapped';
        const id = entry.number.phoneNumberId;
        if (event.event === 'THROUGHPUT_UPGRADE') {
          this.control?.setLimits(id, { mps: UPGRADED_MPS });
          this.log?.info({ phoneNumberId: id, mps: UPGRADED_MPS }, 'Meta upgraded the number\'s throughput');
          applied = true;
        }
        const flag = FLAG_EVENTS.has(event.event) ? true : UNFLAG_EVENTS.has(event.event) ? false : undefined;
        if (flag !== undefined || applied) await this.saveNumber(id, { qualityEvent: event.event, ...(flag !== undefined ? { qualityFlagged: flag } : {}) });
        if (flag !== undefined) {
          this.log?.warn({ phoneNumberId: id, event: event.event }, flag ? 'Meta flagged the number\'s quality' : 'Meta lifted the number\'s quality flag');
          applied = true;
        }
        return applied ? 'applied' : 'ignored';
      }
      case 'account': {
        const tenant = this.options.tenants.accountTenant({ phoneNumberId: null, wabaId: event.wabaId });
        if (tenant === undefined) return 'unmapped';
        const restricted = event.restrictions.filter((r) => MESSAGING_RESTRICTIONS.has(r.type));
        if (restricted.length > 0 || event.banState === 'DISABLE') {
          // Paused until the last messaging restriction expires; a ban or an open-ended restriction until lifted.
          const ends = restricted.map((r) => r.expiresAtMs);
          const untilMs = event.banState !== 'DISABLE' && ends.every((e): e is number => e !== null) ? Math.max(...ends) : undefined;
          const { pausedUntilMs: _previous, ...rest } = this.tenantState.get(tenant.id) ?? { atMs: 0 };
          this.tenantState.set(tenant.id, rest);
          await this.saveTenant(tenant.id, { pausedByMeta: true, ...(untilMs !== undefined ? { pausedUntilMs: untilMs } : {}) });
          this.control?.pauseTenant(tenant.id, 'meta');
          this.log?.warn({ tenant: tenant.id, event: event.event, restrictions: event.restrictions, banState: event.banState, until: untilMs === undefined ? null : new Date(untilMs).toISOString() },
            'Meta restricted the account: tenant paused until the restriction expires or is lifted (or an operator resumes it)');
          return 'applied';
        }
        const lifted = event.banState === 'REINSTATE' || (event.event === 'ACCOUNT_RESTRICTION' && restricted.length === 0);
        if (lifted && this.tenantState.get(tenant.id)?.pausedByMeta === true) {
          await this.saveTenant(tenant.id, { pausedByMeta: false });
          this.control?.resumeTenant(tenant.id);
          this.log?.info({ tenant: tenant.id, event: event.event }, 'Meta lifted the account restriction: tenant resumed');
          return 'applied';
        }
        return 'ignored';
      }
      case 'template':
        if (this.options.templates === undefined) return 'ignored';
        return this.options.templates.update(event.wabaId, event.name, event.language, event.category) ? 'applied' : 'unmapped';
      case 'preference': {
        const owner = this.options.tenants.number(event.phoneNumberId);
        if (owner === undefined) return 'unmapped';
        if (event.category !== 'marketing_messages' || (event.value !== 'stop' && event.value !== 'resume')) return 'ignored';
        const recipient = event.waId.replace(/[^0-9]/g, '');
        if (recipient === '') return 'ignored';
        await this.options.recordConsent([{
          tenantId: owner.tenant.id, recipient, status: event.value === 'stop' ? 'opt_out' : 'opt_in',
          source: 'meta-user-preferences', atMs: event.timestampMs || this.options.clock.nowMs(),
        }]);
        return 'applied';
      }
    }
  }

  /** Applies and persists a limit Meta stated; false when the value is not one (TIER_NOT_SET, garbage). */
  private async setLimit(tenantId: string, limit: MessagingLimit | undefined, kind: string): Promise<boolean> {
    if (limit === undefined || (limit !== 'unlimited' && !(Number.isInteger(limit) && limit >= 1))) return false;
    // Durable first: a limit applied but not stored would be lost at a restart while Meta never repeats it.
    await this.saveTenant(tenantId, { messagingLimit: limit });
    this.options.setMessagingLimit(tenantId, limit);
    this.log?.info({ tenant: tenantId, messagingLimit: limit, signal: kind }, 'Meta changed the messaging limit');
    return true;
  }

  private async saveTenant(tenantId: string, change: Omit<TenantSignalState, 'atMs'>): Promise<void> {
    const state: TenantSignalState = { ...this.tenantState.get(tenantId), ...change, atMs: this.options.clock.nowMs() };
    await this.options.store.putControl(signalKeys.tenant(tenantId), state);
    this.tenantState.set(tenantId, state);
  }

  private async saveNumber(phoneNumberId: string, change: Omit<NumberSignalState, 'atMs'>): Promise<void> {
    const state: NumberSignalState = { ...this.numberState.get(phoneNumberId), ...change, atMs: this.options.clock.nowMs() };
    await this.options.store.putControl(signalKeys.number(phoneNumberId), state);
    this.numberState.set(phoneNumberId, state);
  }
}

function displayOf(event: SignalEvent): string | null {
  return event.kind === 'quality' || event.kind === 'preference' ? event.displayPhoneNumber : null;
}
