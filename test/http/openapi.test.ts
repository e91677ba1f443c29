/**
 * The OpenAPI document (GET /openapi.json) is a valid OpenAPI 3.1 document, covers every route the
 * gateway registers (iterated, so routes added later are covered too) with the error envelope, and
 * every answer the real gateway gives (successes and refusals, on every route) matches the schema
 * documented for its status.
 */
import { createHmac } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../../src/http/openapi.js';
import { API_KEY, NUMBER, eventually, startStack, templateBody, textBody, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-0123456789';
const APP_SECRET = 'app-secret-0123456789';
const VERIFY = 'verify-token-0123';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: object }> }> };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

let stack: Stack;
let doc: Doc;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
/** Every answer checked, to show which routes and statuses the test saw. */
const seen = new Set<string>();

beforeAll(async () => {
  stack = await startStack({ gateway: { admin: { token: ADMIN }, webhooks: { appSecret: APP_SECRET, verifyToken: VERIFY } } });
  const res = await request(`${stack.gateway.url}/openapi.json`);
  expect(res.statusCode).toBe(200);
  doc = (await res.body.json()) as Doc;
});
afterAll(() => stack?.close());

/** The documented operation a concrete path falls under: the template with the most literal segments that matches. */
function operationFor(method: string, path: string): { template: string; op: Operation } {
  const parts = path.split('?')[0]!.split('/');
  let best: { template: string; op: Operation; literal: number } | undefined;
  for (const [template, item] of Object.entries(doc.paths)) {
    const op = item[method.toLowerCase()];
    const tparts = template.split('/');
    if (op === undefined || tparts.length !== parts.length) continue;
    let literal = 0;
    const matches = tparts.every((t, i) => (t.startsWith('{') ? parts[i] !== '' : (literal++, t === parts[i])));
    if (matches && (best === undefined || literal > best.literal)) best = { template, op, literal };
  }
  if (best === undefined) throw new Error(`${method} ${path}: no documented operation`);
  return best;
}

interface Answer { status: number; type: string; text: string }

async function call(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const res = await request(`${stack.gateway.url}${path}`, { method: method as 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text: await res.body.text() };
}

/** The answer matches the schema documented for its status (or the route's `default`). */
function expectDocumented(method: string, path: string, answer: Answer): void {
  const { template, op } = operationFor(method, path);
  const documented = op.responses[String(answer.status)] ?? op.responses.default;
  expect(documented, `${method} ${template} answered ${answer.status}, which is not documented`).toBeDefined();
  const content = documented!.content ?? {};
  const mediaType = answer.type.split(';')[0]!.trim();
  const entry = content[mediaType] ?? (mediaType === 'application/json' ? undefined : content['text/plain']);
  expect(entry, `${method} ${template} ${answer.status}: ${mediaType} not documented (documented: ${Object.keys(content).join(', ')})`).toBeDefined();
  const body = mediaType === 'application/json' ? JSON.parse(answer.text) : answer.text;
  const validate = ajv.compile(entry!.schema ?? {});
  expect(validate(body), `${method} ${template} ${answer.status}: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`).toBe(true);
  seen.add(`${method} ${template} ${answer.status}`);
}

async function check(method: string, path: string, init: { headers?: Record<string, string>; body?: unknown; raw?: string } = {}): Promise<Answer> {
  const headers = { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers };
  const answer = await call(method, path, { headers, ...(init.raw !== undefined ? { body: init.raw } : init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  expectDocumented(method, path, answer);
  return answer;
}

const tenant = { authorization: `Bearer ${API_KEY}` };
const admin = { authorization: `Bearer ${ADMIN}` };

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('covers every registered route, each with the Graph error envelope', () => {
    const routes = registeredRoutes(stack.gateway.app).filter((r) => !r.hidden && r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      const template = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op = doc.paths[template]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.url} is not in the document`).toBeDefined();
      const errors = Object.entries(op!.responses).filter(([status]) => status === 'default' || Number(status) >= 400);
      const envelope = errors.some(([, r]) => JSON.stringify(r.content?.['application/json']?.schema ?? {}).includes('fbtrace_id'));
      expect(envelope, `${route.method} ${route.url}: no error envelope documented`).toBe(true);
    }
    // And nothing documented that is not served.
    const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) expect(served.has(`${method} ${template}`), `${method} ${template}`).toBe(true);
    }
  });

  it('every route refuses an anonymous or malformed request with a documented answer', async () => {
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        const path = template.replace(/\{version\}/g, 'v23.0').replace(/\{[^}]+\}/g, 'x1');
        const m = method.toUpperCase();
        await check(m, path, m === 'GET' ? {} : { raw: '{"not json', headers: { 'content-type': 'application/json' } });
        await check(m, path, { headers: { authorization: 'Bearer wrong-credential-000000' }, ...(m === 'GET' ? {} : { body: {} }) });
      }
    }
  });

  it('real answers of the tenant routes match their schemas', async () => {
    // With Meta webhooks configured the service window is enforced: free-form text is refused (422), templates go.
    expect((await check('POST', `/v23.0/${NUMBER}/messages`, { headers: tenant, body: textBody() })).status).toBe(422);
    const sent = await check('POST', `/v23.0/${NUMBER}/messages`, { headers: tenant, body: templateBody() });
    expect(sent.status).toBe(202);
    const id = JSON.parse(sent.text).messages[0].id as string;
    await check('POST', `/${NUMBER}/messages`, { headers: tenant, body: templateBody('+16505550202') });
    await check('POST', `/v23.0/${NUMBER}/messages`, { headers: { ...tenant, prefer: 'wait=10' }, body: templateBody('+16505550203') });
    await check('POST', `/v23.0/${NUMBER}/messages`, { headers: { ...tenant, 'idempotency-key': 'k1' }, body: templateBody('+16505550204') });
    await check('POST', `/v23.0/${NUMBER}/messages`, { headers: { ...tenant, 'idempotency-key': 'k1' }, body: templateBody('+16505550205') }); // 409
    await check('POST', `/v23.0/${NUMBER}/messages`, { headers: tenant, body: { messaging_product: 'whatsapp', to: 'nope', type: 'text', text: { body: 'x' } } });
    await check('POST', `/v23.0/${NUMBER}/messages`, { headers: { ...tenant, 'content-type': 'text/plain' }, raw: 'hello' });
    await check('POST', '/v23.0/2002/messages', { headers: tenant, body: textBody() }); // another tenant's number
    await eventually(async () => (JSON.parse((await call('GET', `/v1/messages/${id}`, { headers: tenant })).text).state === 'sent' ? true : undefined));
    await check('GET', `/v1/messages/${id}`, { headers: tenant });
    await check('POST', '/v1/consent', { headers: tenant, body: { recipient: '+16505550300', status: 'opt_in', source: 'test' } });
    await check('POST', '/v1/consent', { headers: tenant, body: { recipient: 'nope', status: 'opt_in' } });
    await check('POST', '/v1/consent/bulk', { headers: tenant, body: [{ recipient: '+16505550301', status: 'opt_out' }] });
    await check('POST', '/v1/consent/bulk', { headers: { ...tenant, 'content-type': 'text/csv' }, raw: 'recipient,status\n+16505550302,opt_in\n' });
    await check('GET', '/v1/consent/+16505550300', { headers: tenant });
    await check('GET', '/healthz');
    await check('GET', '/readyz');
    expect((await check('GET', '/metrics')).text).toContain('sendgate_accepted_total');
  });

  it('real answers of Meta\'s webhook routes match their schemas', async () => {
    await check('GET', `/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=12345`);
    await check('GET', '/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=12345');
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
    const signature = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
    await check('POST', '/webhooks/whatsapp', { headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, raw: body });
    await check('POST', '/webhooks/whatsapp', { headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, raw: body });
  });

  it('real answers of the admin routes match their schemas', async () => {
    await check('GET', '/admin/numbers', { headers: admin });
    await check('GET', '/admin/usage', { headers: admin });
    await check('GET', '/admin/tenants/acme/usage', { headers: admin });
    await check('GET', '/admin/failures', { headers: admin });
    await check('GET', '/admin/messages?state=failed&limit=5', { headers: admin });
    await check('GET', '/admin/messages?state=bogus', { headers: admin });
    await check('GET', '/admin/broadcasts?limit=5', { headers: admin });
    await check('GET', '/admin/broadcasts?cursor=nope', { headers: admin });
    await check('POST', '/admin/messages/sg_unknown/requeue', { headers: admin });
    await check('GET', '/admin/tenants/acme/webhooks/dead', { headers: admin });
    await check('POST', '/admin/tenants/acme/webhooks/dead/replay', { headers: admin });
    await check('PUT', `/admin/numbers/${NUMBER}/limits`, { headers: admin, body: { mps: 50 } });
    await check('PUT', `/admin/numbers/${NUMBER}/limits`, { headers: admin, body: { colour: 'red' } });
    await check('POST', `/admin/numbers/${NUMBER}/pause`, { headers: admin });
    await check('POST', `/admin/numbers/${NUMBER}/resume`, { headers: admin });
    await check('POST', '/admin/tenants/acme/pause', { headers: admin });
    await check('POST', '/admin/tenants/acme/resume', { headers: admin });
    // Something failed to requeue, answered as documented.
    const res = await request(`${stack.sim.url}/__sim/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumberId: NUMBER, faults: { errorRates: { 131009: 1 } } }),
    });
    await res.body.dump();
    const failed = JSON.parse((await call('POST', `/v23.0/${NUMBER}/messages`, { headers: { ...tenant, 'content-type': 'application/json' }, body: JSON.stringify(templateBody('+16505550400')) })).text).messages[0].id;
    await eventually(async () => (JSON.parse((await call('GET', `/v1/messages/${failed}`, { headers: tenant })).text).state === 'failed' ? true : undefined));
    await (await request(`${stack.sim.url}/__sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).body.dump();
    expect(JSON.parse((await check('GET', '/admin/messages?state=failed', { headers: admin })).text).data).toHaveLength(1);
    expect((await check('POST', `/admin/messages/${failed}/requeue`, { headers: admin })).status).toBe(200);
  });

  it('saw successes and refusals of every documented route', () => {
    const routes = new Set([...seen].map((s) => s.split(' ').slice(0, 2).join(' ')));
    for (const [template, item] of Object.entries(doc.paths)) for (const method of Object.keys(item)) expect(routes.has(`${method.toUpperCase()} ${template}`), template).toBe(true);
    expect([...seen].some((s) => s.endsWith(' 202'))).toBe(true);
    expect([...seen].filter((s) => / [45]\d\d$/.test(s)).length).toBeGreaterThan(20);
  });
});
