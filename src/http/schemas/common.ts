/**
 * Schemas shared by every route's OpenAPI description (src/http/openapi.ts): the Graph error
 * envelope every refusal is answered with, and the pieces routes combine their `schema` from.
 *
 * Responses are documented, never used to serialize: the app's serializer is plain JSON.stringify
 * (app.ts), so a response schema cannot drop a field the handler returns.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifySchemaCompiler } from 'fastify';

/** The Graph error envelope (src/errors.ts graphErrorBody): one schema for every refusal of every route. */
export const GraphErrorSchema = Type.Object(
  {
    error: Type.Object({
      message: Type.String({ description: '(#code) title' }),
      type: Type.String({ description: 'OAuthException, SendgateException, or the upstream\'s own' }),
      code: Type.Integer({ description: 'Graph error code (Meta\'s, or sendgate\'s 900xxx range)' }),
      error_data: Type.Object({
        messaging_product: Type.Optional(Type.Literal('whatsapp')),
        details: Type.String({ description: 'What went wrong and how to comply' }),
      }),
      fbtrace_id: Type.String({ description: 'The request id, also in the gateway\'s log' }),
    }),
  },
  { title: 'GraphError', description: 'The Graph API error envelope; always JSON' },
);

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad input', 401: 'Missing or wrong credentials', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict',
  413: 'Body too large', 415: 'Unsupported content type', 422: 'Refused by a policy', 429: 'Rate or queue limit; see Retry-After',
  500: 'Internal error', 502: 'Ended without an upstream answer', 503: 'Storage unavailable', 504: 'Expired before it was sent',
};

/** The error envelope under each status code a route can refuse with. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const status of statuses) out[status] = { ...GraphErrorSchema, description: ERROR_DESCRIPTIONS[status] ?? 'Error' };
  return out;
}

/** A JSON body documented with `description`. */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

/**
 * For routes whose input is checked by their handler (the send route's Cloud API validation is
 * never stricter than Meta; consent and admin limits name the bad field themselves): the schema
 * documents the input, and nothing rejects, coerces or strips it before the handler sees it.
 */
export const handlerValidates: FastifySchemaCompiler<unknown> = () => () => true;

export const NumberIdParams = Type.Object({ id: Type.String({ description: 'Phone number id' }) });
export const TenantIdParams = Type.Object({ id: Type.String({ description: 'Tenant id' }) });

/** OpenAPI security requirement names (components.securitySchemes in openapi.ts). */
export const TENANT_KEY = [{ apiKey: [] }];
export const ADMIN_TOKEN = [{ adminToken: [] }];
