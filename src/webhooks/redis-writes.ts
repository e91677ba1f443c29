/**
 * Writes of the webhook seams to Redis with the store's durability (src/store/redis/durability.ts):
 * with `appendfsync always` a script's reply means it is on disk; with `{ replicas, timeoutMs }`
 * each write is a pipeline of the script plus a WAIT on the same node, and a write the replicas do
 * not confirm in time rejects (it may have landed: every webhook write is safe to repeat).
 */
import type { ChainableCommander } from 'ioredis';
import { defineScripts, type RedisClient, type ScriptName, type ScriptRunner } from '../store/redis/commands.js';

/** `replicas`: each write waits for that many replicas (WAIT); null: the masters fsync instead. */
export type WebhookReplicas = { replicas: number; timeoutMs: number } | null;

export class RedisWrites {
  readonly run: ScriptRunner;

  constructor(readonly client: RedisClient, private readonly replicas: WebhookReplicas) {
    this.run = defineScripts(client);
  }

  /** Runs one script (keys in one slot) durably; resolves with its reply. */
  async script(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const [reply] = await this.write((p) => this.run(name, keys, args, p));
    return reply;
  }

  /** Sends what `queue` adds (one slot) as one pipeline, plus a WAIT when replicas are asked for. */
  async write(queue: (p: ChainableCommander) => unknown): Promise<unknown[]> {
    const pipeline = this.client.pipeline();
    queue(pipeline);
    if (this.replicas !== null) pipeline.wait(this.replicas.replicas, this.replicas.timeoutMs);
    const replies: unknown[] = [];
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error !== null) throw error;
      replies.push(reply);
    }
    if (this.replicas !== null) {
      const confirmed = replies.pop() as number;
      if (confirmed < this.replicas.replicas) {
        throw new Error(`WAIT: ${confirmed} of ${this.replicas.replicas} replicas confirmed the write within ${this.replicas.timeoutMs} ms`);
      }
    }
    return replies;
  }
}
