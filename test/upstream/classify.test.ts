import { describe, expect, it } from 'vitest';
import { classify, reactionForCode } from '../../src/upstream/classify.js';
import { parseAnswer } from '../../src/upstream/parse.js';

const envelope = (code: number, title: string, details = 'd') =>
  JSON.stringify({ error: { message: `(#${code}) ${title}`, type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details }, fbtrace_id: 'x' } });

describe('reaction table (cloud-api.md §4)', () => {
  it.each([
    [130429, 400, 'slow-number'],
    [131056, 400, 'backoff-pair'],
    [131057, 500, 'pause-probe'],
    [131000, 500, 'retry'],
    [131016, 503, 'retry'],
    [133004, 503, 'retry'],
    [1, 400, 'retry'],
    [2, 503, 'retry'],
    [131048, 400, 'pause-number'],
    [368, 403, 'pause-number'],
    [131031, 403, 'pause-number'],
    [190, 401, 'pause-tenant'],
    [131049, 400, 'defer-user'],
    [131045, 500, 'fail'],
    [131026, 400, 'fail'],
    [100, 400, 'fail'],
    [132001, 404, 'fail'],
  ] as const)('code %i (HTTP %i) → %s', (code, status, reaction) => {
    expect(reactionForCode(code, status)).toBe(reaction);
    expect(classify(parseAnswer(status, envelope(code, 'T')))).toBe(reaction);
  });

  it('codes the table does not name fall back on the HTTP status', () => {
    expect(reactionForCode(999_999, 502)).toBe('retry');
    expect(reactionForCode(999_999, 400)).toBe('fail');
    expect(classify(parseAnswer(502, '<html>bad gateway</html>'))).toBe('retry');
    expect(classify(parseAnswer(404, 'not json'))).toBe('fail');
  });

  it('network failures are retried, answers with a wamid are sent', () => {
    expect(classify({ kind: 'network', reason: 'reset', message: 'ECONNRESET' })).toBe('retry');
    expect(classify(parseAnswer(200, '{"messages":[{"id":"wamid.A"}]}'))).toBe('sent');
  });
});

describe('parseAnswer', () => {
  it('keeps the wamid, the wa_id and the body text of a success', () => {
    const body = '{"messaging_product":"whatsapp","contacts":[{"input":"+1","wa_id":"1"}],"messages":[{"id":"wamid.XYZ"}]}';
    expect(parseAnswer(200, body)).toEqual({ kind: 'ok', status: 200, wamid: 'wamid.XYZ', bodyText: body, waId: '1' });
  });

  it('a mark-as-read answer ({"success":true}) is sent with no wamid; any other 2xx without one is a fault', () => {
    expect(parseAnswer(200, '{"success":true}')).toEqual({ kind: 'ok', status: 200, wamid: '', bodyText: '{"success":true}' });
    expect(parseAnswer(200, '{"success":false}')).toMatchObject({ kind: 'error', code: -1 });
    expect(parseAnswer(200, '{}')).toMatchObject({ kind: 'error', code: -1 });
  });

  it('takes code, title without the (#code) prefix, and details from the Graph envelope', () => {
    const body = envelope(131056, 'Pair rate limit hit', 'too many to this user');
    expect(parseAnswer(400, body)).toEqual({
      kind: 'error', status: 400, code: 131056, title: 'Pair rate limit hit', details: 'too many to this user', bodyText: body,
    });
  });
});
