/**
 * Consent API (tenant API key, like the send route): record opt-ins and opt-outs one at a time or
 * in bulk (JSON array or CSV), and read a recipient's consent with its audit history.
 *
 *   POST /v1/consent        {"recipient","status":"opt_in"|"opt_out","source"?,"at"?}
 *   POST /v1/consent/bulk   [ {...}, ... ]  or  Content-Type: text/csv  recipient,status[,source[,at]]
 *   GET  /v1/consent/{recipient}
 *
 * Records are durable (synchronous=FULL) before the 200. `at` (when the user gave or withdrew
 * consent, default now) orders records: an older record is logged but does not override a newer
 * one, so importing an old list cannot undo a recent STOP.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../clock.js';
import { toE164Digits } from '../../cloud-api/e164.js';
import { GatewayError } from '../../errors.js';
import type { TenantRegistry } from '../../gateway/tenants.js';
import { parseConsentCsv, toConsentRecord, toConsentRecords } from '../../policy/consent-input.js';
import type { ConsentRecord, PolicyEngine } from '../../policy/types.js';
import { requireTenant } from '../auth.js';
import { TENANT_KEY, errorResponses, handlerValidates } from '../schemas/common.js';
import { ConsentBulkBody, ConsentBulkRecorded, ConsentRecordInput, ConsentRecorded, ConsentView } from '../schemas/consent.js';

const tags = ['consent'];
/** Documentation only: records are checked by consent-input.ts, which names the bad record. */
const documented = (schema: object) => ({ schema: { tags, security: TENANT_KEY, ...schema }, validatorCompiler: handlerValidates });

/**
 * Where consent is recorded and read: the policy engine. In a fleet both are asynchronous (an
 * opt-out is durable in Redis before the route answers).
 */
export interface ConsentPort {
  recordConsent(records: readonly ConsentRecord[]): number | Promise<number>;
  consentOf(tenantId: string, recipient: string): ReturnType<PolicyEngine['consentOf']> | Promise<ReturnType<PolicyEngine['consentOf']>>;
}

export interface ConsentRouteOptions {
  tenants: TenantRegistry;
  consent: ConsentPort;
  clock: Clock;
  /** Largest bulk body (default 8 MiB: ~100 000 CSV rows). */
  bulkBodyBytes?: number;
  /** Learned wa_ids: consent is keyed like sends, by the wa_id Meta knows the recipient by. */
  recipients?: { resolve(digits: string): string };
}

const view = (r: ConsentRecord): object => ({ status: r.status, source: r.source, at: new Date(r.atMs).toISOString() });

export async function consentRoutes(app: FastifyInstance, options: ConsentRouteOptions): Promise<void> {
  const { tenants, consent, clock } = options;
  const resolve = (digits: string): string => options.recipients?.resolve(digits) ?? digits;
  const keyed = (record: ConsentRecord): ConsentRecord => ({ ...record, recipient: resolve(record.recipient) });
  const bulkBodyBytes = options.bulkBodyBytes ?? 8 * 1024 * 1024;
  // Scoped to this plugin: CSV is accepted here only, as a string for parseConsentCsv.
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: bulkBodyBytes }, (_req, body, done) => done(null, body));

  app.post('/v1/consent', documented({
    summary: 'Record one opt-in or opt-out', body: ConsentRecordInput,
    response: { 200: ConsentRecorded, ...errorResponses(400, 401, 415, 503) },
  }), async (request) => {
    const tenant = requireTenant(tenants, request);
    const record = keyed(toConsentRecord(request.body, tenant.id, 'api', clock.nowMs()));
    const changed = await consent.recordConsent([record]);
    return { recipient: record.recipient, ...view(record), applied: changed === 1 };
  });

  app.post('/v1/consent/bulk', {
    bodyLimit: bulkBodyBytes,
    ...documented({
      summary: 'Record many (JSON array or CSV); one bad record refuses them all', consumes: ['application/json', 'text/csv'],
      body: ConsentBulkBody, response: { 200: ConsentBulkRecorded, ...errorResponses(400, 401, 413, 415, 503) },
    }),
  }, async (request) => {
    const tenant = requireTenant(tenants, request);
    const body = request.body;
    let raws: unknown[];
    if (typeof body === 'string') raws = parseConsentCsv(body);
    else if (Array.isArray(body)) raws = body;
    else throw new GatewayError('INVALID_PARAMETER', 'bulk body must be a JSON array of consent records or text/csv');
    const records = toConsentRecords(raws, tenant.id, 'import', clock.nowMs()).map(keyed);
    const changed = await consent.recordConsent(records);
    return { recorded: records.length, applied: changed };
  });

  app.get<{ Params: { recipient: string } }>('/v1/consent/:recipient', documented({
    summary: 'A recipient\'s consent and its history', params: Type.Object({ recipient: Type.String({ description: 'E.164 phone number' }) }),
    response: { 200: ConsentView, ...errorResponses(400, 401, 503) },
  }), async (request) => {
    const tenant = requireTenant(tenants, request);
    const digits = toE164Digits(request.params.recipient);
    const recipient = digits === null ? null : resolve(digits);
    if (recipient === null) throw new GatewayError('INVALID_RECIPIENT', `'${request.params.recipient.slice(0, 32)}' is not a valid E.164 phone number`);
    const { current, history } = await consent.consentOf(tenant.id, recipient);
    return {
      recipient,
      status: current?.status ?? 'none',
      ...(current === undefined ? {} : { source: current.source, at: new Date(current.atMs).toISOString() }),
      history: history.map(view),
    };
  });
}
