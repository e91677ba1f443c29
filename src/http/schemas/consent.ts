/** The consent API's OpenAPI description (documentation only: src/policy/consent-input.ts checks records and names the bad one). */
import { Type } from '@sinclair/typebox';

export const ConsentRecordInput = Type.Object(
  {
    recipient: Type.String({ description: 'E.164 phone number' }),
    status: Type.Union([Type.Literal('opt_in'), Type.Literal('opt_out')]),
    source: Type.Optional(Type.String({ description: 'Where consent was given or withdrawn (audit)' })),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'When (default now); an older record never overrides a newer one' })),
  },
  { title: 'ConsentRecord' },
);

const ConsentEntry = Type.Object({ status: Type.String(), source: Type.String(), at: Type.String({ format: 'date-time' }) });

export const ConsentRecorded = Type.Composite([Type.Object({ recipient: Type.String(), applied: Type.Boolean() }), ConsentEntry]);

export const ConsentBulkBody = Type.Union([
  Type.Array(ConsentRecordInput, { description: 'Up to 100 000 records' }),
  Type.String({ description: 'text/csv: recipient,status[,source[,at]] (header optional, RFC 4180 quotes)' }),
]);

export const ConsentBulkRecorded = Type.Object({ recorded: Type.Integer(), applied: Type.Integer() });

export const ConsentView = Type.Object({
  recipient: Type.String(),
  status: Type.Union([Type.Literal('opt_in'), Type.Literal('opt_out'), Type.Literal('none')]),
  source: Type.Optional(Type.String()),
  at: Type.Optional(Type.String({ format: 'date-time' })),
  history: Type.Array(ConsentEntry),
}, { title: 'ConsentView' });
