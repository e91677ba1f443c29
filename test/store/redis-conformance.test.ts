/**
 * The store conformance suite against a real redis-server this file starts (AOF, fsync always),
 * and against a real 3-master Redis Cluster: every script touches one slot, so no CROSSSLOT.
 * Each test gets its own random key prefix.
 */
import { randomBytes } from 'node:crypto';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { serverAndCluster } from '../support/redis-server.js';
import { describeStoreConformance } from './conformance.js';
import { describeEndedConformance } from './ended-conformance.js';

const redis = serverAndCluster();

const prefix = () => `test-${randomBytes(6).toString('hex')}`;

describeStoreConformance('redis', async () => {
  const keyPrefix = prefix();
  return {
    open: async (clock) => RedisStore.open({ target: parseRedisUrl(redis.server.url), clock, prefix: keyPrefix }),
    destroy: async () => {},
  };
});

describeStoreConformance('redis cluster (3 masters)', async () => {
  const keyPrefix = prefix();
  return {
    open: async (clock) => RedisStore.open({ target: parseRedisUrl(redis.cluster.url), clock, prefix: keyPrefix }),
    destroy: async () => {},
  };
});

describeEndedConformance('redis', async () => {
  const keyPrefix = prefix();
  return {
    open: async (clock) => RedisStore.open({ target: parseRedisUrl(redis.server.url), clock, prefix: keyPrefix }),
    destroy: async () => {},
  };
});

describeEndedConformance('redis cluster (3 masters)', async () => {
  const keyPrefix = prefix();
  return {
    open: async (clock) => RedisStore.open({ target: parseRedisUrl(redis.cluster.url), clock, prefix: keyPrefix }),
    destroy: async () => {},
  };
});
