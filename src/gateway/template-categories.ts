/**
 * Each tenant's templates' categories, as Meta has them, so a template sent without
 * `X-Sendgate-Category` gets its real category (lane priority; marketing policies: opt-in,
 * opt-outs, 131049 deferrals) instead of `unknown`.
 *
 * Read from `GET /{version}/{waba-id}/message_templates?fields=name,language,category` for every
 * `tenants[].wabaIds` (with the tenant's first number's token, cursor paging followed), at start
 * and every `refreshMs`; changed between refreshes by `template_category_update` webhooks (their
 * `new_category` is the template's category now, for impending and completed changes alike).
 * A cache, re-read at boot, not durable state. Bounded: MAX_PER_TENANT templates per tenant.
 */
import { request } from 'undici';
import type { TenantRegistry } from './tenants.js';

export type TemplateCategory = 'marketing' | 'utility' | 'authentication';

const CATEGORIES: ReadonlySet<string> = new Set(['marketing', 'utility', 'authentication']);
const MAX_PER_TENANT = 20_000;
const MAX_PAGES = 100;
const PAGE_SIZE = 200;
export const DEFAULT_TEMPLATE_REFRESH_MS = 15 * 60_000;

export interface TemplateCategoriesOptions {
  tenants: TenantRegistry;
  baseUrl: string;
  version: string;
  timeoutMs: number;
  refreshMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export class TemplateCategories {
  /** tenant → `name\nlanguage` and `name\n` (any language) → category. */
  private readonly byTenant = new Map<string, Map<string, TemplateCategory>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: TemplateCategoriesOptions) {}

  /** The category Meta gave this template (this language first, else any of its languages). */
  categoryOf(tenantId: string, name: string, language: string | undefined): TemplateCategory | undefined {
    const map = this.byTenant.get(tenantId);
    if (map === undefined) return undefined;
    return (language !== undefined ? map.get(`${name}\n${language}`) : undefined) ?? map.get(`${name}\n`);
  }

  /** A template_category_update for the tenant owning `wabaId`; false when no tenant owns it. */
  update(wabaId: string, name: string, language: string, category: string): boolean {
    const tenant = this.options.tenants.accountTenant({ phoneNumberId: null, wabaId });
    const lower = category.toLowerCase();
    if (tenant === undefined || !CATEGORIES.has(lower)) return false;
    this.set(tenant.id, name, language, lower as TemplateCategory);
    return true;
  }

  /** Reads every tenant's templates now, then every `refreshMs`. Never rejects. */
  async start(): Promise<void> {
    await this.refreshAll();
    this.schedule();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  async refreshAll(): Promise<void> {
    const seen = new Set<string>();
    for (const { tenant } of this.options.tenants.numbers()) {
      if (seen.has(tenant.id) || this.closed) continue;
      seen.add(tenant.id);
      const token = tenant.numbers[0]?.accessToken;
      if (token === undefined) continue;
      for (const wabaId of tenant.wabaIds ?? []) {
        try {
          await this.refresh(tenant.id, wabaId, token);
        } catch (err) {
          // Kept: what was read before stays; the next refresh tries again.
          this.options.log?.warn({ tenant: tenant.id, wabaId, err: (err as Error).message }, 'template categories not refreshed');
        }
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.refreshAll().finally(() => this.schedule());
    }, this.options.refreshMs ?? DEFAULT_TEMPLATE_REFRESH_MS);
    this.timer.unref();
  }

  private async refresh(tenantId: string, wabaId: string, token: string): Promise<void> {
    const base = this.options.baseUrl.replace(/\/+$/, '');
    let url: string | undefined = `${base}/${this.options.version}/${wabaId}/message_templates?fields=name,language,category,status&limit=${PAGE_SIZE}`;
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const res = await request(url, { headers: { authorization: `Bearer ${token}` }, headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs });
      const json = (await res.body.json()) as { data?: unknown; paging?: { next?: unknown } };
      if (res.statusCode !== 200 || !Array.isArray(json.data)) throw new Error(`message_templates answered ${res.statusCode}`);
      for (const t of json.data as Array<Record<string, unknown>>) {
        if (typeof t.name === 'string' && typeof t.category === 'string' && typeof t.language === 'string' && CATEGORIES.has(t.category.toLowerCase())) {
          this.set(tenantId, t.name, t.language, t.category.toLowerCase() as TemplateCategory);
        }
      }
      // Paging stays on Meta's host: a `next` elsewhere would carry the token away.
      const next = json.paging?.next;
      url = typeof next === 'string' && next.startsWith(`${new URL(base).origin}/`) ? next : undefined;
    }
  }

  private set(tenantId: string, name: string, language: string, category: TemplateCategory): void {
    let map = this.byTenant.get(tenantId);
    if (map === undefined) this.byTenant.set(tenantId, (map = new Map()));
    if (map.size >= MAX_PER_TENANT && !map.has(`${name}\n${language}`)) return;
    map.set(`${name}\n${language}`, category);
    map.set(`${name}\n`, category);
  }
}
