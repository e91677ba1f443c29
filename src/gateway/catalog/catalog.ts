/**
 * The runtime tenant catalog of one process: seeds it from the config file at boot, keeps this
 * process on its latest version (a fleet hears changes over pub/sub and also polls the version),
 * and runs the admin API's changes as compare-and-set batches, retried when another process wrote
 * first. A change resolves once it is durable and applied here; in a fleet, once every live
 * process applied it too (or after `propagationTimeoutMs`), so a revoked key is refused everywhere.
 */
import type { Clock } from '../../clock.js';
import type { TenantConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import { storageUnavailable } from '../../store/errors.js';
import type { CatalogBackend } from './backend.js';
import { Catalog, seedOps, type CatalogOp } from './model.js';
import type { TenantRuntime } from './runtime.js';

export interface TenantCatalogOptions {
  backend: CatalogBackend;
  runtime: TenantRuntime;
  clock: Clock;
  /** The config file's tenants. */
  seed: readonly TenantConfig[];
  /** How often the version is polled in case a notice was lost (default 2 s; 0: never). */
  pollMs?: number;
  /** How long a change waits for the other processes of a fleet to apply it (default 5 s). */
  propagationTimeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/** What a change produces: rows to write and the answer to give once they are. */
export interface Change<T> {
  ops: CatalogOp[];
  result: T;
}

const MAX_TRIES = 8;

export class TenantCatalog {
  private latest: Catalog;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;
  private again = false;

  private constructor(private readonly o: TenantCatalogOptions, first: Catalog) {
    this.latest = first;
  }

  /** Seeds from the config, applies the catalog to the runtime and starts following changes. */
  static async open(o: TenantCatalogOptions): Promise<TenantCatalog> {
    let catalog = Catalog.decode(await o.backend.load());
    for (let tries = 0; ; tries++) {
      const ops = seedOps(catalog, o.seed, o.clock.nowMs());
      if (ops.length === 0) break;
      if (tries >= MAX_TRIES) throw new Error('tenant catalog: could not seed it from the config (other processes kept changing it)');
      // Null: another process (seeding the same file) wrote first; either way read and compare again.
      await o.backend.commit(catalog.version, ops);
      catalog = Catalog.decode(await o.backend.load());
    }
    const self = new TenantCatalog(o, catalog);
    o.runtime.apply(catalog);
    await o.backend.acknowledge(catalog.version);
    self.unsubscribe = await o.backend.subscribe(() => self.refreshSoon());
    const pollMs = o.pollMs ?? 2000;
    if (pollMs > 0) {
      self.timer = setInterval(() => {
        o.backend.version().then((v) => {
          if (v > o.runtime.version) self.refreshSoon();
        }, (err: unknown) => o.onError?.(err, 'tenant catalog: reading its version'));
      }, pollMs);
      self.timer.unref();
    }
    return self;
  }

  /** The catalog this process runs on. */
  current(): Catalog {
    return this.latest;
  }

  /** The catalog as stored now (the admin API reads through it, so any process answers the latest). */
  async read(): Promise<Catalog> {
    const catalog = Catalog.decode(await stored(this.o.backend.load()));
    this.adopt(catalog);
    return catalog;
  }

  /**
   * Runs `plan` on the stored catalog and writes its rows if nothing changed meanwhile (else reads
   * again and plans again). `plan` throws a GatewayError to refuse, and nothing is written.
   */
  async change<T>(plan: (catalog: Catalog, nowMs: number) => Change<T>): Promise<T> {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const catalog = await this.read();
      const { ops, result } = plan(catalog, this.o.clock.nowMs());
      if (ops.length === 0) return result;
      const version = await stored(this.o.backend.commit(catalog.version, ops));
      if (version === null) continue;
      // Durable from here: should reading it back fail, the next notice or poll applies it.
      await this.read().catch((err: unknown) => this.o.onError?.(err, 'tenant catalog: reading a change it made'));
      await this.o.backend.waitApplied(version, this.o.propagationTimeoutMs ?? 5000).catch((err: unknown) => this.o.onError?.(err, 'tenant catalog: waiting for the fleet'));
      return result;
    }
    throw storageUnavailable(null, 'The tenant catalog kept changing under this change (other processes writing); retry.');
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.unsubscribe?.();
    this.o.backend.close();
  }

  private adopt(catalog: Catalog): void {
    if (catalog.version < this.latest.version) return;
    this.latest = catalog;
    if (this.o.runtime.apply(catalog)) {
      this.o.backend.acknowledge(catalog.version).catch((err: unknown) => this.o.onError?.(err, 'tenant catalog: acknowledging a version'));
    }
  }

  /** Reads the catalog again (one read at a time; a notice during one schedules one more). */
  private refreshSoon(): void {
    if (this.refreshing !== null) {
      this.again = true;
      return;
    }
    this.refreshing = this.read().then(() => undefined, (err: unknown) => this.o.onError?.(err, 'tenant catalog: reading a change'))
      .finally(() => {
        this.refreshing = null;
        if (this.again) {
          this.again = false;
          this.refreshSoon();
        }
      });
  }
}

/** A store failure answers 503 (retry); refusals planned from the catalog pass as they are. */
async function stored<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw err instanceof GatewayError ? err : storageUnavailable(err, 'The tenant catalog could not be read or written; retry later.');
  }
}
