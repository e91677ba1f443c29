/**
 * Signature on every webhook sendgate delivers to a tenant:
 *
 *   X-Sendgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<event id>.<raw body>")>
 *   X-Sendgate-Event-Id:  <event id>   (stable across retries: dedupe on it; signed, so a replayed
 *                                       body cannot be passed off under a fresh event id)
 *
 * How a receiver verifies (Node):
 *   1. Read the RAW request body (before any JSON parsing) and the header.
 *   2. Split the header on ',' into `t=` and `v1=` parts (ignore unknown parts: future `v2=`).
 *   3. expected = createHmac('sha256', secret).update(`${t}.${eventIdHeader}.${rawBody}`).digest('hex')
 *   4. Compare `expected` and `v1` with crypto.timingSafeEqual on equal-length buffers.
 *   5. Reject if |now - t| > 5 minutes (replay window); then dedupe on X-Sendgate-Event-Id.
 * `t` is the time of this attempt, so each retry carries a fresh timestamp and signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-sendgate-signature';
export const EVENT_ID_HEADER = 'x-sendgate-event-id';

export function signTenantBody(secret: string, unixSeconds: number, rawBody: string, eventId: string): string {
  return `t=${unixSeconds},v1=${hmacHex(secret, unixSeconds, eventId, rawBody)}`;
}

/** Reference verifier (what tenants implement); `toleranceSec` bounds replay of old deliveries. */
export function verifyTenantSignature(secret: string, header: string, rawBody: string, eventId: string, nowSec: number, toleranceSec = 300): boolean {
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') t = Number(value);
    else if (name === 'v1') candidates.push(value);
  }
  if (t === undefined || !Number.isInteger(t) || Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(hmacHex(secret, t, eventId, rawBody), 'utf8');
  return candidates.some((v) => {
    const got = Buffer.from(v, 'utf8');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

function hmacHex(secret: string, unixSeconds: number, eventId: string, rawBody: string): string {
  return createHmac('sha256', secret).update(`${unixSeconds}.${eventId}.`).update(rawBody, 'utf8').digest('hex');
}
