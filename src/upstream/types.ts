/**
 * The upstream seam: one method that sends one Cloud API request body for one business number
 * and reports what came back, already classified into ok / Graph error / network failure.
 * The dispatcher only sees this interface; tests may put any server behind it.
 */

export interface UpstreamRequest {
  phoneNumberId: string;
  /** Meta access token. Only ever placed in the Authorization header; never logged. */
  accessToken: string;
  /** The Cloud API request body as JSON text, sent as is. */
  body: string;
}

export type NetworkReason = 'timeout' | 'reset' | 'refused' | 'closed' | 'other';

export type UpstreamResult =
  /** `waId`: `contacts[0].wa_id` of the answer, when it has one. */
  | { kind: 'ok'; status: number; wamid: string; bodyText: string; waId?: string }
  /** An HTTP answer that is not a success. `code` is the Graph `error.code`, or -1 when the body carried none. */
  | { kind: 'error'; status: number; code: number; title: string; details: string; bodyText: string }
  /** No HTTP answer at all (the request may or may not have reached the upstream). */
  | { kind: 'network'; reason: NetworkReason; message: string };

export interface Upstream {
  send(req: UpstreamRequest): Promise<UpstreamResult>;
  /** Stops taking requests; resolves once open sockets are closed. */
  close(): Promise<void>;
}
