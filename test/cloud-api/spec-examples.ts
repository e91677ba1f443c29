/**
 * Every send example of Meta's own OpenAPI spec for the Cloud API (vendored, MIT: meta-spec/LICENSE),
 * path `/{Version}/{Phone-Number-ID}/messages`, with its placeholders filled the way a user would:
 * `{{Recipient-Phone-Number}}` → a real-looking number, `<http(s)://x-url>` / `http(s)://x-url` →
 * an https URL, `language-and-locale-code` → `en_US`, flow ids and names, and other `<PLACEHOLDER>`
 * strings kept as they are (ids, texts: Meta accepts any string there).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const SPEC_PATH = fileURLToPath(new URL('./meta-spec/business-messaging-api_v23.0.yaml', import.meta.url));
const SEND_PATH = '/{Version}/{Phone-Number-ID}/messages';

export interface SpecExample {
  name: string;
  body: Record<string, unknown>;
}

export function sendExamples(recipient = '+16505551234'): SpecExample[] {
  const spec = parse(readFileSync(SPEC_PATH, 'utf8'), { maxAliasCount: -1 }) as any;
  const examples = spec.paths[SEND_PATH].post.requestBody.content['application/json'].examples as Record<string, { value: unknown }>;
  return Object.entries(examples).map(([name, example]) => ({ name, body: fill(example.value, recipient) as Record<string, unknown> }));
}

function fill(value: unknown, recipient: string): unknown {
  if (typeof value === 'string') return fillString(value, recipient);
  if (Array.isArray(value)) return value.map((v) => fill(v, recipient));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, recipient)]));
  }
  return value;
}

function fillString(s: string, recipient: string): string {
  if (s === '{{Recipient-Phone-Number}}' || s === '{{Recipient-WA-Phone-Number}}') return recipient;
  if (s === 'language-and-locale-code') return 'en_US';
  if (s === '{{Flow-ID}}') return '1234567890';
  if (s === '{{Flow-Name}}') return 'appointment_booking';
  // `<http(s)://audio-url>`, `http(s)://image-url`: a URL placeholder.
  const url = /^<?https?\(s\):\/\/([^>]*)>?$/.exec(s);
  if (url) return `https://example.com/${url[1]}`;
  return s;
}
