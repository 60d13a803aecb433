/**
 * The upstream transport: the ONE got-based client through which the gateway talks to Partner Center and
 * Microsoft Graph (README, How it works), with a keep-alive pool of its own per service. No
 * other module imports got.
 *
 * One *logical call* (`transport.request`) is up to `1 + maxRetries` *tries*:
 * - each try has its own timeout (`timeoutMs`, got's `timeout.request`), shortened so that it never
 *   runs past the call's deadline; a try that times out counts as a connection failure;
 * - the whole call, token fetch, tries and waits included, never exceeds `deadlineMs`;
 * - 429/503/504 and connection failures are retried (see retry.ts), after the upstream's
 *   `Retry-After` or exponential backoff with full jitter; when `Retry-After` asks for more time than
 *   the deadline leaves, the call fails at once (RATE_LIMITED with `retryAfter` for a 429) instead of
 *   waiting for a try it could not make;
 * - got's own retry is disabled (`retry.limit = 0`): it knows nothing of our deadline.
 * - every method is retried, writes included: a Partner Center write keeps its `MS-RequestId`, so a
 *   retry after a lost answer is replayed, not re-applied (docs/upstream.md §1.3); a Graph PATCH is
 *   idempotent; `$batch` carries only GETs here.
 *
 * The transport is generic: what differs between upstreams (their headers, the header naming their own
 * request id, how their error bodies read, their name) comes with each call as the upstream's
 * `UpstreamProfile`, built once by its client module (partner-center.ts, graph.ts), as gh-got keeps one
 * configured instance per upstream. Every try carries `Authorization` (one token per logical call, from
 * the caller's token source), `Accept: application/json`, `User-Agent`, and the profile's headers for
 * that try (correlation id, request ids, try counters), and a W3C `traceparent`: the try's own span's
 * when an observer (tracing) gives one, else the caller's, forwarded unchanged. The observer (observer.ts)
 * is also told each try's status and each retry's reason; it is how metrics and tracing see the
 * transport without upstream/ importing either.
 *
 * Never logged: the `Authorization` header, request bodies (they may hold `passwordProfile`); error
 * bodies are logged truncated, with credentials and passwords redacted.
 */
import http from 'node:http';
import https from 'node:https';
import { got, RequestError } from 'got';
import type { Got, RequestFunction } from 'got';
import { requestWithDefinedOptions } from './native-request.js';
import { CircuitBreakers } from './circuit-breaker.js';
import type { CircuitBreakerOptions, CircuitCounts } from './circuit-breaker.js';
import { UpstreamError, sanitizeMessage } from '../errors.js';
import type { UpstreamService } from '../errors.js';
import { headerValue, upstreamErrorFromResponse } from './error-dialect.js';
import type { HeaderBag, UpstreamErrorDialect } from './error-dialect.js';
import { decideRetry, isRetryableErrorCode, isRetryableStatus, parseRetryAfter, retryAfterSeconds } from './retry.js';
import type { RetryDecision } from './retry.js';
import type { IdempotencyContext } from './request-id.js';
import { retryReason, retryReasonOf } from './observer.js';
import type { UpstreamObserver } from './observer.js';
import { decideWindow, throttleKey } from './throttle.js';
import type { ThrottleWindows } from './throttle.js';

/**
 * What the transport needs to know of one upstream. Each client module builds its upstream's profile
 * ONCE (a module constant) and passes it with every call; the transport has no branch per upstream.
 */
export interface UpstreamProfile extends UpstreamErrorDialect {
  /**
   * Headers of each try of one logical call. Called once per logical call, so what must stay the same
   * on every retry (Partner Center's `MS-RequestId`) is fixed there; the returned function is called
   * once per try (`attempt` 0 is the first try).
   */
  callHeaders(call: ProfileCall): (attempt: number) => Readonly<Record<string, string>>;
  /** Lower-case names of the headers `callHeaders` sets: a client's extra headers can never set them. */
  readonly ownHeaders: readonly string[];
  /**
   * The lower-case name of the answer header in which the upstream tells how close the caller is to its
   * throttle limit, as a ratio (1 = the limit), if it has one: reported to the observer as sent.
   */
  readonly throttleLimitHeader?: string;
}

/** What a profile may put in its headers. */
export interface ProfileCall {
  /** The caller's correlation id (a GUID). */
  readonly correlationId: string;
  /** `UpstreamRequest.requestId`, when the client gave one. */
  readonly requestId?: string;
  /** The transport's `applicationName` (`User-Agent`). */
  readonly applicationName: string;
}

/**
 * Who a call is made for: bound into the clients by the per-request context.
 */
export interface UpstreamCaller {
  /** The request's correlation id (a GUID; README, Upstream calls). */
  readonly correlationId: string;
  /**
   * The caller's access token for an upstream (on-behalf-of or passthrough). Called once per logical
   * call; whatever it throws (a `GatewayError`) propagates unchanged.
   */
  readonly getToken: (service: UpstreamService) => Promise<string>;
  /** Set when the client sent a valid `Idempotency-Key` with a mutation. */
  readonly idempotency?: IdempotencyContext;
  /**
   * The partner tenant the call is made for (the caller's `tid`): circuit breakers are scoped by it, so
   * one tenant's failing routes cannot open the circuit for another.
   */
  readonly tenantId?: string;
  /**
   * The caller's W3C trace context (`traceparent`, `tracestate`), sent unchanged on every try when
   * tracing is off; with tracing on, each try sends its own span's instead (the observer's headers).
   */
  readonly traceHeaders?: Readonly<Record<string, string>>;
  /**
   * Who the caller is, for sharing upstream answers (read-through.ts: coalesced reads, the response
   * cache): the partner tenant and object id of a user, or of an app for an app-only caller. Answers are
   * shared only between calls with the same value; undefined: never shared.
   */
  readonly principalKey?: string;
  /** Told when an answer came from the response cache (the request log line says `cache: hit`). */
  readonly onCacheHit?: () => void;
}

/** HTTP methods the clients use. */
export type UpstreamMethod = 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';

/** One logical upstream call. */
export interface UpstreamRequest {
  /** The upstream called (its client module's profile). */
  readonly upstream: UpstreamProfile;
  readonly caller: UpstreamCaller;
  readonly method: UpstreamMethod;
  /** Absolute URL, built by a client from validated, encoded parts. */
  readonly url: string;
  /** Extra headers (e.g. `MS-ContinuationToken`); cannot override the transport's own headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON request body (sent with `Content-Type: application/json`). */
  readonly json?: unknown;
  /**
   * The request id of this logical call, for profiles that send one (Partner Center's `MS-RequestId`,
   * one per logical write: see request-id.ts). The profile decides what happens when it is omitted.
   */
  readonly requestId?: string;
  /** An absolute time (ms, same clock as `now`) the call must end by, if earlier than its own deadline. */
  readonly deadlineAt?: number;
  /**
   * Called before every try, after any wait, with that try's timeout; the try is sent once what it
   * returns has resolved, and what it throws or rejects with ends the call unsent (a write whose lock
   * lease is lost must not go out, and each write try is recorded first: state/lock.ts). It may return
   * (or resolve to) a `TryEnd`, told how that try ended.
   */
  readonly beforeTry?: (tryTimeoutMs: number) => void | TryEnd | Promise<void | TryEnd>;
  /**
   * The scope the upstream throttles this call in, below the partner tenant (Partner Center's customer):
   * its throttle window is the tenant's and this scope's (throttle.ts). @default the partner tenant's
   */
  readonly throttleScope?: string;
}

/** Told once, when a try is over, the HTTP status it got (0: no answer: a connection failure or a timeout). */
export type TryEnd = (status: number) => void;

/** A successful (2xx) answer. */
export interface UpstreamResponse<T> {
  readonly status: number;
  readonly headers: HeaderBag;
  /** Parsed JSON; `undefined` for an empty body (e.g. 204). */
  readonly body: T | undefined;
  /** The upstream's request id (`MS-RequestId` / `request-id`). */
  readonly requestId?: string;
  /** How many tries it took (1 = no retry). */
  readonly tries: number;
}

/** The retry policy of a transport, shared with callers that retry on their own (Graph `$batch`). */
export interface RetryPolicy {
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  /**
   * Whether retry number `attempt + 1` of something that failed retryably is made, and after how long
   * (see `decideRetry`): the one rule of the transport's loop and of `$batch` sub-requests.
   */
  decide(attempt: number, retryAfterHeaders: ReadonlyArray<string | undefined>, deadlineAt: number): RetryDecision;
  /** Reports a retry made outside the transport's loop (a throttled `$batch` sub-request) to the observer. */
  retried(service: UpstreamService, status: number): void;
  /**
   * Opens the throttle window of `call`'s scope for `retryAfterMs` (throttle.ts): for a throttled `$batch`
   * sub-request whose Retry-After reaches past the deadline, retried outside the transport's loop.
   */
  throttled(call: ThrottledCall, retryAfterMs: number): Promise<void>;
}

/** What names a call's throttle scope. */
export type ThrottledCall = Pick<UpstreamRequest, 'upstream' | 'caller' | 'throttleScope'>;

/** The transport the clients are built on; create ONE per process. */
export interface UpstreamTransport {
  /** Makes one logical call; resolves on 2xx, throws `UpstreamError` otherwise (after retries). */
  request<T>(req: UpstreamRequest): Promise<UpstreamResponse<T>>;
  readonly policy: RetryPolicy;
  /**
   * One unauthenticated GET, no retries, for readiness: any HTTP answer (even 401/404) proves the
   * upstream reachable. Never throws.
   */
  probe(url: string, timeoutMs: number): Promise<ProbeResult>;
  /**
   * The worst state among the service's breakers (one per partner tenant): `open` if any is open, then
   * `half-open`, else `closed` (always `closed` when breakers are off).
   */
  circuitState(service: UpstreamService): 'closed' | 'open' | 'half-open';
  /** How many of the service's breakers are in each state (all zero when breakers are off); no tenants. */
  circuitCounts(service: UpstreamService): CircuitCounts;
  /** The service's socket pool right now (read at scrape time by the metrics). */
  poolStats(service: UpstreamService): PoolStats;
  /** Destroys the keep-alive sockets. */
  close(): void;
}

/**
 * One service's keep-alive pool: sockets carrying a call (`active`), open and waiting for the next one
 * (`idle`), and calls waiting for a socket because `maxSockets` are active (`queued`).
 */
export interface PoolStats {
  readonly active: number;
  readonly idle: number;
  readonly queued: number;
}

/** What `probe` found. */
export type ProbeResult = { readonly reachable: true; readonly status: number } | { readonly reachable: false; readonly error: string };

/** The subset of a pino logger the transport uses. */
export interface UpstreamLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** Whether lines of `level` are written (pino's); without it every level counts as enabled. */
  isLevelEnabled?(level: string): boolean;
}

/** Options of `createUpstreamTransport`. */
export interface UpstreamTransportOptions {
  /** Timeout of one try (`UPSTREAM_TIMEOUT_MS`). @default 10000 */
  readonly timeoutMs?: number;
  /** Total time of one logical call, waits included (`UPSTREAM_DEADLINE_MS`). @default 30000 */
  readonly deadlineMs?: number;
  /** Retries after the first try. @default 3 */
  readonly maxRetries?: number;
  /** Backoff base when there is no `Retry-After`. @default 200 */
  readonly retryBaseMs?: number;
  /** Backoff cap when there is no `Retry-After`. @default 10000 */
  readonly retryMaxDelayMs?: number;
  /**
   * Largest answer read, in bytes (`UPSTREAM_MAX_RESPONSE_BYTES`), counted as the body streams in
   * (decompressed): a larger one is aborted as UPSTREAM_ERROR without reading the rest. @default 8388608
   */
  readonly maxResponseBytes?: number;
  /**
   * Keep-alive sockets per upstream service (`UPSTREAM_MAX_SOCKETS`): each service has its own pool, even
   * when both are on one host, so one service's slow calls never queue the other's. @default 512
   */
  readonly maxSockets?: number;
  /** Circuit breakers per service and partner tenant (circuit-breaker.ts); `false` turns them off. @default {} (on, 5 failures, 5 s) */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /** Sent as `User-Agent`, and given to the profiles (Partner Center's `MS-PartnerCenter-Application`). @default 'partner-bff-gateway' */
  readonly applicationName?: string;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default a setTimeout promise */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default no logging */
  readonly logger?: UpstreamLogger;
  /** Told about every try and retry (metrics, tracing; observer.ts). @default none */
  readonly observer?: UpstreamObserver;
  /**
   * Where throttle windows live (throttle.ts; the composition root passes state/'s, in process or in
   * Redis). @default none: no windows, each call handles its own 429
   */
  readonly throttleWindows?: ThrottleWindows;
}

/**
 * The base got instance: no got retries (our loop owns retries and the deadline), no throwing on HTTP
 * status (we map statuses ourselves), no redirects (they would carry the bearer token to wherever the
 * `Location` points; neither upstream redirects API calls), bodies read as text and parsed by us
 * (receiveText) so empty and non-JSON bodies are handled in one place, HTTP/1.1.
 */
const baseGot: Got = got.extend({
  retry: { limit: 0 },
  throwHttpErrors: false,
  followRedirect: false,
  http2: false,
  decompress: true,
  // Node's request gets only the options got set (native-request.ts): same request, far smaller copies.
  request: requestWithDefinedOptions as unknown as RequestFunction,
});

/**
 * Lets go of a finished try's got stream at once: destroyed (as got's promise interface does on
 * success; the socket is already back in the pool, so nothing is cut) and its listeners removed, so the
 * closures they hold stop pointing at this try's objects (left attached, they keep whole tries alive
 * across scavenges). A late error from a destroyed stream is dropped.
 */
function release(stream: { destroy(): void; removeAllListeners(): unknown; on(event: 'error', listener: () => void): unknown }): void {
  stream.destroy();
  stream.removeAllListeners();
  stream.on('error', ignoreLateError);
}

const ignoreLateError = (): void => {};

/** An answer read whole, as text. */
interface TextAnswer {
  readonly status: number;
  readonly headers: HeaderBag;
  readonly body: string;
}

/** An answer cut off at `maxResponseBytes`: what had arrived of it (status, headers). */
class OverCapError extends Error {
  constructor(
    readonly status: number,
    readonly headers: HeaderBag,
  ) {
    super('upstream answer over the size cap');
  }
}

/** Upper bound of logged error bodies. */
const MAX_LOGGED_BODY = 2048;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What one transport's tries and calls share: built once by `createUpstreamTransport`. */
interface TransportParts {
  /** The got instance on the service's keep-alive pool. */
  clientFor(service: UpstreamService): Got;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly maxResponseBytes: number;
  readonly appName: string;
  readonly policy: RetryPolicy;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger: UpstreamLogger | undefined;
  readonly observer: UpstreamObserver | undefined;
  readonly windows: ThrottleWindows | undefined;
}

/** One try of a logical call: the request as got sends it. */
interface Try {
  readonly upstream: UpstreamProfile;
  readonly method: UpstreamMethod;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** This try's timeout (never past the call's deadline). */
  readonly timeoutMs: number;
  readonly correlationId: string;
  /** The call's secret values (its token, the passwords in its body): redacted from whatever the answer says. */
  readonly secrets: readonly string[];
  /** 0 for the first try. */
  readonly attempt: number;
}

type TryOutcome =
  | { readonly ok: true; readonly response: UpstreamResponse<unknown> }
  | { readonly ok: false; readonly error: UpstreamError; readonly retryable: boolean; readonly retryAfterHeader?: string };

/**
 * Sends one try through got's stream interface and reads the answer as UTF-8 text. The stream, not
 * got's promise interface: the promise wrapper (p-cancelable, a second event proxy, the raw body
 * Buffer concatenated then decoded) leaves about twice as much per call for the garbage collector.
 * got has no size limit and answers may be chunked, so the (decompressed) body is counted as it
 * streams, and the try is cancelled, destroying the socket, as soon as it, or an announced
 * Content-Length, passes the cap.
 */
function receiveText(parts: TransportParts, t: Try): Promise<TextAnswer> {
  const { maxResponseBytes } = parts;
  return new Promise((resolve, reject) => {
    // The service's got instance carries the try timeout; a try cut short by the deadline says its own.
    const options: { method: UpstreamMethod; headers: Readonly<Record<string, string>>; body?: string; timeout?: { request: number } } = { method: t.method, headers: t.headers };
    if (t.body !== undefined) options.body = t.body;
    if (t.timeoutMs < parts.timeoutMs) options.timeout = { request: t.timeoutMs };
    const stream = parts.clientFor(t.upstream.service).stream(t.url, options);
    // got sets `response` before it reports any download progress.
    const answer = (): { status: number; headers: HeaderBag } => ({
      status: stream.response?.statusCode ?? 0,
      headers: (stream.response?.headers ?? {}) as HeaderBag,
    });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('downloadProgress', ({ transferred, total }: { transferred: number; total?: number }) => {
      if (Math.max(transferred, total ?? 0) > maxResponseBytes && !stream.destroyed) {
        const { status, headers } = answer();
        release(stream);
        reject(new OverCapError(status, headers));
      }
    });
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    // `on`, not `once`: 'end' comes once, a second 'error' is harmless, and release() removes both
    // (once() wraps each listener in a closure of its own).
    stream.on('end', () => {
      resolve({ status: stream.response?.statusCode ?? 0, headers: (stream.response?.headers ?? {}) as HeaderBag, body });
      release(stream);
    });
    stream.on('error', reject);
  });
}

/** Performs ONE try and classifies its outcome; never throws for an HTTP or connection failure. */
async function sendTry(parts: TransportParts, t: Try): Promise<TryOutcome> {
  const { maxResponseBytes, logger, now } = parts;
  const { upstream, correlationId } = t;
  const { service } = upstream;
  let res: TextAnswer;
  try {
    res = await receiveText(parts, t);
  } catch (err) {
    if (err instanceof OverCapError) {
      const message = `${upstream.name} answered with more than ${maxResponseBytes} bytes`;
      const requestId = headerValue(err.headers, upstream.requestIdHeader);
      logger?.warn({ service, status: err.status, upstreamRequestId: requestId, correlationId, maxResponseBytes }, 'upstream answer over the size cap');
      const error = new UpstreamError({ service, serviceName: upstream.name, status: err.status, code: 'UPSTREAM_ERROR', message, requestId, correlationId });
      return { ok: false, error, retryable: false };
    }
    if (!(err instanceof RequestError)) throw err;
    // No answer: connection refused/reset, socket hang up, try timeout (ETIMEDOUT), DNS…
    const reason = err.code === 'ETIMEDOUT' ? `timed out after ${t.timeoutMs} ms` : `connection failed (${err.code})`;
    const error = new UpstreamError({ service, serviceName: upstream.name, status: 0, message: `${upstream.name} did not answer: ${reason}`, correlationId, cause: err });
    return { ok: false, error, retryable: isRetryableErrorCode(err.code) };
  }

  const { status, headers: resHeaders } = res;
  reportThrottleLimit(parts, upstream, resHeaders);
  const requestId = headerValue(resHeaders, upstream.requestIdHeader);
  if (status >= 200 && status < 300) {
    const text = res.body;
    let parsed: unknown;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        const message = `${upstream.name} answered ${status} with a body that is not JSON`;
        return { ok: false, error: new UpstreamError({ service, serviceName: upstream.name, status, message, requestId, correlationId }), retryable: false };
      }
    }
    return { ok: true, response: { status, headers: resHeaders, body: parsed, requestId, tries: t.attempt + 1 } };
  }

  const retryAfterHeader = headerValue(resHeaders, 'retry-after');
  const retryAfter = retryAfterSeconds(status, retryAfterHeader, now());
  const { secrets } = t;
  const error = upstreamErrorFromResponse({ upstream, status, headers: resHeaders, body: res.body, correlationId, retryAfter, secrets });
  logger?.debug(
    { service, status, upstreamCode: error.upstreamCode, upstreamRequestId: error.requestId, correlationId, body: sanitizeMessage(res.body ?? '', MAX_LOGGED_BODY, secrets) },
    'upstream error answer',
  );
  return { ok: false, error, retryable: isRetryableStatus(status), retryAfterHeader };
}

/** One logical call: the token, then tries until success, a definitive failure, the retry limit or the deadline. */
async function run(parts: TransportParts, req: UpstreamRequest): Promise<UpstreamResponse<unknown>> {
  const { timeoutMs, deadlineMs, appName, policy, now, sleep, logger, observer } = parts;
  const { upstream, caller } = req;
  const { service } = upstream;
  const started = now();
  const deadlineAt = Math.min(started + deadlineMs, req.deadlineAt ?? Number.POSITIVE_INFINITY);
  const token = await caller.getToken(service);
  const body = req.json === undefined ? undefined : JSON.stringify(req.json);
  // What the upstream may quote back and no log line or message may hold (README, Observability).
  const secrets = [token, ...secretValues(req.json)];
  const baseHeaders = withoutReserved(req.headers, upstream.ownHeaders);
  baseHeaders.accept = 'application/json';
  baseHeaders.authorization = `Bearer ${token}`;
  if (body !== undefined) baseHeaders['content-type'] = 'application/json';
  const headersOfTry = upstream.callHeaders({ correlationId: caller.correlationId, requestId: req.requestId, applicationName: appName });
  // Debug lines (and the path they show) are built only when they are written.
  const debug = logger && (logger.isLevelEnabled?.('debug') ?? true) ? logger : undefined;
  const path = debug ? safePath(req.url) : '';

  let lastError: UpstreamError | undefined;
  for (let attempt = 0; ; attempt++) {
    const remaining = deadlineAt - now();
    if (remaining <= 0) {
      throw (
        lastError ??
        new UpstreamError({ service, serviceName: upstream.name, status: 0, message: `${upstream.name} call exceeded its deadline`, correlationId: caller.correlationId })
      );
    }
    const tryTimeoutMs = Math.min(timeoutMs, remaining);
    const gate = req.beforeTry?.(tryTimeoutMs);
    const tryEnd = gate instanceof Promise ? await gate : gate;
    const tryStarted = now();
    const observation = observer?.onTry({ service, method: req.method, url: req.url, attempt });
    const outcome = await sendTry(parts, {
      upstream,
      method: req.method,
      url: req.url,
      headers: { ...baseHeaders, ...caller.traceHeaders, ...headersOfTry(attempt), ...observation?.headers },
      body,
      timeoutMs: tryTimeoutMs,
      correlationId: caller.correlationId,
      secrets,
      attempt,
    });
    observation?.end(outcome.ok ? { status: outcome.response.status } : { status: outcome.error.status, errorCode: outcome.error.code });
    tryEnd?.(outcome.ok ? outcome.response.status : outcome.error.status);
    const log = debug && { service, method: req.method, path, attempt, elapsedMs: now() - tryStarted, correlationId: caller.correlationId };
    if (outcome.ok) {
      if (log) debug?.debug({ ...log, status: outcome.response.status, upstreamRequestId: outcome.response.requestId }, 'upstream call');
      return outcome.response;
    }
    lastError = outcome.error;
    if (!outcome.retryable) throw outcome.error;
    const decision = policy.decide(attempt, [outcome.retryAfterHeader], deadlineAt);
    if (!decision.retry) {
      // Past the deadline: docs/upstream.md §1.7 says honour Retry-After, so retrying earlier than asked is
      // not an option; the error carries `retryAfter` for the client.
      if (decision.why === 'past-deadline') {
        if (log) debug?.debug({ ...log, status: outcome.error.status, delayMs: decision.delayMs }, 'upstream retry would pass the deadline');
        // The scope's further calls need not go out only to be throttled too: a window (throttle.ts).
        const askedMs = outcome.error.status === 429 ? parseRetryAfter(outcome.retryAfterHeader, now()) : undefined;
        if (askedMs !== undefined) await openWindow(parts, req, askedMs);
      }
      throw outcome.error;
    }
    if (log) debug?.debug({ ...log, status: outcome.error.status, upstreamCode: outcome.error.upstreamCode, delayMs: decision.delayMs }, 'upstream retry');
    observer?.onRetry(service, retryReasonOf(outcome.error));
    await sleep(decision.delayMs);
  }
}

/** Reports the upstream's throttle-limit ratio of an answer (its profile's header), as sent. */
function reportThrottleLimit(parts: TransportParts, upstream: UpstreamProfile, headers: HeaderBag): void {
  const name = upstream.throttleLimitHeader;
  if (name === undefined || parts.observer === undefined) return;
  const value = headerValue(headers, name);
  if (value === undefined || value.trim() === '') return;
  const ratio = Number(value);
  if (Number.isFinite(ratio)) parts.observer.onThrottleLimit(upstream.service, ratio);
}

/** Opens the throttle window of the call's scope for `ms`; never throws (a store that fails logs it itself). */
async function openWindow(parts: TransportParts, call: ThrottledCall, ms: number): Promise<void> {
  const key = parts.windows && throttleKey(call.upstream.service, call.caller.tenantId, call.throttleScope);
  if (key === undefined || !(ms > 0)) return;
  try {
    await parts.windows!.open(key, ms);
  } catch {
    return;
  }
  parts.logger?.debug({ service: call.upstream.service, windowMs: ms, correlationId: call.caller.correlationId }, 'upstream throttle window opened');
}

/**
 * Before a call: the call as it is when its scope has no throttle window; when it has one, the call after
 * waiting for the window's end if its deadline allows (its deadline then counts from before the wait),
 * else a refusal (RATE_LIMITED, the time left as `retryAfter`), unsent.
 */
async function throughWindow(parts: TransportParts, windows: ThrottleWindows, req: UpstreamRequest): Promise<UpstreamRequest> {
  const { now, sleep, observer, deadlineMs } = parts;
  const key = throttleKey(req.upstream.service, req.caller.tenantId, req.throttleScope);
  if (key === undefined) return req;
  const left = windows.remainingMs(key);
  // The in-process store answers at once; a store that fails lets the call go (no window known).
  const remaining = typeof left === 'number' ? left : await left.catch(() => 0);
  if (!(remaining > 0)) return req;
  const deadlineAt = Math.min(now() + deadlineMs, req.deadlineAt ?? Number.POSITIVE_INFINITY);
  const decision = decideWindow(remaining, now(), deadlineAt);
  if (decision.kind === 'go') return req;
  if (decision.kind === 'wait') {
    await sleep(decision.ms);
    return { ...req, deadlineAt };
  }
  const { service, name } = req.upstream;
  observer?.onThrottled(service);
  throw new UpstreamError({
    service,
    serviceName: name,
    status: 429,
    message: `${name} is throttling these calls; retry after ${decision.retryAfter} s (not sent until then)`,
    correlationId: req.caller.correlationId,
    retryAfter: decision.retryAfter,
  });
}

/**
 * Creates the transport: a keep-alive pool per service with the got instance built on it (one base, extended
 * once per service), the retry loop and the circuit breakers (one per service and partner tenant).
 */
export function createUpstreamTransport(options: UpstreamTransportOptions = {}): UpstreamTransport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? 8 * 1024 * 1024;
  const deadlineMs = Math.max(options.deadlineMs ?? 30_000, 1);
  const maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 3));
  const baseMs = options.retryBaseMs ?? 200;
  const maxMs = options.retryMaxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const logger = options.logger;
  const observer = options.observer;
  const appName = options.applicationName ?? 'partner-bff-gateway';

  // HTTP/1.1 keep-alive: reuse TCP+TLS connections across calls, one pool (agent pair) and one got
  // instance per service. Idle sockets are dropped after 30 s, before typical upstream idle timeouts; a
  // reused socket the server just closed fails with ECONNRESET, which the loop retries. Every socket may
  // stay pooled (maxFreeSockets = maxSockets): a smaller pool closed and reopened connections under load.
  // By Little's law a service's calls never exceed maxSockets ÷ its latency per second.
  const maxSockets = Math.max(1, Math.floor(options.maxSockets ?? 512));
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: 30_000, scheduling: 'lifo' as const };
  // A service's pool is made the first time it is asked for: the transport names no upstream.
  const pools = new Map<UpstreamService, ServicePool>();
  const poolOf = (service: UpstreamService): ServicePool => {
    let pool = pools.get(service);
    if (!pool) {
      const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
      pool = { agents, client: baseGot.extend({ agent: agents, headers: { 'user-agent': appName }, timeout: { request: timeoutMs } }) };
      pools.set(service, pool);
    }
    return pool;
  };
  // Readiness probes open a connection of their own (closed after the answer): a pool whose sockets are
  // all busy must not make a working gateway unready.
  const probeAgents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  const probeClient = baseGot.extend({ agent: probeAgents, headers: { 'user-agent': appName } });

  const breakers = options.circuitBreaker === false ? undefined : new CircuitBreakers(options.circuitBreaker ?? {}, now);

  const policy: RetryPolicy = {
    maxRetries,
    timeoutMs,
    deadlineMs,
    now,
    sleep,
    decide: (attempt, retryAfterHeaders, deadlineAt) =>
      decideRetry({ attempt, maxRetries, retryAfterHeaders, now: now(), deadlineAt, timeoutMs, random, baseMs, maxMs }),
    retried: (service, status) => observer?.onRetry(service, retryReason(status)),
    throttled: (call, ms) => openWindow(parts, call, ms),
  };
  const windows = options.throttleWindows;
  const parts: TransportParts = { clientFor: (service) => poolOf(service).client, timeoutMs, deadlineMs, maxResponseBytes, appName, policy, now, sleep, logger, observer, windows };

  return {
    policy,
    async request<T>(given: UpstreamRequest): Promise<UpstreamResponse<T>> {
      const req = windows ? await throughWindow(parts, windows, given) : given;
      const { upstream } = req;
      const { service } = upstream;
      const breaker = breakers?.get(service, req.caller.tenantId);
      const permit = breaker?.acquire() ?? { allowed: true, probe: false };
      if (!permit.allowed) {
        throw new UpstreamError({
          service,
          serviceName: upstream.name,
          status: 0,
          message: `${upstream.name} is unavailable (circuit open after repeated failures)`,
          correlationId: req.caller.correlationId,
        });
      }
      try {
        const response = await run(parts, req);
        breaker?.success();
        return response as UpstreamResponse<T>;
      } catch (err) {
        // Only this service's own failures move its breaker (a token-service error does not).
        if (err instanceof UpstreamError && err.service === service) {
          if (err.code === 'UPSTREAM_UNAVAILABLE') {
            breaker?.failure();
            logger?.warn(
              { service, status: err.status, upstreamRequestId: err.requestId, correlationId: err.correlationId, message: err.message, circuit: breaker?.state },
              'upstream unavailable',
            );
          } else breaker?.success();
        } else breaker?.release(permit);
        throw err;
      }
    },
    async probe(url, probeTimeoutMs) {
      try {
        const res = await probeClient(url, { method: 'GET', headers: { accept: 'application/json' }, timeout: { request: probeTimeoutMs } });
        return { reachable: true, status: res.statusCode };
      } catch (err) {
        if (err instanceof RequestError) return { reachable: false, error: err.code === 'ETIMEDOUT' ? 'timeout' : err.code };
        return { reachable: false, error: 'invalid request' };
      }
    },
    circuitState: (service) => breakers?.worstState(service) ?? 'closed',
    circuitCounts: (service) => breakers?.counts(service) ?? { closed: 0, half_open: 0, open: 0 },
    poolStats(service) {
      const { http: a, https: b } = poolOf(service).agents;
      return {
        active: countOf(a.sockets) + countOf(b.sockets),
        idle: countOf(a.freeSockets) + countOf(b.freeSockets),
        queued: countOf(a.requests) + countOf(b.requests),
      };
    },
    close() {
      for (const { agents } of pools.values()) {
        agents.http.destroy();
        agents.https.destroy();
      }
      probeAgents.http.destroy();
      probeAgents.https.destroy();
    },
  };
}

/** One service's keep-alive agents and the got instance that sends through them. */
interface ServicePool {
  readonly agents: { readonly http: http.Agent; readonly https: https.Agent };
  readonly client: Got;
}

/** Entries of an agent's per-origin lists (`sockets`, `freeSockets`, `requests`). */
function countOf(lists: NodeJS.ReadOnlyDict<readonly unknown[]>): number {
  let n = 0;
  for (const key in lists) n += lists[key]?.length ?? 0;
  return n;
}

/** Headers no client may set, whatever the upstream: the transport owns them (the profile adds its own). */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'accept',
  'content-type',
  'content-length',
  'host',
  'cookie',
  'transfer-encoding',
  'connection',
  'traceparent',
  'tracestate',
]);

function withoutReserved(headers: Readonly<Record<string, string>> | undefined, profileHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower) && !profileHeaders.includes(lower)) out[lower] = value;
  }
  return out;
}

/** Body keys whose string values are secrets (Partner Center's `passwordProfile.password`, any `…Secret`). */
const SECRET_KEY = /password|secret/i;

/**
 * The string values a request body holds under secret-looking keys, at any depth (bounded): the
 * passwords a write sends, which an upstream's error text may quote back.
 */
export function secretValues(json: unknown, depth = 0): string[] {
  if (depth > 8 || typeof json !== 'object' || json === null) return [];
  const found: string[] = [];
  for (const [key, value] of Array.isArray(json) ? json.map((v, i) => [String(i), v] as const) : Object.entries(json)) {
    if (typeof value === 'string') {
      if (value !== '' && SECRET_KEY.test(key)) found.push(value);
    } else found.push(...secretValues(value, depth + 1));
  }
  return found;
}

/** The path of a URL, for logs (the query may carry continuation tokens). */
function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}
