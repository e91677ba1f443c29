/**
 * The policy engine's durable state, behind one small interface (PolicyStore), kept in its own
 * SQLite file `<storage.path>/policy.db` so policy writes never contend with the send queue.
 *
 * Two durability classes:
 * - consent (opt-in / opt-out records and their audit log): written synchronously with
 *   synchronous=FULL before the consent API answers, so an acknowledged opt-out survives a power
 *   loss. Honouring opt-outs is a legal duty; it is never write-behind.
 * - admission state (open windows, tier charges, deferrals, first sends): write-behind. admit() is
 *   synchronous and these are not part of a send's 2xx promise; writes queue in memory and commit in
 *   one transaction every `writeBehindMs` (50 ms by default) on a second connection kept at
 *   synchronous=NORMAL (survives a process crash once committed; a crash may lose the last
 *   50 ms, a machine crash the last moments: at worst a tier slot re-opens or a window Meta would
 *   re-open on the user's next message is forgotten). One commit per interval instead of one per
 *   event-loop turn, and no `PRAGMA synchronous` switch around it (~10 µs each way): the policy
 *   store's background writes were 2.7 % of the gateway's CPU under bench/macro/policy.ts.
 */
import Database from 'better-sqlite3';
import type { Migration } from '../store/embedded/migrations.js';
import { openSqliteFile } from '../store/sqlite-file.js';
import { OptOutFilter } from './opt-out-filter.js';
import { RecencyMap } from './recency-map.js';
import type { ConsentRecord, ConsentStatus } from './types.js';

export const POLICY_DB_FILE = 'policy.db';

export type StateWrite =
  | { kind: 'window'; phoneNumberId: string; user: string; atMs: number }
  | { kind: 'charge'; tenantId: string; recipient: string; atMs: number }
  | { kind: 'uncharge'; tenantId: string; recipient: string }
  | { kind: 'deferral'; tenantId: string; recipient: string; undeliverableUntilMs: number; marketingUntilMs: number }
  | { kind: 'firstSend'; phoneNumberId: string; atMs: number };

export interface DeferralRow {
  tenantId: string;
  recipient: string;
  undeliverableUntilMs: number;
  marketingUntilMs: number;
}

/** State replayed at boot, each list oldest first. */
export interface LoadedState {
  windows: Array<{ phoneNumberId: string; user: string; atMs: number }>;
  charges: Array<{ tenantId: string; recipient: string; atMs: number }>;
  deferrals: DeferralRow[];
  firstSends: Array<{ phoneNumberId: string; atMs: number }>;
}

export interface PolicyStore {
  /** Records consent durably (FULL) and appends each record to the audit log; returns how many changed the current status. */
  putConsent(records: readonly ConsentRecord[], recordedMs: number): number;
  getConsent(tenantId: string, recipient: string): ConsentRecord | undefined;
  /** False when the recipient certainly never opted out (no read needed); true: maybe, read getConsent. */
  mayBeOptedOut(tenantId: string, recipient: string): boolean;
  /** Audit log of a recipient, newest first. */
  consentHistory(tenantId: string, recipient: string, limit: number): ConsentRecord[];
  /** Latest inbound time of (number, user), for lookups the in-memory cache no longer holds. */
  windowOpenedMs(phoneNumberId: string, user: string): number | undefined;
  /** Queues a write-behind state change (committed within writeBehindMs, or by flush()). */
  write(change: StateWrite): void;
  /** Admission state younger than `sinceMs` (deferrals still running at `nowMs`); prunes older rows. */
  loadState(sinceMs: number, nowMs: number): LoadedState;
  flush(): void;
  close(): void;
}

/**
 * The policy database's schema, versioned like every database file of the gateway (the shared
 * `migrate`, src/store/embedded/migrations.ts). Version 1 is the schema files were first created
 * with (IF NOT EXISTS: a file from before versioning upgrades in place). Never edit a shipped one.
 */
export const POLICY_MIGRATIONS: readonly Migration[] = [{ version: 1, sql: `
CREATE TABLE IF NOT EXISTS consent (
  tenant_id TEXT NOT NULL, recipient TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, recipient)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consent_log (
  id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, recipient TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL,
  at_ms INTEGER NOT NULL, recorded_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS consent_log_recipient ON consent_log (tenant_id, recipient, id);
CREATE TABLE IF NOT EXISTS windows (
  phone_number_id TEXT NOT NULL, user TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (phone_number_id, user)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tier_charges (
  tenant_id TEXT NOT NULL, recipient TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, recipient)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deferrals (
  tenant_id TEXT NOT NULL, recipient TEXT NOT NULL, undeliverable_until_ms INTEGER NOT NULL, marketing_until_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, recipient)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS first_sends (phone_number_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID;
` }];

interface ConsentRow { tenant_id: string; recipient: string; status: ConsentStatus; source: string; at_ms: number }

const toRecord = (r: ConsentRow): ConsentRecord =>
  ({ tenantId: r.tenant_id, recipient: r.recipient, status: r.status, source: r.source, atMs: r.at_ms });

export interface PolicyStoreOptions {
  /** How long write-behind state may wait in memory before its commit (default 50 ms). */
  writeBehindMs?: number;
  /** Told about write-behind commits that failed (disk full, lock held): kept and retried; the gateway logs them. */
  onError?: (err: unknown, what: string) => void;
}

const DEFAULT_WRITE_BEHIND_MS = 50;
/** While commits keep failing, retried this often. */
const RETRY_FAILED_WRITE_MS = 1_000;
/**
 * Write-behind changes held at most while commits fail (a few MB); beyond, the oldest are dropped
 * and reported. At worst a dropped change re-opens a tier slot or forgets a window after a restart.
 */
const MAX_PENDING_WRITES = 100_000;

/** Opens (creating if needed) the policy database file, e.g. `join(storage.path, POLICY_DB_FILE)`. */
export function openPolicyStore(dbFile: string, options: PolicyStoreOptions = {}): PolicyStore {
  const writeBehindMs = options.writeBehindMs ?? DEFAULT_WRITE_BEHIND_MS;
  if (!(writeBehindMs >= 0) || !Number.isFinite(writeBehindMs)) throw new RangeError(`writeBehindMs must be >= 0 (got ${writeBehindMs})`);
  const memory = dbFile === ':memory:';
  const db = openSqliteFile(dbFile, { migrations: POLICY_MIGRATIONS });
  let stateDb: Database.Database | undefined;
  try {
    // A second connection to ':memory:' would be a second, empty database; there is no disk to sync anyway.
    const state = memory ? db : new Database(dbFile, { timeout: 5000 });
    stateDb = state;
    if (!memory) state.pragma('synchronous = NORMAL');
    return new SqlitePolicyStore(db, state, writeBehindMs, options.onError ?? (() => {}));
  } catch (error) {
    if (stateDb !== undefined && stateDb !== db) stateDb.close();
    db.close();
    throw error;
  }
}

/**
 * Consent is read on every template send; a SQLite point read there was a third of the policy
 * pipeline's CPU in bench/macro/policy.ts (getConsent 2.3 % of the gateway's profile vs admit 7.1 %).
 * Reads are cached, bounded (oldest entry dropped first); every write goes through putConsent, which
 * drops the entries it touched, so the cache never serves a stale status.
 */
const CONSENT_CACHE_MAX = 100_000;

class SqlitePolicyStore implements PolicyStore {
  private pending: StateWrite[] = [];
  /** (tenant, recipient) → its current record, null when it has none; oldest read first out. */
  private readonly consentCache = new RecencyMap<Readonly<ConsentRecord> | null>();
  private scheduled = false;
  private closed = false;
  /** Changes dropped (oldest first) since the last report, while commits failed. */
  private droppedWrites = 0;
  private readonly s;
  /** One transaction over a batch of write-behind changes, on the state connection. */
  private readonly applyBatch: (batch: readonly StateWrite[]) => void;
  /** Every opt-out ever recorded, as a Bloom filter: "never opted out" without a read. */
  private readonly optOuts = new OptOutFilter();

  /** Consent and reads on `db` (FULL); write-behind commits on `stateDb` (NORMAL), the same file. */
  constructor(
    private readonly db: Database.Database,
    private readonly stateDb: Database.Database,
    private readonly writeBehindMs: number,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    this.s = {
      logConsent: db.prepare('INSERT INTO consent_log (tenant_id, recipient, status, source, at_ms, recorded_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      // A record older than the current one is logged but does not override it (an old import cannot undo a recent STOP).
      // The current one counts as dated no later than now (the last ?): a row written with a future date
      // before dates were clamped must not outrank what comes after it.
      upsertConsent: db.prepare(`INSERT INTO consent (tenant_id, recipient, status, source, at_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (tenant_id, recipient) DO UPDATE SET status = excluded.status, source = excluded.source, at_ms = excluded.at_ms
        WHERE excluded.at_ms >= min(consent.at_ms, ?)`),
      getConsent: db.prepare('SELECT tenant_id, recipient, status, source, at_ms FROM consent WHERE tenant_id = ? AND recipient = ?'),
      history: db.prepare(`SELECT tenant_id, recipient, status, source, at_ms FROM consent_log
        WHERE tenant_id = ? AND recipient = ? ORDER BY id DESC LIMIT ?`),
      window: db.prepare('SELECT at_ms FROM windows WHERE phone_number_id = ? AND user = ?').pluck(),
      putWindow: stateDb.prepare(`INSERT INTO windows (phone_number_id, user, at_ms) VALUES (?, ?, ?)
        ON CONFLICT DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)`),
      putCharge: stateDb.prepare(`INSERT INTO tier_charges (tenant_id, recipient, at_ms) VALUES (?, ?, ?)
        ON CONFLICT DO UPDATE SET at_ms = excluded.at_ms`),
      delCharge: stateDb.prepare('DELETE FROM tier_charges WHERE tenant_id = ? AND recipient = ?'),
      putDeferral: stateDb.prepare(`INSERT INTO deferrals (tenant_id, recipient, undeliverable_until_ms, marketing_until_ms) VALUES (?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET undeliverable_until_ms = excluded.undeliverable_until_ms, marketing_until_ms = excluded.marketing_until_ms`),
      putFirstSend: stateDb.prepare('INSERT OR IGNORE INTO first_sends (phone_number_id, at_ms) VALUES (?, ?)'),
    };
    this.applyBatch = stateDb.transaction((batch: readonly StateWrite[]) => {
      for (const w of batch) this.apply(w);
    });
    const optedOut = db.prepare("SELECT tenant_id, recipient FROM consent WHERE status = 'opt_out'").raw();
    for (const [tenantId, recipient] of optedOut.iterate() as Iterable<[string, string]>) this.optOuts.add(tenantId, recipient);
  }

  putConsent(records: readonly ConsentRecord[], recordedMs: number): number {
    const tx = this.db.transaction((list: readonly ConsentRecord[]) => {
      let changed = 0;
      for (const r of list) {
        if (r.status === 'opt_out') this.optOuts.add(r.tenantId, r.recipient);
        // Dated no later than its recording, whoever wrote it: a future date would mask every STOP until then.
        const atMs = Math.min(r.atMs, recordedMs);
        this.s.logConsent.run(r.tenantId, r.recipient, r.status, r.source, atMs, recordedMs);
        changed += this.s.upsertConsent.run(r.tenantId, r.recipient, r.status, r.source, atMs, recordedMs).changes;
      }
      return changed;
    });
    try {
      return tx(records);
    } finally {
      // Also after a failed commit: the next read goes to the database, whatever it holds.
      for (const r of records) this.consentCache.delete(r.tenantId, r.recipient);
    }
  }

  mayBeOptedOut(tenantId: string, recipient: string): boolean {
    return this.optOuts.mayContain(tenantId, recipient);
  }

  getConsent(tenantId: string, recipient: string): ConsentRecord | undefined {
    const cached = this.consentCache.get(tenantId, recipient);
    if (cached !== undefined) return cached.value ?? undefined;
    const row = this.s.getConsent.get(tenantId, recipient) as ConsentRow | undefined;
    const record = row === undefined ? undefined : Object.freeze(toRecord(row));
    if (this.consentCache.size >= CONSENT_CACHE_MAX) this.consentCache.remove(this.consentCache.oldest()!);
    this.consentCache.set(tenantId, recipient, record ?? null);
    return record;
  }

  consentHistory(tenantId: string, recipient: string, limit: number): ConsentRecord[] {
    return (this.s.history.all(tenantId, recipient, limit) as ConsentRow[]).map(toRecord);
  }

  windowOpenedMs(phoneNumberId: string, user: string): number | undefined {
    return this.s.window.get(phoneNumberId, user) as number | undefined;
  }

  write(change: StateWrite): void {
    if (this.closed) return;
    if (this.pending.length >= MAX_PENDING_WRITES) {
      // A tenth at once: shifting one per write would copy the whole queue every time.
      const drop = MAX_PENDING_WRITES / 10;
      this.pending.splice(0, drop);
      this.droppedWrites += drop;
    }
    this.pending.push(change);
    if (!this.scheduled) {
      this.scheduled = true;
      // unref: pending state never keeps the process alive; close() commits it.
      setTimeout(() => this.flushSoon(), this.writeBehindMs).unref();
    }
  }

  /** A failed background commit (disk full, lock held) keeps its batch and retries in a second, never crashes the process. */
  private flushSoon(): void {
    try {
      this.flush();
    } catch (error) {
      this.report(error);
      this.scheduled = true;
      setTimeout(() => this.flushSoon(), RETRY_FAILED_WRITE_MS).unref();
    }
  }

  private report(error: unknown): void {
    const dropped = this.droppedWrites;
    this.droppedWrites = 0;
    try {
      this.onError(error, dropped > 0 ? `policy state commit (${dropped} oldest changes dropped)` : 'policy state commit');
    } catch {
      // A failing logger changes nothing: the batch is kept and retried.
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.applyBatch(batch);
    } catch (error) {
      // Keep the batch, in order, ahead of anything queued since.
      this.pending = batch.concat(this.pending);
      throw error;
    }
  }

  loadState(sinceMs: number, nowMs: number): LoadedState {
    this.db.prepare('DELETE FROM windows WHERE at_ms <= ?').run(sinceMs);
    this.db.prepare('DELETE FROM tier_charges WHERE at_ms <= ?').run(sinceMs);
    this.db.prepare('DELETE FROM deferrals WHERE undeliverable_until_ms <= ? AND marketing_until_ms <= ?').run(nowMs, nowMs);
    type W = { phone_number_id: string; user: string; at_ms: number };
    type C = { tenant_id: string; recipient: string; at_ms: number };
    type D = { tenant_id: string; recipient: string; undeliverable_until_ms: number; marketing_until_ms: number };
    const windows = this.db.prepare('SELECT phone_number_id, user, at_ms FROM windows ORDER BY at_ms').all() as W[];
    const charges = this.db.prepare('SELECT tenant_id, recipient, at_ms FROM tier_charges ORDER BY at_ms').all() as C[];
    const deferrals = this.db.prepare('SELECT * FROM deferrals').all() as D[];
    const firstSends = this.db.prepare('SELECT phone_number_id, at_ms FROM first_sends').all() as Array<{ phone_number_id: string; at_ms: number }>;
    return {
      windows: windows.map((w) => ({ phoneNumberId: w.phone_number_id, user: w.user, atMs: w.at_ms })),
      charges: charges.map((c) => ({ tenantId: c.tenant_id, recipient: c.recipient, atMs: c.at_ms })),
      deferrals: deferrals.map((d) => ({
        tenantId: d.tenant_id, recipient: d.recipient, undeliverableUntilMs: d.undeliverable_until_ms, marketingUntilMs: d.marketing_until_ms,
      })),
      firstSends: firstSends.map((f) => ({ phoneNumberId: f.phone_number_id, atMs: f.at_ms })),
    };
  }

  /** Commits what is queued; if that fails (disk full) the failure is reported and the files closed anyway. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } catch (error) {
      this.report(error);
    }
    this.closed = true;
    if (this.stateDb !== this.db) this.stateDb.close();
    this.db.close();
  }

  private apply(w: StateWrite): void {
    switch (w.kind) {
      case 'window': this.s.putWindow.run(w.phoneNumberId, w.user, w.atMs); break;
      case 'charge': this.s.putCharge.run(w.tenantId, w.recipient, w.atMs); break;
      case 'uncharge': this.s.delCharge.run(w.tenantId, w.recipient); break;
      case 'deferral': this.s.putDeferral.run(w.tenantId, w.recipient, w.undeliverableUntilMs, w.marketingUntilMs); break;
      case 'firstSend': this.s.putFirstSend.run(w.phoneNumberId, w.atMs); break;
    }
  }
}
