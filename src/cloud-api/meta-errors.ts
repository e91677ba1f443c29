/**
 * Meta's error codes for the messaging surface: the title that goes into `(#code) title`, the HTTP
 * status Graph answers with, and a default `error_data.details`. Source: reference/cloud-api.md §1
 * (envelope) and §4 (code table). Throttling codes (130429, 131056, 131048, 80007, 4) are HTTP 400,
 * not 429: clients must branch on `error.code`, so the simulator reproduces Meta, not HTTP habits.
 */
import type { GraphErrorBody } from '../errors.js';

export interface MetaErrorSpec {
  readonly status: number;
  readonly title: string;
  readonly details: string;
}

const e = (status: number, title: string, details: string = title): MetaErrorSpec => ({ status, title, details });

export const META_ERRORS: Readonly<Record<number, MetaErrorSpec>> = {
  0: e(401, 'AuthException', 'We were unable to authenticate the app user.'),
  1: e(400, 'API Unknown', 'Invalid request or possible server error.'),
  2: e(503, 'API Service', 'Temporary due to downtime or due to being overloaded.'),
  4: e(400, 'API Too Many Calls', 'The app has reached its API call rate limit.'),
  10: e(403, 'API Permission Denied', 'Permission is either not granted or has been removed.'),
  33: e(400, 'Parameter value is not valid', 'The business phone number has been deleted.'),
  100: e(400, 'Invalid parameter'),
  190: e(401, 'Invalid OAuth access token', 'Your access token has expired or is invalid.'),
  200: e(403, 'API Permission', 'Permission is either not granted or has been removed.'),
  368: e(403, 'Temporarily blocked for policies violations', 'The WhatsApp Business Account is restricted for violating a platform policy.'),
  80007: e(400, 'Rate limit issues', 'The WhatsApp Business Account has reached its rate limit.'),
  80008: e(400, 'Rate limit issues', 'WhatsApp Business Management rate limit reached.'),
  130429: e(400, 'Rate limit hit', 'Cloud API message throughput has been reached.'),
  130472: e(400, "User's number is part of an experiment", 'Message not sent as part of an experiment.'),
  130497: e(400, 'Business account is restricted from messaging users in this country'),
  131000: e(500, 'Something went wrong', 'Message failed to send because of an unknown error.'),
  131005: e(403, 'Access denied', 'Permission is either not granted or has been removed.'),
  131008: e(400, 'Required parameter is missing'),
  131009: e(400, 'Parameter value is not valid'),
  131016: e(503, 'Service unavailable', 'A service is temporarily unavailable.'),
  131021: e(400, 'Recipient cannot be sender', 'Sender and recipient phone number is the same.'),
  131026: e(400, 'Message Undeliverable', 'Unable to deliver message.'),
  131031: e(403, 'Business Account locked', 'The business account has been locked.'),
  131042: e(400, 'Business eligibility payment issue', 'There was an error related to your payment method.'),
  131045: e(500, 'Incorrect certificate', 'Message failed to send due to a phone number registration error.'),
  131047: e(400, 'Re-engagement message', 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.'),
  131048: e(400, 'Spam rate limit hit', 'Message failed to send because there are restrictions on how many messages can be sent from this phone number.'),
  131049: e(400, 'This message was not delivered to maintain healthy ecosystem engagement.', 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.'),
  131050: e(400, 'User has stopped marketing messages', 'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.'),
  131051: e(400, 'Unsupported message type', 'Message type is not currently supported.'),
  131052: e(400, 'Media download error', 'Unable to download the media sent by the user.'),
  131053: e(400, 'Media upload error', 'Unable to upload the media used in the message.'),
  131056: e(400, '(Business Account, Consumer Account) pair rate limit hit', 'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.'),
  131057: e(500, 'Account in maintenance mode', 'Business Account is in maintenance mode.'),
  132000: e(400, 'Number of parameters does not match the expected number of params'),
  132001: e(404, 'Template does not exist', 'The template does not exist in the specified language or the template has not been approved.'),
  132005: e(400, 'Translated text too long'),
  132007: e(400, 'Template Format Character Policy Violated'),
  132012: e(400, 'Parameter format does not match format in the created template'),
  132015: e(400, 'Template is Paused', 'Template is paused due to low quality so it cannot be sent in a template message.'),
  132016: e(400, 'Template is Disabled', 'Template has been paused too many times due to low quality and is now permanently disabled.'),
  132068: e(400, 'Flow is in blocked state'),
  132069: e(400, 'Flow is in throttled state', 'Flow is in throttled state and 10 messages using this flow were already sent in the last hour.'),
  133004: e(503, 'Server Temporarily Unavailable'),
  133010: e(400, 'Phone number Not Registered', 'The phone number is not registered on the WhatsApp Business Platform.'),
  133016: e(400, 'Account register deregister rate limit exceeded'),
  135000: e(400, 'Generic user error', 'Message failed to send because of an unknown error with your request parameters.'),
};

const UNKNOWN: MetaErrorSpec = e(400, 'Unknown error');

/** The spec for a code; unknown codes get HTTP 400 like most Graph errors. */
export function metaErrorSpec(code: number): MetaErrorSpec {
  return META_ERRORS[code] ?? UNKNOWN;
}

/**
 * Graph error envelope + HTTP status for a Meta error code (130429 → 400, 190 → 401,
 * 131016 → 503, 131057 → 500 ...), as Meta answers on the send endpoint.
 */
export function metaError(code: number, details?: string, fbtraceId?: string): { status: number; body: GraphErrorBody } {
  const spec = metaErrorSpec(code);
  return {
    status: spec.status,
    body: {
      error: {
        message: `(#${code}) ${spec.title}`,
        type: 'OAuthException',
        code,
        error_data: { messaging_product: 'whatsapp', details: details ?? spec.details },
        fbtrace_id: fbtraceId ?? newFbtraceId(),
      },
    },
  };
}

const TRACE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A Graph-looking trace id (23 url-safe chars). Not secret and not security relevant, so Math.random is fine. */
export function newFbtraceId(random: () => number = Math.random): string {
  let id = '';
  for (let i = 0; i < 23; i++) id += TRACE_ALPHABET[Math.floor(random() * 64)];
  return id;
}
