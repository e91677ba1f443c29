/**
 * The webhook seams' conformance suites against a real redis-server this file starts (AOF, fsync
 * always) and a real 3-master Redis Cluster: every script touches one slot, so no CROSSSLOT. Each
 * harness gets its own random key prefix and its own client (closed at cleanup).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisSeenMarks } from '../../src/webhooks/meta/redis-seen-marks.js';
import { RedisUnmatchedStatuses } from '../../src/webhooks/meta/redis-unmatched-statuses.js';
import { RedisOutbox } from '../../src/webhooks/outbox/redis.js';
import { RedisWrites } from '../../src/webhooks/redis-writes.js';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../support/redis-server.js';
import { describeOutboxConformance } from './outbox-conformance.js';
import { describeSeenMarksConformance } from './seen-marks-conformance.js';
import { describeUnmatchedConformance } from './unmatched-statuses-conformance.js';

let server: RedisServer;
let cluster: RedisCluster;

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
});

const prefix = () => `test-${randomBytes(6).toString('hex')}`;

async function quit(client: RedisClient): Promise<void> {
  await client.quit().catch(() => undefined);
  client.disconnect();
}

for (const [name, url] of [['redis', () => server.url], ['redis cluster (3 masters)', () => cluster.url]] as const) {
  describeOutboxConformance(name, async () => {
    const keys = new RedisKeys(prefix());
    const client = await connectRedis(parseRedisUrl(url()));
    const writes = new RedisWrites(client, null);
    let outbox = new RedisOutbox({ writes, keys });
    return {
      outbox,
      async reopen() {
        await outbox.close();
        outbox = new RedisOutbox({ writes: new RedisWrites(client, null), keys });
        return outbox;
      },
      cleanup: () => quit(client),
    };
  });

  describeSeenMarksConformance(name, async () => {
    const keys = new RedisKeys(prefix());
    const clients: RedisClient[] = [];
    return {
      async open({ ttlMs, nowMs }) {
        const client = await connectRedis(parseRedisUrl(url()));
        clients.push(client);
        const marks = new RedisSeenMarks({ client, keys, ttlMs, nowMs, flushEveryMs: 60_000 });
        return { marks, close: () => marks.close() };
      },
      cleanup: async () => {
        await Promise.all(clients.map(quit));
      },
    };
  });

  describeUnmatchedConformance(name, async () => {
    const keys = new RedisKeys(prefix());
    const clients: RedisClient[] = [];
    return {
      async open(maxParked) {
        const client = await connectRedis(parseRedisUrl(url()));
        clients.push(client);
        return RedisUnmatchedStatuses.open({ writes: new RedisWrites(client, null), keys, maxParked });
      },
      cleanup: async () => {
        await Promise.all(clients.map(quit));
      },
    };
  });
}
