/**
 * Throttle windows as the transport applies them (README, Response cache and coalescing): after an
 * upstream answers 429 with a `Retry-After` that reaches past the call's deadline, further calls in the
 * scope the upstream throttles are answered RATE_LIMITED (with the time left as `retryAfter`) without
 * reaching the upstream until the window ends, instead of each going out, getting its own 429 and keeping
 * the throttle hot; a call whose deadline reaches past the window's end waits for the end instead.
 *
 * Scopes: the partner tenant (the caller's `tid`) for every upstream, plus a finer scope a client names
 * per call (`UpstreamRequest.throttleScope`: Partner Center's customer, whose limits are per partner and
 * customer, docs/upstream.md §1.7), so one customer's 429 does not hold the partner's other customers. A call
 * without a tenant has no window.
 *
 * Where windows live is not upstream/'s business: the composition root passes a `ThrottleWindows`
 * (state/throttle-windows.ts: in process, or in Redis for every replica).
 */
import { MIN_TRY_MS } from './retry.js';

/** Where the windows live (structurally the state's `ThrottleWindowStore`). */
export interface ThrottleWindows {
  /** Milliseconds left in the window `key`; 0 when none is open. */
  remainingMs(key: string): number | Promise<number>;
  /** Opens the window `key` for `ms` from now; a window already open for longer stays as it is. */
  open(key: string, ms: number): void | Promise<void>;
}

/** The window key of a call: service, partner tenant and the client's finer scope; none without a tenant. */
export function throttleKey(service: string, tenantId: string | undefined, scope?: string): string | undefined {
  if (!tenantId) return undefined;
  return scope === undefined ? `${service}:${tenantId.toLowerCase()}` : `${service}:${tenantId.toLowerCase()}:${scope}`;
}

/** What a call does about its scope's window. */
export type WindowDecision =
  | { readonly kind: 'go' }
  /** Wait this long (the window ends before the call's deadline), then go. */
  | { readonly kind: 'wait'; readonly ms: number }
  /** Answer RATE_LIMITED without calling, `retryAfter` whole seconds (rounded up, at least 1). */
  | { readonly kind: 'refuse'; readonly retryAfter: number };

/**
 * The rule, pure: no window -> go; a window that ends with time for a useful try left before the call's
 * deadline -> wait for its end; else refuse with the time left.
 */
export function decideWindow(remainingMs: number, now: number, deadlineAt: number): WindowDecision {
  if (!(remainingMs > 0)) return { kind: 'go' };
  if (now + remainingMs + MIN_TRY_MS <= deadlineAt) return { kind: 'wait', ms: remainingMs };
  return { kind: 'refuse', retryAfter: Math.max(1, Math.ceil(remainingMs / 1000)) };
}
