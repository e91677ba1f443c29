/** The webhooks area's public face: Meta's webhooks in, tenants' webhooks out. */
export { openEmbeddedWebhooks, type EmbeddedWebhooksOptions, type Webhooks, type WebhooksStats } from './embedded.js';
export { openWebhooksDb, type WebhooksDb } from './db.js';
export type { CapabilityEvent, InboundEvent, MessagingLimit, MetaEvent, QualityEvent, StatusEvent, StatusValue } from './meta/events.js';
export { parseMetaWebhook, parseLimit, type IgnoredCounts } from './meta/parse.js';
export { metaWebhookRoutes, createMetaWebhookCounters, type MetaWebhookOptions, type MetaWebhookCounters } from './meta/routes.js';
export { DeliveryDedupe, dedupeKey } from './meta/dedupe.js';
export { SqliteSeenMarks, type SeenMarks } from './meta/seen-marks.js';
export { verifyMetaSignature, signMetaBody, escapeNonAscii } from './meta/signature.js';
export { detectOptOut, compileOptOutWords, DEFAULT_OPT_OUT_WORDS, DEFAULT_OPT_OUT_SET } from './opt-out.js';
export type { Outbox, OutboxEntry, NewOutboxEntry, SettleOutcome } from './outbox/types.js';
export { SqliteOutbox } from './outbox/sqlite.js';
export { TenantWebhookSender, type TenantWebhookSenderOptions, type TenantWebhookStats, type EnqueueOptions } from './tenant/sender.js';
export type { TenantEndpoint } from './tenant/lane.js';
export { signTenantBody, verifyTenantSignature, SIGNATURE_HEADER, EVENT_ID_HEADER } from './tenant/signature.js';
export { DEFAULT_RETRY_SCHEDULE_MS } from './tenant/schedule.js';
export { MetaEventConsumer, type MetaConsumerOptions, type MetaConsumerStats, type ConsumerHooks, type InboundNotice, type TenantEventSink, type NumberOwners } from './meta/consumer.js';
