/**
 * Meta account signals on /metrics, read from AccountSignals.stats() at scrape time:
 *   sendgate_meta_signals_total{field,outcome}   field: business_capability_update |
 *     phone_number_quality_update | account_update | user_preferences | template_category_update;
 *     outcome: applied | unmapped
 *     (no tenant owns the WABA or number) | ignored (nothing sendgate acts on, e.g. TIER_NOT_SET)
 *   sendgate_number_quality_flagged{phone_number_id}  1 while Meta has the number's quality flagged
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AccountSignalsStats } from './account-signals.js';

export function registerSignalMetrics(registry: Registry, stats: () => AccountSignalsStats): void {
  const registers = [registry];
  new Counter({
    name: 'sendgate_meta_signals_total', help: "Meta account signals by webhook field and what sendgate did with them", labelNames: ['field', 'outcome'], registers,
    collect() {
      this.reset();
      for (const [key, count] of Object.entries(stats().counts)) {
        const [field = '', outcome = ''] = key.split(':');
        this.inc({ field, outcome }, count);
      }
    },
  });
  new Gauge({
    name: 'sendgate_number_quality_flagged', help: "1 for each number whose quality Meta flagged (phone_number_quality_update FLAGGED or DOWNGRADE)", labelNames: ['phone_number_id'], registers,
    collect() {
      this.reset();
      for (const id of stats().flagged) this.set({ phone_number_id: id }, 1);
    },
  });
}
