/**
 * The send route's OpenAPI description. Documentation only (the route validates its input by hand,
 * src/cloud-api/validate*.ts, never stricter than Meta): the body is described loosely, every
 * field Meta accepts passes, and unknown message types and fields go through.
 */
import { Type } from '@sinclair/typebox';
import { errorResponses } from './common.js';

export const SendParams = Type.Object({
  version: Type.Optional(Type.String({ description: 'Graph API version, e.g. v23.0 (absent in the unversioned path)' })),
  phoneNumberId: Type.String({ description: 'The business phone number id (one of the tenant\'s)' }),
});

export const SendHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Same key and body: the same message, delivered once (≥ 24 h)' })),
  prefer: Type.Optional(Type.String({ description: 'RFC 7240 `wait=N`: hold up to N s (max 60) for the upstream\'s answer' })),
  'x-sendgate-deadline': Type.Optional(Type.String({ description: 'Validity in seconds, or an RFC 3339 instant (default: the tenant\'s deadlineSec)' })),
  'x-sendgate-category': Type.Optional(Type.String({ description: 'authentication, utility, marketing or service' })),
});

/** Meta's message body, loosely: the documented common fields, anything else passed through. */
export const CloudApiMessage = Type.Object(
  {
    messaging_product: Type.Optional(Type.String({ description: 'whatsapp' })),
    recipient_type: Type.Optional(Type.String()),
    to: Type.Optional(Type.String({ description: 'Recipient phone number (E.164) or WhatsApp id' })),
    type: Type.Optional(Type.String({ description: 'text, template, image, interactive, … (unknown types are passed through)' })),
    context: Type.Optional(Type.Object({ message_id: Type.Optional(Type.String()) })),
    status: Type.Optional(Type.String({ description: 'read: mark a message as read' })),
    message_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true, title: 'CloudApiMessage', description: 'A Cloud API send body, as Meta\'s POST /{Phone-Number-ID}/messages takes it' },
);

export const AcceptedSchema = Type.Object(
  {
    messaging_product: Type.Optional(Type.Literal('whatsapp')),
    contacts: Type.Optional(Type.Array(Type.Object({ input: Type.String(), wa_id: Type.String() }))),
    success: Type.Optional(Type.Boolean({ description: 'Mark-as-read sends' })),
    messages: Type.Array(Type.Object({ id: Type.String({ description: 'The gateway message id' }), message_status: Type.Literal('accepted') })),
    sendgate_warnings: Type.Optional(Type.Array(Type.String())),
  },
  { title: 'Accepted', description: 'Durably queued' },
);

/** With `Prefer: wait=N`: the upstream's own body plus messages[0].gateway_id. */
export const UpstreamAnswerSchema = Type.Object({}, { additionalProperties: true, title: 'UpstreamAnswer', description: 'The upstream\'s answer, with messages[0].gateway_id added' });

export const sendResponses = {
  200: UpstreamAnswerSchema,
  202: AcceptedSchema,
  ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504),
};
