/**
 * The one error catalogue. Every refusal the gateway answers goes through a code here;
 * one handler (src/http/error-handler.ts) renders it as the Graph error envelope:
 *
 *   {"error":{"message":"(#<graphCode>) <title>","type":"<type>","code":<graphCode>,
 *             "error_data":{"messaging_product":"whatsapp","details":"<details>"},
 *             "fbtrace_id":"<request id>"}}
 *
 * Where Meta has a code with the same meaning, the entry reuses it (so existing SDKs classify it
 * the same way: 190 = bad credentials, 100 = bad parameter, 131047 = outside the service window).
 * Conditions Meta has no code for use sendgate's own range 9xxxxx with type "SendgateException".
 * test/errors.test.ts pins this list: changing a code or status is a contract change.
 */

export interface ErrorSpec {
  /** HTTP status of the response. */
  readonly status: number;
  /** The `error.code` clients branch on. */
  readonly graphCode: number;
  /** The `(#code) title` part of `error.message`. */
  readonly title: string;
  readonly type: 'OAuthException' | 'SendgateException';
}

const meta = (status: number, graphCode: number, title: string): ErrorSpec =>
  ({ status, graphCode, title, type: 'OAuthException' });
const own = (status: number, graphCode: number, title: string): ErrorSpec =>
  ({ status, graphCode, title, type: 'SendgateException' });

export const ERRORS = {
  // 400: the request itself is wrong
  INVALID_JSON: meta(400, 100, 'Invalid parameter'),
  INVALID_PARAMETER: meta(400, 100, 'Invalid parameter'),
  UNSUPPORTED_CONTENT_TYPE: meta(400, 100, 'Invalid parameter'),
  INVALID_RECIPIENT: meta(400, 100, 'Invalid parameter'),
  INVALID_HEADER: meta(400, 100, 'Invalid parameter'),
  // 401 / 403 / 404: who may do what
  UNAUTHORIZED: meta(401, 190, 'Invalid OAuth access token'),
  NUMBER_NOT_OWNED: meta(403, 10, 'Permission denied'),
  ADMIN_FORBIDDEN: meta(403, 10, 'Permission denied'),
  UNKNOWN_NUMBER: meta(404, 100, 'Unsupported post request'),
  NOT_FOUND: meta(404, 100, 'Unsupported get request'),
  // 409 / 413 / 429
  IDEMPOTENCY_CONFLICT: own(409, 900409, 'Idempotency key reused with a different body'),
  // Runtime management: a tenant id, number, WABA or API key another tenant already has
  ALREADY_EXISTS: own(409, 900410, 'Conflicts with an existing tenant'),
  PAYLOAD_TOO_LARGE: meta(413, 100, 'Request entity too large'),
  DEADLINE_UNMEETABLE: own(429, 900429, 'Message cannot be sent before its deadline'),
  // 422: policy refusals (issue 5 adds its entries here)
  OUTSIDE_SERVICE_WINDOW: meta(422, 131047, 'Re-engagement message'),
  RECIPIENT_OPTED_OUT: meta(422, 131050, 'Recipient opted out of marketing messages'),
  RECIPIENT_UNDELIVERABLE: meta(422, 131026, 'Message undeliverable'),
  MARKETING_DEFERRED: meta(422, 131049, 'Marketing deferred to maintain healthy ecosystem engagement'),
  OPT_IN_REQUIRED: own(422, 900422, 'Recipient has no recorded opt-in'),
  REPEATED_CONTENT: own(422, 900423, 'Same content to too many recipients'),
  LINK_NOT_ALLOWED: own(422, 900424, 'Link to a domain outside the allowlist'),
  // 429: policy budgets that free up with time (Retry-After says when)
  MESSAGING_LIMIT_REACHED: own(429, 900430, 'Messaging limit reached'),
  // 429: the number's or tenant's queue holds its cap (limits.maxQueuedPerNumber / PerTenant)
  QUEUE_FULL: own(429, 900431, 'Queue full'),
  MEDIA_RATE_LIMITED: own(429, 900432, 'Media request rate limit reached'),
  // 429: the tenant holds its share of the gateway's recipient tracking (core.scopeShare)
  TENANT_SHARE_FULL: own(429, 900433, 'Tenant share of recipient tracking full'),
  // A message of a cancelled broadcast: recorded on the message (status API, webhooks), never an answer to a send.
  BROADCAST_CANCELLED: own(409, 900411, 'Broadcast cancelled'),
  // 5xx
  STORAGE_UNAVAILABLE: own(503, 900503, 'Storage unavailable'),
  /** A relayed request (media) found Meta unreachable: nothing was done, retry. */
  UPSTREAM_UNAVAILABLE: own(503, 900504, 'Upstream unavailable'),
  INTERNAL: own(500, 900500, 'Internal error'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** A refusal with a catalogued code. `details` is shown to the client: never put secrets in it. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: string;
  /** Seconds, sent as `Retry-After` when set. */
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, details: string, retryAfterSec?: number) {
    super(`${code}: ${details}`);
    this.name = 'GatewayError';
    this.code = code;
    this.details = details;
    this.retryAfterSec = retryAfterSec;
  }

  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }
}

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_data: { messaging_product: 'whatsapp'; details: string };
    fbtrace_id: string;
  };
}

/**
 * The spec of an error recorded on a message (the upstream's answer, or one of the gateway's own
 * codes such as a passed deadline), to render it again with `status`: Meta's codes keep Meta's
 * type, sendgate's range keeps its own.
 */
export function recordedErrorSpec(status: number, graphCode: number, title: string): ErrorSpec {
  return graphCode >= 900_000 && graphCode < 1_000_000 ? own(status, graphCode, title) : meta(status, graphCode, title);
}

/** Renders a catalogued error as the Graph error envelope. */
export function graphErrorBody(spec: ErrorSpec, details: string, traceId: string): GraphErrorBody {
  return {
    error: {
      message: `(#${spec.graphCode}) ${spec.title}`,
      type: spec.type,
      code: spec.graphCode,
      error_data: { messaging_product: 'whatsapp', details },
      fbtrace_id: traceId,
    },
  };
}
