import { describe, expect, it } from 'vitest';
import { ERRORS, GatewayError, graphErrorBody } from '../src/errors.js';

describe('error catalogue', () => {
  it('pins every code, status and Graph code (changing one is a contract change)', () => {
    const table = Object.fromEntries(Object.entries(ERRORS).map(([code, spec]) => [code, `${spec.status} ${spec.graphCode} ${spec.type}`]));
    expect(table).toMatchInlineSnapshot(`
      {
        "ADMIN_FORBIDDEN": "403 10 OAuthException",
        "ALREADY_EXISTS": "409 900410 SendgateException",
        "BROADCAST_CANCELLED": "409 900411 SendgateException",
        "DEADLINE_UNMEETABLE": "429 900429 SendgateException",
        "IDEMPOTENCY_CONFLICT": "409 900409 SendgateException",
        "INTERNAL": "500 900500 SendgateException",
        "INVALID_HEADER": "400 100 OAuthException",
        "INVALID_JSON": "400 100 OAuthException",
        "INVALID_PARAMETER": "400 100 OAuthException",
        "INVALID_RECIPIENT": "400 100 OAuthException",
        "LINK_NOT_ALLOWED": "422 900424 SendgateException",
        "MARKETING_DEFERRED": "422 131049 OAuthException",
        "MEDIA_RATE_LIMITED": "429 900432 SendgateException",
        "MESSAGING_LIMIT_REACHED": "429 900430 SendgateException",
        "NOT_FOUND": "404 100 OAuthException",
        "NUMBER_NOT_OWNED": "403 10 OAuthException",
        "OPT_IN_REQUIRED": "422 900422 SendgateException",
        "OUTSIDE_SERVICE_WINDOW": "422 131047 OAuthException",
        "PAYLOAD_TOO_LARGE": "413 100 OAuthException",
        "QUEUE_FULL": "429 900431 SendgateException",
        "RECIPIENT_OPTED_OUT": "422 131050 OAuthException",
        "RECIPIENT_UNDELIVERABLE": "422 131026 OAuthException",
        "REPEATED_CONTENT": "422 900423 SendgateException",
        "STORAGE_UNAVAILABLE": "503 900503 SendgateException",
        "TENANT_SHARE_FULL": "429 900433 SendgateException",
        "UNAUTHORIZED": "401 190 OAuthException",
        "UNKNOWN_NUMBER": "404 100 OAuthException",
        "UNSUPPORTED_CONTENT_TYPE": "400 100 OAuthException",
        "UPSTREAM_UNAVAILABLE": "503 900504 SendgateException",
      }
    `);
  });

  it('renders the Graph envelope with (#code) title', () => {
    const err = new GatewayError('UNAUTHORIZED', 'bad key');
    expect(graphErrorBody(err.spec, err.details, 'trace1')).toEqual({
      error: {
        message: '(#190) Invalid OAuth access token',
        type: 'OAuthException',
        code: 190,
        error_data: { messaging_product: 'whatsapp', details: 'bad key' },
        fbtrace_id: 'trace1',
      },
    });
  });

  it('uses only statuses the contract documents', () => {
    const allowed = new Set([400, 401, 403, 404, 409, 413, 422, 429, 500, 503]);
    for (const spec of Object.values(ERRORS)) expect(allowed.has(spec.status)).toBe(true);
  });
});
