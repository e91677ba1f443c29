/**
 * Meta's WhatsApp webhooks in: `GET|POST /webhooks/whatsapp`.
 *
 * Register without fastify-plugin: the raw-body content-type parser below must stay scoped to
 * these routes (signatures are over the exact bytes; the rest of the app parses JSON normally).
 *
 * POST order matters: signature first (an unsigned or forged body changes nothing and is never
 * parsed), then parse, dedupe, hand fresh events to `onEvents`, and only when that resolved
 * answer 200. If `onEvents` fails the answer is 500 and the keys are released, so Meta's retry
 * gets through; `onEvents` should therefore do its durable work quickly and return (Meta wants
 * a median under 250 ms).
 */
import { Type } from '@sinclair/typebox';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { systemClock, type Clock } from '../../clock.js';
import { ERRORS, graphErrorBody, type ErrorCode } from '../../errors.js';
import { DeliveryDedupe, type Claim } from './dedupe.js';
import type { MetaEvent } from './events.js';
import { parseMetaWebhook, type IgnoredCounts } from './parse.js';
import { verifyMetaSignature } from './signature.js';
import { errorResponses, handlerValidates } from '../../http/schemas/common.js';

const text = (description: string) => ({ description, content: { 'text/plain': { schema: Type.String() } } });
/** Documentation only: the body is checked by its signature over the raw bytes, then parsed leniently. */
const VERIFY_SCHEMA = {
  tags: ['webhooks'], summary: 'Meta\'s verification handshake',
  querystring: Type.Object({
    'hub.mode': Type.Optional(Type.String()), 'hub.verify_token': Type.Optional(Type.String()), 'hub.challenge': Type.Optional(Type.String()),
  }),
  response: { 200: text('The challenge, echoed'), 403: text('Forbidden: wrong token or mode') },
};
const EVENTS_SCHEMA = {
  tags: ['webhooks'], summary: 'Meta\'s signed webhook events (statuses, inbound messages, account updates)',
  headers: Type.Object({ 'x-hub-signature-256': Type.Optional(Type.String({ description: 'sha256=<hex HMAC of the raw body with the app secret>' })) }),
  body: Type.Object({ object: Type.Optional(Type.String()), entry: Type.Optional(Type.Array(Type.Unknown())) }, { additionalProperties: true }),
  response: { 200: text('OK'), ...errorResponses(400, 401, 413, 500, 503) },
};

export interface MetaWebhookCounters {
  /** POSTs with a valid signature. */
  accepted: number;
  /** POSTs refused: unsigned, forged, or body modified. */
  badSignature: number;
  invalidJson: number;
  /** Events handed to onEvents. */
  events: number;
  /** Events dropped as already delivered. */
  duplicates: number;
  /** onEvents rejections (answered 500, Meta retries). */
  consumerFailures: number;
  /** Items the parser skipped, by reason. */
  ignored: IgnoredCounts;
}

export function createMetaWebhookCounters(): MetaWebhookCounters {
  return { accepted: 0, badSignature: 0, invalidJson: 0, events: 0, duplicates: 0, consumerFailures: 0, ignored: new Map() };
}

export interface MetaWebhookOptions {
  appSecret: string;
  verifyToken: string;
  onEvents: (events: MetaEvent[]) => Promise<void>;
  /** Shared dedupe state (give it durable marks to survive restarts); default: in-memory only. */
  dedupe?: DeliveryDedupe;
  clock?: Clock;
  counters?: MetaWebhookCounters;
  /** Meta documents payloads up to 3 MB. */
  bodyLimitBytes?: number;
}

const PATH = '/webhooks/whatsapp';
const MAX_CHALLENGE_CHARS = 256;

export const metaWebhookRoutes: FastifyPluginAsync<MetaWebhookOptions> = async (app, options) => {
  const { appSecret, onEvents } = options;
  const counters = options.counters ?? createMetaWebhookCounters();
  const dedupe = options.dedupe ?? new DeliveryDedupe({ clock: options.clock ?? systemClock });
  const verifyTokenDigest = digest(options.verifyToken);

  // Keep the body as bytes whatever the content type: the signature check needs them untouched.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes ?? 4 * 1024 * 1024 }, (_req, body, done) => {
    done(null, body);
  });

  app.get<{ Querystring: Record<string, string | undefined> }>(PATH, { schema: VERIFY_SCHEMA, validatorCompiler: handlerValidates }, async (request, reply) => {
    const q = request.query;
    const challenge = q['hub.challenge'];
    const token = q['hub.verify_token'];
    // Meta's challenge is a short number; anything long is not Meta and is not reflected.
    const ok = q['hub.mode'] === 'subscribe' && typeof challenge === 'string' && challenge.length <= MAX_CHALLENGE_CHARS
      && typeof token === 'string' && timingSafeEqual(digest(token), verifyTokenDigest);
    reply.header('x-content-type-options', 'nosniff');
    if (!ok) return reply.code(403).type('text/plain').send('Forbidden');
    return reply.code(200).type('text/plain').send(challenge);
  });

  app.post(PATH, { schema: EVENTS_SCHEMA, validatorCompiler: handlerValidates }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const header = request.headers['x-hub-signature-256'];
    if (!verifyMetaSignature(raw, typeof header === 'string' ? header : undefined, appSecret)) {
      counters.badSignature++;
      return refuse(reply, 'UNAUTHORIZED', 'Missing or invalid X-Hub-Signature-256');
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      counters.invalidJson++;
      return refuse(reply, 'INVALID_JSON', 'The request body is not valid JSON');
    }
    counters.accepted++;
    let claim: Claim;
    try {
      claim = await dedupe.claim(parseMetaWebhook(json, counters.ignored));
    } catch (err) {
      request.log.error({ err }, 'webhook dedupe look-up failed; Meta will retry');
      return refuse(reply, 'STORAGE_UNAVAILABLE', 'Events could not be processed');
    }
    counters.duplicates += claim.duplicates;
    if (claim.fresh.length > 0) {
      try {
        await onEvents(claim.fresh);
      } catch (err) {
        dedupe.release(claim.keys);
        counters.consumerFailures++;
        request.log.error({ err }, 'webhook consumer failed; Meta will retry');
        return refuse(reply, 'INTERNAL', 'Events could not be processed');
      }
      counters.events += claim.fresh.length;
    }
    dedupe.commit(claim.keys);
    return reply.code(200).type('text/plain').send('OK');
  });
};

function refuse(reply: FastifyReply, code: ErrorCode, details: string): FastifyReply {
  const spec = ERRORS[code];
  return reply.code(spec.status).type('application/json').send(graphErrorBody(spec, details, String(reply.request.id)));
}

/** Fixed-length digests so the token comparison is constant time whatever the lengths. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
