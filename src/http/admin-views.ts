/**
 * What the admin views read besides the HTTP deps (server.ts wires it): the numbers' live state,
 * tenants' messaging-limit use, and tenant-webhook dead letters. A small seam so the routes can be
 * tested with the real gateway or a stand-in.
 */
import type { BroadcastLister } from './routes/admin-broadcasts.js';
import type { NumberView } from '../gateway/number-views.js';
import type { TierUse } from '../policy/types.js';
import type { DeadEntry } from '../webhooks/outbox/types.js';

export interface AdminViews {
  numbers(): Promise<NumberView[]>;
  tierUse(tenantId: string): Promise<TierUse | undefined>;
  deadLetters(tenantId: string, afterSeq: number, limit: number): Promise<DeadEntry[]>;
  /** Every dead event of the tenant pending again (delivered from the start of its schedule); how many. */
  replayDead(tenantId: string): Promise<number>;
  /** Broadcasts' progress (GET /admin/broadcasts); absent: an empty list. */
  broadcasts?: BroadcastLister;
}
