/**
 * Locks around read-merge-write sequences (the support profile is PUT-only, so two concurrent partial
 * updates of one partner must not interleave: README, Running several replicas).
 *
 * - `InProcessLock`: one process, FIFO per key, never gives up (the `KeyedSerializer`). Safe on one
 *   replica only.
 * - `RedisLock`: one lock per key across every replica sharing a Redis (`<REDIS_KEY_PREFIX>lock:<key>`).
 *   `SET key token NX PX ttl`; the owner renews it every ttl/3 while its task runs and releases it with a
 *   compare-and-delete script, so no one else's lock is ever deleted. Waiters retry with exponential backoff and full jitter (the
 *   longest waiting one woken early when a task of this process releases the key) and give up after
 *   `waitMs` with `UPSTREAM_UNAVAILABLE` + `retryAfter`, their task never run.
 *
 * The lease: Partner Center has no ETag (docs/upstream.md §1.3), so a write cannot be fenced. Instead:
 * - before each write try the task calls `lease.beforeWrite(tryTimeoutMs)`, which throws once the lock can
 *   no longer be proven ours (a renewal failed or found another owner, the Redis connection dropped: a
 *   restarted Redis without persistence has forgotten the key, or the last confirmed expiry minus a
 *   margin has passed, as after a long process pause) and otherwise records the try, before it is sent,
 *   in a Redis key of its own (`<prefix>lock-try:<key>:<token>:<n>`, listed in `<prefix>lock-tries:<key>`)
 *   that expires with the try's timeout (plus `recordMarginMs`, the time from recording to sending). The
 *   record is made by a script that checks the lock is still ours, and lives in a key of its own because
 *   the lock's value expires with the lock.
 * - a task that ended well deletes its records when it releases the lock (its tries are answered); a
 *   task that failed deletes those of tries answered with a success or a refusal (`settles`), and leaves
 *   the others to expire (a try that got no answer, or a 5xx, may still be applied).
 * - whoever takes the lock then first waits until every record still listed has expired (a previous owner
 *   that died or stalled with a PUT in flight), within its own `waitMs`; if that is too long it gives
 *   up with `UPSTREAM_UNAVAILABLE` + `retryAfter` and its task is never run.
 * So an acknowledged write is never overwritten by a dead owner's PUT that Partner Center applies within
 * that try's timeout of its sending. The window left is a PUT applied later than that (an upstream that
 * holds a request longer than the gateway waits for it), or a pause between recording a try and sending
 * it that outlasts `recordMarginMs`.
 */
import { randomBytes } from 'node:crypto';
import { SharedStateUnavailableError } from '../errors.js';
import { KeyedSerializer } from './keyed-serializer.js';
import { describeRedisError, luaScript, type RedisConnection, type StateLogger } from './redis-client.js';

/** Proof of holding a lock while its task runs. */
export interface Lease {
  /** Throws `SharedStateUnavailableError` when the lock can no longer be proven held. */
  assertHeld(): void;
  /**
   * Call before each write try, with that try's timeout: checks the lease (as `assertHeld`) and records
   * the try where a later owner of the lock will see it, until the try has timed out. Throws or rejects
   * with `SharedStateUnavailableError` when the try must not be sent. May give back a function to call
   * with the try's HTTP status once it is over (0: no answer).
   */
  beforeWrite(tryTimeoutMs: number): void | WriteTryEnd | Promise<void | WriteTryEnd>;
}

/** Told the HTTP status a recorded write try ended with (0: no answer). */
export type WriteTryEnd = (status: number) => void;

/**
 * Whether an answer with this status shows the upstream is done with the request: a success, or a
 * refusal (4xx) other than its own timeout (408). Anything else (no answer, 408, 5xx, which a proxy in
 * front of the upstream may send while the write still runs) may still be applied.
 */
function settles(status: number): boolean {
  return (status >= 200 && status < 300) || (status >= 400 && status < 500 && status !== 408);
}

/** One lock per key. */
export interface KeyedLock {
  /**
   * Runs `task` while holding `key`'s lock, and releases it after. Rejects with
   * `SharedStateUnavailableError`, without running `task`, when the lock cannot be had.
   */
  withLock<T>(key: string, task: (lease: Lease) => Promise<T>): Promise<T>;
}

const ALWAYS_HELD: Lease = { assertHeld() {}, beforeWrite() {} };

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
/**
 * Deletes the lock only while `token` still owns it: never someone else's. KEYS[3..] are write-try records
 * of this owner to drop (from KEYS[2], the key's list of records) whoever holds the lock now: their tries
 * were all answered.
 */
const RELEASE = luaScript(`
for i = 3, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('SREM', KEYS[2], KEYS[i])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
/**
 * Records a write try while `token` still owns the lock: KEYS[3] (the record) expires in ARGV[2] ms and
 * is listed in KEYS[2], which lives at least as long. Returns 0, recording nothing, when the lock is not ours.
 */
const RECORD_TRY = luaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`);
/**
 * The longest time (ms) any record KEYS[2..] listed in KEYS[1] has left, dropping the expired ones from
 * the list; 0 when none is left. PTTL answers 0 for a key with less than 1 ms to live, which still exists:
 * it counts as 1 ms, so a taker never starts while a record is there.
 */
const PENDING_TRIES = luaScript(`
local longest = 0
for i = 2, #KEYS do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    redis.call('SREM', KEYS[1], KEYS[i])
  else
    if ttl == 0 then ttl = 1 end
    if ttl > longest then longest = ttl end
  end
end
return longest
`);

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
  /**
   * Added to a write try's timeout for its record's expiry: the time between recording the try and
   * sending it (the record's own round trip, at most the Redis command timeout). @default 1000
   */
  readonly recordMarginMs?: number;
  /** Told (info) when a lock is taken over from an owner that left write tries in flight. @default none */
  readonly logger?: StateLogger;
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
  readonly #recordMarginMs: number;
  readonly #logger: StateLogger | undefined;
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
    this.#recordMarginMs = Math.max(0, Math.round(options.recordMarginMs ?? 1000));
    this.#logger = options.logger;
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
    const triesKey = this.#redis.key('lock-tries', key);
    const token = randomBytes(16).toString('hex');
    const giveUpAt = this.#now() + this.#waitMs;
    let validUntil = await this.#acquire(redisKey, triesKey, key, token, giveUpAt);

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

    /** This owner's write-try records, in the order made; `settled` once the try got an answer that ends it. */
    const records: Array<{ readonly key: string; settled: boolean }> = [];
    const assertHeld = (): void => {
      const reason = lost ?? (this.#now() >= validUntil - margin ? 'it expired before it could be renewed' : undefined);
      if (reason) throw new SharedStateUnavailableError(`Lost ${this.#name} (${reason}): the write was abandoned`, 1);
    };
    const lease: Lease = {
      assertHeld,
      beforeWrite: async (tryTimeoutMs) => {
        assertHeld();
        const record = this.#redis.key('lock-try', key, token, String(records.length + 1));
        let reply: unknown;
        try {
          reply = await this.#redis.script(RECORD_TRY, [redisKey, triesKey, record], [token, String(Math.ceil(tryTimeoutMs) + this.#recordMarginMs)]);
        } catch (error) {
          holder.lose(`recording a write try failed (${describeRedisError(error)})`);
          // A record that reached Redis all the same only makes a later owner wait: it is listed below.
        }
        const entry = { key: record, settled: false };
        records.push(entry);
        if (reply !== 1) holder.lose(lost ?? 'it expired or was taken over');
        assertHeld();
        return (status) => {
          if (settles(status)) entry.settled = true;
        };
      },
    };
    let succeeded = false;
    try {
      await this.#awaitEarlierTries(triesKey, giveUpAt, assertHeld);
      const result = await task(lease);
      succeeded = true;
      return result;
    } finally {
      clearInterval(timer);
      this.#held.delete(holder);
      // After a failure, the records of tries without an answer that ends them stay until they expire:
      // such a try may still be applied.
      await this.#release(redisKey, triesKey, token, records.filter((r) => succeeded || r.settled).map((r) => r.key));
      // The longest waiting task of this process tries at once; waking all would only make them race.
      const next = this.#wakers.get(key)?.values().next();
      if (next && !next.done) next.value();
    }
  }

  /**
   * Waits until every write-try record still listed for the key has expired: records left by an owner
   * that did not release the lock (it died or stalled with a PUT in flight, which Partner Center may still
   * apply). Gives up (`UPSTREAM_UNAVAILABLE` + `retryAfter`) when that is past `giveUpAt`.
   */
  async #awaitEarlierTries(triesKey: string, giveUpAt: number, assertHeld: () => void): Promise<void> {
    for (;;) {
      let pendingMs: number;
      try {
        const listed = await this.#redis.command(['SMEMBERS', triesKey]);
        const records = Array.isArray(listed) ? listed.filter((r): r is string => typeof r === 'string') : [];
        const reply = records.length ? await this.#redis.script(PENDING_TRIES, [triesKey, ...records], []) : 0;
        pendingMs = typeof reply === 'number' ? reply : 0;
      } catch (error) {
        this.#redis.warn('lock', error, `${this.#name}: Redis unreachable, write refused`);
        throw new SharedStateUnavailableError(`${capitalize(this.#name)} store (Redis) is unreachable: nothing was written`, 1);
      }
      if (pendingMs <= 0) return;
      const retryAfter = Math.max(1, Math.ceil(pendingMs / 1000));
      if (this.#now() + pendingMs > giveUpAt) {
        throw new SharedStateUnavailableError(
          `${capitalize(this.#name)} was left by an owner whose write may still be applied: nothing was written`,
          retryAfter,
        );
      }
      this.#logger?.info({ waitMs: pendingMs }, `${this.#name} taken over from an owner that did not release it: waiting for its write tries to time out`);
      await new Promise((resolve) => setTimeout(resolve, pendingMs));
      assertHeld();
    }
  }

  /** Takes the lock or throws; resolves to the time (local clock) until which it is surely held. */
  async #acquire(redisKey: string, triesKey: string, key: string, token: string, giveUpAt: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const sentAt = this.#now();
      let reply: unknown;
      try {
        reply = await this.#redis.command(['SET', redisKey, token, 'NX', 'PX', String(this.#ttlMs)]);
      } catch (error) {
        // A timed-out SET may still have landed: delete it by token, so no orphan waits out its ttl.
        void this.#release(redisKey, triesKey, token, []);
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

  async #release(redisKey: string, triesKey: string, token: string, records: readonly string[]): Promise<void> {
    try {
      await this.#redis.script(RELEASE, [redisKey, triesKey, ...records], [token]);
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
