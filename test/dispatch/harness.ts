/**
 * Test wiring for the dispatcher: a real embedded store in a temp dir, the real limits core (WASM,
 * build/core.wasm) as the Pacer, the real undici upstream, and the Cloud API simulator as the upstream server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/clock.js';
import type { Config } from '../../src/config/schema.js';
import { loadCore } from '../../src/core/index.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import type { DispatchEvent, Dispatcher, DispatcherDeps, NumberInfo, Pacer } from '../../src/dispatch/types.js';
import { openStore } from '../../src/store/index.js';
import type { MessageRecord, NewMessage, Store } from '../../src/store/types.js';
import { createUndiciUpstream, type UndiciUpstream } from '../../src/upstream/undici-upstream.js';

export const DISPATCH_DEFAULTS: Config['dispatch'] = { headroom: 0.9, maxAttempts: 8, jitterToleranceMs: 200, maxInFlightPerNumber: 2048, retryBaseMs: 20, retryMaxMs: 200 };

export type TimedEvent = DispatchEvent & { atMs: number };

export interface Rig {
  store: Store;
  upstream: UndiciUpstream;
  dispatcher: Dispatcher;
  numbers: Map<string, NumberInfo>;
  events: TimedEvent[];
  warnings: string[];
  enqueue(message: Partial<NewMessage> & { phoneNumberId: string }): Promise<MessageRecord>;
  close(): Promise<void>;
}

export interface RigOptions {
  baseUrl: string;
  numbers: Record<string, NumberInfo>;
  dispatch?: Partial<Config['dispatch']>;
  pacer?: Pacer;
  timeoutMs?: number;
  extra?: Partial<DispatcherDeps>;
}

let seq = 0;

export function textBody(to: string, text = 'hello'): string {
  return JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${to}`, type: 'text', text: { body: text } });
}

export async function makeRig(options: RigOptions): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-dispatch-'));
  const store = await openStore({ kind: 'embedded', path: dir }, systemClock);
  const upstreamConfig = { baseUrl: options.baseUrl, version: 'v23.0', connections: 32, pipelining: 1, timeoutMs: options.timeoutMs ?? 2000, maxInFlight: 32 };
  const upstream = createUndiciUpstream(upstreamConfig);
  const numbers = new Map(Object.entries(options.numbers));
  const events: TimedEvent[] = [];
  const warnings: string[] = [];
  const log = {
    info: () => undefined,
    warn: (_obj: object, msg: string) => void warnings.push(msg),
    error: (_obj: object, msg: string) => void warnings.push(msg),
  };
  const dispatcher = createDispatcher({
    store,
    upstream,
    pacer: options.pacer ?? (await loadCore({ gcraKeys: 1 << 12, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 })).gcra,
    clock: systemClock,
    config: { dispatch: { ...DISPATCH_DEFAULTS, ...options.dispatch }, upstream: upstreamConfig },
    numbers,
    log,
    onEvent: (e) => void events.push({ ...e, atMs: Date.now() }),
    ...options.extra,
  });
  return {
    store,
    upstream,
    dispatcher,
    numbers,
    events,
    warnings,
    async enqueue(partial) {
      const nowMs = systemClock.nowMs();
      const to = partial.to ?? `1555${String(1_000_000 + seq).slice(-7)}`;
      const message: NewMessage = {
        id: `msg-${process.pid}-${++seq}`,
        tenantId: numbers.get(partial.phoneNumberId)?.tenantId ?? 'acme',
        to,
        toInput: `+${to}`,
        body: textBody(to),
        priority: 1,
        createdAtMs: nowMs,
        deadlineAtMs: nowMs + 3_600_000,
        idempotencyKey: null,
        bodyHash: null,
        ...partial,
      };
      const outcome = await store.enqueue(message);
      if (outcome.kind !== 'created') throw new Error(`enqueue: ${outcome.kind}`);
      return outcome.record;
    },
    async close() {
      await dispatcher.close();
      await upstream.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { until } from '../support/until.js';

export async function states(store: Store, records: MessageRecord[]): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  for (const r of records) {
    const now = await store.get(r.tenantId, r.id);
    if (now === null) throw new Error(`record ${r.id} missing`);
    out.push(now);
  }
  return out;
}
