/**
 * Policy counters for /metrics, read from engine.stats() at scrape time (nothing per send):
 *   sendgate_policy_refusals_total{tenant,policy,mode="enforce"|"shadow"}
 *   sendgate_policy_warnings_total{tenant}
 * Shadow refusals are what a policy would have refused: the number a BSP watches while trialling.
 */
import { Counter, type Registry } from 'prom-client';
import type { PolicyEngine, PolicyName } from './types.js';

export function registerPolicyMetrics(registry: Registry, engine: Pick<PolicyEngine, 'stats'>): void {
  const registers = [registry];
  new Counter({
    name: 'sendgate_policy_refusals_total',
    help: 'Sends a policy refused (mode="enforce") or would have refused (mode="shadow"), by tenant and policy',
    labelNames: ['tenant', 'policy', 'mode'],
    registers,
    collect() {
      this.reset();
      const stats = engine.stats();
      for (const [mode, table] of [['enforce', stats.refused], ['shadow', stats.shadow]] as const) {
        for (const [tenant, perPolicy] of Object.entries(table)) {
          for (const [policy, count] of Object.entries(perPolicy) as Array<[PolicyName, number]>) this.inc({ tenant, policy, mode }, count);
        }
      }
    },
  });
  new Counter({
    name: 'sendgate_policy_warnings_total',
    help: 'Sends admitted with a policy warning (optIn "warn": no recorded opt-in), by tenant',
    labelNames: ['tenant'],
    registers,
    collect() {
      this.reset();
      for (const [tenant, count] of Object.entries(engine.stats().warned)) this.inc({ tenant }, count);
    },
  });
}
