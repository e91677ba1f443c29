/**
 * The one place that decides what follows when a message ends without being sent — failed at the
 * upstream, expired before its deadline, or rejected at departure by a policy: its policy charges
 * are given back (tier slot, repeat slot) and the tenant's webhook hears of it
 * (Meta never sends a status for a message it did not accept). Sent messages end through Meta's
 * status webhooks instead (src/webhooks/meta). What an upstream answer teaches about the recipient
 * (131026, 131049, 131050) is learned at the attempt (server.ts), while other messages to them wait.
 *
 * The tenant's event is owed from the commit of the final state on (the store notes it there:
 * OwedEndings). It is paid into the webhook outbox, then settled. What a crash or a failed write
 * leaves owed is paid at boot (`payOwed`) and by a sweep now and then: no ending goes unheard.
 * Charges need no such care: after a restart the replayed tier charges are never given back.
 * A tenant whose webhook takes Meta's format gets a `failed` status in Meta's shape instead
 * (src/webhooks/tenant/meta-format.ts), so its handler's failure path sees these endings too.
 */
import type { Clock } from '../clock.js';
import type { DispatchEvent } from '../dispatch/types.js';
import type { MessageRecord } from '../store/types.js';
import { endedEnvelope, idsOf } from '../webhooks/tenant/meta-format.js';
import type { Components } from './components.js';

type FinalEvent = Extract<DispatchEvent, { type: 'final' }>;
type Parts = Pick<Components, 'policy' | 'store' | 'webhooks' | 'tenants'>;

/** The sweep pays endings owed for longer than this (a live settlement takes milliseconds). */
export const OWED_SWEEP_MS = 60_000;
const OWED_PAGE = 500;

export interface MessageEndings {
  /** A final event from the dispatcher; settled in the background. */
  ended(event: FinalEvent): void;
  /** Pays every ending owed since before `beforeMs` (boot: all of them); resolves with how many. */
  payOwed(beforeMs: number): Promise<number>;
  /** Resolves once every settlement started so far has finished (shutdown, before storage closes). */
  drain(): Promise<void>;
}

export function messageEndings(parts: Parts, clock: Clock, log: { error(obj: object, msg: string): void }): MessageEndings {
  const unsettled = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): void => {
    const p: Promise<unknown> = work.catch((err: unknown) => log.error({ err }, 'paying a message ending failed; the sweep tries again'))
      .finally(() => unsettled.delete(p));
    unsettled.add(p);
  };
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    track(payOwed(parts, clock.nowMs() - OWED_SWEEP_MS).finally(() => { sweeping = false; }));
  }, OWED_SWEEP_MS);
  sweep.unref();
  return {
    ended(event) {
      if (event.state === 'sent') return;
      parts.policy.onFinal({ tenantId: event.tenantId, to: event.to, state: event.state, template: event.template });
      track(pay(parts, event.tenantId, event.id));
    },
    payOwed: (beforeMs) => payOwed(parts, beforeMs),
    async drain() {
      clearInterval(sweep);
      while (unsettled.size > 0) await Promise.all(unsettled);
    },
  };
}

async function payOwed(parts: Parts, beforeMs: number): Promise<number> {
  const { store } = parts;
  if (store.owedEndings === undefined) return 0;
  let paid = 0;
  for (const tenantId of [...parts.tenants.tenantIds()]) {
    for (;;) {
      const ids = await store.owedEndings(tenantId, beforeMs, OWED_PAGE);
      await Promise.all(ids.map((id) => pay(parts, tenantId, id))); // one group commit each way
      paid += ids.length;
      if (ids.length < OWED_PAGE) break;
    }
  }
  return paid;
}

/** The tenant's event into the outbox (same event id each time: a repeat is recognisable), then the debt settled. */
async function pay(parts: Parts, tenantId: string, id: string): Promise<void> {
  const record = await parts.store.get(tenantId, id);
  // Gone (retention) or back in the queue (an operator's requeue): nothing to tell.
  if (record !== null && isUnsentEnding(record.state)) await notify(parts, record, record.state);
  await parts.store.endingSettled?.(tenantId, id);
}

type UnsentEnding = 'failed' | 'expired' | 'rejected';
const isUnsentEnding = (state: MessageRecord['state']): state is UnsentEnding => state === 'failed' || state === 'expired' || state === 'rejected';

async function notify(parts: Parts, record: MessageRecord, state: UnsentEnding): Promise<void> {
  const eventId = `evt_final_${record.id}`;
  if (parts.webhooks.sender.formatOf(record.tenantId) !== 'meta') {
    await parts.webhooks.sender.enqueue(record.tenantId, endingEvent(record), { orderKey: record.to, eventId });
    return;
  }
  // A mark-as-read (no recipient) is no message in Meta's world: Meta never reports on one.
  if (record.to === '') return;
  const owner = parts.tenants.number(record.phoneNumberId);
  const envelope = endedEnvelope({
    record, state, ids: idsOf(record, false), atMs: record.updatedAtMs,
    displayPhoneNumber: owner?.number.displayPhoneNumber ?? '', wabaId: owner?.tenant.wabaIds?.[0] ?? '',
  });
  await parts.webhooks.sender.enqueue(record.tenantId, envelope, { orderKey: record.to, eventId, format: 'meta' });
}

function endingEvent(record: MessageRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: 'message.status', id: record.id, wamid: record.wamid, status: record.state,
    recipient: record.to, phoneNumberId: record.phoneNumberId, timestamp: record.updatedAtMs,
  };
  if (record.lastError !== null) body.errors = [record.lastError];
  return body;
}
