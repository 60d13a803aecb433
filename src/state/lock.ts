/**
 * Locks around read-merge-write sequences (the support profile is PUT-only, so two concurrent partial
 * updates of one partner must not interleave: DESIGN.md, Several replicas).
 *
 * - `InProcessLock`: one process, FIFO per key, never gives up (the `KeyedSerializer`). Safe on one
 *   replica only.
 * - `RedisLock`: one lock per key across every replica sharing a Redis (`<REDIS_KEY_PREFIX>lock:<key>`).
 *   `SET key token NX PX ttl`; the
 *   owner renews it every ttl/3 while its task runs and releases it with a compare-and-delete script,
 *   so no one else's lock is ever deleted. Waiters retry with exponential backoff and full jitter (the
 *   longest waiting one woken early when a task of this process releases the key) and give up after
 *   `waitMs` with `UPSTREAM_UNAVAILABLE` + `retryAfter`, their task never run.
 *
 * The lease: Partner Center has no ETag (UPSTREAM.md §1.3), so a write cannot be fenced; instead the task
 * asks `lease.assertHeld()` before each write try, which throws once the lock can no longer be proven
 * ours: a renewal failed or found another owner, the Redis connection dropped (a restarted Redis without
 * persistence has forgotten the key), or the last confirmed expiry (minus a margin) has passed, as after
 * a long process pause. The remaining risk is a pause between that check and the request reaching
 * Partner Center that outlasts the ttl; the ttl (a few seconds) and the renewal keep that window small.
 */
import { randomBytes } from 'node:crypto';
import { SharedStateUnavailableError } from '../errors.js';
import { KeyedSerializer } from './keyed-serializer.js';
import { describeRedisError, luaScript, type RedisConnection } from './redis-client.js';

/** Proof of holding a lock while its task runs. */
export interface Lease {
  /** Throws `SharedStateUnavailableError` when the lock can no longer be proven held: call before each write try. */
  assertHeld(): void;
}

/** One lock per key. */
export interface KeyedLock {
  /**
   * Runs `task` while holding `key`'s lock, and releases it after. Rejects with
   * `SharedStateUnavailableError`, without running `task`, when the lock cannot be had.
   */
  withLock<T>(key: string, task: (lease: Lease) => Promise<T>): Promise<T>;
}

const ALWAYS_HELD: Lease = { assertHeld() {} };

/** Today's single-process semantics: per-key FIFO, no time limit. */
export class InProcessLock implements KeyedLock {
  readonly #serializer = new KeyedSerializer();

  withLock<T>(key: string, task: (lease: Lease) => Promise<T>): Promise<T> {
    return this.#serializer.run(key, () => task(ALWAYS_HELD));
  }

  /** Keys with a task queued or running (tests). */
  get size(): number {
    return this.#serializer.size;
  }
}

/** Renews the lock only while `token` still owns it. */
const RENEW = luaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`);
/** Deletes the lock only while `token` still owns it: never someone else's. */
const RELEASE = luaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

/** Options of `RedisLock`. */
export interface RedisLockOptions {
  readonly connection: RedisConnection;
  /** What the lock protects, for messages ("the support-profile lock"). */
  readonly name: string;
  /** Longest wait for the lock before giving up (`UPSTREAM_DEADLINE_MS`). */
  readonly waitMs: number;
  /** Lock expiry without renewal; kept below `waitMs`. @default waitMs / 3, between 1 s and 10 s */
  readonly ttlMs?: number;
  /** Renewal interval. @default ttlMs / 3 */
  readonly renewEveryMs?: number;
  /** First backoff step of a waiter; doubles per try, with full jitter. @default 10 */
  readonly retryBaseMs?: number;
  /** Largest backoff step of a waiter. @default 100 */
  readonly retryMaxMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** A lock shared by every replica on one Redis. */
export class RedisLock implements KeyedLock {
  readonly #redis: RedisConnection;
  readonly #name: string;
  readonly #waitMs: number;
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  /** Waiters of this process per key, woken when a task of this process releases the key. */
  readonly #wakers = new Map<string, Set<() => void>>();
  /** Leases held by this process, lost at once when the connection drops. */
  readonly #held = new Set<{ lose(reason: string): void }>();

  constructor(options: RedisLockOptions) {
    this.#redis = options.connection;
    this.#name = options.name;
    this.#waitMs = Math.max(0, options.waitMs);
    this.#ttlMs = Math.max(100, Math.round(options.ttlMs ?? Math.min(10_000, Math.max(1000, options.waitMs / 3))));
    this.#renewEveryMs = Math.max(10, Math.round(options.renewEveryMs ?? this.#ttlMs / 3));
    this.#baseMs = options.retryBaseMs ?? 10;
    this.#maxMs = options.retryMaxMs ?? 100;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#redis.onConnectionLost(() => {
      for (const lease of this.#held) lease.lose('the connection to Redis dropped');
    });
  }

  /** The lock's ttl in ms (README, tests). */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  async withLock<T>(key: string, task: (lease: Lease) => Promise<T>): Promise<T> {
    const redisKey = this.#redis.key('lock', key);
    const token = randomBytes(16).toString('hex');
    let validUntil = await this.#acquire(redisKey, key, token);

    const margin = Math.min(500, this.#ttlMs / 10);
    let lost: string | undefined;
    const holder = {
      lose: (reason: string) => {
        lost ??= reason;
      },
    };
    this.#held.add(holder);
    let renewing = false;
    const timer = setInterval(() => {
      if (renewing || lost) return;
      renewing = true;
      const sentAt = this.#now();
      this.#redis
        .script(RENEW, [redisKey], [token, String(this.#ttlMs)])
        .then(
          (reply) => {
            if (reply === 1) validUntil = sentAt + this.#ttlMs;
            else holder.lose('it expired or was taken over');
          },
          (error: unknown) => holder.lose(`its renewal failed (${describeRedisError(error)})`),
        )
        .finally(() => (renewing = false));
    }, this.#renewEveryMs);
    timer.unref();

    const lease: Lease = {
      assertHeld: () => {
        const reason = lost ?? (this.#now() >= validUntil - margin ? 'it expired before it could be renewed' : undefined);
        if (reason) throw new SharedStateUnavailableError(`Lost ${this.#name} (${reason}): the write was abandoned`, 1);
      },
    };
    try {
      return await task(lease);
    } finally {
      clearInterval(timer);
      this.#held.delete(holder);
      await this.#release(redisKey, token);
      // The longest waiting task of this process tries at once; waking all would only make them race.
      const next = this.#wakers.get(key)?.values().next();
      if (next && !next.done) next.value();
    }
  }

  /** Takes the lock or throws; resolves to the time (local clock) until which it is surely held. */
  async #acquire(redisKey: string, key: string, token: string): Promise<number> {
    const giveUpAt = this.#now() + this.#waitMs;
    for (let attempt = 0; ; attempt++) {
      const sentAt = this.#now();
      let reply: unknown;
      try {
        reply = await this.#redis.command(['SET', redisKey, token, 'NX', 'PX', String(this.#ttlMs)]);
      } catch (error) {
        // A timed-out SET may still have landed: delete it by token, so no orphan waits out its ttl.
        void this.#release(redisKey, token);
        this.#redis.warn('lock', error, `${this.#name}: Redis unreachable, write refused`);
        throw new SharedStateUnavailableError(`${capitalize(this.#name)} store (Redis) is unreachable: nothing was written`, 1);
      }
      if (reply === 'OK') return sentAt + this.#ttlMs;
      const remaining = giveUpAt - this.#now();
      if (remaining <= 0) throw new SharedStateUnavailableError(`${capitalize(this.#name)} stayed busy: nothing was written`, await this.#retryAfter(redisKey));
      const step = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(attempt, 20));
      await this.#sleep(key, Math.min(remaining, Math.max(1, this.#random() * step)));
    }
  }

  /** Seconds until the current holder's lock expires (at least 1): the `retryAfter` of a refused waiter. */
  async #retryAfter(redisKey: string): Promise<number> {
    try {
      const pttl = await this.#redis.command(['PTTL', redisKey]);
      return typeof pttl === 'number' && pttl > 0 ? Math.max(1, Math.ceil(pttl / 1000)) : 1;
    } catch {
      return 1;
    }
  }

  async #release(redisKey: string, token: string): Promise<void> {
    try {
      await this.#redis.script(RELEASE, [redisKey], [token]);
    } catch (error) {
      this.#redis.warn('lock-release', error, `${this.#name}: release failed; the lock expires by itself`);
    }
  }

  /** Waits `ms`, or less when a task of this process releases `key`. */
  #sleep(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let wakers = this.#wakers.get(key);
      if (!wakers) this.#wakers.set(key, (wakers = new Set()));
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        if (wakers.size === 0 && this.#wakers.get(key) === wakers) this.#wakers.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
