/**
 * Wires the webhook pieces for embedded storage: one `<storage.path>/webhooks.db` holding the
 * tenant outbox and the durable Meta dedupe marks, the sender (recovered from the outbox), and the
 * options for `metaWebhookRoutes`.
 *
 *   const webhooks = await openEmbeddedWebhooks({ storagePath, endpoint: (id) => registry.tenant(id)?.webhook });
 *   const consumer = new MetaEventConsumer({ records: store, owners: registry, sink: webhooks.sender, unmatched: webhooks.unmatched, clock, hooks });
 *   if (config.webhooks) await app.register(metaWebhookRoutes, webhooks.routeOptions(config.webhooks, consumer.onEvents));
 *   ... on shutdown, after the app closed: await webhooks.close();
 */
import { systemClock, type Clock } from '../clock.js';
import { openWebhooksDb, type WebhooksDb } from './db.js';
import { DeliveryDedupe } from './meta/dedupe.js';
import type { MetaEvent } from './meta/events.js';
import { createMetaWebhookCounters, type MetaWebhookCounters, type MetaWebhookOptions } from './meta/routes.js';
import { SqliteSeenMarks, type SeenMarksStats } from './meta/seen-marks.js';
import { SqliteUnmatchedStatuses, type UnmatchedStatuses } from './meta/unmatched-statuses.js';
import { SqliteOutbox } from './outbox/sqlite.js';
import type { TenantEndpoint } from './tenant/lane.js';
import { TenantWebhookSender, type TenantWebhookSenderOptions, type TenantWebhookStats } from './tenant/sender.js';
import { SqliteWamidAnswers, WamidAnswerNotes } from './tenant/wamid-answers.js';

export interface EmbeddedWebhooksOptions {
  /** `storage.path` of the config: the directory of webhooks.db. */
  storagePath: string;
  /** The tenant's `webhook` from the live config. */
  endpoint: (tenantId: string) => TenantEndpoint | undefined;
  clock?: Clock;
  /** Tuning of the sender (schedule, concurrency, breaker, window). */
  sender?: Omit<TenantWebhookSenderOptions, 'outbox' | 'endpoint' | 'clock'>;
  /** Told about background writes that failed (they are kept and retried); the gateway logs them. */
  onError?: (err: unknown, what: string) => void;
}

export interface WebhooksStats {
  meta: MetaWebhookCounters;
  tenant: TenantWebhookStats;
  marks: SeenMarksStats;
}

/**
 * Meta statuses waiting for their wamid, at most (oldest dropped first). Each is a few hundred
 * bytes on disk; normally a handful wait for a few hundred ms.
 */
const MAX_PARKED_STATUSES = 100_000;

export interface Webhooks {
  readonly sender: TenantWebhookSender;
  /** Durable home of Meta statuses that arrived before their wamid (give it to MetaEventConsumer). */
  readonly unmatched: UnmatchedStatuses;
  /** Sends answered with the wamid (`Prefer: wait`): the send route notes them, MetaEventConsumer reads them. */
  readonly wamidAnswers: WamidAnswerNotes;
  /** Options for `app.register(metaWebhookRoutes, ...)`, sharing this dedupe state and counters. */
  routeOptions(secrets: { appSecret: string; verifyToken: string }, onEvents: (events: MetaEvent[]) => Promise<void>): MetaWebhookOptions;
  stats(): WebhooksStats;
  /** Stops deliveries, flushes marks and the outbox, closes the file. Close the app first. */
  close(): Promise<void>;
}

export async function openEmbeddedWebhooks(options: EmbeddedWebhooksOptions): Promise<Webhooks> {
  const clock = options.clock ?? systemClock;
  const db: WebhooksDb = openWebhooksDb(options.storagePath);
  const marks = new SqliteSeenMarks(db, { nowMs: () => clock.nowMs(), onError: options.onError });
  const dedupe = new DeliveryDedupe({ clock, marks });
  const counters = createMetaWebhookCounters();
  const outbox = new SqliteOutbox(db);
  const unmatched = new SqliteUnmatchedStatuses(db, MAX_PARKED_STATUSES);
  const sender = new TenantWebhookSender({
    ...options.sender, outbox, endpoint: options.endpoint, clock,
    ...(options.onError !== undefined ? { onError: options.onError } : {}),
  });
  try {
    await sender.start();
  } catch (err) {
    marks.close();
    db.close();
    throw err;
  }
  return {
    sender,
    unmatched,
    wamidAnswers: new WamidAnswerNotes(new SqliteWamidAnswers(db), (id) => sender.formatOf(id), () => clock.nowMs()),
    routeOptions: (secrets, onEvents) => ({ appSecret: secrets.appSecret, verifyToken: secrets.verifyToken, onEvents, dedupe, counters, clock }),
    stats: () => ({ meta: counters, tenant: sender.stats(), marks: marks.stats() }),
    async close() {
      await sender.close();
      await outbox.close();
      marks.close();
      db.close();
    },
  };
}
