/**
 * Webhook counters for /metrics, read from stats() at scrape time:
 *   sendgate_meta_webhook_posts_total{result}      accepted | bad_signature | invalid_json
 *   sendgate_tenant_webhook_events_total{result}   enqueued | delivered | failed_attempt | dead
 *   sendgate_tenant_webhook_pending, sendgate_tenant_webhook_open_breakers
 *   sendgate_meta_webhook_mark_flush_failures_total  dedupe-mark writes that failed (kept, retried)
 *   sendgate_meta_webhook_ignored_total{reason}  parts of Meta webhooks nothing acts on (`field:<name>`
 *     for fields sendgate does not handle, `status:<value>`, `bad:<what>`): seen, counted, not dropped silently
 * Failures show here and never block sends: delivery is asynchronous from the outbox.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WebhooksStats } from './embedded.js';

export function registerWebhookMetrics(registry: Registry, stats: () => WebhooksStats): void {
  const registers = [registry];
  new Counter({
    name: 'sendgate_meta_webhook_posts_total', help: 'Meta webhook POSTs by result', labelNames: ['result'], registers,
    collect() {
      const { meta } = stats();
      this.reset();
      this.inc({ result: 'accepted' }, meta.accepted);
      this.inc({ result: 'bad_signature' }, meta.badSignature);
      this.inc({ result: 'invalid_json' }, meta.invalidJson);
    },
  });
  new Counter({
    name: 'sendgate_tenant_webhook_events_total', help: 'Tenant webhook events by result', labelNames: ['result'], registers,
    collect() {
      const { tenant } = stats();
      this.reset();
      this.inc({ result: 'enqueued' }, tenant.enqueued);
      this.inc({ result: 'delivered' }, tenant.delivered);
      this.inc({ result: 'failed_attempt' }, tenant.failedAttempts);
      this.inc({ result: 'dead' }, tenant.dead);
    },
  });
  new Counter({
    name: 'sendgate_meta_webhook_mark_flush_failures_total', help: 'Meta webhook dedupe-mark writes that failed (the marks are kept and written later)', registers,
    collect() {
      this.reset();
      this.inc(stats().marks.flushFailures);
    },
  });
  new Counter({
    name: 'sendgate_meta_webhook_ignored_total', help: 'Parts of Meta webhooks nothing acts on, by reason (field:<name>, status:<value>, bad:<what>)', labelNames: ['reason'], registers,
    collect() {
      this.reset();
      for (const [reason, count] of stats().meta.ignored) this.inc({ reason }, count);
    },
  });
  new Gauge({
    name: 'sendgate_tenant_webhook_pending', help: 'Tenant webhook events waiting in the outbox', registers,
    collect() { this.set(stats().tenant.pending); },
  });
  new Gauge({
    name: 'sendgate_tenant_webhook_open_breakers', help: 'Tenant webhook endpoints whose circuit breaker is open', registers,
    collect() { this.set(stats().tenant.openBreakers); },
  });
}
