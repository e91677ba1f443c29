/**
 * Recipient identity: the number a client sends to is not always the one WhatsApp knows the user
 * by. Meta answers each send with `contacts[].wa_id`, and for some countries it differs from the
 * input: Brazil's mobile ninth digit (`55 11 9xxxx-xxxx` sent, `55 11 xxxx-xxxx` known for older
 * accounts), Mexico's `52` / `521`. Inbound messages come `from` the wa_id, so the service window,
 * opt-outs (STOP) and pair rates recorded from them are keyed by it: a send to the input form would
 * miss them. This map learns input → wa_id from send answers, and ingress keys every later send by
 * the wa_id (the body still goes upstream as the client wrote it).
 *
 * Bounded (least recently learned or used goes first) and in memory: after a restart an alias is
 * re-learned by the next answer for that recipient, so only that first send is judged under the
 * input form. In a fleet each process learns from the answers its own lanes receive.
 */
export const DEFAULT_MAX_ALIASES = 100_000;

export class RecipientAliases {
  private readonly map = new Map<string, string>();

  constructor(private readonly maxEntries = DEFAULT_MAX_ALIASES) {}

  /** The wa_id Meta knows this recipient (E.164 digits) by; the input itself when none was learned. */
  resolve(digits: string): string {
    const waId = this.map.get(digits);
    if (waId === undefined) return digits;
    // Refresh recency: a recipient still being sent to keeps its alias.
    this.map.delete(digits);
    this.map.set(digits, waId);
    return waId;
  }

  /** Meta answered a send to `input` with `waId`. Only digit strings that differ are kept. */
  learn(input: string, waId: string): void {
    if (input === '' || waId === input || !/^[0-9]{7,15}$/.test(waId)) return;
    this.map.delete(input);
    this.map.set(input, waId);
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}
