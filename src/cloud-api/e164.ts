/**
 * Recipient normalisation. The Cloud API accepts `to` with a leading `+`, spaces, hyphens and
 * parentheses, and answers with `wa_id` in digits only; the gateway keys every per-recipient
 * limit on those digits, so both sides must normalise the same way.
 */

const CODE_0 = 48;
const CODE_9 = 57;
const PLUS = 43;
const SPACE = 32;
const HYPHEN = 45;
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const DOT = 46;

/** Shortest and longest digit strings accepted (E.164 allows at most 15; shorter than 7 is no real number). */
export const E164_MIN_DIGITS = 7;
export const E164_MAX_DIGITS = 15;

/**
 * '+1 (650) 555-1234' → '16505551234'; null when not a plausible E.164 number (7..15 digits, no
 * leading 0, only `+` at the start and the separators Meta tolerates).
 * A char-code loop, not a regex: this runs once per send on the gateway's hot path.
 */
export function toE164Digits(input: string): string | null {
  if (typeof input !== 'string' || input.length === 0 || input.length > 32) return null;
  let digits = '';
  let start = 0;
  if (input.charCodeAt(0) === PLUS) start = 1;
  for (let i = start; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= CODE_0 && c <= CODE_9) {
      digits += input[i];
    } else if (c !== SPACE && c !== HYPHEN && c !== OPEN_PAREN && c !== CLOSE_PAREN && c !== DOT) {
      return null;
    }
  }
  if (digits.length < E164_MIN_DIGITS || digits.length > E164_MAX_DIGITS) return null;
  // Country codes never start with 0; a leading 0 is a national or trunk prefix, not E.164.
  if (digits.charCodeAt(0) === CODE_0) return null;
  return digits;
}
