/**
 * Pair rate (number × recipient, cloud-api.md §3: 1 per 6 s, bursts borrowed from the future):
 * a message leaves only when its (number, recipient) GCRA conforms. One that does not is held with
 * its recipient (the parked-recipient mechanism 131056 uses) until it would, while the number's
 * other recipients keep flowing. The pair token is taken at departure, like the number's; messages
 * committed ahead of departure are counted in `lane.pairAhead` so two of them cannot both claim
 * the last token.
 */
import type { Job, Lane } from './lane.js';
import { pairPacing } from './limits.js';
import type { NumberInfo, Pacer } from './types.js';

/** Pair pacing applies to this job: the number has a pair rate and the body reaches a recipient. */
export function pairOf(info: NumberInfo, job: Job): NumberInfo['pair'] {
  // Mark-as-read bodies have no recipient ('') and reach no one.
  return job.rec.to === '' ? undefined : info.pair;
}

/**
 * ms until a message to `to` committed now would conform, given the ones already committed ahead
 * of their token: the GCRA wait with `ahead` tokens spoken for (check with the bucket shrunk by
 * `ahead`), as for the number's lookahead.
 */
export function pairDueInMs(pacer: Pacer, lane: Lane, job: Job, pair: NonNullable<NumberInfo['pair']>, nowMs: number): number {
  const { ratePerSec, burst, intervalMs } = pairPacing(pair);
  const key = lane.pairKeyOf(job);
  const ahead = lane.pairAhead.get(job.rec.to) ?? 0;
  return ahead < burst
    ? pacer.checkKey(key, ratePerSec, burst - ahead, nowMs)
    : pacer.checkKey(key, ratePerSec, 1, nowMs) + (ahead - burst + 1) * intervalMs;
}

/** Departure, without charging: ms until the pair conforms (0 for a message committed by the rules above). */
export function checkPair(pacer: Pacer, lane: Lane, job: Job, pair: NonNullable<NumberInfo['pair']>, nowMs: number): number {
  const { ratePerSec, burst } = pairPacing(pair);
  return pacer.checkKey(lane.pairKeyOf(job), ratePerSec, burst, nowMs);
}

/** Departure: charges the pair token; call right after `checkPair` answered 0 at the same instant. */
export function takePair(pacer: Pacer, lane: Lane, job: Job, pair: NonNullable<NumberInfo['pair']>, nowMs: number): void {
  const { ratePerSec, burst } = pairPacing(pair);
  pacer.takeKey(lane.pairKeyOf(job), ratePerSec, burst, nowMs);
}

/** The job no longer waits ahead of its pair token (it left, expired, or went back to the queue). */
export function dropPairAhead(lane: Lane, job: Job): void {
  if (job.pairCounted !== true) return;
  job.pairCounted = false;
  lane.addPairAhead(job.rec.to, -1);
}

/** Counts the job ahead of its pair token (it is about to be committed as `sending`). */
export function notePairAhead(lane: Lane, job: Job): void {
  job.pairCounted = true;
  lane.addPairAhead(job.rec.to, 1);
}
