/**
 * What keeps the response cache (upstream/read-through.ts) honest: one *generation* per scope (a
 * partner tenant's support profile, one customer user, that customer's user pages, one external user
 * profile, the profile pages). Every write through the gateway gives the scopes it changes a new
 * generation (`bump`), before it is sent and again once it has ended; every cached answer records the
 * `version` of its scopes read BEFORE its call was sent, and is served only while that version is still
 * the current one. Nothing is pushed to replicas, so nothing can be missed: each use of an entry reads
 * the truth.
 *
 * `InProcessCacheGenerations` serves one replica; `RedisCacheGenerations` keeps the generations in Redis,
 * so a write on one replica outdates the entries of every replica (keys only, never an answer: no
 * personal data goes to Redis).
 *
 * Why generations may be forgotten after `retainMs`: a scope nobody wrote reads as generation "none". An
 * entry stored with "none" before a write is served until its TTL ends, at the latest the TTL plus one
 * call's deadline after the write's version read; a forgotten generation reads "none" again, so
 * `retainMs` must be longer than that (read-through.ts passes TTL + deadline + a minute).
 */
import { createHash, randomUUID } from 'node:crypto';
import { luaScript, type RedisConnection } from './redis-client.js';

/** The generations of the cache's scopes. Scopes are strings the caller builds (tenant included). */
export interface CacheGenerations {
  /** Where they live: `redis` is shared by every replica. */
  readonly kind: 'in-process' | 'redis';
  /**
   * The current version of `scopes`: an opaque string that stays equal while none of them is bumped.
   * Rejects when it cannot be known (Redis unreachable): the cache must then be bypassed.
   */
  version(scopes: readonly string[]): Promise<string>;
  /** Gives each of `scopes` a new generation; rejects when that could not be recorded. */
  bump(scopes: readonly string[]): Promise<void>;
}

/** Options of `InProcessCacheGenerations`. */
export interface InProcessCacheGenerationsOptions {
  /** How long a generation is remembered after its last bump (see the module comment). */
  readonly retainMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Generations in this process (one replica). */
export class InProcessCacheGenerations implements CacheGenerations {
  readonly kind = 'in-process';
  readonly #generations = new Map<string, { readonly generation: number; readonly until: number }>();
  readonly #retainMs: number;
  readonly #now: () => number;
  /** Never reused within the process, so a version can never come back. */
  #counter = 0;
  #nextSweepAt = 0;

  constructor(options: InProcessCacheGenerationsOptions) {
    this.#retainMs = Math.max(1, options.retainMs);
    this.#now = options.now ?? Date.now;
  }

  async version(scopes: readonly string[]): Promise<string> {
    const now = this.#now();
    let out = '';
    for (const scope of scopes) {
      const known = this.#generations.get(scope);
      out += known && known.until > now ? `${known.generation};` : '0;';
    }
    return out;
  }

  async bump(scopes: readonly string[]): Promise<void> {
    const now = this.#now();
    const until = now + this.#retainMs;
    for (const scope of scopes) {
      // Re-inserted, so the Map's order is the order of last bumps and the sweep can stop early.
      this.#generations.delete(scope);
      this.#generations.set(scope, { generation: ++this.#counter, until });
    }
    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + 1000;
      for (const [scope, known] of this.#generations) {
        if (known.until > now) break;
        this.#generations.delete(scope);
      }
    }
  }

  /** Generations remembered (tests). */
  get size(): number {
    return this.#generations.size;
  }
}

/**
 * Reads the epoch and the generations of KEYS[2..] in one round trip. The epoch is a random value kept
 * without expiry: when it is missing (Redis restarted empty, or was flushed), every generation may have
 * been lost with it, so a new epoch is set and every entry recorded under the old one is out of date.
 * ARGV[1]: a fresh random epoch, used only when none is set. Missing generations read as ''.
 */
const READ = luaScript(`
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
local out = { epoch }
for i = 2, #KEYS do
  out[i] = redis.call('GET', KEYS[i]) or ''
end
return out
`);

/** Sets every KEYS[i] to ARGV[1] (a fresh random value) for ARGV[2] ms. */
const BUMP = luaScript(`
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return #KEYS
`);

/** Options of `RedisCacheGenerations`. */
export interface RedisCacheGenerationsOptions {
  readonly connection: RedisConnection;
  /** How long a generation is kept after its last bump (see the module comment). */
  readonly retainMs: number;
}

/**
 * Generations in Redis, shared by every replica. Keys (named by the connection, `REDIS_KEY_PREFIX` first):
 * `<prefix>cache:epoch`, and `<prefix>cache:gen:<hash>` per scope (a SHA-256 of the scope, so no id is stored and every key has
 * the same length). Redis must not evict keys on its own (`maxmemory-policy noeviction`, its default):
 * an evicted generation would read as "none" too early.
 */
export class RedisCacheGenerations implements CacheGenerations {
  readonly kind = 'redis';
  readonly #redis: RedisConnection;
  readonly #retainMs: string;
  readonly #epochKey: string;

  constructor(options: RedisCacheGenerationsOptions) {
    this.#redis = options.connection;
    this.#retainMs = String(Math.max(1, Math.ceil(options.retainMs)));
    this.#epochKey = this.#redis.key('cache', 'epoch');
  }

  async version(scopes: readonly string[]): Promise<string> {
    try {
      const reply = await this.#redis.script(READ, [this.#epochKey, ...scopes.map((s) => this.#key(s))], [randomUUID()]);
      if (!Array.isArray(reply) || reply.length !== scopes.length + 1) throw new Error('unexpected reply to the cache version script');
      return reply.join(';');
    } catch (error) {
      this.#redis.warn('response-cache', error, 'response cache: Redis unreachable, the cache is bypassed');
      throw error;
    }
  }

  async bump(scopes: readonly string[]): Promise<void> {
    try {
      await this.#redis.script(BUMP, scopes.map((s) => this.#key(s)), [randomUUID(), this.#retainMs]);
    } catch (error) {
      this.#redis.warn('response-cache-invalidation', error, 'response cache: Redis unreachable, an invalidation could not be recorded');
      throw error;
    }
  }

  #key(scope: string): string {
    return this.#redis.key('cache', 'gen', createHash('sha256').update(scope).digest('base64url').slice(0, 22));
  }
}
