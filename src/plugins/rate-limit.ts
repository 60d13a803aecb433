/**
 * Per-caller rate limiting (README, Hardening: `RATE_LIMIT_PER_MINUTE`, 600 a minute by default).
 *
 * A token bucket per caller: it holds at most `burst` tokens (= the per-minute rate), refills at
 * `perMinute / 60` tokens a second, and every GraphQL request takes one. A caller whose bucket is empty
 * is answered HTTP 429 with `Retry-After` and a `RATE_LIMITED` error carrying `extensions.retryAfter`,
 * before its document is parsed and with no upstream call.
 *
 * The caller is the verified principal (tenant + object id) when the request carries a valid token,
 * else the client address (Fastify's `request.ip`: behind a reverse proxy, that is the proxy unless
 * Fastify's `trustProxy` is set). Requests refused for a bad token still take from their address's
 * bucket, so a stream of invalid tokens is limited too.
 *
 * The buckets live behind `RateLimitStore` (src/state/rate-limit.ts), whose one method is `take(key, now)`.
 */
import type { GraphQLError } from 'graphql';
import { RateLimitedError, requestLevelError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import type { RateLimitStore } from '../state/rate-limit.js';

export type { RateLimitDecision, RateLimitStore } from '../state/rate-limit.js';

/** The bucket key of a caller: its tenant and object id when verified, else its address. */
export function rateLimitKey(principal: Pick<Principal, 'tenantId' | 'objectId'> | null, ip: string): string {
  return principal ? `principal:${principal.tenantId}:${principal.objectId}` : `ip:${ip}`;
}

/** The request-level error of a caller over its rate: HTTP 429, `Retry-After`, `RATE_LIMITED`. */
export function rateLimitedError(retryAfterMs: number): GraphQLError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const error = new RateLimitedError(`Too many requests: retry after ${retryAfter} s`, retryAfter);
  return requestLevelError(error, 429, { 'retry-after': String(retryAfter) });
}

export interface RateLimiterOptions {
  /** Where the buckets live. */
  readonly store: RateLimitStore;
  /** The clock (epoch ms). @default Date.now */
  readonly now?: () => number;
  /** Called for each request refused (metrics). @default none */
  readonly onLimited?: () => void;
}

export interface RateLimiter {
  /** Takes one request from `key`'s allowance; throws the 429 `rateLimitedError` when there is none. */
  check(key: string): Promise<void>;
}

/**
 * Wraps the Apollo context function so the rate limit is checked where the caller is first known,
 * before the document is even parsed. A request refused for its token still counts against its address.
 */
export function withRateLimit<Req extends { readonly ip: string }, Rep, C extends { readonly principal: Pick<Principal, 'tenantId' | 'objectId'> | null }>(
  buildContext: (request: Req, reply: Rep) => Promise<C>,
  limiter: RateLimiter,
): (request: Req, reply: Rep) => Promise<C> {
  return async (request, reply) => {
    let context: C;
    try {
      context = await buildContext(request, reply);
    } catch (error) {
      await limiter.check(rateLimitKey(null, request.ip));
      throw error;
    }
    await limiter.check(rateLimitKey(context.principal, request.ip));
    return context;
  };
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { store, now = Date.now, onLimited } = options;
  return {
    async check(key) {
      const decision = await store.take(key, now());
      if (!decision.allowed) {
        onLimited?.();
        throw rateLimitedError(decision.retryAfterMs);
      }
    },
  };
}
