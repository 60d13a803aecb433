/**
 * The APQ registry in Redis: Apollo's `KeyValueCache` over the process's one Redis connection (no second
 * client, with its own queue and timeout policy, as `@keyv/redis` would bring). Apollo prefixes the keys
 * it asks for with `apq:`; the connection adds `REDIS_KEY_PREFIX`, so keys read `partner-bff:apq:<sha256>`. Every entry
 * has a TTL, so the registry cannot grow without bound.
 *
 * Redis unreachable or slow: a lookup answers "unknown", so Apollo answers `PERSISTED_QUERY_NOT_FOUND` and
 * the client resends the full document, which still runs; a registration is dropped. Both log a warning.
 * In-process default: Apollo Server's own bounded in-memory cache (no adapter needed).
 */
import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { RedisConnection } from './redis-client.js';

/** Options of `RedisKeyValueCache`. */
export interface RedisKeyValueCacheOptions {
  readonly connection: RedisConnection;
  /** TTL (seconds) when Apollo sets none. @default 86400 */
  readonly defaultTtlSeconds?: number;
}

/** Apollo's `KeyValueCache` in Redis, failing soft. */
export class RedisKeyValueCache implements KeyValueCache<string> {
  readonly #redis: RedisConnection;
  readonly #ttl: number;

  constructor(options: RedisKeyValueCacheOptions) {
    this.#redis = options.connection;
    this.#ttl = Math.max(1, Math.round(options.defaultTtlSeconds ?? 86_400));
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const value = await this.#redis.command(['GET', this.#redis.key(key)]);
      return typeof value === 'string' ? value : undefined;
    } catch (error) {
      this.#redis.warn('apq', error, 'persisted queries: Redis unreachable, lookups answer PERSISTED_QUERY_NOT_FOUND');
      return undefined;
    }
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    // Apollo's `ttl: null` means "no expiry"; the registry still gets one, so it stays bounded.
    const ttl = options?.ttl ? Math.max(1, Math.round(options.ttl)) : this.#ttl;
    try {
      await this.#redis.command(['SET', this.#redis.key(key), value, 'EX', String(ttl)]);
    } catch (error) {
      this.#redis.warn('apq', error, 'persisted queries: Redis unreachable, registration dropped');
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.#redis.command(['DEL', this.#redis.key(key)])) === 1;
    } catch (error) {
      this.#redis.warn('apq', error, 'persisted queries: Redis unreachable, delete dropped');
      return false;
    }
  }
}
