/**
 * A small circuit breaker, one per upstream service inside a transport (README, "Upstream calls: timeouts, retries, circuit breaker").
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
 * Breakers are scoped per service AND partner tenant (`CircuitBreakers`), per process: a caller hammering
 * one tenant's failing route (a customer whose users answer 500) must not cut off every other tenant,
 * which a breaker per service did (issue 16). A whole upstream outage still opens each active tenant's
 * breaker after its own 5 failures. The registry is bounded (LRU, `maxScopes`) and drops scopes unused
 * for `idleMs`, so a multi-tenant gateway does not grow a breaker per tenant forever.
 */

/** Options of a circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failed logical calls that open the circuit (the contract requires ≥ 5). @default 5 */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before a probe may go through (the contract requires ≤ 5 s). @default 5000 */
  readonly openMs?: number;
  /** Most breakers kept (one per service and tenant); the least recently used is dropped beyond. @default 10000 */
  readonly maxScopes?: number;
  /** A scope unused this long is dropped (it would start closed again). @default 60000 */
  readonly idleMs?: number;
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

/** How many breakers are in each state (`gateway_upstream_circuit_state`, README, Observability). */
export interface CircuitCounts {
  readonly closed: number;
  readonly half_open: number;
  readonly open: number;
}

interface Scope {
  readonly service: string;
  readonly breaker: CircuitBreaker;
  lastUsed: number;
}

/**
 * The breakers of one transport, one per (service, partner tenant), created on first use. The Map's
 * insertion order is its LRU order (a used scope is re-inserted), so dropping idle or surplus scopes
 * only ever looks at the oldest entries: O(1) amortised per call.
 */
export class CircuitBreakers {
  private readonly scopes = new Map<string, Scope>();
  private readonly maxScopes: number;
  private readonly idleMs: number;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly now: () => number,
  ) {
    this.maxScopes = Math.max(1, options.maxScopes ?? 10_000);
    this.idleMs = Math.max(0, options.idleMs ?? 60_000);
  }

  /** The breaker of `service` for `tenant` (undefined: calls made for no tenant share one scope). */
  get(service: string, tenant: string | undefined): CircuitBreaker {
    const key = `${service} ${tenant?.toLowerCase() ?? ''}`;
    const t = this.now();
    let scope = this.scopes.get(key);
    if (scope) this.scopes.delete(key);
    else scope = { service, breaker: new CircuitBreaker(this.options, this.now), lastUsed: t };
    scope.lastUsed = t;
    this.scopes.set(key, scope);
    this.sweep(t);
    return scope.breaker;
  }

  /** Breakers of `service` per state, idle ones dropped first. */
  counts(service: string): CircuitCounts {
    this.sweep(this.now());
    const counts = { closed: 0, half_open: 0, open: 0 };
    for (const scope of this.scopes.values()) {
      if (scope.service !== service) continue;
      const state = scope.breaker.state;
      if (state === 'half-open') counts.half_open++;
      else counts[state]++;
    }
    return counts;
  }

  /** The worst state among `service`'s breakers (open, then half-open, else closed), for readiness. */
  worstState(service: string): 'closed' | 'open' | 'half-open' {
    const { open, half_open } = this.counts(service);
    return open > 0 ? 'open' : half_open > 0 ? 'half-open' : 'closed';
  }

  /** How many breakers are kept. */
  get size(): number {
    return this.scopes.size;
  }

  private sweep(t: number): void {
    for (const [key, scope] of this.scopes) {
      if (this.scopes.size <= this.maxScopes && t - scope.lastUsed < this.idleMs) break;
      this.scopes.delete(key);
    }
  }
}
