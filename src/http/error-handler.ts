/**
 * The one place errors become HTTP answers: every refusal is the Graph error envelope, always JSON.
 * Catalogued errors (GatewayError) carry their own status and code; Fastify's own request errors
 * (bad JSON, wrong content type, body too large, poisoned keys) are mapped onto the catalogue;
 * anything else is a bare 500 with no internals, logged server-side.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, GatewayError, graphErrorBody, type ErrorCode } from '../errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_CONTENT_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_VALIDATION: 'INVALID_PARAMETER',
};

const FASTIFY_DETAILS: Partial<Record<ErrorCode, string>> = {
  UNSUPPORTED_CONTENT_TYPE: 'Content-Type must be application/json',
  PAYLOAD_TOO_LARGE: 'The request body exceeds the size limit',
  INVALID_JSON: 'The request body is not valid JSON',
  INVALID_PARAMETER: 'The request is not valid',
};

export function sendError(reply: FastifyReply, err: GatewayError): FastifyReply {
  const spec = err.spec;
  if (err.retryAfterSec !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSec))));
  return reply.code(spec.status).type('application/json').send(graphErrorBody(spec, err.details, String(reply.request.id)));
}

export function installErrorHandling(app: FastifyInstance, onRejected?: (code: ErrorCode) => void): void {
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request: FastifyRequest, reply: FastifyReply) => {
    const gatewayError = toGatewayError(error);
    if (gatewayError.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error');
    onRejected?.(gatewayError.code);
    return sendError(reply, gatewayError);
  });
  app.setNotFoundHandler((request, reply) => {
    onRejected?.('NOT_FOUND');
    return sendError(reply, new GatewayError('NOT_FOUND', `Unknown path: ${request.method} ${request.url.split('?')[0]}`));
  });
}

function toGatewayError(error: Error & { code?: string; statusCode?: number }): GatewayError {
  if (error instanceof GatewayError) return error;
  const mapped = error.code !== undefined ? FASTIFY_CODES[error.code] : undefined;
  // A schema-validated route's message names the field and the rule ("querystring/limit must be <= 500").
  if (error.code === 'FST_ERR_VALIDATION') return new GatewayError('INVALID_PARAMETER', error.message);
  if (mapped !== undefined) return new GatewayError(mapped, FASTIFY_DETAILS[mapped] ?? ERRORS[mapped].title);
  // secure-json-parse refuses __proto__ / constructor.prototype keys with a SyntaxError.
  if (error instanceof SyntaxError && /prototype|__proto__/i.test(error.message)) {
    return new GatewayError('INVALID_PARAMETER', 'The request body contains a forbidden key (__proto__ or constructor.prototype)');
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return new GatewayError('INVALID_JSON', 'The request body is not valid JSON');
  return new GatewayError('INTERNAL', 'An internal error occurred');
}
