/**
 * Leases with fencing tokens on Redis: who in a fleet does one thing (dispatch a number, deliver a
 * tenant's webhooks) at a time. A lease is `SET NX PX` plus a counter in the same slot: each new
 * holder gets a higher token, and a write checked against the token (transition-4.lua) refuses a
 * former holder that has not noticed it lost the lease (stopped, partitioned, slow).
 *
 *   const token = await leases.acquire(keys.numberLease(t, n), keys.numberFence(t, n), me, 10_000);
 *   if (token !== null) ... renew at TTL/3: await leases.renew(lease, me, token, 10_000) ...
 *
 * The caller keeps its own deadline (fleet/lease-keeper.ts): it stops acting on a lease well before
 * it could lapse, measured from when its last successful renewal was sent.
 */
import type { ScriptRunner } from './commands.js';

export class RedisLeases {
  constructor(private readonly run: ScriptRunner) {}

  /** The holder's fencing token (the caller's own lease is renewed), or null while another holds it. */
  async acquire(leaseKey: string, fenceKey: string, ownerId: string, ttlMs: number): Promise<number | null> {
    const token = Number(await this.run('lease-acquire', [leaseKey, fenceKey], [ownerId, String(Math.ceil(ttlMs))]));
    return token > 0 ? token : null;
  }

  /** Extends the lease; false when it lapsed or another took it (the caller must stop acting on it). */
  async renew(leaseKey: string, ownerId: string, token: number, ttlMs: number): Promise<boolean> {
    return (await this.run('lease-renew', [leaseKey], [`${token} ${ownerId}`, String(Math.ceil(ttlMs))])) === 1;
  }

  /** Gives the lease up if still held with `token` (never another holder's). */
  async release(leaseKey: string, ownerId: string, token: number): Promise<void> {
    await this.run('lease-release', [leaseKey], [`${token} ${ownerId}`]);
  }

  /** A heartbeat of fleet member `ownerId` (TTL 0: leaving); resolves with the live members, sorted. */
  async heartbeat(membersKey: string, ownerId: string, ttlMs: number): Promise<string[]> {
    return (await this.run('members', [membersKey], [ownerId, String(Math.ceil(ttlMs))])) as string[];
  }
}
