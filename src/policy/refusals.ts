/**
 * The refusals the policies answer with: which policy refused, why, and how to comply, in
 * `error_data.details`. Never secrets; recipients are the caller's own data.
 */
import { GatewayError } from '../errors.js';
import type { ConsentRecord } from './types.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const sec = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export const refusal = {
  serviceWindow: (to: string, phoneNumberId: string): GatewayError =>
    new GatewayError('OUTSIDE_SERVICE_WINDOW',
      `policy serviceWindow: ${to} has not written to number ${phoneNumberId} in the last 24 h, so the customer service window is closed ` +
      'and free-form messages are not allowed (Meta would fail it with 131047). Send an approved template instead.'),

  optOut: (consent: ConsentRecord): GatewayError =>
    new GatewayError('RECIPIENT_OPTED_OUT',
      `policy optOut: ${consent.recipient} opted out (source ${consent.source}, ${iso(consent.atMs)}); marketing templates are never sent to them. ` +
      'Utility and authentication templates and replies inside the service window are still allowed; record a new opt-in only if the user asks for marketing again.'),

  marketingDeferral: (to: string, untilMs: number, nowMs: number): GatewayError =>
    new GatewayError('MARKETING_DEFERRED',
      `policy marketingDeferral: Meta capped marketing to ${to} (131049) and sendgate holds marketing to them until ${iso(untilMs)}; ` +
      'retrying sooner can extend the suppression. Utility and authentication templates are not affected.', (untilMs - nowMs) / 1000),

  undeliverable: (to: string, untilMs: number, nowMs: number): GatewayError =>
    new GatewayError('RECIPIENT_UNDELIVERABLE',
      `policy undeliverable: Meta reported ${to} undeliverable (131026: not on WhatsApp, outdated app, or terms not accepted); ` +
      `sends to it are refused until ${iso(untilMs)} or until the user writes to the business. Check the number.`, (untilMs - nowMs) / 1000),

  optIn: (to: string, optedOut: boolean): GatewayError =>
    new GatewayError('OPT_IN_REQUIRED',
      `policy optIn: ${to} ${optedOut ? 'opted out' : 'has no recorded opt-in'} and this template starts a business-initiated conversation. ` +
      'Record the opt-in the user gave you (POST /v1/consent {"recipient","status":"opt_in","source"}) and send again.'),

  optInWarning: (to: string): string =>
    `optIn: ${to} has no recorded opt-in; sent anyway because policy optIn is "warn" (record it with POST /v1/consent)`,

  messagingLimit: (limit: number, waitMs: number): GatewayError =>
    new GatewayError('MESSAGING_LIMIT_REACHED',
      `policy messagingLimit: this tenant has reached ${limit} unique recipients of business-initiated messages in a moving 24 h; ` +
      `the next slot frees in about ${sec(waitMs)} s (Retry-After). Recipients already reached in the last 24 h and replies inside an open service window are not limited.`,
      waitMs / 1000),

  repeat: (maxRecipients: number, windowMs: number, waitMs: number): GatewayError =>
    new GatewayError('REPEATED_CONTENT',
      `policy repeat: the same content already went to ${maxRecipients} distinct recipients within ${Math.round(windowMs / 1000)} s ` +
      '(names, numbers and links are ignored when comparing). Bulk identical messages get numbers restricted: send distinct content, ' +
      `or an approved template with per-recipient parameters; a slot frees in about ${sec(waitMs)} s.`, waitMs / 1000),

  tenantShare: (policy: 'messagingLimit' | 'repeat', waitMs: number): GatewayError =>
    new GatewayError('TENANT_SHARE_FULL',
      `policy ${policy}: this tenant tracks as many recipients as its share of the gateway's tables allows (core.scopeShare of core.uniqueKeys / ` +
      `core.repeatKeys); older ones leave with their window. Retry in about ${sec(waitMs)} s, or ask the operator for a larger share.`, waitMs / 1000),

  links: (host: string): GatewayError =>
    new GatewayError('LINK_NOT_ALLOWED',
      `policy links: the message links to ${host}, which is not one of this tenant's allowed domains; remove the link or link to an allowed domain.`),
};
