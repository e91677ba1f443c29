/**
 * Prometheus metrics, one registry per gateway instance (tests run several in one process).
 * Queue gauges are read from a snapshot at scrape time rather than updated per send.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface LaneSnapshot {
  phoneNumberId: string;
  depth: number;
  oldestAgeMs: number;
  effectiveMps: number;
  paused: boolean;
  inFlight: number;
  inFlightLimit: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** The dispatcher as a whole (Dispatcher.capacity()). */
export interface CapacitySnapshot {
  inFlight: number;
  capacity: number;
  demand: number;
  blockedLanes: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly accepted: Counter<'tenant'>;
  readonly rejected: Counter<'reason'>;
  readonly upstreamSends: Counter<'outcome' | 'code'>;
  readonly dispatchLatency: Histogram;
  /** How long a ready message's lane waited for a free upstream slot: > 0 means the gateway is the bottleneck. */
  readonly slotWait: Histogram;
  /** Per-tenant children of `accepted`, bound once: a labelled inc() hashes its labels every call. */
  private readonly acceptedByTenant = new Map<string, { inc(): void }>();

  acceptedBy(tenantId: string): { inc(): void } {
    let child = this.acceptedByTenant.get(tenantId);
    if (child === undefined) {
      child = this.accepted.labels({ tenant: tenantId });
      this.acceptedByTenant.set(tenantId, child);
    }
    return child;
  }

  constructor(lanes: () => Iterable<LaneSnapshot>, options: { defaultMetrics?: boolean; capacity?: () => CapacitySnapshot } = {}) {
    const registers = [this.registry];
    // prom-client's names already start with process_ / nodejs_: sendgate_process_cpu_seconds_total, not sendgate_process_process_….
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sendgate_' });
    this.accepted = new Counter({ name: 'sendgate_accepted_total', help: 'Messages accepted (durably queued)', labelNames: ['tenant'], registers });
    this.rejected = new Counter({ name: 'sendgate_rejected_total', help: 'Requests refused, by reason (error catalogue code)', labelNames: ['reason'], registers });
    this.upstreamSends = new Counter({ name: 'sendgate_upstream_sends_total', help: 'Upstream send attempts by outcome and Graph error code', labelNames: ['outcome', 'code'], registers });
    this.dispatchLatency = new Histogram({
      name: 'sendgate_dispatch_latency_seconds',
      help: 'From acceptance to the upstream answer that sent the message',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    const gauge = (name: string, help: string, pick: (lane: LaneSnapshot) => number): void => {
      new Gauge({
        name, help, labelNames: ['number'], registers,
        collect() {
          this.reset();
          for (const lane of lanes()) this.set({ number: lane.phoneNumberId }, pick(lane));
        },
      });
    };
    gauge('sendgate_queue_depth', 'Messages waiting per number', (l) => l.depth);
    gauge('sendgate_queue_oldest_age_seconds', 'Age of the oldest waiting message per number', (l) => l.oldestAgeMs / 1000);
    gauge('sendgate_effective_rate_mps', 'Current pacing rate per number after headroom and adaptive slow-down', (l) => l.effectiveMps);
    gauge('sendgate_number_paused', '1 when the number is paused', (l) => (l.paused ? 1 : 0));
    gauge('sendgate_in_flight', 'Upstream requests in flight per number', (l) => l.inFlight);
    gauge('sendgate_in_flight_limit', 'Upstream slots the number may hold now (its rate x observed p99 latency, plus its bucket)', (l) => l.inFlightLimit);
    this.slotWait = new Histogram({
      name: 'sendgate_dispatch_slot_wait_seconds',
      help: 'Time a number with a ready message waited for a free upstream slot (the gateway, not the limits, held it)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    new Gauge({
      name: 'sendgate_upstream_latency_seconds', help: 'Upstream answer time per number lately (decaying histogram), by quantile',
      labelNames: ['number', 'quantile'], registers,
      collect() {
        this.reset();
        for (const lane of lanes()) {
          if (Number.isNaN(lane.latencyP50Ms)) continue;
          this.set({ number: lane.phoneNumberId, quantile: '0.5' }, lane.latencyP50Ms / 1000);
          this.set({ number: lane.phoneNumberId, quantile: '0.99' }, lane.latencyP99Ms / 1000);
        }
      },
    });
    const capacity = options.capacity;
    if (capacity !== undefined) {
      const total = (name: string, help: string, pick: (c: CapacitySnapshot) => number): void => {
        new Gauge({ name, help, registers, collect() { this.set(pick(capacity())); } });
      };
      total('sendgate_dispatch_in_flight', 'Upstream slots held over all numbers', (c) => c.inFlight);
      total('sendgate_dispatch_capacity', 'Upstream slots the gateway allows at once (upstream.maxInFlight within memory)', (c) => c.capacity);
      total('sendgate_dispatch_demand', 'Upstream slots the numbers with work would use now', (c) => c.demand);
      total('sendgate_dispatch_blocked_numbers', 'Numbers with a ready message waiting for a free upstream slot', (c) => c.blockedLanes);
    }
  }
}

/** What the WASM core reports about its fixed tables (Core.stats()). */
export interface CoreTablesSnapshot {
  tableFull: Record<string, number>;
  /** Charges refused per member table because their tenant held its share (absent: no shares). */
  shareFull?: Record<string, number>;
  liveKeys: Record<string, number>;
  capacity: Record<string, number>;
}

/**
 * The WASM core's tables: live keys against capacity, and decisions refused because a table was
 * full (the safe refusal: a full table answers "wait", so a sustained count means `core.*Keys`
 * is too small for the traffic).
 */
export function registerCoreMetrics(registry: Registry, core: () => CoreTablesSnapshot): void {
  const registers = [registry];
  const perTable = (name: string, help: string, pick: (s: CoreTablesSnapshot) => Record<string, number>): void => {
    new Gauge({
      name, help, labelNames: ['table'], registers,
      collect() {
        this.reset();
        for (const [table, value] of Object.entries(pick(core()))) this.set({ table }, value);
      },
    });
  };
  perTable('sendgate_core_table_full_total', 'Decisions refused because a WASM core table was full, since start', (s) => s.tableFull);
  perTable('sendgate_core_share_full_total', 'Charges refused because their tenant held its share of a WASM core member table (core.scopeShare), since start', (s) => s.shareFull ?? {});
  perTable('sendgate_core_table_keys', 'Live keys per WASM core table', (s) => s.liveKeys);
  perTable('sendgate_core_table_capacity', 'Capacity per WASM core table (config core.*Keys)', (s) => s.capacity);
}
