/**
 * Broadcast routes (DESIGN.md, "Broadcasts"), tenant API key:
 *   POST /v1/broadcasts                 plan (dry_run: 200, nothing stored) or create (201, durable)
 *   POST /v1/broadcasts/uploads         a recipient list streamed as NDJSON or CSV, for lists past the JSON body limit
 *   GET  /v1/broadcasts/{id}            state, plan, counts, updated ETA
 *   POST /v1/broadcasts/{id}/cancel     ends what has not been sent
 *
 * The create body is read as bytes (its own body limit, 16 MiB by default) so an Idempotency-Key
 * repeat is compared on the exact request; recipients are checked in the plan's one pass (an
 * invalid number is an exclusion, as the contract says), not by a schema walk over 10^5 objects.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { parse } from 'csv-parse';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BROADCAST_ID_PATTERN } from '../../broadcasts/ids.js';
import type { RecipientInput } from '../../broadcasts/plan.js';
import type { Rows } from '../../broadcasts/store.js';
import { requestHash, type BroadcastService } from '../../broadcasts/service.js';
import { validateMessageBody } from '../../cloud-api/validate.js';
import { GatewayError } from '../../errors.js';
import { newMessageId } from '../../gateway/ids.js';
import { requireOwnNumber, requireTenant } from '../auth.js';
import type { GatewayDeps } from '../deps.js';

const CATEGORIES = new Set(['authentication', 'utility', 'marketing', 'service']);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const MAX_VALIDITY_MS = 30 * 86_400_000;
/** Recipients of one upload at most. */
const MAX_UPLOAD_ROWS = 10_000_000;
/** Longest NDJSON line of an upload (one recipient and its components). */
const MAX_LINE_CHARS = 64 * 1024;
/** Upload rows per commit. */
const UPLOAD_CHUNK = 5_000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Plan = Type.Object({
  recipients: Type.Integer(),
  excluded: Type.Record(Type.String(), Type.Integer()),
  new_unique_recipients: Type.Integer(),
  messaging_limit_free: Type.Union([Type.Integer(), Type.Null()]),
  sendable_now: Type.Integer(),
  waiting_for_limit: Type.Integer(),
  eta_seconds: Type.Integer(),
  finish_at: Type.String(),
});
const Created = Type.Object({ id: Type.Union([Type.String(), Type.Null()]), state: Type.String(), plan: Plan });
const Counts = Type.Record(Type.String(), Type.Integer());
const View = Type.Object({
  id: Type.String(), state: Type.String(), phone_number_id: Type.String(), plan: Plan, counts: Counts,
  eta_seconds: Type.Integer(), finish_at: Type.String(), created_at: Type.String(), not_before: Type.String(),
  deadline_at: Type.String(), ended_at: Type.Union([Type.String(), Type.Null()]),
});
const Upload = Type.Object({ id: Type.String(), recipients: Type.Integer() });
const UploadQuery = Type.Object({ to_column: Type.Optional(Type.String({ maxLength: 256 })), params: Type.Optional(Type.String({ maxLength: 4096 })) });

export interface BroadcastRouteOptions {
  deps: Pick<GatewayDeps, 'config' | 'tenants' | 'clock'>;
  /** The service, once the dispatcher has recovered (null before: no request is served then). */
  service: () => BroadcastService | null;
}

export async function broadcastRoutes(app: FastifyInstance, options: BroadcastRouteOptions): Promise<void> {
  const { deps } = options;
  const bodyLimit = deps.config.broadcasts.maxBodyBytes;
  const service = (): BroadcastService => {
    const s = options.service();
    if (s === null) throw new GatewayError('STORAGE_UNAVAILABLE', 'Broadcasts are not running yet; retry in a moment', 1);
    return s;
  };
  // This plugin's JSON parser keeps the bytes (hashed for Idempotency-Key repeats); other routes keep theirs.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    try {
      done(null, { raw: body as Buffer, json: JSON.parse((body as Buffer).toString('utf8')) as unknown });
    } catch {
      done(new GatewayError('INVALID_JSON', 'The request body is not valid JSON'), undefined);
    }
  });
  // Uploads are read as a stream, a line or a row at a time: memory does not grow with the list.
  app.addContentTypeParser(['application/x-ndjson', 'text/csv'], (_req, payload, done) => done(null, payload));

  app.post('/v1/broadcasts', { bodyLimit, schema: { response: { 200: Created, 201: Created } } }, async (request, reply) => {
    const tenant = requireTenant(deps.tenants, request);
    const parsed = request.body as { raw: Buffer; json: unknown } | undefined;
    if (parsed === undefined || typeof parsed.json !== 'object' || parsed.json === null || Array.isArray(parsed.json)) {
      throw new GatewayError('INVALID_PARAMETER', 'The body must be a JSON object: {"phone_number_id","message","recipients"}');
    }
    const body = parsed.json as Record<string, unknown>;
    if (typeof body.phone_number_id !== 'string') throw new GatewayError('INVALID_PARAMETER', 'phone_number_id (string) is required');
    const { number } = requireOwnNumber(deps.tenants, tenant, body.phone_number_id);
    const s = service();
    const nowMs = deps.clock.nowMs();
    const message = parseMessage(body.message);
    const dryRun = parseDryRun(body.dry_run);
    const category = parseCategory(body.category, message);
    const notBeforeMs = body.not_before === undefined || body.not_before === null ? nowMs : parseInstant(body.not_before, 'not_before', nowMs, true);
    const deadlineAtMs = parseDeadline(body.deadline, nowMs, deps.config.broadcasts.deadlineSec);
    if (deadlineAtMs <= notBeforeMs) throw new GatewayError('INVALID_PARAMETER', 'deadline must be after not_before');
    const key = header(request, 'idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) throw new GatewayError('INVALID_HEADER', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    const source = await recipientSource(s, tenant.id, body, message.type === 'template');

    const outcome = await s.create({
      tenant, phoneNumberId: number.phoneNumberId, message, category, notBeforeMs, deadlineAtMs, dryRun,
      idempotencyKey: key ?? null, bodyHash: key === undefined ? null : requestHash(number.phoneNumberId, parsed.raw),
      count: source.count, recipients: source.rows,
    });
    if ('plan' in outcome) return reply.code(200).send({ id: null, state: 'dry_run', plan: outcome.plan });
    return reply.code(201).header('location', `/v1/broadcasts/${outcome.record.id}`)
      .send({ id: outcome.record.id, state: outcome.record.state, plan: outcome.record.plan });
  });

  app.post<{ Querystring: { to_column?: string; params?: string } }>('/v1/broadcasts/uploads', {
    schema: { querystring: UploadQuery, response: { 201: Upload } },
  }, async (request, reply) => {
    const tenant = requireTenant(deps.tenants, request);
    const s = service();
    const stream = request.body as Readable | undefined;
    if (stream === undefined || typeof (stream as Readable).pipe !== 'function') {
      throw new GatewayError('UNSUPPORTED_CONTENT_TYPE',
        'Send the recipients as Content-Type: application/x-ndjson (one {"to","components"?} per line) or text/csv (a header row, then one recipient per row)');
    }
    const csv = String(request.headers['content-type'] ?? '').toLowerCase().startsWith('text/csv');
    const params = request.query.params === undefined || request.query.params === '' ? [] : request.query.params.split(',');
    const rows = csv ? csvRows(stream, request.query.to_column, params) : ndjsonRows(stream);
    const id = `up_${newMessageId(deps.clock.nowMs()).slice(3)}`;
    let count = 0;
    try {
      count = await storeRows(rows, (chunk, first) => s.uploads().append(tenant.id, id, first, chunk));
    } catch (err) {
      await s.uploads().drop(tenant.id, id).catch(() => undefined);
      stream.resume();
      throw err;
    }
    await s.uploads().finish(id, tenant.id, count);
    return reply.code(201).send({ id, recipients: count });
  });

  app.get<{ Params: { id: string } }>('/v1/broadcasts/:id', { schema: { params: IdParams, response: { 200: View } } }, async (request) => {
    const tenant = requireTenant(deps.tenants, request);
    const s = service();
    const record = BROADCAST_ID_PATTERN.test(request.params.id) ? await s.get(tenant.id, request.params.id) : null;
    if (record === null) throw new GatewayError('NOT_FOUND', `No broadcast ${request.params.id} for this tenant`);
    return s.view(record);
  });

  app.post<{ Params: { id: string } }>('/v1/broadcasts/:id/cancel', { schema: { params: IdParams, response: { 200: View } } }, async (request) => {
    const tenant = requireTenant(deps.tenants, request);
    const s = service();
    const record = BROADCAST_ID_PATTERN.test(request.params.id) ? await s.cancel(tenant.id, request.params.id) : null;
    if (record === null) throw new GatewayError('NOT_FOUND', `No broadcast ${request.params.id} for this tenant`);
    return s.view(record);
  });
}

function parseMessage(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('INVALID_PARAMETER', 'message is required: a Cloud API message body without "to"');
  }
  const message = value as Record<string, unknown>;
  if ('to' in message) throw new GatewayError('INVALID_PARAMETER', 'message must not carry "to": recipients go in "recipients"');
  // The same rules as a single send, checked once with a stand-in recipient.
  const problem = validateMessageBody({ ...message, to: '+15550000000' });
  if (problem !== null) throw new GatewayError('INVALID_PARAMETER', problem.details);
  if (message.status === 'read') throw new GatewayError('INVALID_PARAMETER', 'A broadcast sends messages; mark-as-read is not one');
  return message;
}

function parseDryRun(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new GatewayError('INVALID_PARAMETER', 'dry_run must be true or false');
  return value;
}

function parseCategory(value: unknown, message: Record<string, unknown>): string {
  if (value === undefined || value === null) return message.type === 'template' ? 'unknown' : 'service';
  if (typeof value !== 'string' || !CATEGORIES.has(value)) throw new GatewayError('INVALID_PARAMETER', `category must be one of ${[...CATEGORIES].join(', ')}`);
  return value;
}

/** An RFC 3339 instant within 30 days (`past`: a past not_before means now). */
function parseInstant(value: unknown, name: string, nowMs: number, past: boolean): number {
  const ms = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value.toUpperCase()) : Number.NaN;
  if (!Number.isFinite(ms) || ms - nowMs > MAX_VALIDITY_MS || (!past && ms <= nowMs)) {
    throw new GatewayError('INVALID_PARAMETER', `${name} must be an RFC 3339 time${past ? '' : ' in the future'} within 30 days`);
  }
  return Math.max(ms, nowMs);
}

/** `deadline`: seconds of validity or an RFC 3339 instant; default `defaultSec`. */
function parseDeadline(value: unknown, nowMs: number, defaultSec: number): number {
  if (value === undefined || value === null) return nowMs + defaultSec * 1000;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0 || value * 1000 > MAX_VALIDITY_MS) throw new GatewayError('INVALID_PARAMETER', 'deadline must be a positive number of seconds within 30 days');
    return nowMs + value * 1000;
  }
  return parseInstant(value, 'deadline', nowMs, false);
}

/** The recipients to plan: the request's own list, or a finished upload's rows. */
async function recipientSource(s: BroadcastService, tenantId: string, body: Record<string, unknown>, template: boolean): Promise<{ count: number; rows: () => Rows<RecipientInput> }> {
  const upload = body.recipients_upload;
  if (upload !== undefined) {
    if (body.recipients !== undefined) throw new GatewayError('INVALID_PARAMETER', 'Give either recipients or recipients_upload, not both');
    const found = typeof upload === 'string' ? await s.uploads().get(tenantId, upload) : null;
    if (found === null) throw new GatewayError('INVALID_PARAMETER', `recipients_upload: no finished upload ${String(upload)} for this tenant`);
    return {
      count: found.count,
      rows: () => mapRows(s.uploads().rows(tenantId, found.id), (r) => ({ toInput: r.toInput, components: r.components === null ? null : (JSON.parse(r.components) as unknown[]) })),
    };
  }
  const list = body.recipients;
  if (!Array.isArray(list) || list.length === 0) throw new GatewayError('INVALID_PARAMETER', 'recipients must be a non-empty array of {"to","components"?} (or give recipients_upload)');
  // One cheap look per entry: shapes only; the plan judges the numbers.
  for (let i = 0; i < list.length; i++) {
    const c = (list[i] as { components?: unknown } | null)?.components;
    if (c === undefined || c === null) continue;
    if (!Array.isArray(c)) throw new GatewayError('INVALID_PARAMETER', `recipients[${i}].components must be an array`);
    if (!template) throw new GatewayError('INVALID_PARAMETER', `recipients[${i}].components: personalisation needs a template message`);
  }
  return { count: list.length, rows: () => mapRows(list, inputOf) };
}

function inputOf(entry: unknown): RecipientInput {
  const e = entry as { to?: unknown; components?: unknown } | null;
  const to = typeof e?.to === 'string' ? e.to : '';
  return { toInput: to, components: Array.isArray(e?.components) ? (e.components as unknown[]) : null };
}

/** Maps a list either way (a sync list stays sync: no promise per row). */
function mapRows<T, U>(rows: Rows<T>, f: (row: T) => U): Rows<U> {
  if (Symbol.iterator in rows) {
    return (function* () {
      for (const row of rows) yield f(row);
    })();
  }
  return (async function* () {
    for await (const row of rows) yield f(row);
  })();
}

interface UploadRow { toInput: string; components: string | null }

/** Stores rows in chunks of UPLOAD_CHUNK; returns how many. */
async function storeRows(rows: AsyncIterable<UploadRow>, append: (rows: UploadRow[], first: number) => Promise<void>): Promise<number> {
  let chunk: UploadRow[] = [];
  let count = 0;
  for await (const row of rows) {
    chunk.push(row);
    if (++count > MAX_UPLOAD_ROWS) throw new GatewayError('PAYLOAD_TOO_LARGE', `An upload carries at most ${MAX_UPLOAD_ROWS} recipients`);
    if (chunk.length >= UPLOAD_CHUNK) {
      await append(chunk, count - chunk.length);
      chunk = [];
    }
  }
  if (chunk.length > 0) await append(chunk, count - chunk.length);
  return count;
}

/** NDJSON lines; a bad line is a 400 naming it. */
async function* ndjsonRows(stream: Readable): AsyncGenerator<UploadRow> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    if (text.length > MAX_LINE_CHARS) throw new GatewayError('PAYLOAD_TOO_LARGE', `line ${line} is longer than ${MAX_LINE_CHARS} characters`);
    let entry: { to?: unknown; components?: unknown };
    try {
      entry = JSON.parse(text) as { to?: unknown; components?: unknown };
    } catch {
      throw new GatewayError('INVALID_JSON', `line ${line} is not valid JSON`);
    }
    if (typeof entry !== 'object' || entry === null || typeof entry.to !== 'string') throw new GatewayError('INVALID_PARAMETER', `line ${line}: expected {"to": "<phone number>", "components"?: [...]}`);
    if (entry.components !== undefined && entry.components !== null && !Array.isArray(entry.components)) throw new GatewayError('INVALID_PARAMETER', `line ${line}: components must be an array`);
    yield { toInput: entry.to, components: Array.isArray(entry.components) ? JSON.stringify(entry.components) : null };
  }
}

/**
 * CSV (RFC 4180, csv-parse): a header row, then one recipient per row. The phone number is in
 * `to_column` (default: to, phone, phone_number, or the first column); `params` names columns
 * that become the template's body parameters, in order.
 */
async function* csvRows(stream: Readable, toColumn: string | undefined, params: readonly string[]): AsyncGenerator<UploadRow> {
  const parser = stream.pipe(parse({ columns: true, bom: true, trim: true, skip_empty_lines: true, max_record_size: MAX_LINE_CHARS }));
  let column = toColumn;
  let row = 1;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      row++;
      if (column === undefined) column = ['to', 'phone', 'phone_number'].find((c) => c in record) ?? Object.keys(record)[0]!;
      for (const c of [column, ...params]) {
        if (!(c in record)) throw new GatewayError('INVALID_PARAMETER', `CSV has no column '${c}' (columns: ${Object.keys(record).join(', ')})`);
      }
      const components = params.length === 0 ? null : JSON.stringify([{ type: 'body', parameters: params.map((c) => ({ type: 'text', text: record[c] })) }]);
      yield { toInput: record[column] ?? '', components };
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('INVALID_PARAMETER', `CSV row ${row + 1}: ${(err as Error).message}`);
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
