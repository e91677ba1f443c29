/**
 * The one config schema. The TS type `Config` is derived from it; nothing declares it twice.
 * Defaults live here (TypeBox `default`), applied by src/config/load.ts before validation.
 * README's "Configuration" section documents every key; keep them in step.
 */
import { Type, type Static } from '@sinclair/typebox';

export const DEFAULT_STORAGE_PATH = './data';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' });
const Secret = Type.String({ minLength: 1, maxLength: 4096 });

const Hostname = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$' });

/** One warm-up step: until the number is `untilDays` old, at most `limit` sends in any warm-up window. */
const WarmupStepSchema = Type.Object(
  { untilDays: Type.Number({ exclusiveMinimum: 0, maximum: 365 }), limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
  { additionalProperties: false },
);

/** Admission policies of a tenant (src/policy). README "Policies" documents each one and its error. */
export const PolicySchema = Type.Object(
  {
    /** `shadow` evaluates policies and counts refusals without refusing (opt-outs are honoured even in shadow). */
    mode: Type.Union([Type.Literal('enforce'), Type.Literal('shadow')], { default: 'enforce' }),
    /** Free-form messages only inside the 24 h customer service window. Default: `enforce` when `webhooks` is configured, else `off`. */
    serviceWindow: Type.Optional(Type.Union([Type.Literal('enforce'), Type.Literal('off')])),
    /** Business-initiated templates need a recorded opt-in: `off`, `warn` (send and flag), `enforce` (refuse). */
    optIn: Type.Union([Type.Literal('off'), Type.Literal('warn'), Type.Literal('enforce')], { default: 'warn' }),
    /** Whole-message opt-out words in inbound messages (case and accents folded); replaces the built-in list. */
    optOutWords: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 500 })),
    /** Same normalised content to more than `maxRecipients` distinct recipients within `windowSec` is refused. Absent: off. */
    repeat: Type.Optional(
      Type.Object(
        {
          maxRecipients: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
          windowSec: Type.Integer({ minimum: 1, maximum: 7 * 86_400 }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Links only to these domains (subdomains included). Absent: any link. */
    links: Type.Optional(
      Type.Object({ allowedDomains: Type.Array(Hostname, { maxItems: 10_000 }) }, { additionalProperties: false }),
    ),
    /** Caps for numbers in warm-up (`warmup: true` or `createdAt` on the number). */
    warmup: Type.Object(
      {
        windowSec: Type.Integer({ minimum: 1, maximum: 3600, default: 15 }),
        steps: Type.Array(WarmupStepSchema, {
          minItems: 1,
          maxItems: 32,
          default: [{ untilDays: 1, limit: 50 }, { untilDays: 3, limit: 150 }, { untilDays: 7, limit: 400 }],
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Pair rate (number × recipient): at most one message per `intervalSec` to the same user, with a
     * bucket of `burst` (Meta allows up to 45, borrowed from the future). Excess is delayed for that
     * recipient only, never sent early.
     */
    pairRate: Type.Object(
      {
        intervalSec: Type.Number({ minimum: 0.05, maximum: 3600, default: 6 }),
        burst: Type.Integer({ minimum: 1, maximum: 45, default: 5 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** How long a recipient reported undeliverable (131026) is refused. */
    undeliverableSec: Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 86_400 }),
    /** How long marketing to a user with a 131049 (per-user marketing cap) is refused. */
    marketingDeferralSec: Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 86_400 }),
  },
  { additionalProperties: false, default: {} },
);

export const NumberSchema = Type.Object(
  {
    phoneNumberId: Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+$' }),
    /** Meta access token for this number. Only ever sent in the upstream Authorization header. */
    accessToken: Secret,
    /** Sustained messages per second the number may send (Cloud API default 80). */
    mps: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, default: 80 }),
    /** Bucket size: how many messages may leave back to back after idle. */
    burst: Type.Integer({ minimum: 1, maximum: 10_000, default: 80 }),
    /**
     * ISO 8601 date or date-time the number was registered; enables warm-up caps while young.
     * A pattern, not `format: 'date-time'`: TypeBox has no formats registered, so a format would refuse every value.
     */
    createdAt: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$' })),
    /** Warm-up caps from the first send through sendgate (true), or never, even with `createdAt` (false). */
    warmup: Type.Optional(Type.Boolean()),
    /** The number as Meta displays it (digits): quality webhooks name the number only by it. */
    displayPhoneNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+$' })),
  },
  { additionalProperties: false },
);

export const TenantSchema = Type.Object(
  {
    id: Id,
    apiKeys: Type.Array(Type.String({ minLength: 8, maxLength: 256 }), { minItems: 1 }),
    /**
     * The WhatsApp Business Account ids of the tenant: Meta's account webhooks
     * (`business_capability_update`, quality updates) name the account in `entry[].id`, not a number.
     */
    wabaIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32, pattern: '^[0-9]+$' }), { maxItems: 100 })),
    /** Unique recipients of business-initiated sends in a moving 24 h, across the tenant's numbers. */
    messagingLimit: Type.Union(
      [Type.Literal(250), Type.Literal(2000), Type.Literal(10000), Type.Literal(100000), Type.Literal('unlimited')],
      { default: 250 },
    ),
    /** Default validity of a message: it is never sent after this many seconds. */
    deadlineSec: Type.Integer({ minimum: 1, maximum: 30 * 86_400, default: 4 * 3600 }),
    policy: PolicySchema,
    webhook: Type.Optional(Type.Object({
      url: Type.String({ minLength: 1 }),
      secret: Secret,
      /**
       * `sendgate`: sendgate's own events, signed `X-Sendgate-Signature`. `meta`: Meta's webhook
       * envelope signed `X-Hub-Signature-256` with `secret` as the app secret (src/webhooks/tenant/meta-format.ts).
       */
      format: Type.Union([Type.Literal('sendgate'), Type.Literal('meta')], { default: 'sendgate' }),
    }, { additionalProperties: false })),
    numbers: Type.Array(NumberSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    listen: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8080 }),
      },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Union(
      [
        Type.Object({
          kind: Type.Literal('embedded'),
          path: Type.String({ minLength: 1 }),
          /**
           * Final records (sent, delivered, read, failed, expired, rejected) are deleted this many days
           * after their last change, in small chunks; waiting messages are never deleted. Default 30.
           */
          retentionDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
        }, { additionalProperties: false }),
        Type.Object({
          kind: Type.Literal('redis'),
          /** `redis://host:port` (or `rediss://`) for one server, `redis+cluster://host:port,host:port` for a Cluster. */
          url: Type.String({ minLength: 1 }),
          /** Prefix of every key: separates deployments sharing one Redis. Default `sendgate`. */
          prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^{}]+$' })),
          /**
           * What a 2xx waits for. 'fsync' (default): every master runs `appendonly yes` +
           * `appendfsync always`, checked at boot (the gateway refuses to start otherwise).
           * `{ replicas, timeoutMs }`: each write waits (WAIT) for that many replicas instead.
           * 'unchecked': the operator accepts that Redis may lose acknowledged writes.
           */
          durability: Type.Optional(Type.Union([
            Type.Literal('fsync'),
            Type.Literal('unchecked'),
            Type.Object({
              replicas: Type.Integer({ minimum: 1, maximum: 16 }),
              timeoutMs: Type.Integer({ minimum: 1, maximum: 60_000 }),
            }, { additionalProperties: false }),
          ])),
          /**
           * A number's dispatch lease (src/fleet/ownership.ts): renewed every third of it; a process
           * that cannot renew stops sending after two thirds; a dead process's numbers move within
           * about this long plus a third. Default 10 000.
           */
          leaseTtlMs: Type.Optional(Type.Integer({ minimum: 300, maximum: 600_000 })),
          /** As for embedded storage: final records expire this many days after their last change. Default 30. */
          retentionDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
        }, { additionalProperties: false }),
      ],
      // Defaults to { kind: 'embedded', path: DEFAULT_STORAGE_PATH }, applied by load.ts (TypeBox merges
      // an object default into any given object, which would graft `path` onto a redis entry).
    ),
    upstream: Type.Object(
      {
        baseUrl: Type.String({ minLength: 1, default: 'https://graph.facebook.com' }),
        version: Type.String({ pattern: '^v[0-9]+\\.[0-9]+$', default: 'v23.0' }),
        /**
         * Requests in flight to the upstream at most, over all numbers (each holds its body until
         * answered; lowered at boot to what a quarter of the heap holds at `limits.maxBodyBytes`).
         * Within it, each number gets what its rate needs at the observed latency (Little's law,
         * src/dispatch/capacity.ts).
         */
        maxInFlight: Type.Integer({ minimum: 1, maximum: 65_536, default: 8192 }),
        /**
         * Negotiate HTTP/2 (ALPN) with an https upstream such as graph.facebook.com: a few
         * connections carry every request as multiplexed streams. Plain-http upstreams (the
         * simulator, a local proxy) always use HTTP/1.1. bench/macro/capacity measures both.
         */
        http2: Type.Boolean({ default: true }),
        /**
         * HTTP/2: requests in flight per connection before another is opened (beyond what the peer
         * advertises they wait in that connection's queue, in order). Few, full connections keep
         * one number's requests in order: at 50 numbers × 80 msg/s, 100 per connection spread
         * them over more connections read out of order by a loaded upstream (87 refused with
         * 130429, 87 % delivered, 0.25 ms CPU/msg); 1000 per connection: 0 refused, 105 %,
         * 0.21 ms (bench/macro/capacity --upstream).
         */
        streamsPerConnection: Type.Integer({ minimum: 1, maximum: 1000, default: 1000 }),
        /**
         * Upper bound on connections per upstream origin, opened as the work needs them. Absent:
         * enough for `maxInFlight` (HTTP/1.1: one request per socket unless pipelining; HTTP/2:
         * `streamsPerConnection` per connection).
         */
        connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
        /** Requests per socket in flight (HTTP/1.1 pipelining); 1 = off. */
        pipelining: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 15_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    dispatch: Type.Object(
      {
        /**
         * Fraction of a number's mps paced at. 1: all of it. Network jitter is absorbed by the bucket
         * instead (a lane keeps 200 ms worth of tokens unused, src/dispatch/limits.ts), which costs
         * nothing while backlogged; a haircut here would cost its share of every second.
         */
        headroom: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1 }),
        maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
        /**
         * Arrival jitter at the upstream (network, event-loop stalls, connection queues) that a
         * number's stream must absorb and still conform: the pacing bucket keeps this much time's
         * worth of tokens unused. It costs part of the opening burst, never sustained rate.
         */
        jitterToleranceMs: Type.Integer({ minimum: 0, maximum: 5000, default: 200 }),
        /** Upper bound of one number's requests in flight (its Little's-law need is usually far below). */
        maxInFlightPerNumber: Type.Integer({ minimum: 1, maximum: 65_536, default: 2048 }),
        /** First retry delay; doubles per attempt with full jitter. */
        retryBaseMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 1000 }),
        retryMaxMs: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 300_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 64 * 1024 }),
        /**
         * Waiting messages per number at most (the store holds them, memory does not grow with them):
         * beyond it ingress answers 429 with Retry-After and stores nothing.
         */
        maxQueuedPerNumber: Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: 1_000_000 }),
        /** Waiting messages per tenant at most, over all its numbers; 429 beyond it, as above. */
        maxQueuedPerTenant: Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: 10_000_000 }),
        /** Largest media upload relayed (streamed, never held whole); Meta's own cap is 100 MB (documents). */
        mediaMaxBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 100 * 1024 * 1024 }),
        /** Media requests (upload, URL, delete) per tenant per second, and their burst: 429 beyond. */
        mediaRequestsPerSec: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, default: 10 }),
        mediaBurst: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Capacities of the WASM core's tables (tracked keys); fixed at boot. */
    core: Type.Object(
      {
        gcraKeys: Type.Integer({ minimum: 1024, maximum: 1 << 26, default: 1 << 20 }),
        windowKeys: Type.Integer({ minimum: 1024, maximum: 1 << 24, default: 1 << 16 }),
        uniqueKeys: Type.Integer({ minimum: 1024, maximum: 1 << 26, default: 1 << 20 }),
        repeatKeys: Type.Integer({ minimum: 1024, maximum: 1 << 24, default: 1 << 18 }),
        /** Fraction of uniqueKeys / repeatKeys one tenant may hold (its share: no tenant fills them for the others); default 1 / tenants. */
        scopeShare: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    admin: Type.Optional(Type.Object({ token: Type.String({ minLength: 16 }) }, { additionalProperties: false })),
    /**
     * Operators' routes (/metrics, /admin/*, /dashboard, /docs, /openapi.json) on a listener of their
     * own, e.g. a private interface; absent: on the main listener with everything else.
     */
    ops: Type.Optional(Type.Object(
      {
        listen: Type.Object(
          { host: Type.String({ default: '127.0.0.1' }), port: Type.Integer({ minimum: 0, maximum: 65_535 }) },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    )),
    webhooks: Type.Optional(Type.Object({ appSecret: Secret, verifyToken: Secret }, { additionalProperties: false })),
    /** Delivery of tenant webhooks (src/webhooks/tenant): retry schedule, timeouts, circuit breaker. */
    webhookDelivery: Type.Object(
      {
        /** Delay before retry n (ms); its length bounds the attempts. Default: 5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h, then daily to about a week. */
        retryScheduleMs: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 7 * 86_400_000 }), { minItems: 1, maxItems: 100 })),
        concurrencyPerEndpoint: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
        timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
        /** Consecutive failures that open an endpoint's breaker, and its first cool-down. */
        breakerFailures: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
        breakerCoolDownMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Broadcasts (src/broadcasts): how far ahead of the lane a broadcast queues, and its default deadline. */
    broadcasts: Type.Object(
      {
        /** Seconds of the number's rate a broadcast keeps queued ahead of its lane; a transactional send waits behind at most this. */
        aheadSec: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 1 }),
        /** Recipients admitted into the queue per step at most. */
        chunk: Type.Integer({ minimum: 1, maximum: 100_000, default: 2000 }),
        /** Default deadline of a broadcast's messages, s: past 24 h, so recipients waiting for the messaging limit get their slots. */
        deadlineSec: Type.Integer({ minimum: 1, maximum: 30 * 86_400, default: 48 * 3600 }),
        /** Body limit of POST /v1/broadcasts (JSON with its recipients), bytes. */
        maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 16 * 1024 * 1024 }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' }),
        /** One line per request (method, path, status, time; never bodies or credentials). Off: it costs ingress CPU. */
        access: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    tenants: Type.Array(TenantSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type TenantConfig = Static<typeof TenantSchema>;
export type NumberConfig = Static<typeof NumberSchema>;
export type PolicyConfig = Static<typeof PolicySchema>;
