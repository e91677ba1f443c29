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
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly accepted: Counter<'tenant'>;
  readonly rejected: Counter<'reason'>;
  readonly upstreamSends: Counter<'outcome' | 'code'>;
  readonly dispatchLatency: Histogram;
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

  constructor(lanes: () => Iterable<LaneSnapshot>, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sendgate_process_' });
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
  }
}
