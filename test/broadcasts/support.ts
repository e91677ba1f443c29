/**
 * Helpers for broadcast tests: a clock that runs with wall time and can jump ahead (the number's
 * pace is real; a test moves the messaging limit's 24 h window by hand), and request shorthands.
 */
import { request } from 'undici';
import type { Clock } from '../../src/clock.js';
import { API_KEY, NUMBER } from '../support/stack.js';

/** Wall time plus an offset a test moves forward. */
export class JumpClock implements Clock {
  private offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Employee i: +1 415 55x xxxx (distinct for i < 100,000). */
export const employee = (i: number): string => `+1415${String(5_500_000 + i).padStart(7, '0')}`;

export const announcement = (name = 'all_hands') => ({
  messaging_product: 'whatsapp', type: 'template',
  template: { name, language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Friday' }] }] },
});

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  json: any;
}

export async function call(base: string, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
}

export const broadcastBody = (recipients: Array<{ to: string; components?: unknown }>, extra: Record<string, unknown> = {}) => ({
  phone_number_id: NUMBER, message: announcement(), category: 'marketing', recipients, ...extra,
});

/** Polls the broadcast until `check` accepts its view. */
export async function waitForBroadcast(base: string, id: string, check: (view: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await call(base, 'GET', `/v1/broadcasts/${id}`);
    if (check(json)) return json;
    if (Date.now() > until) throw new Error(`broadcast ${id} not as expected after ${timeoutMs} ms: ${JSON.stringify(json)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
