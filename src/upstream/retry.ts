/**
 * Pure retry decisions of the upstream transport (after got's `calculate-retry-delay.ts`): which answers
 * are retried, and how long to wait. No I/O, no clock of their own: testable without a network.
 */

/**
 * Statuses retried: 429 (throttled), 503 (busy), 504 (gateway timeout), as the Graph SDK's RetryHandler
 * does (docs/upstream.md §3.1). 500/502 are NOT retried: a 500 on a write may have half-happened, and
 * neither SDK's guidance makes it transient. Every other 4xx is definitive.
 */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);

/**
 * got/Node error codes of a try that got no answer: retried like a 503 (got's own default list). A try
 * that hit its timeout is `ETIMEDOUT` (got's `TimeoutError`); "socket hang up" is `ECONNRESET`.
 */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'EADDRINUSE',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/** True for an HTTP status the transport retries. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** True for a connection-level error code the transport retries. */
export function isRetryableErrorCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_ERROR_CODES.has(code);
}

/**
 * Milliseconds a `Retry-After` header asks for: delay-seconds, fractional seconds (Graph sends
 * `2.128`, docs/upstream.md §2.5) or an HTTP-date (relative to `now`, never negative). `undefined` when
 * absent or unparseable.
 */
export function parseRetryAfter(header: string | readonly string[] | undefined, now: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header) as string | undefined;
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only something date-like: `Date.parse('12')` would happily read a year.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Input of `computeRetryDelay`. */
export interface RetryDelayInput {
  /** 0 for the first retry, 1 for the second… */
  readonly attempt: number;
  /** The failed answer's `Retry-After`, if any. */
  readonly retryAfterHeader?: string | readonly string[];
  /** Current time in ms since the epoch (for HTTP-date `Retry-After`). */
  readonly now: number;
  /** A number in [0, 1). */
  readonly random: () => number;
  /** Backoff base. */
  readonly baseMs: number;
  /** Backoff cap (does not cap a `Retry-After`: the deadline decides whether to wait for it). */
  readonly maxMs: number;
}

/** Result of `computeRetryDelay`: the wait, and whether the upstream asked for it. */
export interface RetryDelay {
  readonly delayMs: number;
  /** True when the delay comes from `Retry-After` (an explicit request of the upstream). */
  readonly fromRetryAfter: boolean;
}

/**
 * How long to wait before retry number `attempt + 1`: the upstream's `Retry-After` when it sent one
 * (docs/upstream.md §1.7, §2.5: honour it), otherwise exponential backoff with full jitter,
 * `random() * min(maxMs, baseMs * 2^attempt)` (spreads a thundering herd of callers that failed together).
 */
export function computeRetryDelay(input: RetryDelayInput): RetryDelay {
  const asked = parseRetryAfter(input.retryAfterHeader, input.now);
  if (asked !== undefined) return { delayMs: asked, fromRetryAfter: true };
  const ceiling = Math.min(input.maxMs, input.baseMs * 2 ** Math.max(0, input.attempt));
  return { delayMs: Math.floor(input.random() * ceiling), fromRetryAfter: false };
}

/**
 * `extensions.retryAfter` (whole seconds, rounded up, at least 1) of a failed answer: its `Retry-After`,
 * else a nominal second for a 429 (a throttled client must still be told to wait), else none.
 */
export function retryAfterSeconds(status: number, retryAfterHeader: string | readonly string[] | undefined, now: number): number | undefined {
  const askedMs = parseRetryAfter(retryAfterHeader, now);
  if (askedMs !== undefined) return Math.max(1, Math.ceil(askedMs / 1000));
  return status === 429 ? 1 : undefined;
}

/** Below this, a try is not worth starting after a wait (it would only time out). */
export const MIN_TRY_MS = 50;

/** Input of `decideRetry`. */
export interface RetryDecisionInput extends Omit<RetryDelayInput, 'retryAfterHeader'> {
  /** Retries allowed after the first try. */
  readonly maxRetries: number;
  /**
   * The `Retry-After` of each failure the retry would repeat (one for a plain call; one per throttled
   * sub-request for a `$batch`, whose retry then waits for the longest).
   */
  readonly retryAfterHeaders: ReadonlyArray<string | readonly string[] | undefined>;
  /** The absolute time (same clock as `now`) the whole logical call must end by. */
  readonly deadlineAt: number;
  /** Timeout of one try (a retry needs `min(MIN_TRY_MS, timeoutMs)` after its wait). */
  readonly timeoutMs: number;
}

/** What `decideRetry` says: wait `delayMs` and try again, or stop (the last failure stands). */
export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly why: 'exhausted' }
  | { readonly retry: false; readonly why: 'past-deadline'; readonly delayMs: number };

/**
 * The one retry rule, for something that failed retryably (`isRetryableStatus`, `isRetryableErrorCode`):
 * no more than `maxRetries` retries, each after `computeRetryDelay` (the longest when several failures are
 * retried together), and none whose wait would leave less than a useful try before the deadline. A
 * `Retry-After` longer than the deadline allows fails at once rather than retrying early.
 */
export function decideRetry(input: RetryDecisionInput): RetryDecision {
  if (input.attempt >= input.maxRetries) return { retry: false, why: 'exhausted' };
  const delays = input.retryAfterHeaders.map((retryAfterHeader) => computeRetryDelay({ ...input, retryAfterHeader }).delayMs);
  const delayMs = Math.max(0, ...delays);
  if (delayMs + Math.min(MIN_TRY_MS, input.timeoutMs) > input.deadlineAt - input.now) return { retry: false, why: 'past-deadline', delayMs };
  return { retry: true, delayMs };
}
