/**
 * Policy changes one process of a fleet tells the others, over Redis pub/sub (the channel is
 * RedisKeys.policyChanges()): consent made current, deferrals as merged, windows opened, first
 * sends and messaging-limit changes. A number's owner thereby honours an opt-out recorded at any
 * process at departure, which is synchronous and reads only its local view.
 *
 * Pub/sub is at-most-once: a subscriber that lost its connection missed what was published
 * meanwhile. On every reconnect `onResync` runs (the engine reloads the current opt-outs); windows
 * and deferrals missed meanwhile cost at worst a tier charge at departure (a window it did not see)
 * or a send Meta answers again with 131049 / 131026. Admission never depends on the feed: it reads
 * the recipient's state from Redis.
 */
import { subscriberOf } from '../store/redis/connection.js';
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../store/redis/commands.js';
import type { ConsentRecord } from './types.js';

export type PolicyChange =
  | { k: 'consent'; r: ConsentRecord }
  | { k: 'deferral'; t: string; r: string; u: number; m: number }
  | { k: 'window'; n: string; r: string; at: number }
  | { k: 'firstSend'; n: string; at: number }
  | { k: 'limit'; t: string; limit: number | 'unlimited' };

export interface ChangeFeedOptions {
  client: RedisClient;
  channel: string;
  onChange(change: PolicyChange): void;
  /** After a reconnect of the subscriber (changes may have been missed). */
  onResync(): Promise<void>;
  onError(err: unknown, what: string): void;
}

export class PolicyChangeFeed {
  /** Tells this process's own messages apart (they are already applied). */
  private readonly origin = randomBytes(8).toString('hex');
  private closed = false;

  private constructor(
    private readonly options: ChangeFeedOptions,
    private readonly subscriber: RedisClient,
  ) {}

  /** Subscribes on a connection of its own (a subscribed connection serves nothing else). */
  static async open(options: ChangeFeedOptions): Promise<PolicyChangeFeed> {
    const subscriber = subscriberOf(options.client);
    const feed = new PolicyChangeFeed(options, subscriber);
    subscriber.on('error', () => {}); // reconnects are reported by the main connection
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === options.channel) feed.receive(message);
    });
    await subscriber.subscribe(options.channel);
    // Registered once connected: every later 'ready' is a reconnect (ioredis subscribes again itself).
    subscriber.on('ready', () => {
      options.onResync().catch((error: unknown) => options.onError(error, 'policy change feed resync'));
    });
    return feed;
  }

  publish(change: PolicyChange): void {
    if (this.closed) return;
    this.options.client.publish(this.options.channel, JSON.stringify({ o: this.origin, c: change }))
      .catch((error: unknown) => this.options.onError(error, `policy change feed publish (${change.k})`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }

  private receive(message: string): void {
    let parsed: { o: string; c: PolicyChange };
    try {
      parsed = JSON.parse(message) as { o: string; c: PolicyChange };
    } catch (error) {
      this.options.onError(error, 'policy change feed: unreadable message');
      return;
    }
    if (parsed.o === this.origin) return;
    try {
      this.options.onChange(parsed.c);
    } catch (error) {
      this.options.onError(error, `policy change feed: applying ${parsed.c?.k}`);
    }
  }
}
