/**
 * Which tenants' outboxes this process delivers. Alone on its storage (embedded), a process
 * delivers every tenant and needs no gate. In a fleet sharing one outbox, exactly one process
 * delivers a tenant at a time (per-recipient order, and no event sent twice in parallel by two
 * processes); the others only append. The gate decides, and tells the sender as tenants are
 * gained and lost.
 */

export interface GateListener {
  /** This process delivers the tenant from now on; `pending` of its events are waiting. */
  gained(tenantId: string, pending: number): void;
  /** It no longer does (lease lost or given up): stop at once, leave the events in the outbox. */
  lost(tenantId: string): void;
  /** Another process appended events for a tenant this process delivers. */
  appended(tenantId: string): void;
}

export interface DeliveryGate {
  /** Starts looking for tenants to deliver (those with pending events) and reports to `listener`. */
  start(listener: GateListener): Promise<void>;
  /** This process has events of the tenant pending (it appended some): deliver it if nobody does. */
  want(tenantId: string): void;
  /**
   * Whether this process may start an attempt for the tenant now: it holds the tenant and its
   * lease cannot have lapsed (a process paused past its renewals must not send on waking up). A
   * tenant found stale is lost at once (`lost` is told before this returns false).
   */
  holds(tenantId: string): boolean;
  /** Gives up every tenant (another process takes over at once). Stop delivering first. */
  close(): Promise<void>;
}
