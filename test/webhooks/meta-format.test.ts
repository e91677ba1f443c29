/**
 * Meta's shape of what sendgate decided itself (meta-format.ts): each ending that no upstream
 * status describes becomes a `failed` status whose one error has Meta's fields, so a handler's
 * failure path reads it as it reads Meta's own failures.
 */
import { describe, expect, it } from 'vitest';
import type { MessageRecord, RecordedError } from '../../src/store/types.js';
import { endedEnvelope, EXPIRED_CODE, idsOf, NO_UPSTREAM_ANSWER_CODE } from '../../src/webhooks/tenant/meta-format.js';

const record = (lastError: RecordedError | null, wamid: string | null = null): MessageRecord => ({
  id: 'sg_1', tenantId: 'acme', phoneNumberId: '1001', to: '16505551234', toInput: '+16505551234', body: '{}', priority: 1,
  createdAtMs: 0, deadlineAtMs: 0, idempotencyKey: null, bodyHash: null, state: 'failed', attempts: 1, notBeforeMs: 0,
  wamid, lastError, updatedAtMs: 1_750_000_000_500, sentAtMs: null, deliveredAtMs: null, readAtMs: null,
});

function ended(state: 'failed' | 'expired' | 'rejected', lastError: RecordedError | null) {
  const r = record(lastError);
  const envelope = endedEnvelope({ record: r, state, ids: idsOf(r, false), displayPhoneNumber: '15550001001', wabaId: 'WABA1', atMs: r.updatedAtMs }) as any;
  return envelope;
}

describe('endings sendgate decided, in Meta\'s form', () => {
  it('wraps one failed status in Meta\'s envelope, under the gateway id', () => {
    expect(ended('expired', null)).toEqual({
      object: 'whatsapp_business_account',
      entry: [{ id: 'WABA1', changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15550001001', phone_number_id: '1001' },
        statuses: [{
          id: 'sg_1', gateway_id: 'sg_1', status: 'failed', timestamp: '1750000000', recipient_id: '16505551234',
          errors: [{ code: EXPIRED_CODE, title: 'Message expired', message: 'Message expired', error_data: { details: 'Not sent before its deadline' } }],
        }],
      } }] }],
    });
  });

  it.each([
    ['expired after an upstream answer', 'expired', { code: 131049, title: 'Not delivered', details: 'capped', httpStatus: 400 },
      { code: EXPIRED_CODE, title: 'Message expired', message: 'Message expired', error_data: { details: 'Not sent before its deadline (last answer: 131049 Not delivered capped)' } }],
    ['rejected at departure (opt-out)', 'rejected', { code: 131050, title: 'User opted out', details: 'policy optOut: the user opted out', httpStatus: 0 },
      { code: 131050, title: 'User opted out', message: 'User opted out', error_data: { details: 'policy optOut: the user opted out' } }],
    ['failed without an upstream answer', 'failed', null,
      { code: NO_UPSTREAM_ANSWER_CODE, title: 'No answer from the Cloud API', message: 'No answer from the Cloud API', error_data: { details: 'The message failed without an upstream answer' } }],
    ['failed at the upstream', 'failed', { code: 131026, title: 'Message undeliverable', details: '', httpStatus: 400 },
      { code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message undeliverable' } }],
  ] as const)('%s', (_what, state, lastError, error) => {
    expect(ended(state, lastError as RecordedError | null).entry[0].changes[0].value.statuses[0].errors).toEqual([error]);
  });

  it('names a message by its wamid only when the send answered with it', () => {
    expect(idsOf(record(null, 'wamid.X'), false)).toEqual({ id: 'sg_1', gatewayId: 'sg_1', wamid: 'wamid.X' });
    expect(idsOf(record(null, 'wamid.X'), true)).toEqual({ id: 'wamid.X', gatewayId: 'sg_1', wamid: 'wamid.X' });
    expect(idsOf(record(null, null), true)).toEqual({ id: 'sg_1', gatewayId: 'sg_1', wamid: null });
  });
});
