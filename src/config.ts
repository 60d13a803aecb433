/**
 * The one place that reads the environment. `loadConfig` validates every variable of the contract's
 * configuration table (README, Configuration) and returns a frozen, typed object; a bad value throws
 * a `ConfigError` whose message is one line naming the variable and what is allowed. No other module
 * reads `process.env`.
 */
import { isIPv4 } from 'node:net';
import type { JWK } from 'jose';
import { z } from 'zod';
import { UPSTREAMS, type UpstreamService } from './upstreams.js';

export const CLOUDS = ['global', 'usgov', 'usgov-dod', 'china'] as const;
export type Cloud = (typeof CLOUDS)[number];

/** Entra ID's authority host per national cloud (the upstreams' roots are in their descriptors, src/upstreams.ts). */
export const CLOUD_AUTHORITY_HOSTS: Readonly<Record<Cloud, string>> = Object.freeze({
  global: 'https://login.microsoftonline.com',
  usgov: 'https://login.microsoftonline.us',
  'usgov-dod': 'https://login.microsoftonline.us',
  china: 'https://login.chinacloudapi.cn',
});

/** Where one upstream is, for the configured cloud: its descriptor's defaults, its variable winning. */
export interface UpstreamEndpoint {
  /** API root without a version segment or trailing slash (`PARTNER_CENTER_URL`, `GRAPH_URL`, else the cloud's). */
  readonly url: string;
  /** Whether the operator set the root (`withEmulator` keeps it). */
  readonly urlSet: boolean;
  /** Token resource of the on-behalf-of exchange in this cloud. */
  readonly tokenResource: string;
  /** Whether what the gateway uses of this upstream exists in this cloud. */
  readonly available: boolean;
}

export type UpstreamMode = 'emulator' | 'microsoft';
export type UpstreamAuthMode = 'on-behalf-of' | 'passthrough';

export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
  readonly maxTokens: number;
  readonly maxDirectives: number;
  readonly maxBodyBytes: number;
}

/** `OTEL_TRACES_SAMPLER` values the gateway understands (OpenTelemetry's built-in samplers). */
export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/** OTLP encodings over HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`); gRPC is not offered. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Tracing, from OpenTelemetry's standard variables; present only when an OTLP endpoint is set. */
export interface TracingConfig {
  /** Where spans are POSTed: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
  readonly tracesUrl: string;
  readonly protocol: OtlpProtocol;
  /** `service.name` of every span. */
  readonly serviceName: string;
  readonly sampler: TracesSampler;
  /** Ratio of the `*traceidratio` samplers, 0 to 1. */
  readonly samplerRatio: number;
  /** Longest a finished span waits before it is exported (`OTEL_BSP_SCHEDULE_DELAY`, ms). */
  readonly scheduleDelayMs: number;
}

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly upstream: UpstreamMode;
  /** Port of the embedded emulator when `upstream` is `emulator` (0 = ephemeral). */
  readonly emulatorPort: number;
  readonly cloud: Cloud;
  /** Entra ID's authority host for the cloud. */
  readonly authorityHost: string;
  /** Every upstream's root, token resource and availability for the cloud. */
  readonly upstreams: Readonly<Record<UpstreamService, UpstreamEndpoint>>;
  readonly auth: {
    /** Accepted issuers; may contain Entra's `{tenantid}` placeholder. Empty until the emulator fills it. */
    readonly issuers: readonly string[];
    readonly audience: string;
    /** Explicit JWKS URL; otherwise discovered from the issuer's OpenID configuration. */
    readonly jwksUrl?: string;
    /** How long the last good signing keys stay in use while refetching them fails (0: not at all). */
    readonly jwksGraceMs: number;
    /**
     * Public keys never trusted, whatever URL serves them: the embedded emulator's own while an accepted
     * issuer is not the emulator's (`withEmulator`); empty otherwise.
     */
    readonly untrustedKeys: readonly JWK[];
  };
  readonly upstreamAuth: UpstreamAuthMode;
  readonly azure: {
    readonly clientId?: string;
    readonly clientSecret?: string;
    /** Authority override (defaults to the cloud's authority host + the caller's tenant). */
    readonly authority?: string;
  };
  readonly upstreamTimeoutMs: number;
  readonly upstreamDeadlineMs: number;
  /** Largest upstream answer read (`UPSTREAM_MAX_RESPONSE_BYTES`); a larger one is aborted as UPSTREAM_ERROR. */
  readonly upstreamMaxResponseBytes: number;
  /**
   * Keep-alive sockets per upstream service (`UPSTREAM_MAX_SOCKETS`): how many calls to one service are in
   * flight at once; more wait for a socket (`gateway_upstream_queued_requests`).
   */
  readonly upstreamMaxSockets: number;
  /** `UPSTREAM_COALESCE`: identical upstream GETs of one caller in flight together are sent once. */
  readonly upstreamCoalesce: boolean;
  /** The per-caller response cache (README, Response cache); `ttlMs` 0 is off. */
  readonly responseCache: {
    /** `RESPONSE_CACHE_TTL_MS`. */
    readonly ttlMs: number;
    /** `RESPONSE_CACHE_MAX_BYTES`: bound of what each replica holds. */
    readonly maxBytes: number;
  };
  /** Slow-client limits of the HTTP server (`REQUEST_TIMEOUT_MS` and its neighbours). */
  readonly clientLimits: ClientLimits;
  readonly limits: QueryLimits;
  readonly rateLimitPerMinute: number;
  /**
   * `CORS_ORIGINS`: browser origins allowed besides the defaults outside production (any localhost
   * origin and hosted Apollo Sandbox, plugins/cors.ts); in production the whole list.
   */
  readonly corsOrigins: readonly string[];
  readonly introspection: boolean;
  readonly persistedQueries: {
    /** `only` refuses any operation that is not in the manifest. */
    readonly mode: 'off' | 'allow' | 'only';
    readonly manifestPath?: string;
    /**
     * `PERSISTED_QUERIES_LOG_UNKNOWN`: a document not in the manifest is logged (once per hash per hour)
     * and counted; with `allow` it still runs. Needs a manifest.
     */
    readonly logUnknown: boolean;
  };
  readonly logLevel: string;
  /**
   * Secret the paging cursors' encryption key is derived from (HKDF). Unset: a random key per process, so
   * a cursor only works on the replica (and process lifetime) that issued it; set the same value on every
   * replica to share them.
   */
  readonly cursorSecret?: string;
  /**
   * Which `X-Forwarded-For` hops to trust for the client address (Fastify `trustProxy`): false, true,
   * a hop count, or addresses/CIDRs. Matters for the per-address rate limit behind a reverse proxy.
   */
  readonly trustProxy: boolean | number | string[];
  /**
   * `REDIS_URL`: shared state for several replicas (support-profile lock, rate-limit buckets, APQ
   * registry). Unset: in-process state, safe for writes on one replica only. May hold credentials:
   * never log it as it is (state/redis-client.ts `redactRedisUrl`).
   */
  readonly redisUrl?: string;
  /**
   * `REDIS_KEY_PREFIX`: the start of every Redis key (locks, write-try records, rate-limit buckets, APQ
   * registry, and whatever else src/state/ keeps there), so deployments can share one Redis database.
   */
  readonly redisKeyPrefix: string;
  /** Port of the `GET /metrics` listener on `host`; 0 means no listener and no metrics recorded. */
  readonly metricsPort: number;
  /** Tracing; `undefined` (no OTLP endpoint) means off, and no tracing code is loaded. */
  readonly tracing?: TracingConfig;
}

/** A configuration mistake: its message is one line naming the variable and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: () => `must be one of ${values.join(', ')}` }) as unknown as z.ZodType<T[number], string>;
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().min(min, { error: `must be from ${min} to ${max}` }).max(max, { error: `must be from ${min} to ${max}` }));

const booleanString = z
  .enum(['true', 'false', '1', '0'], { error: () => 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const absoluteUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).transform((u) => u.replace(/\/+$/, ''));

const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/**
 * Every variable the gateway reads, as strings in, typed values out (unset stays undefined).
 * test/config.test.ts checks that .env.example and the README document each one.
 */
export const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: integer(0, 65535).optional(),
  HOST: z.string().min(1, { error: 'must not be empty' }).optional(),
  UPSTREAM: oneOf(['emulator', 'microsoft']).optional(),
  EMULATOR_PORT: integer(0, 65535).optional(),
  CLOUD: oneOf(CLOUDS).optional(),
  // Each upstream's root (`PARTNER_CENTER_URL`, `GRAPH_URL`), named by its descriptor.
  ...upstreamUrlVariables(),
  AUTH_ISSUER: csv.optional(),
  AUTH_AUDIENCE: z.string().min(1, { error: 'must not be empty' }).optional(),
  AUTH_JWKS_URL: absoluteUrl.optional(),
  AUTH_JWKS_GRACE_MS: integer(0, 7 * 24 * 3_600_000).optional(),
  UPSTREAM_AUTH: oneOf(['on-behalf-of', 'passthrough']).optional(),
  AZURE_CLIENT_ID: z.string().min(1).optional(),
  AZURE_CLIENT_SECRET: z.string().min(1).optional(),
  AZURE_AUTHORITY: absoluteUrl.optional(),
  UPSTREAM_TIMEOUT_MS: integer(1, 600_000).optional(),
  UPSTREAM_DEADLINE_MS: integer(1, 3_600_000).optional(),
  UPSTREAM_MAX_RESPONSE_BYTES: integer(1024, 1_073_741_824).optional(),
  UPSTREAM_MAX_SOCKETS: integer(1, 100_000).optional(),
  UPSTREAM_COALESCE: booleanString.optional(),
  RESPONSE_CACHE_TTL_MS: integer(0, 86_400_000).optional(),
  RESPONSE_CACHE_MAX_BYTES: integer(65_536, 17_179_869_184).optional(),
  REQUEST_TIMEOUT_MS: integer(100, 600_000).optional(),
  HEADERS_TIMEOUT_MS: integer(100, 600_000).optional(),
  KEEP_ALIVE_TIMEOUT_MS: integer(100, 600_000).optional(),
  MAX_CONNECTIONS: integer(1, 1_000_000).optional(),
  MAX_DEPTH: integer(1, 1000).optional(),
  MAX_ALIASES: integer(0, 10_000).optional(),
  MAX_COST: integer(1, 10_000_000).optional(),
  MAX_TOKENS: integer(1, 1_000_000).optional(),
  MAX_DIRECTIVES: integer(0, 10_000).optional(),
  MAX_BODY_BYTES: integer(1024, 100 * 1024 * 1024).optional(),
  RATE_LIMIT_PER_MINUTE: integer(0, 10_000_000).optional(),
  CORS_ORIGINS: csv
    .transform((origins) => origins.map((o) => o.replace(/\/+$/, '')))
    .refine((origins) => origins.every(isOrigin), {
      error: 'must list origins, scheme://host[:port] with no path, e.g. https://app.contoso.example',
    })
    .optional(),
  INTROSPECTION: booleanString.optional(),
  PERSISTED_QUERIES: oneOf(['off', 'allow', 'only']).optional(),
  PERSISTED_QUERIES_MANIFEST: z.string().min(1).optional(),
  PERSISTED_QUERIES_LOG_UNKNOWN: booleanString.optional(),
  LOG_LEVEL: oneOf(LOG_LEVELS).optional(),
  TRUST_PROXY: z.string().optional(),
  CURSOR_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  // The message never repeats the value: it may carry a password.
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\/\S+$/.test(v) && URL.canParse(v), { error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, { error: 'must be 1 to 64 printable ASCII characters without spaces, e.g. partner-bff-staging:' })
    .optional(),
  METRICS_PORT: integer(0, 65535).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: absoluteUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: absoluteUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(OTLP_PROTOCOLS).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: oneOf(OTLP_PROTOCOLS).optional(),
  OTEL_SERVICE_NAME: z.string().min(1, { error: 'must not be empty' }).optional(),
  OTEL_TRACES_SAMPLER: oneOf(TRACES_SAMPLERS).optional(),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, { error: 'must be a number from 0 to 1' })
    .transform(Number)
    .pipe(z.number().max(1, { error: 'must be a number from 0 to 1' }))
    .optional(),
  OTEL_BSP_SCHEDULE_DELAY: integer(0, 3_600_000).optional(),
});

/** One optional absolute-URL variable per upstream, named by its descriptor. */
function upstreamUrlVariables(): Record<string, z.ZodOptional<typeof absoluteUrl>> {
  return Object.fromEntries(UPSTREAMS.map((u) => [u.urlVariable, absoluteUrl.optional()]));
}

/** A frozen record of one value per upstream. */
function mapUpstreams<T>(value: (upstream: (typeof UPSTREAMS)[number]) => T): Readonly<Record<UpstreamService, T>> {
  return Object.freeze(Object.fromEntries(UPSTREAMS.map((u) => [u.service, value(u)])) as Record<UpstreamService, T>);
}

/** Every upstream's endpoint in `cloud`: its variable (already validated and trimmed) over its descriptor's default. */
function upstreamEndpoints(cloud: Cloud, e: Readonly<Record<string, unknown>>): Readonly<Record<UpstreamService, UpstreamEndpoint>> {
  return mapUpstreams((u) => {
    const set = e[u.urlVariable] as string | undefined;
    const defaults = u.clouds[cloud];
    return Object.freeze({ url: set ?? defaults.url, urlSet: set !== undefined, tokenResource: defaults.tokenResource, available: defaults.available });
  });
}

/** True for a browser origin as a page sends it: `scheme://host[:port]`, nothing more. */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

/**
 * True for loopback hosts (sidecars, tests), where plain http is acceptable even in production: exactly
 * `localhost`, `::1`, or an IPv4 address in 127.0.0.0/8. A name that merely starts with `127.`
 * (`127.evil.example`) is resolved by DNS and may be anywhere, so it does not count.
 */
export function isLoopbackUrl(url: string): boolean {
  // WHATWG URL has already normalised IPv4 forms (`127.1`, `0x7f.0.0.1`) to dotted quads, and brackets IPv6.
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'));
}

/**
 * Reads and validates the environment. Throws `ConfigError` with a one-line message on the first
 * problem found. Empty strings count as unset, as most process managers write them for "no value".
 */
export function loadConfig(env: Env = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0])} ${issue.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';

  if (production && !e.UPSTREAM) {
    throw new ConfigError('UPSTREAM must be set explicitly in production (microsoft)');
  }
  // The emulator signs any token asked of its loopback endpoint: trusting its keys in production would
  // let anyone on the host mint their own access.
  if (production && e.UPSTREAM === 'emulator') {
    throw new ConfigError(
      `UPSTREAM=emulator is refused in production (its signing keys mint tokens for anyone); use UPSTREAM=microsoft, pointing ${UPSTREAMS.map((u) => u.urlVariable).join(', ')}, AUTH_* and AZURE_* at the emulator or a double`,
    );
  }
  const upstream = e.UPSTREAM ?? 'emulator';
  const cloud = e.CLOUD ?? 'global';
  const upstreamAuth = e.UPSTREAM_AUTH ?? 'on-behalf-of';

  if (upstream === 'microsoft') {
    if (!e.AUTH_ISSUER?.length) throw new ConfigError('AUTH_ISSUER is required when UPSTREAM=microsoft (the accepted token issuer, e.g. https://login.microsoftonline.com/<tenant-id>/v2.0)');
    if (!e.AUTH_AUDIENCE) throw new ConfigError("AUTH_AUDIENCE is required when UPSTREAM=microsoft (the gateway's own application ID URI or client id)");
    if (upstreamAuth === 'on-behalf-of' && (!e.AZURE_CLIENT_ID || !e.AZURE_CLIENT_SECRET)) {
      throw new ConfigError('AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are required for UPSTREAM_AUTH=on-behalf-of (or set UPSTREAM_AUTH=passthrough)');
    }
  }
  for (const issuer of e.AUTH_ISSUER ?? []) {
    if (!/^https?:\/\//.test(issuer)) throw new ConfigError(`AUTH_ISSUER must list absolute URLs; got ${JSON.stringify(issuer)}`);
  }

  const upstreams = upstreamEndpoints(cloud, e);

  if (production) {
    // README, Configuration: https only, except loopback (sidecars, tests).
    const urls: Array<[string, string | undefined]> = [
      ...UPSTREAMS.map((u): [string, string] => [u.urlVariable, upstreams[u.service].url]),
      ['AUTH_JWKS_URL', e.AUTH_JWKS_URL],
      ['AZURE_AUTHORITY', e.AZURE_AUTHORITY],
      ...(e.AUTH_ISSUER ?? []).map((i): [string, string] => ['AUTH_ISSUER', i]),
    ];
    for (const [name, url] of urls) {
      if (url && !url.startsWith('https://') && !isLoopbackUrl(url.replace('{tenantid}', 'x'))) {
        throw new ConfigError(`${name} must use https in production (plain http is allowed only on loopback hosts)`);
      }
    }
  }
  const timeout = e.UPSTREAM_TIMEOUT_MS ?? 10_000;
  const deadline = e.UPSTREAM_DEADLINE_MS ?? 30_000;
  if (deadline < timeout) throw new ConfigError('UPSTREAM_DEADLINE_MS must be at least UPSTREAM_TIMEOUT_MS');
  if (e.PERSISTED_QUERIES === 'only' && !e.PERSISTED_QUERIES_MANIFEST) {
    throw new ConfigError('PERSISTED_QUERIES_MANIFEST is required when PERSISTED_QUERIES=only');
  }
  if (e.PERSISTED_QUERIES_LOG_UNKNOWN && (e.PERSISTED_QUERIES === 'off' || !e.PERSISTED_QUERIES_MANIFEST)) {
    throw new ConfigError('PERSISTED_QUERIES_LOG_UNKNOWN=true needs a manifest to compare with: set PERSISTED_QUERIES_MANIFEST (and PERSISTED_QUERIES allow or only)');
  }

  const config: Config = {
    production,
    port: e.PORT ?? 4000,
    host: e.HOST ?? '127.0.0.1',
    upstream,
    emulatorPort: e.EMULATOR_PORT ?? 4010,
    cloud,
    authorityHost: CLOUD_AUTHORITY_HOSTS[cloud],
    upstreams,
    auth: Object.freeze({
      issuers: Object.freeze(e.AUTH_ISSUER ?? []),
      audience: e.AUTH_AUDIENCE ?? '',
      jwksUrl: e.AUTH_JWKS_URL,
      jwksGraceMs: e.AUTH_JWKS_GRACE_MS ?? 3_600_000,
      untrustedKeys: Object.freeze([]),
    }),
    upstreamAuth,
    azure: Object.freeze({ clientId: e.AZURE_CLIENT_ID, clientSecret: e.AZURE_CLIENT_SECRET, authority: e.AZURE_AUTHORITY }),
    upstreamTimeoutMs: timeout,
    upstreamDeadlineMs: deadline,
    upstreamMaxResponseBytes: e.UPSTREAM_MAX_RESPONSE_BYTES ?? 8_388_608,
    upstreamMaxSockets: e.UPSTREAM_MAX_SOCKETS ?? 512,
    upstreamCoalesce: e.UPSTREAM_COALESCE ?? true,
    responseCache: Object.freeze({ ttlMs: e.RESPONSE_CACHE_TTL_MS ?? 0, maxBytes: e.RESPONSE_CACHE_MAX_BYTES ?? 67_108_864 }),
    clientLimits: clientLimitsFrom(e.REQUEST_TIMEOUT_MS, e.HEADERS_TIMEOUT_MS, e.KEEP_ALIVE_TIMEOUT_MS, e.MAX_CONNECTIONS),
    limits: Object.freeze({
      maxDepth: e.MAX_DEPTH ?? 10,
      maxAliases: e.MAX_ALIASES ?? 30,
      maxCost: e.MAX_COST ?? 5000,
      maxTokens: e.MAX_TOKENS ?? 2000,
      maxDirectives: e.MAX_DIRECTIVES ?? 50,
      maxBodyBytes: e.MAX_BODY_BYTES ?? 524_288,
    }),
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE ?? 600,
    corsOrigins: Object.freeze(e.CORS_ORIGINS ?? []),
    introspection: e.INTROSPECTION ?? !production,
    persistedQueries: Object.freeze({ mode: e.PERSISTED_QUERIES ?? 'allow', manifestPath: e.PERSISTED_QUERIES_MANIFEST, logUnknown: e.PERSISTED_QUERIES_LOG_UNKNOWN ?? false }),
    logLevel: e.LOG_LEVEL ?? 'info',
    cursorSecret: e.CURSOR_SECRET,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX ?? 'partner-bff:',
    metricsPort: e.METRICS_PORT ?? 9464,
    tracing: tracingConfig(e),
  };
  return Object.freeze(config);
}

/**
 * OpenTelemetry's standard variables (their specification's defaults): off without an endpoint; the
 * signal-specific endpoint is used as is, the generic one gets `/v1/traces`; `http/protobuf` unless a
 * protocol variable says `http/json`; parent-based always-on sampling; 5 s export delay.
 */
function tracingConfig(e: z.infer<typeof envSchema>): TracingConfig | undefined {
  const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces` : undefined);
  if (!tracesUrl) return undefined;
  return Object.freeze({
    tracesUrl,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    serviceName: e.OTEL_SERVICE_NAME ?? 'partner-bff-gateway',
    sampler: e.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY ?? 5000,
  });
}

/** `TRUST_PROXY`: `true`/`false`, a hop count, or comma-separated addresses/CIDRs. */
function parseTrustProxy(value: string | undefined): boolean | number | string[] {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!entries.every((entry) => /^[0-9a-f.:]+(\/\d{1,3})?$/i.test(entry))) {
    throw new ConfigError('TRUST_PROXY must be true, false, a hop count, or comma-separated IP addresses/CIDRs');
  }
  return entries;
}

/**
 * For process entry points: `loadConfig`, but a configuration mistake prints its one line
 * (`Configuration error: CLOUD must be one of ...`) and exits 1, without a stack trace.
 */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Configuration error: ${error.message}\n`);
    process.exit(1);
  }
}

/** The first accepted issuer that is not the emulator's, if any. */
export function foreignIssuer(config: Config, emulator: Pick<EmulatorEndpoints, 'url'>): string | undefined {
  return config.auth.issuers.find((issuer) => !sameOrigin(issuer.replace(/\{tenantid\}/gi, 'x'), emulator.url));
}

/** The refusal of an issuer that is not the emulator's while the signing keys are the emulator's. */
export function emulatorKeysError(issuer: string, emulator: Pick<EmulatorEndpoints, 'issuerTemplate'>): ConfigError {
  return new ConfigError(
    `AUTH_ISSUER ${issuer} is not the emulator's issuer (${emulator.issuerTemplate}) while the signing keys are the emulator's: leave AUTH_ISSUER unset, or set AUTH_JWKS_URL to that issuer's keys`,
  );
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** What the embedded emulator tells the config once it listens. */
export interface EmulatorEndpoints {
  readonly url: string;
  readonly issuerTemplate: string;
  readonly jwksUrl: string;
  readonly audience: string;
  /** The emulator's public signing keys (what its JWKS publishes). */
  readonly publicKeys: readonly JWK[];
}

/**
 * With `UPSTREAM=emulator`, points every upstream root and the token issuer at the emulator, unless
 * the operator set them explicitly. The emulator only exists in this mode (issue 4).
 */
export function withEmulator(config: Config, emulator: EmulatorEndpoints): Config {
  if (config.upstream !== 'emulator') throw new Error('withEmulator called with UPSTREAM=microsoft');
  // The emulator mints a token for any issuer it is asked to name: with its keys, only its own issuer
  // may be accepted, or an emulator-minted token would pass for one from Entra.
  const jwksUrl = config.auth.jwksUrl ?? emulator.jwksUrl;
  const foreign = foreignIssuer(config, emulator);
  if (foreign !== undefined && sameOrigin(jwksUrl, emulator.url)) throw emulatorKeysError(foreign, emulator);
  return Object.freeze({
    ...config,
    upstreams: mapUpstreams((u) => {
      const endpoint = config.upstreams[u.service];
      return endpoint.urlSet ? endpoint : Object.freeze({ ...endpoint, url: emulator.url });
    }),
    auth: Object.freeze({
      ...config.auth,
      issuers: config.auth.issuers.length ? config.auth.issuers : Object.freeze([emulator.issuerTemplate]),
      audience: config.auth.audience || emulator.audience,
      jwksUrl,
      // The URL's text cannot tell (localhost, 127.0.0.2, a name resolving to loopback...): the keys can.
      untrustedKeys: foreign === undefined ? config.auth.untrustedKeys : Object.freeze([...emulator.publicKeys]),
    }),
    azure: Object.freeze({
      clientId: config.azure.clientId ?? 'emulator-gateway-client',
      clientSecret: config.azure.clientSecret ?? 'emulator-gateway-secret',
      authority: config.azure.authority ?? emulator.url,
    }),
  });
}

/** How long a client may take, and how many connections it may hold (README, Configuration: REQUEST_TIMEOUT_MS). */
export interface ClientLimits {
  /** Longest time to receive a whole request, body included (`REQUEST_TIMEOUT_MS`). @default 30000 */
  readonly requestTimeoutMs: number;
  /** Longest time to receive the headers (`HEADERS_TIMEOUT_MS`), never above the request timeout. @default 10000 */
  readonly headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (`KEEP_ALIVE_TIMEOUT_MS`). @default 5000 */
  readonly keepAliveTimeoutMs: number;
  /** Most open client connections; more are closed at once (`MAX_CONNECTIONS`). @default 10000 */
  readonly maxConnections: number;
}

function clientLimitsFrom(request?: number, headers?: number, keepAlive?: number, maxConnections?: number): ClientLimits {
  const requestTimeoutMs = request ?? 30_000;
  // Node refuses to create a server whose headers timeout exceeds its request timeout.
  return {
    requestTimeoutMs,
    headersTimeoutMs: Math.min(headers ?? 10_000, requestTimeoutMs),
    keepAliveTimeoutMs: keepAlive ?? 5_000,
    maxConnections: maxConnections ?? 10_000,
  };
}
