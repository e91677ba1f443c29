/**
 * Back-off after a Graph rate limit (4, 17, 32, 613, 80007, a bare HTTP 429): the lanes whose budget
 * ran out pause (the same timed pause as 131057 maintenance: the run loop wakes each lane when it
 * ends and sends one probe before the rest), for twice as long per consecutive round. Messages are
 * never failed for it: they wait in their lane, within their deadline.
 */
import { throttleBackoffMs } from './backoff.js';
import type { DispatchContext } from './context.js';
import type { Lane } from './lane.js';

/**
 * Pauses the number (`tenantWide`: every lane of its tenant) after a rate-limit answer. Answers that
 * arrive while a round is on (requests that left before it began, a number of the tenant that had
 * not heard yet) join that round; only an answer after it ended (the probe's) starts a longer one.
 */
export function backOff(ctx: DispatchContext, lane: Lane, tenantWide: boolean, code: number, nowMs: number): void {
  const lanes = tenantWide ? lanesOfTenant(ctx, lane) : [lane];
  // One round and one count for the lanes that wait together, so the back-off grows whichever number probes.
  let untilMs = 0;
  let strikes = 0;
  for (const l of lanes) {
    untilMs = Math.max(untilMs, l.throttledUntilMs);
    strikes = Math.max(strikes, l.throttleStrikes);
  }
  if (untilMs <= nowMs) {
    strikes++;
    untilMs = nowMs + throttleBackoffMs(strikes);
    ctx.deps.log.warn(
      { phoneNumberId: lane.phoneNumberId, tenantId: lane.tenantId, code, pausedForMs: untilMs - nowMs, numbers: lanes.length },
      tenantWide
        ? "upstream rate limit on the tenant's app or token: its numbers back off, then probe with one send each"
        : 'upstream rate limit: the number backs off, then probes with one send',
    );
  }
  for (const l of lanes) {
    l.throttledUntilMs = untilMs;
    l.throttleStrikes = strikes;
    l.pausedUntilMs = Math.max(l.pausedUntilMs, untilMs);
    l.probing = true;
    ctx.saveControl(l, false);
  }
}

/**
 * The tenant's lanes in this dispatcher. A number with no lane yet has sent nothing here; its first
 * send meets the limit on its own and joins the round then (one request, not a stalled backlog).
 */
function lanesOfTenant(ctx: DispatchContext, lane: Lane): Lane[] {
  const out: Lane[] = [];
  for (const l of ctx.lanes.values()) if (l.tenantId === lane.tenantId) out.push(l);
  return out;
}
