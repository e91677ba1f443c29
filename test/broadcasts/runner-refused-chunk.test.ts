/**
 * A chunk whose commit the store refuses (the broadcast was cancelled by another process between
 * the chunk's enqueue and its commit): the runner rejects the chunk's messages still `queued` and
 * gives back the policy charges of exactly those. A message already `sending` keeps its charge
 * (it is on its way; its end gives the charge back if it does not leave). Real Redis for both
 * stores; the policy counts what is given back.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroadcastStore } from '../../src/broadcasts/redis-store.js';
import { BroadcastService, DEFAULT_BROADCAST_SETTINGS } from '../../src/broadcasts/service.js';
import { emptyCounts, type AdmittedChunk, type BroadcastStore } from '../../src/broadcasts/store.js';
import { systemClock } from '../../src/clock.js';
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

describe('a broadcast chunk whose commit is refused', () => {
  it('gives back the charges of the messages it rejected, not of one already sending', async () => {
    const messages = await RedisStore.open({ target: parseRedisUrl(redis.url), clock: systemClock, prefix: `test-${randomBytes(6).toString('hex')}` });
    const inner = new RedisBroadcastStore(messages, systemClock);
    const id = `bc_${'1'.padStart(26, '0')}`;
    let sendingTo: string | null = null;
    // Another process cancels between the chunk's enqueue and its commit; the lane had committed one message `sending`.
    const broadcasts: BroadcastStore = Object.create(inner, {
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
    }) as BroadcastStore;
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
    const submitted: string[] = [];
    const service = new BroadcastService({
      store: messages, broadcasts, policy,
      dispatcher: { submit: (rec) => void submitted.push(rec.id), queued: () => 0, estimateWaitMs: () => 0, snapshot: () => [] },
      numbers: { get: () => ({ tenantId: 'acme', accessToken: 't', mps: 10, burst: 10 }) as never },
      webhooks: { enqueue: async () => null },
      clock: systemClock, headroom: 1, settings: DEFAULT_BROADCAST_SETTINGS,
      log: { error: (obj, msg) => console.error(msg, obj), info: () => undefined },
    });
    try {
      const nowMs = Date.now();
      const rec = { ...record(id, RECIPIENTS), createdAtMs: nowMs, notBeforeMs: nowMs, deadlineAtMs: nowMs + 3_600_000, message: JSON.stringify({ messaging_product: 'whatsapp', type: 'text', text: { body: 'hi' } }) };
      await inner.create(rec, recipients(RECIPIENTS));
      await service.start();
      const all = [...recipients(RECIPIENTS)].map((r) => r.to);
      // The nine still `queued` end rejected; the one `sending` is left alone.
      await until('the chunk\'s queued messages rejected', async () => released.length >= RECIPIENTS - 1 && sendingTo !== null, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(sendingTo).not.toBeNull();
      expect(released.sort()).toEqual(all.filter((to) => to !== sendingTo).sort());
      expect(submitted).toEqual([]);
    } finally {
      await service.close();
      await messages.close();
    }
  });
});
