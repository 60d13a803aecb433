/**
 * Fault injection for tests: per method + path pattern, answer a status (in the service's own error
 * shape unless a body is given), add a delay, or reset the connection, a given number of times.
 */

/** One injected fault. */
export interface FaultSpec {
  /** Method to match (case-insensitive). @default any */
  method?: string;
  /**
   * String: exact pathname, or a glob where `*` matches one path segment. RegExp: tested on the
   * pathname. For `$batch` sub-requests the pathname is `/beta` + the sub-request url's pathname.
   */
  path: string | RegExp;
  /** Answer with this status and the service's own error body (or `body` when given). */
  status?: number;
  /**
   * `Retry-After` value, e.g. `'1'`, `'0.2'` or an HTTP date. Without it an injected 429 carries
   * no `Retry-After` header (so clients' fallback backoff can be tested too).
   */
  retryAfter?: string;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Response body instead of the service's error body. */
  body?: unknown;
  /**
   * Delay before answering (or before passing through when no status). A request that passes through is
   * then handled (a write applied) even when its client has gone meanwhile (timed out, closed the
   * connection, or died): a real upstream finishes a request it has received.
   */
  delayMs?: number;
  /** Destroy the socket without answering (ECONNRESET at the client). */
  reset?: boolean;
  /** How many matching requests it applies to; `Infinity` allowed. @default 1 */
  times?: number;
  /**
   * Only requests whose bearer token names this tenant (`tid`): one partner throttled while the others
   * go on, as the upstreams throttle per tenant (docs/upstream.md §1.7, §2.5). `$batch` sub-requests carry the
   * batch's token. @default any tenant
   */
  tenantId?: string;
}

interface ActiveFault {
  spec: FaultSpec;
  method: string | undefined;
  tenantId: string | undefined;
  matches: (pathname: string) => boolean;
  remaining: number;
}

/** Ordered fault list; the first matching fault with uses left applies, and is used up by one. */
export class FaultRegistry {
  private faults: ActiveFault[] = [];

  /** Adds a fault (validated; throws a `TypeError` on a malformed spec). */
  add(spec: FaultSpec): void {
    validateFault(spec);
    this.faults.push({
      spec: { ...spec },
      method: spec.method?.toUpperCase(),
      tenantId: spec.tenantId?.toLowerCase(),
      matches: pathMatcher(spec.path),
      remaining: spec.times ?? 1,
    });
  }

  /** Removes every fault. */
  clear(): void {
    this.faults = [];
  }

  /** Takes (uses up once) the first fault matching this request (`tenantId`: its token's `tid`), if any. */
  take(method: string, pathname: string, tenantId?: string): FaultSpec | undefined {
    const tenant = tenantId?.toLowerCase();
    const index = this.faults.findIndex(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method === method) &&
        (f.tenantId === undefined || f.tenantId === tenant) &&
        f.matches(pathname),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault.spec;
  }
}

function pathMatcher(path: string | RegExp): (pathname: string) => boolean {
  if (path instanceof RegExp) {
    // A global/sticky regex keeps state between tests; use a stateless copy.
    const re = new RegExp(path.source, path.flags.replace(/[gy]/g, ''));
    return (p) => re.test(p);
  }
  if (!path.includes('*')) return (p) => p === path;
  const source = path
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  const re = new RegExp(`^${source}$`);
  return (p) => re.test(p);
}

function validateFault(spec: FaultSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('fault must be an object');
  if (!(spec.path instanceof RegExp) && (typeof spec.path !== 'string' || spec.path === '')) {
    throw new TypeError('fault.path must be a non-empty string or a RegExp');
  }
  if (spec.method !== undefined && typeof spec.method !== 'string') throw new TypeError('fault.method must be a string');
  if (spec.tenantId !== undefined && (typeof spec.tenantId !== 'string' || spec.tenantId === '')) {
    throw new TypeError('fault.tenantId must be a non-empty string');
  }
  if (spec.status !== undefined && (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)) {
    throw new TypeError('fault.status must be an HTTP status code');
  }
  if (spec.retryAfter !== undefined && typeof spec.retryAfter !== 'string') throw new TypeError('fault.retryAfter must be a string');
  if (spec.delayMs !== undefined && !(typeof spec.delayMs === 'number' && spec.delayMs >= 0)) {
    throw new TypeError('fault.delayMs must be a non-negative number');
  }
  if (spec.times !== undefined && !(typeof spec.times === 'number' && spec.times >= 1)) {
    throw new TypeError('fault.times must be at least 1 (Infinity allowed)');
  }
  if (spec.headers !== undefined) {
    if (typeof spec.headers !== 'object' || spec.headers === null || Object.values(spec.headers).some((v) => typeof v !== 'string')) {
      throw new TypeError('fault.headers must map names to strings');
    }
  }
  if (spec.status === undefined && !spec.reset && spec.delayMs === undefined) {
    throw new TypeError('fault needs a status, reset or delayMs');
  }
}

/**
 * Reads a fault from JSON (the HTTP control API): `path` is a string or `{ "regex": "...", "flags"?: "i" }`,
 * `times` may be a number, `"Infinity"`, `null` or `-1` (both meaning Infinity).
 */
export function faultFromJson(value: unknown): FaultSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('fault must be a JSON object');
  const raw = value as Record<string, unknown>;
  let path: string | RegExp;
  if (typeof raw.path === 'string') path = raw.path;
  else if (typeof raw.path === 'object' && raw.path !== null && typeof (raw.path as { regex?: unknown }).regex === 'string') {
    const { regex, flags } = raw.path as { regex: string; flags?: unknown };
    try {
      path = new RegExp(regex, typeof flags === 'string' ? flags : '');
    } catch {
      throw new TypeError('fault.path.regex is not a valid regular expression');
    }
  } else throw new TypeError('fault.path must be a string or {"regex": "..."}');
  const times = raw.times === null || raw.times === 'Infinity' || raw.times === -1 ? Infinity : raw.times;
  const spec: FaultSpec = { ...(raw as Partial<FaultSpec>), path } as FaultSpec;
  if (times === undefined) delete spec.times;
  else spec.times = times as number;
  validateFault(spec);
  return spec;
}
