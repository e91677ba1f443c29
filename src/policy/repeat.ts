/**
 * Repeated content: the same content to more than `maxRecipients` distinct recipients within
 * `windowSec` (per tenant, across its numbers, so spreading a blast over numbers does not
 * slip under it) is refused. Counting runs on the core (core.repeat, scope = tenant id).
 *
 * Fingerprints:
 * - free-form: core.fingerprintOf of the texts the user reads; the core's normalisation masks
 *   names after greetings, digits, URLs and e-mails, so "Hi Ana, 20% off" and "Hi Bob, 30% off"
 *   are the same message;
 * - templates are approved content and exempt, except their parameters: identical parameter
 *   values (exact, not normalised, so one-time codes never collide) to many recipients count.
 *   The key is the template name and values themselves: the core hashes every key it is given
 *   (xxh64 in WASM), so hashing here first would only add a second pass (~6 µs for a short
 *   template in JS, test/policy/admit.bench.ts); only very long values are pre-hashed, to stay
 *   well inside the core's scratch region. A template without parameters is fully approved
 *   content and never counted.
 * Messages with no text (media by id, reactions) are not counted.
 */
import { xxh64Hex } from '../core/xxh64.js';
import type { SendContent } from './content.js';
import type { PolicyCore } from './types.js';

const encoder = new TextEncoder();
/** Template keys longer than this are pre-hashed (the core's scratch input is 192 KiB, shared by scope and recipient). */
const RAW_KEY_MAX = 4096;

/** The fingerprint to count, or undefined when this content is exempt. */
export function contentFingerprint(content: SendContent, core: PolicyCore): string | undefined {
  if (content.texts.length === 0) return undefined;
  if (content.template) {
    const raw = `t\u0000${content.templateName}\u0000${content.texts.join('\u0000')}`;
    return raw.length <= RAW_KEY_MAX ? raw : `h${xxh64Hex(encoder.encode(raw))}`;
  }
  return core.fingerprintOf(content.texts.length === 1 ? content.texts[0]! : content.texts.join('\n'));
}
