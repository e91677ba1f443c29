/**
 * The fleet's notices over Redis pub/sub, on a connection of their own (a subscribed connection
 * can do nothing else): a message stored for a number (its owner pages it in) and a control entry
 * changed (every process applies it). Pub/sub may drop notices while a connection is down; the
 * owner's periodic resync (dispatch/fleet.ts) finds such messages anyway, and control entries are
 * read again whenever a number changes owner.
 */
import type { RedisClient } from '../store/redis/commands.js';
import { subscriberOf } from '../store/redis/connection.js';
import type { RedisKeys } from '../store/redis/keys.js';
import { decodeWake } from '../store/redis/redis-store.js';
import type { StoredNotice } from '../dispatch/types.js';

export interface NoticeHandlers {
  stored(notice: StoredNotice): void;
  controlChanged(key: string): void;
}

export class FleetNotices {
  private constructor(private readonly subscriber: RedisClient) {}

  /** Subscribes; notices from `memberId` itself are ignored (it acted on them already). */
  static async open(client: RedisClient, keys: RedisKeys, memberId: string, handlers: NoticeHandlers, onError: (err: unknown) => void): Promise<FleetNotices> {
    const subscriber = subscriberOf(client);
    // Told once per outage: ioredis reports every failed reconnect attempt.
    let reported = false;
    subscriber.on('ready', () => (reported = false));
    subscriber.on('error', (err: unknown) => {
      if (reported) return;
      reported = true;
      onError(err);
    });
    const wake = keys.wakeChannel();
    const control = keys.controlChannel();
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === wake) {
        const notice = decodeWake(text);
        if (notice !== null && notice.origin !== memberId) handlers.stored(notice);
      } else if (channel === control) {
        const sep = text.indexOf('\n');
        if (sep > 0 && text.slice(0, sep) !== memberId) handlers.controlChanged(text.slice(sep + 1));
      }
    });
    await subscriber.subscribe(wake, control);
    return new FleetNotices(subscriber);
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
