/**
 * `Prefer: wait` in a fleet: the process that accepted a send may not be the one that sends it.
 * The local dispatcher answers at once when it sent the message itself; otherwise the record is
 * read every POLL_MS until it is final or the wait is over. A message sent elsewhere is answered
 * in the Cloud API's own shape from its record (the wamid at `messages[0].id`), since the upstream's
 * body stayed with the process that sent it.
 */
import type { SendOutcome } from '../gateway/ports.js';
import type { MessageRecord } from '../store/types.js';

const POLL_MS = 100;

export interface OutcomeSources {
  local(id: string, timeoutMs: number): Promise<SendOutcome | null>;
  record(id: string): Promise<MessageRecord | null>;
}

export async function waitForOutcomeInFleet(sources: OutcomeSources, id: string, timeoutMs: number): Promise<SendOutcome | null> {
  let done = false;
  const local = sources.local(id, timeoutMs).then((outcome) => {
    if (outcome !== null) done = true;
    return outcome;
  });
  const polled = (async (): Promise<SendOutcome | null> => {
    const endAt = Date.now() + timeoutMs;
    while (!done && Date.now() < endAt) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, endAt - Date.now()))));
      if (done) return null;
      const rec = await sources.record(id).catch(() => null);
      const outcome = rec === null ? null : outcomeOf(rec);
      if (outcome !== null) return outcome;
    }
    return null;
  })();
  const first = await Promise.race([local, polled]);
  done = true;
  if (first !== null) return first;
  // The one that finished first found nothing: the other may still answer within the wait.
  const [a, b] = await Promise.all([local, polled]);
  return a ?? b;
}

/** The outcome a final record tells; null while it is not final. */
export function outcomeOf(rec: MessageRecord): SendOutcome | null {
  switch (rec.state) {
    case 'sent':
    case 'delivered':
    case 'read': {
      const body = rec.to === ''
        ? { success: true }
        : { messaging_product: 'whatsapp', contacts: [{ input: rec.toInput, wa_id: rec.to }], messages: [{ id: rec.wamid }] };
      return { state: 'sent', status: 200, bodyText: JSON.stringify(body), error: null };
    }
    case 'failed':
    case 'expired':
    case 'rejected':
      return { state: rec.state, status: 0, bodyText: '', error: rec.lastError };
    default:
      return null;
  }
}
