/**
 * Media, relayed to Meta with the number's own token (tenants never see it), tenant API key in:
 *
 *   POST   /{version}/{phone-number-id}/media   (and unversioned)  multipart upload, streamed, size-capped
 *   GET    /{version}/{media-id}[?phone_number_id=]                 the media's URL, type, hash, size
 *   DELETE /{version}/{media-id}[?phone_number_id=]
 *
 * Which number's token a media id is asked with: `phone_number_id` when given (it must be the
 * tenant's), else the number that uploaded it through this gateway (remembered, bounded), else the
 * tenant's first number. Meta's answer (status and JSON) is passed on as it is.
 * Own rate limit per tenant (`limits.mediaRequestsPerSec`, `limits.mediaBurst`), apart from sends.
 */
import type { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import type { TenantConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import type { TenantRegistry } from '../../gateway/tenants.js';
import { MediaTooLargeError, type MediaRelay, type RelayAnswer } from '../../upstream/media-relay.js';
import { requireOwnNumber, requireTenant } from '../auth.js';

const VERSION = /^v[0-9]{1,3}\.[0-9]{1,3}$/;
/** Media ids remembered with the number that uploaded them. */
const MAX_KNOWN_MEDIA = 10_000;

const UploadParams = Type.Object({ version: Type.String({ maxLength: 16 }), phoneNumberId: Type.String({ pattern: '^[0-9]{1,32}$' }) });
const UnversionedUploadParams = Type.Object({ phoneNumberId: Type.String({ pattern: '^[0-9]{1,32}$' }) });
const MediaParams = Type.Object({ version: Type.String({ maxLength: 16 }), mediaId: Type.String({ maxLength: 64 }) });
const UnversionedMediaParams = Type.Object({ mediaId: Type.String({ maxLength: 64 }) });
const MediaQuery = Type.Object({ phone_number_id: Type.Optional(Type.String({ pattern: '^[0-9]{1,32}$' })) });

export interface MediaRouteOptions {
  tenants: TenantRegistry;
  relay: Pick<MediaRelay, 'relay'>;
  clock: Clock;
  /** The Graph version for unversioned paths (`upstream.version`). */
  version: string;
  maxBytes: number;
  ratePerSec: number;
  burst: number;
}

export async function mediaRoutes(app: FastifyInstance, options: MediaRouteOptions): Promise<void> {
  const { tenants, relay } = options;
  const known = new Map<string, string>(); // media id → phone number id
  const buckets = new TenantBuckets(options);

  // Multipart bodies are streamed to Meta untouched: the parser hands the raw stream on (this
  // plugin only; the send routes still take JSON alone).
  app.addContentTypeParser('multipart/form-data', (_request, payload, done) => done(null, payload));
  // No media route reads a JSON body, and SDKs send `Content-Type: application/json` on an empty
  // DELETE (@great-detail/whatsapp): taken as it is rather than refused as empty JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));

  const upload = async (request: FastifyRequest, reply: FastifyReply, version: string, phoneNumberId: string): Promise<FastifyReply> => {
    const tenant = requireTenant(tenants, request);
    const { number } = requireOwnNumber(tenants, tenant, phoneNumberId);
    buckets.take(tenant.id);
    const contentType = request.headers['content-type'];
    if (contentType === undefined || !contentType.toLowerCase().startsWith('multipart/form-data')) {
      throw new GatewayError('UNSUPPORTED_CONTENT_TYPE', 'Media uploads are multipart/form-data with a "file" part and messaging_product=whatsapp');
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) throw tooLarge(options.maxBytes);
    const answer = await relayed(relay.relay({
      method: 'POST', path: `/${version}/${phoneNumberId}/media${query(request)}`, accessToken: number.accessToken,
      contentType, body: request.body as Readable, maxBytes: options.maxBytes,
    }), options.maxBytes);
    if (answer.status === 200) remember(known, answer.body, phoneNumberId);
    return send(reply, answer);
  };

  const media = async (request: FastifyRequest<{ Querystring: Static<typeof MediaQuery> }>, reply: FastifyReply, method: 'GET' | 'DELETE', version: string, mediaId: string): Promise<FastifyReply> => {
    // Media ids are digits: any other one-segment path (the unversioned route catches them) is a 404.
    if (!/^[0-9]{1,64}$/.test(mediaId)) throw new GatewayError('NOT_FOUND', `Unknown path or media id '${mediaId.slice(0, 64)}'`);
    const tenant = requireTenant(tenants, request);
    const phoneNumberId = request.query.phone_number_id ?? ownUploader(known, tenants, tenant, mediaId) ?? tenant.numbers[0]?.phoneNumberId;
    if (phoneNumberId === undefined) throw new GatewayError('NOT_FOUND', 'This tenant has no phone number to ask Meta with');
    const { number } = requireOwnNumber(tenants, tenant, phoneNumberId);
    buckets.take(tenant.id);
    const answer = await relayed(relay.relay({ method, path: `/${version}/${mediaId}${query(request)}`, accessToken: number.accessToken }), options.maxBytes);
    if (method === 'DELETE' && answer.status === 200) known.delete(mediaId);
    return send(reply, answer);
  };

  app.post<{ Params: Static<typeof UploadParams> }>('/:version/:phoneNumberId/media', { schema: { params: UploadParams } }, (request, reply) => {
    if (!VERSION.test(request.params.version)) throw new GatewayError('NOT_FOUND', `Unknown API version '${request.params.version}': expected vNN.N`);
    return upload(request, reply, request.params.version, request.params.phoneNumberId);
  });
  app.post<{ Params: Static<typeof UnversionedUploadParams> }>('/:phoneNumberId/media', { schema: { params: UnversionedUploadParams } }, (request, reply) =>
    upload(request, reply, options.version, request.params.phoneNumberId));
  for (const method of ['GET', 'DELETE'] as const) {
    app.route<{ Params: Static<typeof MediaParams>; Querystring: Static<typeof MediaQuery> }>({
      method, url: '/:version/:mediaId', schema: { params: MediaParams, querystring: MediaQuery },
      handler: (request, reply) => {
        if (!VERSION.test(request.params.version)) throw new GatewayError('NOT_FOUND', `Unknown path /${request.params.version}/…`);
        return media(request, reply, method, request.params.version, request.params.mediaId);
      },
    });
    app.route<{ Params: Static<typeof UnversionedMediaParams>; Querystring: Static<typeof MediaQuery> }>({
      method, url: '/:mediaId', schema: { params: UnversionedMediaParams, querystring: MediaQuery },
      handler: (request, reply) => media(request, reply, method, options.version, request.params.mediaId),
    });
  }
}

/** The query string as the client sent it (`messaging_product=whatsapp`, `phone_number_id=`), passed on. */
function query(request: FastifyRequest): string {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at);
}

async function relayed(answer: Promise<RelayAnswer>, maxBytes: number): Promise<RelayAnswer> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof MediaTooLargeError) throw tooLarge(maxBytes);
    throw new GatewayError('UPSTREAM_UNAVAILABLE', 'Meta could not be reached for this media request; nothing was done, retry');
  }
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError('PAYLOAD_TOO_LARGE', `Media uploads are limited to ${maxBytes} bytes (limits.mediaMaxBytes)`);
}

function send(reply: FastifyReply, answer: RelayAnswer): FastifyReply {
  return reply.code(answer.status).header('content-type', answer.contentType).send(answer.body);
}

function remember(known: Map<string, string>, body: Buffer, phoneNumberId: string): void {
  try {
    const id = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id;
    if (typeof id !== 'string') return;
    known.set(id, phoneNumberId);
    if (known.size > MAX_KNOWN_MEDIA) known.delete(known.keys().next().value as string);
  } catch {
    // Not JSON: nothing to remember; the answer is passed on all the same.
  }
}

/** The uploader of a media id, if it is one of this tenant's numbers. */
function ownUploader(known: Map<string, string>, tenants: TenantRegistry, tenant: TenantConfig, mediaId: string): string | undefined {
  const id = known.get(mediaId);
  return id !== undefined && tenants.number(id)?.tenant.id === tenant.id ? id : undefined;
}

/** A token bucket per tenant (bounded by the tenants that authenticated). */
class TenantBuckets {
  private readonly tokens = new Map<string, { tokens: number; atMs: number }>();
  constructor(private readonly options: Pick<MediaRouteOptions, 'clock' | 'ratePerSec' | 'burst'>) {}

  take(tenantId: string): void {
    const nowMs = this.options.clock.nowMs();
    const b = this.tokens.get(tenantId) ?? { tokens: this.options.burst, atMs: nowMs };
    b.tokens = Math.min(this.options.burst, b.tokens + ((nowMs - b.atMs) / 1000) * this.options.ratePerSec);
    b.atMs = nowMs;
    this.tokens.set(tenantId, b);
    if (b.tokens < 1) {
      throw new GatewayError('MEDIA_RATE_LIMITED', `At most ${this.options.ratePerSec} media requests per second (burst ${this.options.burst}) per tenant`, (1 - b.tokens) / this.options.ratePerSec);
    }
    b.tokens -= 1;
  }
}
