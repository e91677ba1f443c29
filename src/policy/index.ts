/** The policy engine's public face: the engine, its store, and the warm-up caps the dispatcher paces with. */
export { createPolicyEngine, type PolicyEngineDeps } from './engine.js';
export { openPolicyStore, POLICY_DB_FILE, type PolicyStore, type PolicyStoreOptions } from './store.js';
export { warmupCaps, DEFAULT_WARMUP, type WarmupCaps, type WarmupSchedule } from './warmup.js';
export { SERVICE_WINDOW_MS } from './service-window.js';
export type {
  ConsentRecord, ConsentStatus, ConsentView, DeliveryFailure, FinalEvent, InboundMessage, PolicyCore, PolicyEngine, PolicyName,
  PolicyStats,
} from './types.js';
export { POLICY_NAMES } from './types.js';
export { registerPolicyMetrics } from './metrics.js';
export { policyConsumerHooks } from './hooks.js';
export {
  createSharedPolicyEngine, openRedisPolicyStore, type RedisPolicyStoreOptions, type SharedPolicyEngine, type SharedPolicyEngineDeps,
} from './shared-engine.js';
export { RedisPolicyStore } from './redis-store.js';
export { isSharedPolicy, type AsyncAdmission } from './shared-admission.js';
