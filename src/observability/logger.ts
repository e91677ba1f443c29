/**
 * pino options shared by the gateway and the simulator. Secrets and phone numbers never reach a log
 * line: request bodies are not logged at all, and these paths are censored wherever they appear.
 */
import type { LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'req.headers["x-hub-signature-256"]',
  'headers.authorization',
  '*.accessToken',
  '*.apiKeys',
  '*.apiKey',
  '*.appSecret',
  '*.verifyToken',
  '*.secret',
  '*.token',
  '*.to',
  '*.recipient',
  '*.from',
  '*.wa_id',
];

/**
 * A request in an access line (config log.access): method and path only. Query strings can carry
 * secrets (Meta's verification GET has hub.verify_token), and headers carry API keys.
 */
function requestLine(req: { method?: string; url?: string; id?: unknown }): object {
  return { method: req.method, url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: requestLine },
  };
}
