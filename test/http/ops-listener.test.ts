/**
 * Ops hygiene: with `ops.listen` the operators' routes answer on their own listener and not on the
 * main one (real gateway, two real ports); Prometheus names carry no doubled `process_`; access
 * logs are off by default and, when on, log the path only (never a query string or credentials).
 */
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { allowAll } from '../../src/gateway/ports.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { loggerOptions } from '../../src/observability/logger.js';
import { NUMBER, startStack, templateBody, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    gateway: { admin: { token: ADMIN }, ops: { listen: { host: '127.0.0.1', port: 0 } } },
    start: { defaultMetrics: true },
  });
});
afterAll(() => stack?.close());

async function get(base: string, path: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await request(`${base}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('ops listener', () => {
  const opsPaths = ['/metrics', '/admin/numbers', '/dashboard', '/docs', '/openapi.json'];

  it('serves the operators\' routes on its own address and not on the main one', async () => {
    const { url, opsUrl } = stack.gateway;
    expect(opsUrl).not.toBe(url);
    for (const path of opsPaths) {
      const main = await get(url, path, ADMIN);
      expect(main.status, `main ${path}`).toBe(404);
      expect(JSON.parse(main.text).error.fbtrace_id).toEqual(expect.any(String));
      expect((await get(opsUrl, path, ADMIN)).status, `ops ${path}`).toBe(200);
    }
    // Sends, status and probes stay on the main listener.
    expect((await get(url, '/healthz')).status).toBe(200);
    expect((await stack.send(templateBody())).status).toBe(202);
    expect((await get(opsUrl, `/v23.0/${NUMBER}/messages`)).status).toBe(404);
    // The admin routes still want the token there.
    expect((await get(opsUrl, '/admin/numbers')).status).toBe(403);
  });

  it('documents both listeners\' routes in the ops listener\'s OpenAPI document', async () => {
    const doc = JSON.parse((await get(stack.gateway.opsUrl, '/openapi.json')).text);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/{version}/{phoneNumberId}/messages', '/healthz', '/admin/numbers', '/metrics']));
  });

  it('names process metrics without a doubled prefix', async () => {
    const text = (await get(stack.gateway.opsUrl, '/metrics')).text;
    expect(text).toContain('sendgate_process_cpu_seconds_total');
    expect(text).toContain('sendgate_nodejs_heap_size_used_bytes');
    expect(text).not.toContain('process_process_');
    expect(text).toContain('sendgate_core_table_full_total');
  });
});

describe('access logs', () => {
  async function appWith(access: boolean | undefined): Promise<{ inject: (url: string) => Promise<number>; lines: string[]; close: () => Promise<void> }> {
    const lines: string[] = [];
    const config = parseConfig({
      ...(access === undefined ? {} : { log: { access } }),
      tenants: [{ id: 'acme', apiKeys: ['key-acme-test-1'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-x' }] }],
    });
    const app = await buildApp({
      logger: { ...loggerOptions('info'), stream: new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }) },
      deps: {
        config, tenants: new TenantRegistry(config), store: undefined as never, clock: new ManualClock(), policy: allowAll,
        metrics: new GatewayMetrics(() => []), coreLoaded: () => true,
        dispatch: { submit() {}, estimateWaitMs: () => 0, queued: () => 0, waitForOutcome: async () => null },
      },
      control: { setLimits() {}, pause() {}, resume() {}, pauseTenant() {}, resumeTenant() {} },
    });
    return {
      lines,
      inject: async (url) => (await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer key-acme-test-1' } })).statusCode,
      close: () => app.close(),
    };
  }

  it('are off by default', async () => {
    const app = await appWith(undefined);
    expect(await app.inject('/v1/consent/x?hub.verify_token=secret-in-query')).toBe(404);
    expect(app.lines).toEqual([]);
    await app.close();
  });

  it('log method, path and status when on, never the query string or the key', async () => {
    const app = await appWith(true);
    await app.inject('/nowhere?hub.verify_token=secret-in-query');
    const logged = app.lines.map((l) => JSON.parse(l) as Record<string, any>);
    const incoming = logged.find((l) => l.req !== undefined);
    expect(incoming?.req).toEqual({ method: 'GET', url: '/nowhere' });
    expect(logged.find((l) => l.res !== undefined)?.res.statusCode).toBe(404);
    const all = app.lines.join('');
    expect(all).not.toContain('secret-in-query');
    expect(all).not.toContain('key-acme-test-1');
    await app.close();
  });
});
