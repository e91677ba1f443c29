/**
 * Applies a catalog version to this process: the registry (API keys → tenant, numbers → owner),
 * the live number map the dispatcher reads at every decision (a new number can send at once, a
 * deleted one stops: its lane fails what it still holds as unknown, and in a fleet its lease is
 * handed back), and whatever else follows the tenants (the policy engine).
 */
import type { NumberConfig, TenantConfig } from '../../config/schema.js';
import type { NumberInfo } from '../../dispatch/types.js';
import type { TenantRegistry } from '../tenants.js';
import type { Catalog } from './model.js';

export function numberInfoOf(tenant: TenantConfig, number: NumberConfig): NumberInfo {
  const pairRate = tenant.policy.pairRate;
  return {
    tenantId: tenant.id, accessToken: number.accessToken, mps: number.mps, burst: number.burst,
    pair: { intervalMs: pairRate.intervalSec * 1000, burst: pairRate.burst },
  };
}

export type TenantsListener = (tenants: readonly TenantConfig[]) => void;

export class TenantRuntime {
  private applied = -1;
  private readonly listeners: TenantsListener[] = [];
  private readonly movedListeners: Array<(phoneNumberId: string) => void> = [];

  constructor(private readonly registry: TenantRegistry, private readonly numbers: Map<string, NumberInfo>) {}

  /** The catalog version this process runs on (-1 before the first). */
  get version(): number {
    return this.applied;
  }

  onChange(listener: TenantsListener): void {
    this.listeners.push(listener);
  }

  /** A number now belongs to another tenant than before. */
  onNumberMoved(listener: (phoneNumberId: string) => void): void {
    this.movedListeners.push(listener);
  }

  /** Applies `catalog` unless this process already runs on it or a later one; true when applied. */
  apply(catalog: Catalog): boolean {
    if (catalog.version <= this.applied) return false;
    const { tenants, keys } = catalog.effective();
    this.registry.replace(tenants, keys);
    const seen = new Set<string>();
    for (const tenant of tenants) {
      for (const number of tenant.numbers) {
        seen.add(number.phoneNumberId);
        const before = this.numbers.get(number.phoneNumberId)?.tenantId;
        this.numbers.set(number.phoneNumberId, numberInfoOf(tenant, number));
        if (before !== undefined && before !== tenant.id) for (const moved of this.movedListeners) moved(number.phoneNumberId);
      }
    }
    for (const id of [...this.numbers.keys()]) if (!seen.has(id)) this.numbers.delete(id);
    this.applied = catalog.version;
    for (const listener of this.listeners) listener(tenants);
    return true;
  }
}
