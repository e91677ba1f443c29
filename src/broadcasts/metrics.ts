/**
 * Broadcast gauges for /metrics, read from the active broadcasts at scrape time (nothing per recipient):
 *   sendgate_broadcasts_active{tenant}                          broadcasts scheduled or running
 *   sendgate_broadcast_recipients{tenant,status}                their recipients by status (pending,
 *                                                               waiting_for_limit, queued, sent, ...)
 */
import { Gauge, type Registry } from 'prom-client';
import type { BroadcastRecord } from './types.js';

export function registerBroadcastMetrics(registry: Registry, active: () => Iterable<BroadcastRecord>): void {
  const registers = [registry];
  new Gauge({
    name: 'sendgate_broadcasts_active',
    help: 'Broadcasts scheduled or running (or ending: their last messages in flight), by tenant',
    labelNames: ['tenant'],
    registers,
    collect() {
      this.reset();
      for (const b of active()) this.inc({ tenant: b.tenantId });
    },
  });
  new Gauge({
    name: 'sendgate_broadcast_recipients',
    help: 'Recipients of the active broadcasts by status; waiting_for_limit: pending ones held for messaging-limit slots',
    labelNames: ['tenant', 'status'],
    registers,
    collect() {
      this.reset();
      for (const b of active()) {
        for (const [status, n] of Object.entries(b.counts)) {
          if (status === 'pending' && b.waitingForLimit) this.inc({ tenant: b.tenantId, status: 'waiting_for_limit' }, n);
          else this.inc({ tenant: b.tenantId, status }, n);
        }
      }
    },
  });
}
