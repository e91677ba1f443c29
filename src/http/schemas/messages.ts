/** A message's record as the status API and the admin API answer it (src/http/routes/status.ts statusView). */
import { Type } from '@sinclair/typebox';

const Instant = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const RecordedErrorSchema = Type.Object({
  code: Type.Integer(),
  title: Type.String(),
  details: Type.String(),
  httpStatus: Type.Optional(Type.Integer({ description: 'HTTP status of the upstream answer; 0 for network errors' })),
});

export const MessageStatusSchema = Type.Object(
  {
    id: Type.String(),
    state: Type.Union(['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'expired', 'rejected'].map((s) => Type.Literal(s))),
    phone_number_id: Type.String(),
    to: Type.String({ description: 'Recipient, E.164 digits' }),
    attempts: Type.Integer({ minimum: 0 }),
    wamid: Type.Union([Type.String(), Type.Null()]),
    last_error: Type.Union([RecordedErrorSchema, Type.Null()]),
    created_at: Instant,
    updated_at: Instant,
    deadline_at: Instant,
    next_attempt_at: Instant,
    sent_at: Instant,
    delivered_at: Instant,
    read_at: Instant,
  },
  { title: 'MessageStatus' },
);

/** The same, with its tenant: the admin API lists every tenant's messages. */
export const AdminMessageSchema = Type.Composite([MessageStatusSchema, Type.Object({ tenant: Type.String() })], { title: 'AdminMessage' });
