/**
 * Webhook bodies as Meta sends them: JSON with every non-ASCII UTF-16 unit written as a lowercase
 * `\uXXXX` escape, signed over exactly those bytes. A receiver that verifies the raw bytes and one
 * that re-escapes before hashing (whatsapp-api-js) then both accept the signature.
 */
import { createHmac } from 'node:crypto';

const NON_ASCII = /[\u0080-\uffff]/g;

function escapeUnit(c: string): string {
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}

/** JSON.stringify, then non-ASCII → lowercase \uXXXX (surrogate pairs become two escapes, as JSON allows). */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(NON_ASCII, escapeUnit);
}

/** `sha256=<hex HMAC-SHA256(body, appSecret)>`, the value of X-Hub-Signature-256. */
export function hubSignature256(body: string, appSecret: string): string {
  return 'sha256=' + createHmac('sha256', appSecret).update(body, 'utf8').digest('hex');
}
