/**
 * The broadcast service on Redis (both stores real) at a fleet's edges, one process seen alone:
 * - A chunk whose commit the store refuses (the broadcast was cancelled by another process between
 *   the chunk's enqueue and its commit): the runner rejects the chunk's messages still `queued` and
 *   gives back the policy charges of exactly those; one already `sending` keeps its charge (its
 *   end gives it back if it does not leave).
 * - Cancelled by a process that does not run it, with no runner anywhere (its owner dead): the
 *   cancelling process tells the tenant it ended.
 * - A cancel cut short by a store failure after the broadcast ended: its retry rejects the queued
 *   messages before answering.
 * The policy counts what is given back; the webhook sender records what it is given.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroadcastStore } from '../../src/broadcasts/redis-store.js';
import { BroadcastService, DEFAULT_BROADCAST_SETTINGS } from '../../src/broadcasts/service.js';
import { emptyCounts, type AdmittedChunk, type BroadcastStore } from '../../src/broadcasts/store.js';
import { systemClock } from '../../src/clock.js';
import { newMessageId } from '../../src/gateway/ids.js';
import type { Admission, AdmitInput } from '../../src/gateway/ports.js';
import type { PolicyEngine } from '../../src/policy/types.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { record, recipients } from './store-conformance.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

const RECIPIENTS = 10;
const TEXT = JSON.stringify({ messaging_product: 'whatsapp', type: 'text', text: { body: 'hi' } });
const id = (n: number): string => `bc_${String(n).padStart(26, '0')}`;

interface Harness {
  messages: RedisStore;
  inner: RedisBroadcastStore;
  service: BroadcastService;
  /** Recipients whose admission was given back (directly, or through their message's end). */
  released: string[];
  /** Tenant webhooks queued. */
  hooks: Array<{ type: string; id: string; state?: string; counts?: Record<string, number> }>;
  close(): Promise<void>;
}

/** A service on its own prefix; `wrap` puts a broadcast store around the real one; `owns` as in a fleet. */
async function harness(wrap: (inner: RedisBroadcastStore, messages: RedisStore) => BroadcastStore, owns?: () => boolean): Promise<Harness> {
  const messages = await RedisStore.open({ target: parseRedisUrl(redis.url), clock: systemClock, prefix: `test-${randomBytes(6).toString('hex')}` });
  const inner = new RedisBroadcastStore(messages, systemClock);
  const released: string[] = [];
  const policy = {
    admit: (input: AdmitInput): Admission => {
      let done = false;
      return { warnings: [], release: () => {
        if (!done) released.push(input.to);
        done = true;
      } };
    },
  } as unknown as PolicyEngine;
  const hooks: Harness['hooks'] = [];
  const service = new BroadcastService({
    store: messages, broadcasts: wrap(inner, messages), policy,
    dispatcher: { submit: () => undefined, queued: () => 0, estimateWaitMs: () => 0, snapshot: () => [] },
    numbers: { get: () => ({ tenantId: 'acme', accessToken: 't', mps: 10, burst: 10 }) as never },
    webhooks: { enqueue: async (_tenant, event) => {
      hooks.push(event as Harness['hooks'][number]);
      return null;
    } },
    // A rejected message's end gives its charges back (message-ended.ts): recorded like a release.
    endings: { ended: (event) => void released.push(event.to) },
    clock: systemClock, headroom: 1, settings: DEFAULT_BROADCAST_SETTINGS,
    log: { error: (obj, msg) => console.error(msg, obj), info: () => undefined },
    ...(owns === undefined ? {} : { owns }),
  });
  return {
    messages, inner, service, released, hooks,
    async close() {
      await service.close();
      await messages.close();
    },
  };
}

/** A running free-form broadcast stored with every recipient admitted (a message each, `queued`); its message ids. */
async function admitted(h: Harness, broadcastId: string): Promise<string[]> {
  const nowMs = Date.now();
  const rec = { ...record(broadcastId, RECIPIENTS), createdAtMs: nowMs, notBeforeMs: nowMs, deadlineAtMs: nowMs + 3_600_000, message: TEXT };
  await h.inner.create(rec, recipients(RECIPIENTS));
  const queued: AdmittedChunk['queued'] = [];
  for (const r of recipients(RECIPIENTS)) {
    const outcome = await h.messages.enqueue({
      id: newMessageId(nowMs), tenantId: 'acme', phoneNumberId: rec.phoneNumberId, to: r.to, toInput: r.toInput, body: TEXT, priority: 1,
      createdAtMs: nowMs, deadlineAtMs: rec.deadlineAtMs, idempotencyKey: `broadcast ${broadcastId} ${r.idx}`, bodyHash: null,
    });
    expect(outcome.kind).toBe('created');
    if (outcome.kind === 'created') queued.push({ idx: r.idx, messageId: outcome.record.id });
  }
  const counts = { ...emptyCounts(), pending: RECIPIENTS };
  expect(await h.inner.commitChunk({ tenantId: 'acme', broadcastId, cursor: RECIPIENTS, queued, rejected: [] }, counts, false)).toBe(true);
  return queued.map((q) => q.messageId);
}

const statesOf = (h: Harness, ids: string[]) => Promise.all(ids.map(async (m) => (await h.messages.get('acme', m))?.state));

describe('the broadcast service on Redis', () => {
  it('a refused chunk commit gives back the charges of the messages it rejected, not of one already sending', async () => {
    let sendingTo: string | null = null;
    // Another process cancels between the chunk's enqueue and its commit; the lane had committed one message `sending`.
    const h = await harness((inner, messages) => Object.create(inner, {
      commitChunk: {
        value: async (chunk: AdmittedChunk, counts: Record<string, number>, waiting: boolean) => {
          if (sendingTo === null) {
            await inner.end(chunk.tenantId, chunk.broadcastId, 'cancelled', Date.now(), { ...emptyCounts() }, 'cancelled');
            const first = chunk.queued[0]!;
            expect(await messages.transition(first.messageId, { state: 'sending', attempts: 1, atMs: Date.now() })).toBe(true);
            sendingTo = (await messages.get('acme', first.messageId))!.to;
          }
          return inner.commitChunk(chunk, counts as never, waiting);
        },
      },
    }) as BroadcastStore);
    try {
      const nowMs = Date.now();
      await h.inner.create({ ...record(id(1), RECIPIENTS), createdAtMs: nowMs, notBeforeMs: nowMs, deadlineAtMs: nowMs + 3_600_000, message: TEXT }, recipients(RECIPIENTS));
      await h.service.start();
      const all = [...recipients(RECIPIENTS)].map((r) => r.to);
      // The nine still `queued` end rejected; the one `sending` is left alone.
      await until('the chunk\'s queued messages rejected', () => h.released.length >= RECIPIENTS - 1 && sendingTo !== null, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(h.released.sort()).toEqual(all.filter((to) => to !== sendingTo).sort());
    } finally {
      await h.close();
    }
  });

  it('cancelled by a process not running it, no runner anywhere: that process tells the tenant it ended', async () => {
    const h = await harness((inner) => inner, () => false);
    try {
      const ids = await admitted(h, id(2));
      const answer = await h.service.cancel('acme', id(2));
      expect(answer?.state).toBe('cancelled');
      expect(answer?.counts).toMatchObject({ queued: 0, cancelled: RECIPIENTS });
      expect(await statesOf(h, ids)).toEqual(ids.map(() => 'rejected'));
      const ended = h.hooks.filter((e) => e.type === 'broadcast.ended');
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatchObject({ id: id(2), state: 'cancelled', counts: { queued: 0, cancelled: RECIPIENTS } });
    } finally {
      await h.close();
    }
  });

  it('a cancel cut short after the broadcast ended: its retry rejects the queued messages before answering', async () => {
    let failOnce = true;
    // The store fails once, right after the end was applied (the first read of the queued messages).
    const h = await harness((inner) => Object.create(inner, {
      queuedOf: {
        value: (...args: Parameters<BroadcastStore['queuedOf']>) => {
          if (failOnce) {
            failOnce = false;
            return Promise.reject(new Error('connection lost'));
          }
          return inner.queuedOf(...args);
        },
      },
    }) as BroadcastStore, () => false);
    try {
      const ids = await admitted(h, id(3));
      await expect(h.service.cancel('acme', id(3))).rejects.toThrow('connection lost');
      expect((await h.inner.get('acme', id(3)))?.state).toBe('cancelled');
      const answer = await h.service.cancel('acme', id(3));
      expect(answer?.counts).toMatchObject({ queued: 0, cancelled: RECIPIENTS });
      expect(await statesOf(h, ids)).toEqual(ids.map(() => 'rejected'));
    } finally {
      await h.close();
    }
  });
});
