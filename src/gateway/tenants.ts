/**
 * Who is calling and what they own: built from config, then swapped whole whenever the runtime
 * tenant catalog changes (src/gateway/catalog/runtime.ts).
 *
 * API keys are looked up by their SHA-256 digest, then the digest is compared with
 * timingSafeEqual: the time taken does not depend on how much of a wrong key matched,
 * and the raw keys are not kept as map keys.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Config, NumberConfig, TenantConfig } from '../config/schema.js';

export interface NumberEntry {
  readonly tenant: TenantConfig;
  readonly number: NumberConfig;
}

export class TenantRegistry {
  private byKeyDigest = new Map<string, { digest: Buffer; tenant: TenantConfig }>();
  private byNumber = new Map<string, NumberEntry>();
  private byId = new Map<string, TenantConfig>();
  private byWaba = new Map<string, TenantConfig>();
  private byDisplayNumber = new Map<string, NumberEntry>();
  /** Display numbers learned from webhooks' metadata, per number id (bounded by the numbers). */
  private readonly learned = new Map<string, string>();

  constructor(config: Pick<Config, 'tenants'>) {
    const keys = config.tenants.flatMap((t) => t.apiKeys.map((key) => ({ digest: sha256(key).toString('hex'), tenantId: t.id })));
    this.replace(config.tenants, keys);
  }

  /**
   * Swaps in another set of tenants and key digests (hex SHA-256) at once: the runtime catalog
   * (src/gateway/catalog) calls it when tenants or keys change. Lookups see the old set or the new.
   */
  replace(tenants: readonly TenantConfig[], keys: Iterable<{ digest: string; tenantId: string }>): void {
    const byId = new Map<string, TenantConfig>();
    const byNumber = new Map<string, NumberEntry>();
    const byWaba = new Map<string, TenantConfig>();
    const byDisplayNumber = new Map<string, NumberEntry>();
    const byKeyDigest = new Map<string, { digest: Buffer; tenant: TenantConfig }>();
    for (const tenant of tenants) {
      byId.set(tenant.id, tenant);
      for (const number of tenant.numbers) {
        byNumber.set(number.phoneNumberId, { tenant, number });
        if (number.displayPhoneNumber !== undefined) byDisplayNumber.set(number.displayPhoneNumber, { tenant, number });
      }
      for (const wabaId of tenant.wabaIds ?? []) byWaba.set(wabaId, tenant);
    }
    // What was learned stays learned while the number exists and has no configured display number.
    for (const [phoneNumberId, display] of this.learned) {
      const entry = byNumber.get(phoneNumberId);
      if (entry === undefined || entry.number.displayPhoneNumber !== undefined) this.learned.delete(phoneNumberId);
      else if (!byDisplayNumber.has(display)) byDisplayNumber.set(display, entry);
    }
    for (const { digest, tenantId } of keys) {
      const tenant = byId.get(tenantId);
      if (tenant !== undefined) byKeyDigest.set(digest, { digest: Buffer.from(digest, 'hex'), tenant });
    }
    this.byId = byId;
    this.byNumber = byNumber;
    this.byWaba = byWaba;
    this.byDisplayNumber = byDisplayNumber;
    this.byKeyDigest = byKeyDigest;
  }

  /** The tenant owning this bearer API key, or undefined. */
  authenticate(apiKey: string): TenantConfig | undefined {
    const digest = sha256(apiKey);
    const hit = this.byKeyDigest.get(digest.toString('hex'));
    if (hit === undefined || !timingSafeEqual(hit.digest, digest)) return undefined;
    return hit.tenant;
  }

  number(phoneNumberId: string): NumberEntry | undefined {
    return this.byNumber.get(phoneNumberId);
  }

  /**
   * The tenant an account webhook is about: by the number's id when the payload has one, else by
   * its display number (quality updates), else by the WABA id in `entry[].id`.
   */
  accountTenant(signal: { phoneNumberId: string | null; displayPhoneNumber?: string | null; wabaId: string }): TenantConfig | undefined {
    if (signal.phoneNumberId !== null) {
      const owner = this.byNumber.get(signal.phoneNumberId);
      if (owner !== undefined) return owner.tenant;
    }
    return this.byDisplay(signal.displayPhoneNumber)?.tenant ?? this.byWaba.get(signal.wabaId);
  }

  /** The number Meta names by its display number (`15550783881`, `+1 555-078-3881`), configured or learned. */
  byDisplay(displayPhoneNumber: string | null | undefined): NumberEntry | undefined {
    const display = displayPhoneNumber?.replace(/[^0-9]/g, '');
    return display === undefined || display === '' ? undefined : this.byDisplayNumber.get(display);
  }

  /**
   * Learns a number's display number from a message webhook's `metadata`. Only known numbers are
   * learned (the map is bounded by them); a configured display number is never replaced.
   * True when it was new.
   */
  learnDisplayNumber(phoneNumberId: string, displayPhoneNumber: string): boolean {
    const entry = this.byNumber.get(phoneNumberId);
    const display = displayPhoneNumber.replace(/[^0-9]/g, '');
    if (entry === undefined || display === '' || entry.number.displayPhoneNumber !== undefined) return false;
    const before = this.learned.get(phoneNumberId);
    if (before === display) return false;
    // One learned display number per number: the map stays bounded by the numbers.
    if (before !== undefined && this.byDisplayNumber.get(before) === entry) this.byDisplayNumber.delete(before);
    this.learned.set(phoneNumberId, display);
    this.byDisplayNumber.set(display, entry);
    return true;
  }

  tenant(id: string): TenantConfig | undefined {
    return this.byId.get(id);
  }

  tenantIds(): IterableIterator<string> {
    return this.byId.keys();
  }

  numbers(): IterableIterator<NumberEntry> {
    return this.byNumber.values();
  }

  tenants(): IterableIterator<TenantConfig> {
    return this.byId.values();
  }
}

/** One-shot crypto.hash: no Hash object per request (createHash + digest was ~2.5 % of ingress CPU). */
function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
