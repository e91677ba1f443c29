/**
 * Which sends the client knows by Meta's wamid: a `Prefer: wait` send the upstream answered within
 * the wait got Meta's body back (`messages[0].id` = wamid), not the gateway id. A tenant taking
 * Meta's format then gets that message's statuses and reply contexts under the wamid
 * (meta-format.ts). Noted only for tenants whose webhook takes Meta's format (nothing else reads it).
 *
 * The note is written right after the upstream's answer, before the client gets it; a status Meta
 * sends for the message is relayed later (it follows the answer and the `sent` commit), so it
 * reads the note. Kept `ttlMs` (default 30 days, Meta's longest message TTL, after which no status
 * comes), durable in both backends: webhooks.db (`wamid_answers`, pruned by age) or Redis (one
 * key per message in the tenant's slot, PX the TTL).
 */
import type { RedisKeys } from '../../store/redis/keys.js';
import type { RedisWrites } from '../../store/redis/writes.js';
import type { WebhooksDb } from '../db.js';
import type { WamidAnswers } from '../meta/consumer.js';
import type { OutboxFormat } from '../outbox/types.js';

export const WAMID_ANSWER_TTL_MS = 30 * 86_400_000;
/** How often the embedded table drops notes past their TTL. */
const PRUNE_EVERY_MS = 3_600_000;

/** The storage of the notes. */
export interface WamidAnswerStore {
  note(tenantId: string, gatewayId: string, atMs: number): Promise<void>;
  has(tenantId: string, gatewayId: string, nowMs: number): Promise<boolean>;
}

/** The send route's side (notes) and the consumer's (reads), for tenants taking Meta's format only. */
export class WamidAnswerNotes implements WamidAnswers {
  constructor(
    private readonly store: WamidAnswerStore,
    private readonly formatOf: (tenantId: string) => OutboxFormat | undefined,
    private readonly nowMs: () => number,
  ) {}

  /** The client got message `gatewayId`'s wamid as its id. */
  async noteWamidAnswered(tenantId: string, gatewayId: string): Promise<void> {
    if (this.formatOf(tenantId) !== 'meta') return;
    await this.store.note(tenantId, gatewayId, this.nowMs());
  }

  answeredWamid(tenantId: string, gatewayId: string): Promise<boolean> {
    return this.store.has(tenantId, gatewayId, this.nowMs());
  }
}

export class SqliteWamidAnswers implements WamidAnswerStore {
  private readonly stmts;
  private prunedAtMs = 0;

  constructor(db: WebhooksDb, private readonly ttlMs = WAMID_ANSWER_TTL_MS) {
    // Table: ../migrations.ts (version 3).
    this.stmts = {
      note: db.prepare('INSERT INTO wamid_answers (gateway_id, tenant_id, at_ms) VALUES (?, ?, ?) ON CONFLICT (gateway_id) DO UPDATE SET at_ms = excluded.at_ms'),
      has: db.prepare('SELECT 1 FROM wamid_answers WHERE gateway_id = ? AND tenant_id = ? AND at_ms >= ?').pluck(),
      prune: db.prepare('DELETE FROM wamid_answers WHERE at_ms < ?'),
    };
  }

  async note(tenantId: string, gatewayId: string, atMs: number): Promise<void> {
    // One row per waited send of a Meta-format tenant: rare enough for a commit of its own.
    this.stmts.note.run(gatewayId, tenantId, atMs);
    if (atMs - this.prunedAtMs >= PRUNE_EVERY_MS) {
      this.prunedAtMs = atMs;
      this.stmts.prune.run(atMs - this.ttlMs);
    }
  }

  async has(tenantId: string, gatewayId: string, nowMs: number): Promise<boolean> {
    return this.stmts.has.get(gatewayId, tenantId, nowMs - this.ttlMs) !== undefined;
  }
}

export class RedisWamidAnswers implements WamidAnswerStore {
  constructor(private readonly writes: RedisWrites, private readonly keys: RedisKeys, private readonly ttlMs = WAMID_ANSWER_TTL_MS) {}

  async note(tenantId: string, gatewayId: string): Promise<void> {
    await this.writes.write((p) => p.set(this.keys.wamidAnswer(tenantId, gatewayId), '1', 'PX', this.ttlMs));
  }

  async has(tenantId: string, gatewayId: string): Promise<boolean> {
    return (await this.writes.client.exists(this.keys.wamidAnswer(tenantId, gatewayId))) === 1;
  }
}
