/**
 * A fleet process's local view of the shared policy state, behind the synchronous PolicyStore
 * face the engine reads: admission and departure stay synchronous (no round trip per check); the
 * shared engine fills the view before admission (one read of the recipient: shared-engine.ts),
 * from the change feed (what other processes record: change-feed.ts) and at boot.
 *
 * Consent, which departure must get right for recipients this process never admitted:
 * - `current`: exact records of recipients read or changed lately (bounded, oldest out);
 * - `optedOut`: every current opt-out (loaded at boot, kept by the feed), bounded at
 *   OPT_OUT_ENTRIES; past that bound a recipient the Bloom filter cannot rule out is answered as
 *   opted out (refusing a marketing template wrongly is the lesser harm than sending it to a STOP);
 * - the Bloom filter of every opt-out seen, for the "certainly never opted out" answer without a lookup.
 * Writes of window, deferral and first-send state go to Redis in the background (failures to
 * `onError`), as the SQLite store's write-behind does; consent never takes this path (the engine
 * awaits it before answering).
 */
import { OptOutFilter } from './opt-out-filter.js';
import { RecencyMap } from './recency-map.js';
import type { RedisPolicyStore } from './redis-store.js';
import type { LoadedState, PolicyStore, StateWrite } from './store.js';
import type { ConsentRecord } from './types.js';

const CURRENT_ENTRIES = 100_000;
/** ~100 bytes each: 100 MB at the bound. */
export const OPT_OUT_ENTRIES = 1_000_000;

const EMPTY_STATE: LoadedState = Object.freeze({ windows: [], charges: [], deferrals: [], firstSends: [] }) as unknown as LoadedState;

export class SharedPolicyView implements PolicyStore {
  private readonly current = new RecencyMap<Readonly<ConsentRecord> | null>();
  private readonly optedOut = new RecencyMap<Readonly<ConsentRecord>>();
  private readonly optOuts = new OptOutFilter();
  /** An opt-out left `optedOut` for room: from then on a Bloom "maybe" that misses is an opt-out. */
  private overflowed = false;
  private boot: LoadedState;

  constructor(
    private readonly redis: RedisPolicyStore,
    private readonly nowMs: () => number,
    private readonly onError: (err: unknown, what: string) => void,
    boot: LoadedState,
  ) {
    this.boot = boot;
  }

  /** The current consent of a recipient, as the shared store holds it now (undefined: none). */
  learn(tenantId: string, recipient: string, record: ConsentRecord | undefined): void {
    if (this.current.size >= CURRENT_ENTRIES && this.current.get(tenantId, recipient) === undefined) this.current.remove(this.current.oldest()!);
    this.current.set(tenantId, recipient, record ?? null);
    if (record?.status === 'opt_out') this.noteOptOut(record);
    else this.optedOut.delete(tenantId, recipient);
  }

  /** A record the shared store made current (this process's write, or one from the feed). */
  applied(record: ConsentRecord): void {
    this.learn(record.tenantId, record.recipient, Object.freeze({ ...record }));
  }

  /** An opt-out current in the shared store (boot load). */
  noteOptOut(record: ConsentRecord): void {
    this.optOuts.add(record.tenantId, record.recipient);
    if (this.optedOut.get(record.tenantId, record.recipient) === undefined && this.optedOut.size >= OPT_OUT_ENTRIES) {
      this.optedOut.remove(this.optedOut.oldest()!);
      this.overflowed = true;
    }
    this.optedOut.set(record.tenantId, record.recipient, record);
  }

  mayBeOptedOut(tenantId: string, recipient: string): boolean {
    return this.optOuts.mayContain(tenantId, recipient);
  }

  getConsent(tenantId: string, recipient: string): ConsentRecord | undefined {
    const known = this.current.get(tenantId, recipient);
    if (known !== undefined) return known.value ?? undefined;
    const out = this.optedOut.get(tenantId, recipient)?.value;
    if (out !== undefined) return out;
    if (this.overflowed && this.optOuts.mayContain(tenantId, recipient)) {
      return { tenantId, recipient, status: 'opt_out', source: 'opt-out list (not held in memory)', atMs: 0 };
    }
    return undefined;
  }

  putConsent(): number {
    throw new Error('a fleet records consent through the shared engine (recordConsentAsync), durable before it answers');
  }

  consentHistory(): ConsentRecord[] {
    throw new Error('a fleet reads consent history through the shared engine (consentOfAsync)');
  }

  /** Nothing beyond the view: admission reads the recipient's window from Redis first. */
  windowOpenedMs(): number | undefined {
    return undefined;
  }

  write(change: StateWrite): void {
    // Charges never come here (the fleet's tier ledger counts in the budget script).
    if (change.kind === 'charge' || change.kind === 'uncharge') return;
    this.redis.write(change, this.nowMs()).catch((error: unknown) => this.onError(error, `policy state write (${change.kind})`));
  }

  /** The state loaded from Redis before the engine was built, handed over once. */
  loadState(): LoadedState {
    const state = this.boot;
    this.boot = EMPTY_STATE;
    return state;
  }

  flush(): void {}

  close(): void {}
}
