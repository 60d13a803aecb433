/**
 * The read-through layer between the upstream clients and the transport (README, Response cache and
 * coalescing). The clients send their GETs through `read` and their writes through `write`; anything
 * else (Graph's `$batch` POST) goes to the transport directly. Pure REST: no GraphQL here.
 *
 * Coalescing (`coalesce`, on by default): a GET of a caller that is already in flight for the same
 * caller (`UpstreamCaller.principalKey`), upstream token, URL and paging headers is not sent again; the
 * later request waits for the call in flight and gets its answer, or its error carrying the later
 * request's own correlation id. The shared call goes out as the first request made it (its correlation
 * id), without any request's own earlier deadline: every request waits with its own deadline, and one
 * giving up (its deadline, or its client leaving) never ends the call for the others.
 *
 * Response cache (`cache`, off by default): a successful GET answer is kept per caller, for the TTL, and
 * served to that caller's later identical GETs while the invalidation version of its scopes is unchanged
 * (state/cache-generations.ts). The scopes are what a write changes, named by the clients (support
 * profile, one customer user, a customer's user pages...), within the caller's partner tenant: so a
 * write by any caller of the tenant outdates every caller's entries. When the version cannot be read
 * (Redis unreachable), the cache is bypassed: nothing is served from it and nothing stored.
 *
 * Writes are never coalesced or cached. Each outdates its scopes before it is sent (when that cannot be
 * recorded the write is refused, unsent: another replica could otherwise keep serving what it changes)
 * and again once it has ended, whatever its outcome, before its answer is returned; a write that got no
 * answer (its outcome unknown: the upstream may still apply a try it never answered) outdates them once
 * more a try's timeout later. A write also stops later reads of its tenant from joining a call that was
 * in flight before it.
 *
 * `fresh` reads (the read of a read-merge-PUT, the re-read after a write) must see every write that
 * finished before them: they go straight to the transport, never served from the cache nor joining a
 * call in flight.
 */
import { SharedStateUnavailableError, UpstreamError } from '../errors.js';
import type { UpstreamService } from '../errors.js';
import type { CacheGenerations } from '../state/cache-generations.js';
import { ResponseCache, type CachedAnswer } from './response-cache.js';
import type { UpstreamLogger, UpstreamRequest, UpstreamResponse, UpstreamTransport } from './transport.js';

/** What a cache lookup found: `bypass` when the cache could not be used (Redis unreachable, a fresh read). */
export type CacheLookupResult = 'hit' | 'miss' | 'bypass';

/** Observes the read-through layer (metrics, tracing); cheap, never throws. */
export interface ReadThroughObserver {
  /** A read joined a call already in flight (`gateway_upstream_coalesced_total`). */
  onCoalesced(service: UpstreamService): void;
  /** One cache lookup of a read (`gateway_response_cache_requests_total`; a hit marks the active span). */
  onCacheLookup(service: UpstreamService, result: CacheLookupResult): void;
}

/** Options of one read. */
export interface ReadOptions {
  /**
   * The scopes the answer depends on (what outdates it when written), relative to the caller's partner
   * tenant: built by the client, e.g. `partner-center/support-profile`.
   */
  readonly scopes: readonly string[];
  /** Must see every write that finished before it: never from the cache, never joining a call in flight. @default false */
  readonly fresh?: boolean;
}

/** The layer the clients call. */
export interface UpstreamReads {
  /** A GET, coalesced and cached as configured. */
  read<T>(req: UpstreamRequest, options: ReadOptions): Promise<UpstreamResponse<T>>;
  /** A write that changes `scopes` (relative to the caller's tenant, as in `ReadOptions`). */
  write<T>(req: UpstreamRequest, scopes: readonly string[]): Promise<UpstreamResponse<T>>;
  /** Bytes held by the response cache (`gateway_response_cache_bytes`); 0 when it is off. */
  cacheBytes(): number;
  /** Cancels the pending delayed invalidations (shutdown). */
  close(): void;
}

/** Options of `createUpstreamReads`. */
export interface UpstreamReadsOptions {
  readonly transport: UpstreamTransport;
  /** Share identical GETs in flight (`UPSTREAM_COALESCE`). @default true */
  readonly coalesce?: boolean;
  /** The response cache; off when undefined (`RESPONSE_CACHE_TTL_MS=0`). */
  readonly cache?: {
    /** `RESPONSE_CACHE_TTL_MS`. */
    readonly ttlMs: number;
    /** `RESPONSE_CACHE_MAX_BYTES`. @default 67108864 */
    readonly maxBytes?: number;
    /** Where the generations live (Redis with `REDIS_URL`). */
    readonly generations: CacheGenerations;
    /** The cache's clock (tests). @default performance.now */
    readonly now?: () => number;
  };
  readonly observer?: ReadThroughObserver;
  readonly logger?: UpstreamLogger;
  /** How long a failed post-write invalidation is retried, every second, before it is given up on (logged). @default 60000 */
  readonly invalidationRetryMs?: number;
}

/** A call in flight that later identical reads may join. */
interface InFlight {
  readonly promise: Promise<UpstreamResponse<unknown>>;
  /** The write sequence when it was sent: a later write of the tenant closes it to newcomers. */
  readonly sequence: number;
  /** When the shared call's own deadline ends (`now()` of the transport's policy). */
  readonly deadlineAt: number;
  /** The correlation id it was sent with (for the joiners' log lines). */
  readonly correlationId: string;
}

/** Most tenants whose last write sequence is remembered (beyond, the oldest are folded into a floor). */
const MAX_TRACKED_TENANTS = 10_000;

/** Builds the read-through layer over the transport. Create ONE per process. */
export function createUpstreamReads(options: UpstreamReadsOptions): UpstreamReads {
  const { transport, observer, logger } = options;
  const coalesce = options.coalesce ?? true;
  const policy = transport.policy;
  const cacheOptions = options.cache;
  const cache = cacheOptions ? new ResponseCache({ ttlMs: cacheOptions.ttlMs, maxBytes: cacheOptions.maxBytes, now: cacheOptions.now }) : undefined;
  const generations = cacheOptions?.generations;
  const retryInvalidationMs = options.invalidationRetryMs ?? 60_000;

  /**
   * Calls in flight by upstream token, then by request key and version. The token is the outer key, as
   * it is: the token cache hands out the same string each time, whose hash V8 keeps, so no long key is
   * built and hashed per read.
   */
  const inFlight = new Map<string, Map<string, InFlight>>();
  /** Incremented as each write starts and ends. */
  let sequence = 0;
  /** The sequence of each tenant's last write start or end; tenants forgotten read as `floor`. */
  const lastWrite = new Map<string, number>();
  let floor = 0;
  const timers = new Set<NodeJS.Timeout>();

  const noteWrite = (tenantId: string): void => {
    lastWrite.delete(tenantId);
    lastWrite.set(tenantId, ++sequence);
    if (lastWrite.size > MAX_TRACKED_TENANTS) {
      const [oldest, seq] = lastWrite.entries().next().value as [string, number];
      lastWrite.delete(oldest);
      floor = Math.max(floor, seq);
    }
  };
  const writtenSince = (tenantId: string, since: number): boolean => (lastWrite.get(tenantId) ?? floor) > since;

  const later = (ms: number, task: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      task();
    }, ms);
    timer.unref();
    timers.add(timer);
  };

  /** Bumps `scopes`; on failure, retried every second for `invalidationRetryMs` (a warning is logged by the store). */
  const bumpSoon = (scopes: readonly string[], until = policy.now() + retryInvalidationMs): Promise<void> =>
    generations!.bump(scopes).catch(() => {
      if (policy.now() < until) later(1000, () => void bumpSoon(scopes, until));
      else logger?.warn({ scopes: scopes.length }, 'response cache: an invalidation was given up on after retries');
    });

  const tenantScopes = (tenantId: string, scopes: readonly string[]): string[] => scopes.map((s) => `${tenantId}|${s}`);

  function fromCache(entry: CachedAnswer): UpstreamResponse<unknown> {
    return { status: entry.status, headers: {}, body: entry.text === '' ? undefined : JSON.parse(entry.text), requestId: entry.requestId, tries: 0 };
  }

  /** Waits for a shared call within the waiter's own deadline; a joiner's errors carry its own correlation id. */
  async function waitFor(shared: InFlight, req: UpstreamRequest, started: number, joined: boolean): Promise<UpstreamResponse<unknown>> {
    const { correlationId } = req.caller;
    const own = Math.min(started + policy.deadlineMs, req.deadlineAt ?? Number.POSITIVE_INFINITY);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (own >= shared.deadlineAt) return await shared.promise;
      // This request must end before the shared call's own deadline: it stops waiting then, the call goes on.
      const { service, name } = req.upstream;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new UpstreamError({ service, serviceName: name, status: 0, message: `${name} call exceeded its deadline`, correlationId })),
          Math.max(0, own - policy.now()),
        );
      });
      return await Promise.race([shared.promise, expired]);
    } catch (error) {
      throw joined && error instanceof UpstreamError ? error.withCorrelationId(correlationId) : error;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async read<T>(req: UpstreamRequest, { scopes, fresh = false }: ReadOptions): Promise<UpstreamResponse<T>> {
      const { caller } = req;
      const service = req.upstream.service;
      if (fresh) {
        if (cache) observer?.onCacheLookup(service, 'bypass');
        return transport.request<T>(req);
      }
      const { principalKey, tenantId } = caller;
      if ((!coalesce && !cache) || principalKey === undefined || tenantId === undefined) return transport.request<T>(req);

      const started = policy.now();
      const token = await caller.getToken(service);
      const requestKey = `${principalKey}\n${service}\n${req.url}${headerText(req.headers)}`;

      let version: string | undefined;
      if (cache) {
        try {
          version = await generations!.version(tenantScopes(tenantId, scopes));
        } catch {
          version = undefined;
        }
        if (version === undefined) observer?.onCacheLookup(service, 'bypass');
        else {
          const entry = cache.get(requestKey);
          if (entry?.version === version) {
            observer?.onCacheLookup(service, 'hit');
            caller.onCacheHit?.();
            logger?.debug({ service, method: req.method, path: pathOf(req.url), correlationId: caller.correlationId }, 'upstream answer from the response cache');
            return fromCache(entry) as UpstreamResponse<T>;
          }
          if (entry) cache.delete(requestKey);
          observer?.onCacheLookup(service, 'miss');
        }
      }

      const send = (): Promise<UpstreamResponse<unknown>> => {
        // The token read above, so the call is the one its key names; no request's own earlier deadline.
        const shared: UpstreamRequest = { ...req, caller: { ...caller, getToken: () => Promise.resolve(token) }, deadlineAt: undefined };
        const call = transport.request<unknown>(shared);
        if (!cache || version === undefined) return call;
        const storedVersion = version;
        return call.then((res) => {
          cache.set(requestKey, { status: res.status, requestId: res.requestId, text: res.body === undefined ? '' : JSON.stringify(res.body), version: storedVersion });
          return res;
        });
      };

      if (!coalesce) {
        const deadlineAt = started + policy.deadlineMs;
        return (await waitFor({ promise: send(), sequence, deadlineAt, correlationId: caller.correlationId }, req, started, false)) as UpstreamResponse<T>;
      }

      // The token is part of the key: a call is shared only by requests that would have sent it alike.
      const flightKey = version === undefined ? requestKey : `${requestKey}\n${version}`;
      let calls = inFlight.get(token);
      const current = calls?.get(flightKey);
      if (current && !writtenSince(tenantId, current.sequence)) {
        observer?.onCoalesced(service);
        logger?.debug(
          { service, method: req.method, path: pathOf(req.url), correlationId: caller.correlationId, sharedCorrelationId: current.correlationId },
          'upstream call coalesced',
        );
        return (await waitFor(current, req, started, true)) as UpstreamResponse<T>;
      }
      const entry: InFlight = { promise: send(), sequence, deadlineAt: started + policy.deadlineMs, correlationId: caller.correlationId };
      if (!calls) inFlight.set(token, (calls = new Map()));
      calls.set(flightKey, entry);
      const ofToken = calls;
      // Forgotten once settled, unless a newer call (after a write) took the key meanwhile.
      const forget = (): void => {
        if (ofToken.get(flightKey) !== entry) return;
        ofToken.delete(flightKey);
        if (ofToken.size === 0 && inFlight.get(token) === ofToken) inFlight.delete(token);
      };
      entry.promise.then(forget, forget);
      return (await waitFor(entry, req, started, false)) as UpstreamResponse<T>;
    },

    async write<T>(req: UpstreamRequest, scopes: readonly string[]): Promise<UpstreamResponse<T>> {
      const { tenantId } = req.caller;
      if (tenantId === undefined) return transport.request<T>(req);
      noteWrite(tenantId);
      const changed = generations ? tenantScopes(tenantId, scopes) : undefined;
      if (changed) {
        try {
          await generations!.bump(changed);
        } catch {
          throw new SharedStateUnavailableError('The response cache invalidation store (Redis) is unreachable: nothing was written', 1);
        }
      }
      try {
        return await transport.request<T>(req);
      } catch (error) {
        // No answer: a try may still be applied up to its timeout after it was sent.
        if (changed && error instanceof UpstreamError && error.status === 0) later(policy.timeoutMs, () => void bumpSoon(changed));
        throw error;
      } finally {
        noteWrite(tenantId);
        if (changed) await bumpSoon(changed);
      }
    },

    cacheBytes: () => cache?.bytes ?? 0,

    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** The paging headers of a request, canonical (names lower-case, sorted), for its key. */
function headerText(headers: Readonly<Record<string, string>> | undefined): string {
  if (!headers) return '';
  const names = Object.keys(headers);
  if (names.length === 0) return '';
  return names
    .map((name) => `\n${name.toLowerCase()}:${headers[name]}`)
    .sort()
    .join('');
}

/** The path of a URL for log lines (its query may carry continuation tokens). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}
