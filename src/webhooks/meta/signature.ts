/**
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>` verification.
 *
 * Meta signs an ASCII form of the body in which every non-ASCII character is a lowercase `\uXXXX`
 * escape (reference/cloud-api.md §6). When Meta sends exactly those bytes, the raw body verifies as
 * is. If something on the way (a proxy, a test tool) re-encoded the body as UTF-8, the raw bytes do
 * not match, so we also try the re-escaped form; whatsapp-api-js does the same. Both comparisons
 * are constant time, on equal-length buffers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sha256=';
/** 32-byte digest as hex. */
const HEX_LENGTH = 64;

export function verifyMetaSignature(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (header === undefined || !header.startsWith(PREFIX)) return false;
  const hex = header.slice(PREFIX.length).trim();
  if (hex.length !== HEX_LENGTH || !/^[0-9a-fA-F]+$/.test(hex)) return false;
  const expected = Buffer.from(hex, 'hex');
  if (timingSafeEqual(hmac(raw, appSecret), expected)) return true;
  if (!hasNonAscii(raw)) return false;
  return timingSafeEqual(hmac(Buffer.from(escapeNonAscii(raw.toString('utf8')), 'latin1'), appSecret), expected);
}

/** Signs like Meta does; used by the simulator and tests. */
export function signMetaBody(raw: Buffer | string, appSecret: string): string {
  return PREFIX + hmac(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw, appSecret).toString('hex');
}

/** JSON text with every non-ASCII UTF-16 unit as a lowercase `\uXXXX` escape (Meta's wire form). */
export function escapeNonAscii(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function hmac(data: Buffer, secret: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

function hasNonAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! > 0x7f) return true;
  return false;
}
