/**
 * Turns an HTTP answer from the Cloud API into an UpstreamResult. Tolerant: a proxy's HTML error
 * page or a truncated body still yields a result the classifier can act on (code -1, status decides).
 */
import type { NetworkReason, UpstreamResult } from './types.js';

interface GraphSuccess {
  messages?: Array<{ id?: unknown }>;
  contacts?: Array<{ wa_id?: unknown }>;
  /** Mark-as-read (`"status": "read"`) answers `{"success": true}`: no message is created. */
  success?: unknown;
}
interface GraphError {
  error?: { message?: unknown; code?: unknown; error_data?: { details?: unknown } };
}

/** `(#130429) Rate limit hit` → `Rate limit hit`. */
function stripCodePrefix(message: string): string {
  const m = /^\(#\d+\)\s*/.exec(message);
  return m ? message.slice(m[0].length) : message;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function parseAnswer(status: number, bodyText: string): UpstreamResult {
  const json = tryJson(bodyText);
  if (status >= 200 && status < 300) {
    const id = (json as GraphSuccess | undefined)?.messages?.[0]?.id;
    if (typeof id === 'string' && id.length > 0) {
      const waId = (json as GraphSuccess).contacts?.[0]?.wa_id;
      return typeof waId === 'string' ? { kind: 'ok', status, wamid: id, bodyText, waId } : { kind: 'ok', status, wamid: id, bodyText };
    }
    // Nothing to track by status webhooks: sent, with no wamid ('').
    if ((json as GraphSuccess | undefined)?.success === true) return { kind: 'ok', status, wamid: '', bodyText };
    // Any other 2xx without a message id cannot be tracked by status webhooks: treat it as an upstream fault.
    return { kind: 'error', status, code: -1, title: 'Malformed success response', details: 'no messages[0].id', bodyText };
  }
  const err = (json as GraphError | undefined)?.error;
  const code = typeof err?.code === 'number' ? err.code : -1;
  const title = typeof err?.message === 'string' ? stripCodePrefix(err.message) : `HTTP ${status}`;
  const details = typeof err?.error_data?.details === 'string' ? err.error_data.details : '';
  return { kind: 'error', status, code, title, details, bodyText };
}

/** Maps an undici / socket error to a coarse reason. The message never contains headers. */
export function networkReason(err: unknown): NetworkReason {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'reset';
    case 'ECONNREFUSED':
      return 'refused';
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'closed';
    default:
      return 'other';
  }
}
