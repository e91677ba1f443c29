/**
 * The wa_id WhatsApp reports for a number as sent, where it is known to differ (used by the
 * simulator to answer and send webhooks the way the Cloud API does):
 *   Mexico  52 + 10 digits  → 521 + 10 digits (WhatsApp keeps the old mobile prefix 1);
 *   Brazil  55 + DDD + 9 + 8 digits → 55 + DDD + 8 digits (accounts registered before the ninth digit).
 * Every other number is its own wa_id.
 */
export function waIdOf(digits: string): string {
  if (/^52[0-9]{10}$/.test(digits)) return `521${digits.slice(2)}`;
  const br = /^55([1-9][0-9])9([0-9]{8})$/.exec(digits);
  if (br) return `55${br[1]}${br[2]}`;
  return digits;
}
