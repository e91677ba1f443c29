/** Liveness and readiness probes (Prometheus metrics: metrics.ts, an ops route). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import type { GatewayDeps } from '../deps.js';

const Checks = Type.Object({ storage: Type.Boolean(), core: Type.Optional(Type.Boolean()) });
const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Checks), unhealthyForSec: Type.Optional(Type.Integer()) }, { title: 'Health' });

/**
 * /healthz fails once the store has been unhealthy this long. Long enough that a disk blip or a
 * respawn of the store worker (well under a second) never gets the process restarted; short enough
 * that a supervisor replaces a gateway that can store nothing (a database that cannot be reopened,
 * a disk that stays full) within a minute. /readyz follows the store at once.
 */
export const STORE_UNHEALTHY_LIVENESS_MS = 30_000;
/** How often the store's health is sampled between probes, so the outage is timed from its start. */
const SAMPLE_EVERY_MS = 1_000;

/** Since when the store has been unhealthy, as seen by the samples (and every probe). */
class UnhealthySince {
  private sinceMs: number | undefined;
  constructor(private readonly healthy: () => boolean, private readonly clock: Clock) {}

  /** How long the store has been unhealthy, null when it is healthy now. */
  sample(): number | null {
    const nowMs = this.clock.nowMs();
    if (this.healthy()) {
      this.sinceMs = undefined;
      return null;
    }
    this.sinceMs ??= nowMs;
    return nowMs - this.sinceMs;
  }
}

export async function healthRoutes(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const store = new UnhealthySince(() => deps.store.healthy(), deps.clock);
  const sampler = setInterval(() => {
    try {
      store.sample();
    } catch {
      // A store that throws from healthy() is sampled again next tick; the probes answer 503 meanwhile.
    }
  }, SAMPLE_EVERY_MS);
  sampler.unref();
  app.addHook('onClose', async () => clearInterval(sampler));

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness', response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const unhealthyMs = store.sample();
    if (unhealthyMs === null || unhealthyMs < STORE_UNHEALTHY_LIVENESS_MS) return { status: 'ok' };
    return reply.code(503).send({ status: 'failing', checks: { storage: false }, unhealthyForSec: Math.floor(unhealthyMs / 1000) });
  });
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness', response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const storage = store.sample() === null;
    const checks = { storage, core: deps.coreLoaded() };
    const ready = checks.storage && checks.core;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
}
