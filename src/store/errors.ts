/**
 * The one failure every Store implementation reports when it cannot commit: a catalogued
 * STORAGE_UNAVAILABLE (503), so ingress answers it as is. The client sees only the generic details;
 * the underlying error stays on `cause` for logs.
 */
import { GatewayError } from '../errors.js';

export function storageUnavailable(cause: unknown, details = 'The message was not stored; retry later.'): GatewayError {
  const error = new GatewayError('STORAGE_UNAVAILABLE', details);
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  return error;
}

export function storeClosed(): GatewayError {
  return storageUnavailable(null, 'The store is closed.');
}
