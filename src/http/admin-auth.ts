/** The admin token check, as an onRequest hook for a plugin of admin routes (constant-time compare). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { bearerToken } from '../gateway/tenants.js';

export function requireAdmin(token: string): (request: FastifyRequest) => Promise<void> {
  const expected = digest(token);
  return async (request) => {
    const given = bearerToken(request.headers.authorization);
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new GatewayError('ADMIN_FORBIDDEN', 'Admin routes need Authorization: Bearer <admin token>');
    }
  };
}

/** Fixed-length digests: the comparison takes the same time whatever the lengths. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
