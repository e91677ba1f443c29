/**
 * How the send route tells a fleet's policy engine (shared-engine.ts), whose admission reads and
 * charges Redis and must be awaited, from one process's, whose admit() is synchronous and is
 * called without an await. Kept apart so the route imports nothing of the Redis side.
 */
import type { Admission, AdmitInput } from '../gateway/ports.js';

export interface AsyncAdmission {
  admitAsync(input: AdmitInput): Promise<Admission>;
}

export function isSharedPolicy(policy: object): policy is AsyncAdmission {
  return typeof (policy as Partial<AsyncAdmission>).admitAsync === 'function';
}
