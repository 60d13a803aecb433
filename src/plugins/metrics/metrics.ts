/**
 * The gateway's Prometheus metrics (README, Metrics: the names and labels are the contract).
 *
 * One registry per gateway (never prom-client's global one: several gateways may share a process, as the
 * tests do), with prom-client's default process and Node.js metrics unprefixed. The rest of the code
 * records through the small methods of `GatewayMetrics` and never sees prom-client.
 *
 * Every label value is bounded, so a hostile or merely busy client cannot grow the series without limit:
 * methods, routes, statuses, services, reasons, loaders and codes come from small fixed sets (anything
 * else is `other`), operation names are the persisted ones plus the first `maxOperationNames`
 * distinct others (then `other`), and client names (`apollographql-client-name`) the first
 * `maxClientNames` distinct ones (then `other`). Ids, tenants and paths with ids never become label values.
 *
 * Recording costs a Map lookup and an add: each labelled child is looked up once by a joined key and
 * cached (prom-client's own `inc(labels)` hashes the label object on every call).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { APOLLO_REQUEST_CODES, ERROR_CODES } from '../../errors.js';
import { UPSTREAM_SERVICES } from '../../upstreams.js';

/** Outcome of one GraphQL operation: no errors, data with errors, or errors without data. */
export type OperationOutcome = 'success' | 'partial' | 'error';

/** Result of one request for an upstream token. */
export type TokenRequestResult = 'cache_hit' | 'exchanged' | 'failed';

/** Why an upstream try was retried. */
export type RetryReason = 'throttled' | 'unavailable' | 'gateway_timeout' | 'timeout' | 'connection_failed' | 'other';

/** What one response-cache lookup found. */
export type ResponseCacheResult = 'hit' | 'miss' | 'bypass';

/** A circuit breaker state as the gauge names it. */
export type CircuitStateLabel = 'closed' | 'half_open' | 'open';

/** How many breakers of a service are in each state (read at scrape time). */
export type CircuitStateCounts = ReadonlyArray<{ readonly service: string; readonly state: CircuitStateLabel; readonly count: number }>;

/** One upstream service's keep-alive pool (read at scrape time). */
export type UpstreamPoolStats = ReadonlyArray<{ readonly service: string; readonly active: number; readonly idle: number; readonly queued: number }>;

/** What the rest of the gateway records. */
export interface GatewayMetrics {
  /** The registry `GET /metrics` serves. */
  readonly registry: Registry;
  /** One HTTP request answered (`route` is Fastify's route pattern, or `undefined` when none matched). */
  httpRequest(method: string, route: string | undefined, status: number, seconds: number): void;
  /** One GraphQL operation answered. `name` is the document's operation name (bounded here). */
  operation(type: string | undefined, name: string | undefined, outcome: OperationOutcome): void;
  /** One error in a GraphQL response, by `extensions.code`. */
  graphqlError(code: unknown): void;
  /** One upstream try: `status` 0 when no answer came. */
  upstreamTry(service: string, method: string, status: number, seconds: number): void;
  /** One upstream retry about to be made. */
  upstreamRetry(service: string, reason: RetryReason): void;
  /** One DataLoader batch of `size` keys. */
  dataloaderBatch(loader: string, size: number): void;
  /** One request for an upstream token. */
  tokenRequest(service: string, result: TokenRequestResult): void;
  /** One caller refused by the per-caller rate limit. */
  rateLimited(): void;
  /** One upstream call answered RATE_LIMITED from a throttle window, without reaching the upstream. */
  upstreamThrottled(service: string): void;
  /** The upstream's own throttle-limit ratio as it last sent it (Graph's `x-ms-throttle-limit-percentage`). */
  upstreamThrottleLimit(service: string, ratio: number): void;
  /** Where the circuit gauge reads breaker states from at scrape time (the transport). */
  setCircuitStateSource(source: () => CircuitStateCounts): void;
  /** Where the socket and queue gauges read each service's pool from at scrape time (the transport). */
  setUpstreamPoolSource(source: () => UpstreamPoolStats): void;
  /** One document that is not in the persisted query manifest (`PERSISTED_QUERIES_LOG_UNKNOWN`), by client name (bounded here). */
  persistedQueryUnknown(clientName: string | undefined): void;
  /** More operation names always kept as label values (a reloaded manifest's). */
  addKnownOperationNames(names: Iterable<string>): void;
  /** One upstream GET that joined an identical one in flight instead of being sent. */
  upstreamCoalesced(service: string): void;
  /** One response-cache lookup of an upstream GET. */
  responseCacheLookup(service: string, result: ResponseCacheResult): void;
  /** Where the response-cache gauge reads the bytes held from at scrape time. */
  setResponseCacheBytesSource(source: () => number): void;
}

/** Options of {@link createGatewayMetrics}. */
export interface GatewayMetricsOptions {
  /** Operation names always kept as label values (those of the persisted query manifest). @default none */
  readonly knownOperationNames?: Iterable<string>;
  /** Distinct other operation names kept before the rest become `other`. @default 50 */
  readonly maxOperationNames?: number;
  /** Distinct client names kept before the rest become `other`. @default 50 */
  readonly maxClientNames?: number;
  /** Adds prom-client's default metrics (`process_*`, `nodejs_*`). @default true */
  readonly defaultMetrics?: boolean;
}

/** Seconds; from a fast local call to the longest allowed upstream deadline. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Keys per batch; Graph `$batch` takes 20, the customer-user loader caps at 50. */
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100];

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']);
const SERVICES: ReadonlySet<string> = new Set(UPSTREAM_SERVICES);
const RETRY_REASONS = new Set<string>(['throttled', 'unavailable', 'gateway_timeout', 'timeout', 'connection_failed']);
const LOADERS = new Set(['customer_user', 'external_user_profile']);
const OPERATION_TYPES = new Set(['query', 'mutation', 'subscription']);
/** The contract's codes and Apollo Server's request-level ones (README, Errors). */
const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set([...ERROR_CODES, ...APOLLO_REQUEST_CODES, 'INTERNAL_SERVER_ERROR']);

const bounded = (set: ReadonlySet<string>, value: string): string => (set.has(value) ? value : 'other');

/** A label of client-given names: the known ones, plus the first `max` distinct others of the right shape, then `other`. */
export class LabelLimiter {
  readonly #names = new Set<string>();
  readonly #max: number;
  readonly #missing: string;
  readonly #shape: RegExp;
  #others = 0;

  /** `missing`: the value for no name; `shape`: what a name must look like to be kept. */
  constructor(known: Iterable<string>, max: number, missing: string, shape: RegExp) {
    this.add(known);
    this.#max = Math.max(0, max);
    this.#missing = missing;
    this.#shape = shape;
  }

  /** Names kept from now on, besides the first `max` others. */
  add(known: Iterable<string>): void {
    for (const name of known) this.#names.add(name);
  }

  /** The label value of a name. */
  label(name: string | undefined): string {
    if (!name) return this.#missing;
    if (this.#names.has(name)) return name;
    if (this.#others >= this.#max || name.length > 100 || !this.#shape.test(name)) return 'other';
    this.#others++;
    this.#names.add(name);
    return name;
  }
}

/** The first `max` distinct operation names besides the known ones, then `other` (`anonymous` for none). */
export class OperationNameLimiter extends LabelLimiter {
  constructor(known: Iterable<string> = [], max = 50) {
    // GraphQL names are [_A-Za-z][_0-9A-Za-z]*; anything else never came from a parsed document.
    super(known, max, 'anonymous', /^[_A-Za-z][_0-9A-Za-z]*$/);
  }
}

/** The first `max` distinct client names (`apollographql-client-name`), then `other` (`none` for no header). */
export class ClientNameLimiter extends LabelLimiter {
  constructor(max = 50) {
    // As Apollo's clients spell them (`partner-portal-web`, `com.contoso.app`, `@scope/app`).
    super([], max, 'none', /^[A-Za-z0-9@][A-Za-z0-9._@/+:-]*$/);
  }
}

/** Caches the labelled children of one metric by a joined key. */
function children<T>(make: (...labels: string[]) => T): (...labels: string[]) => T {
  const cache = new Map<string, T>();
  return (...labels) => {
    const key = labels.join('\u0000');
    let child = cache.get(key);
    if (child === undefined) cache.set(key, (child = make(...labels)));
    return child;
  };
}

/** Creates the registry and every metric of the contract. */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const names = new OperationNameLimiter(options.knownOperationNames, options.maxOperationNames ?? 50);
  const clientNames = new ClientNameLimiter(options.maxClientNames ?? 50);

  const httpDuration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations answered, by operation type, operation name (bounded) and outcome (success, partial, error).',
    labelNames: ['operation_type', 'operation_name', 'outcome'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'gateway_graphql_errors_total',
    help: 'Errors in GraphQL responses, by extensions.code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'gateway_upstream_request_duration_seconds',
    help: 'Time of one upstream try (each retry is its own observation), by service, method and status (0: no answer).',
    labelNames: ['service', 'method', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Upstream retries made, by service and reason (throttled, unavailable, gateway_timeout, timeout, connection_failed).',
    labelNames: ['service', 'reason'] as const,
    registers: [registry],
  });
  let circuitSource: (() => CircuitStateCounts) | undefined;
  new Gauge({
    name: 'gateway_upstream_circuit_state',
    help: 'Circuit breakers in each state (closed, half_open, open), by service: a count, never one series per breaker.',
    labelNames: ['service', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const service of SERVICES) for (const state of ['closed', 'half_open', 'open'] as const) this.set({ service, state }, 0);
      for (const { service, state, count } of circuitSource?.() ?? []) this.inc({ service: bounded(SERVICES, service), state }, count);
    },
  });
  // Read from the agents when scraped: nothing is recorded per call.
  let poolSource: (() => UpstreamPoolStats) | undefined;
  const pools = (): UpstreamPoolStats => {
    const read = poolSource?.() ?? [];
    return [...SERVICES].map((service) => read.find((p) => p.service === service) ?? { service, active: 0, idle: 0, queued: 0 });
  };
  new Gauge({
    name: 'gateway_upstream_sockets',
    help: 'Keep-alive sockets of each upstream service\'s pool (UPSTREAM_MAX_SOCKETS per service), by state: active (carrying a call) or idle.',
    labelNames: ['service', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { service, active, idle } of pools()) {
        this.set({ service, state: 'active' }, active);
        this.set({ service, state: 'idle' }, idle);
      }
    },
  });
  new Gauge({
    name: 'gateway_upstream_queued_requests',
    help: 'Upstream calls waiting for a socket because all UPSTREAM_MAX_SOCKETS of the service are active, by service.',
    labelNames: ['service'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { service, queued } of pools()) this.set({ service }, queued);
    },
  });
  const batchSize = new Histogram({
    name: 'gateway_dataloader_batch_size',
    help: 'Keys per DataLoader batch, by loader.',
    labelNames: ['loader'] as const,
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const tokenRequests = new Counter({
    name: 'gateway_upstream_token_requests_total',
    help: 'Requests for an upstream token, by service and result (cache_hit, exchanged, failed; exchanged + failed = exchanges with the identity provider).',
    labelNames: ['service', 'result'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused by the per-caller rate limit (RATE_LIMIT_PER_MINUTE).',
    registers: [registry],
  });
  const unknownDocuments = new Counter({
    name: 'gateway_persisted_queries_unknown_total',
    help: 'Documents not in the persisted query manifest (PERSISTED_QUERIES_LOG_UNKNOWN), by client name (apollographql-client-name, bounded; none without it).',
    labelNames: ['client_name'] as const,
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'gateway_upstream_throttled_total',
    help: 'Upstream calls answered RATE_LIMITED from a throttle window (the upstream throttled their scope), without reaching the upstream, by service.',
    labelNames: ['service'] as const,
    registers: [registry],
  });
  const throttleLimit = new Gauge({
    name: 'gateway_upstream_throttle_limit_ratio',
    help: "The upstream's throttle-limit ratio as last sent (Graph's x-ms-throttle-limit-percentage: sent above 0.8, 1 = the limit), by service.",
    labelNames: ['service'] as const,
    registers: [registry],
  });

  const coalesced = new Counter({
    name: 'gateway_upstream_coalesced_total',
    help: 'Upstream GETs not sent because an identical one of the same caller was in flight (they shared its answer), by service.',
    labelNames: ['service'] as const,
    registers: [registry],
  });
  const cacheLookups = new Counter({
    name: 'gateway_response_cache_requests_total',
    help: 'Response-cache lookups of upstream GETs, by service and result (hit, miss, bypass: the cache could not be used).',
    labelNames: ['service', 'result'] as const,
    registers: [registry],
  });
  let cacheBytesSource: (() => number) | undefined;
  new Gauge({
    name: 'gateway_response_cache_bytes',
    help: 'Bytes the response cache holds (its entries as counted against RESPONSE_CACHE_MAX_BYTES).',
    registers: [registry],
    collect() {
      this.set(cacheBytesSource?.() ?? 0);
    },
  });

  const httpChild = children((method, route, status) => httpDuration.labels(method!, route!, status!));
  const operationChild = children((type, name, outcome) => operations.labels(type!, name!, outcome!));
  const errorChild = children((code) => errors.labels(code!));
  const upstreamChild = children((service, method, status) => upstreamDuration.labels(service!, method!, status!));
  const retryChild = children((service, reason) => retries.labels(service!, reason!));
  // Every known service and reason from the start, at 0: a rate or an alert on retries has a series to
  // read before the first retry happens (prom-client writes a labelled counter only once it is touched).
  for (const service of SERVICES) for (const reason of RETRY_REASONS) retryChild(service, reason).inc(0);
  const batchChild = children((loader) => batchSize.labels(loader!));
  const tokenChild = children((service, result) => tokenRequests.labels(service!, result!));
  const unknownChild = children((client) => unknownDocuments.labels(client!));
  const throttledChild = children((service) => throttled.labels(service!));
  const throttleLimitChild = children((service) => throttleLimit.labels(service!));
  const coalescedChild = children((service) => coalesced.labels(service!));
  const cacheChild = children((service, result) => cacheLookups.labels(service!, result!));

  return {
    registry,
    httpRequest(method, route, status, seconds) {
      // A route pattern (e.g. `/explorer/*`), never the raw path, which may hold anything a client sends.
      httpChild(bounded(HTTP_METHODS, method), route ?? 'unmatched', String(status)).observe(seconds);
    },
    operation(type, name, outcome) {
      const operationType = type && OPERATION_TYPES.has(type) ? type : 'unknown';
      operationChild(operationType, operationType === 'unknown' ? 'unknown' : names.label(name), outcome).inc();
    },
    graphqlError(code) {
      errorChild(typeof code === 'string' ? bounded(KNOWN_ERROR_CODES, code) : 'other').inc();
    },
    upstreamTry(service, method, status, seconds) {
      upstreamChild(bounded(SERVICES, service), bounded(HTTP_METHODS, method), String(status)).observe(seconds);
    },
    upstreamRetry(service, reason) {
      retryChild(bounded(SERVICES, service), bounded(RETRY_REASONS, reason)).inc();
    },
    dataloaderBatch(loader, size) {
      batchChild(bounded(LOADERS, loader)).observe(size);
    },
    tokenRequest(service, result) {
      tokenChild(bounded(SERVICES, service), result).inc();
    },
    rateLimited() {
      rateLimited.inc();
    },
    upstreamThrottled(service) {
      throttledChild(bounded(SERVICES, service)).inc();
    },
    upstreamThrottleLimit(service, ratio) {
      if (Number.isFinite(ratio)) throttleLimitChild(bounded(SERVICES, service)).set(ratio);
    },
    setCircuitStateSource(source) {
      circuitSource = source;
    },
    setUpstreamPoolSource(source) {
      poolSource = source;
    },
    persistedQueryUnknown(clientName) {
      unknownChild(clientNames.label(clientName)).inc();
    },
    addKnownOperationNames(known) {
      names.add(known);
    },
    upstreamCoalesced(service) {
      coalescedChild(bounded(SERVICES, service)).inc();
    },
    responseCacheLookup(service, result) {
      cacheChild(bounded(SERVICES, service), result).inc();
    },
    setResponseCacheBytesSource(source) {
      cacheBytesSource = source;
    },
  };
}
