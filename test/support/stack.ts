/**
 * Test stack: the Cloud API simulator and a gateway, both real HTTP servers on 127.0.0.1 free ports,
 * in this process (fast) — crash tests spawn the gateway as a child process instead (gateway-process.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startGateway, type GatewayHandle, type StartOptions } from '../../src/server.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';

export const API_KEY = 'key-acme-test-1';
export const OTHER_KEY = 'key-other-test-1';
export const NUMBER = '1001';
export const OTHER_NUMBER = '2002';
export const TOKEN = 'EAAG-acme-token';

export interface Stack {
  sim: Simulator;
  gateway: GatewayHandle;
  config: Readonly<Config>;
  dataDir: string;
  /** POST a send as the acme tenant. */
  send(body: unknown, headers?: Record<string, string>, path?: string): Promise<{ status: number; headers: Record<string, unknown>; json: any }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Simulator config; `clock` may be shared with the gateway's (`start.clock`). */
  sim?: SimulatorOptions;
  /** Overrides merged into the gateway config (tenants replaced wholesale when given). */
  gateway?: Record<string, unknown>;
  start?: StartOptions;
  /** acme's numbers (default one: NUMBER at 80/80). */
  numbers?: Array<Record<string, unknown>>;
}

export function baseGatewayConfig(simUrl: string, dataDir: string, numbers: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    storage: { kind: 'embedded', path: dataDir },
    upstream: { baseUrl: simUrl, version: 'v23.0', timeoutMs: 2000 },
    dispatch: { retryBaseMs: 50, retryMaxMs: 500 },
    log: { level: 'silent' },
    tenants: [
      { id: 'acme', apiKeys: [API_KEY], numbers },
      { id: 'other', apiKeys: [OTHER_KEY], numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }] },
    ],
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const numbers = options.numbers ?? [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 80, burst: 80 }];
  const sim = await startSimulator({
    ...options.sim,
    numbers: options.sim?.numbers ?? [
      ...numbers.map((n) => ({ phoneNumberId: String(n.phoneNumberId), accessToken: String(n.accessToken) })),
      { phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' },
    ],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-stack-'));
  const config = parseConfig({ ...baseGatewayConfig(sim.url, dataDir, numbers), ...options.gateway }, 'test config');
  const gateway = await startGateway(config, { defaultMetrics: false, ...options.start });
  const base = gateway.url;
  return {
    sim, gateway, config, dataDir,
    async send(body, headers = {}, path = `/v23.0/${NUMBER}/messages`) {
      const res = await request(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
    },
    async get(path, headers = { authorization: `Bearer ${API_KEY}` }) {
      const res = await request(`${base}${path}`, { headers });
      const text = await res.body.text();
      return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
    },
    async close() {
      await gateway.close();
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const textBody = (to = '+16505551234', body = 'hello') => ({
  messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body },
});

export const templateBody = (to = '+16505551234', name = 'order_update') => ({
  messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'template',
  template: { name, language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-42' }] }] },
});

/** Polls until `check` returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
