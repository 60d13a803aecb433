/**
 * A small circuit breaker, one per upstream service inside a transport (DESIGN.md, Limits).
 *
 * - closed: every call goes through. A *failed logical call* (after the transport's own retries) that
 *   means "the upstream is down" — status 0 (connection failure, timeout), 408 or 5xx, i.e. contract code
 *   UPSTREAM_UNAVAILABLE — counts one; any other outcome (success, 404, 403, even 429) resets the count,
 *   because the upstream answered. Throttling is per tenant upstream and must not cut off every caller.
 * - open: after `failureThreshold` (≥5) consecutive failures, calls fail at once with
 *   UPSTREAM_UNAVAILABLE, without a request, for `openMs` (≤5 s).
 * - half-open: after `openMs`, ONE probe call goes through (others still fail fast); its success
 *   closes the circuit, its failure opens it again for another `openMs`.
 *
 * The breaker is per process and per service, not per tenant: a burst of 5xx for one tenant can open it
 * for everyone for a few seconds. That is the usual trade-off; the half-open probe bounds the cost.
 */

/** Options of a circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failed logical calls that open the circuit (the contract requires ≥ 5). @default 5 */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before a probe may go through (the contract requires ≤ 5 s). @default 5000 */
  readonly openMs?: number;
}

/** What a breaker says about a call about to start. */
export type CircuitPermit = { readonly allowed: true; readonly probe: boolean } | { readonly allowed: false };

/** State of one breaker. */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;
  private readonly threshold: number;
  private readonly openMs: number;

  constructor(
    options: CircuitBreakerOptions,
    private readonly now: () => number,
  ) {
    this.threshold = Math.max(5, options.failureThreshold ?? 5);
    this.openMs = Math.min(5000, Math.max(0, options.openMs ?? 5000));
  }

  /** Asks to start a call. A `probe` permit must be settled with `success`/`failure`/`release`. */
  acquire(): CircuitPermit {
    if (this.openedAt === undefined) return { allowed: true, probe: false };
    if (this.now() - this.openedAt < this.openMs || this.probing) return { allowed: false };
    this.probing = true;
    return { allowed: true, probe: true };
  }

  /** The upstream answered (any status the breaker does not count as down). */
  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  /** A logical call failed with the upstream unavailable. */
  failure(): void {
    this.failures++;
    this.probing = false;
    if (this.openedAt !== undefined || this.failures >= this.threshold) this.openedAt = this.now();
  }

  /** The call ended without telling anything about the upstream (e.g. the token source failed). */
  release(permit: CircuitPermit): void {
    if (permit.allowed && permit.probe) this.probing = false;
  }

  /** `closed`, `open` or `half-open` (for logs and readiness). */
  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt < this.openMs ? 'open' : 'half-open';
  }
}
