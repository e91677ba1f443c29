/**
 * Connecting to Redis or a Redis Cluster for the store. Commands fail fast while the connection
 * is down (no offline queue, no resend after a reconnect) so that the store answers
 * STORAGE_UNAVAILABLE at once and ingress 503s; ioredis keeps reconnecting in the background and
 * the store is healthy again as soon as it is back, without a restart.
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { RedisClient } from './commands.js';

/** `redis://…` / `rediss://…` for one server; `redis+cluster://host:port,host:port` for a Cluster. */
export type RedisTarget = { url: string } | { cluster: ClusterNode[]; redisOptions?: RedisOptions };

const CLUSTER_SCHEME = /^redis(s?)\+cluster:\/\//;

/** Reads a `storage.url`: a single-server URL, or a Cluster's seed nodes after `redis+cluster://`. */
export function parseRedisUrl(url: string): RedisTarget {
  const cluster = CLUSTER_SCHEME.exec(url);
  if (cluster === null) return { url };
  const tls = cluster[1] === 's';
  const nodes = url.slice(cluster[0].length).replace(/\/.*$/, '').split(',').filter((s) => s !== '').map((hostPort) => {
    const at = hostPort.lastIndexOf(':');
    if (at <= 0) throw new Error(`storage.url: cluster node '${hostPort}' needs host:port`);
    return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
  });
  if (nodes.length === 0) throw new Error('storage.url: redis+cluster:// needs at least one host:port');
  return { cluster: nodes, ...(tls ? { redisOptions: { tls: {} } } : {}) };
}

/** Reconnect delays grow to this bound, so a returning server is noticed within about a second. */
const MAX_RECONNECT_DELAY_MS = 1_000;

const FAIL_FAST: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  // A command in flight when the connection drops fails instead of being sent again on reconnect:
  // the caller hears "unavailable" (503, or a dispatcher retry) and nothing runs twice behind its back.
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  retryStrategy: (attempt) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
  connectTimeout: 5_000,
};

/** Told about a lost connection once per outage (ioredis reports every failed reconnect). */
export type ConnectionErrorListener = (err: unknown, what: string) => void;

function reportOutages(client: RedisClient, onError: ConnectionErrorListener | undefined): void {
  let reported = false;
  client.on('ready', () => {
    reported = false;
  });
  // Without a listener ioredis prints every reconnect failure as an unhandled error event.
  client.on('error', (error: unknown) => {
    if (reported) return;
    reported = true;
    onError?.(error, 'redis connection lost; reconnecting, the store answers STORAGE_UNAVAILABLE meanwhile');
  });
}

/**
 * A command unanswered this long fails (a Redis that hangs, e.g. stopped or stuck on its disk, must
 * not hold ingress requests open). Above any WAIT timeout of the replicas durability.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** Opens the connection; resolves once it is ready (or rejects with why not). */
export async function connectRedis(
  target: RedisTarget,
  onError?: ConnectionErrorListener,
  commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
): Promise<RedisClient> {
  if ('url' in target) {
    const client = new Redis(target.url, { ...FAIL_FAST, commandTimeout: commandTimeoutMs, enableAutoPipelining: true });
    reportOutages(client, onError);
    await settleWithin(client.connect(), () => client.disconnect());
    return client;
  }
  const client = new Cluster(target.cluster, {
    lazyConnect: true,
    // Without it the Cluster client refuses its own ready check on a node connection that is not
    // ready yet, and connect() never settles. The store fails fast itself while not ready.
    enableOfflineQueue: true,
    enableAutoPipelining: true,
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, MAX_RECONNECT_DELAY_MS),
    // Same for node connections; maxRetriesPerRequest 0 still fails what they queued on the first
    // failed reconnect.
    redisOptions: { ...FAIL_FAST, commandTimeout: commandTimeoutMs, lazyConnect: false, enableOfflineQueue: true, ...target.redisOptions },
  });
  reportOutages(client, onError);
  await settleWithin(client.connect(), () => client.disconnect());
  return client;
}

/** How long open() waits for a first connection before giving up with an error. */
const CONNECT_WITHIN_MS = 15_000;

async function settleWithin(connecting: Promise<void>, abandon: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis: no ready connection within ${CONNECT_WITHIN_MS} ms`)), CONNECT_WITHIN_MS);
  });
  try {
    await Promise.race([connecting, timeout]);
  } catch (error) {
    abandon();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The single servers behind a client: itself, or every master of a Cluster. */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * A second connection to the same Redis or Cluster for pub/sub (a subscribed connection can do
 * nothing else). Unlike the store's, it queues while reconnecting: ioredis subscribes again by itself.
 */
export function subscriberOf(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return client.duplicate([], { lazyConnect: false, enableOfflineQueue: true });
  return client.duplicate({ lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null });
}
