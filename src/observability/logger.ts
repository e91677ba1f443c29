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

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
}
