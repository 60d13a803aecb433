/**
 * Tokens for the upstreams, per caller (README, Configuration `UPSTREAM_AUTH`; docs/upstream.md §1.2, §2.4).
 *
 * - `passthrough`: the caller's own token is forwarded.
 * - `on-behalf-of`: the caller's token is exchanged with msal-node for one token per upstream, with
 *   the scope its descriptor builds from the cloud's token resource (Partner Center
 *   `${resource}/user_impersonation`, Graph `${resource}/.default`; `Config.upstreams`) and the cloud's
 *   authority host (`Config.authorityHost`). App-only callers have no user to act for: on Graph the
 *   gateway uses its own client credentials in the caller's tenant; an upstream that is App+User only
 *   (Partner Center, its descriptor's `delegatedOnly`) refuses them.
 *
 * Caching: our own bounded cache, keyed by service + tenant + object id + a hash of the caller's token,
 * until shortly before expiry, with concurrent asks for the same token sharing one exchange. A token is
 * therefore never served to another caller (another token gives another key). msal is called with
 * `skipCache` and its in-memory cache is cleared after each exchange: msal keeps one entry per OBO
 * assertion and never evicts them, which in a long-running server grows with every distinct caller token.
 */
import { createHash } from 'node:crypto';
import {
  AuthError,
  ClientAuthError,
  ConfidentialClientApplication,
  InteractionRequiredAuthError,
  LogLevel,
  ServerError,
  type AuthenticationResult,
  type Configuration,
  type INetworkModule,
} from '@azure/msal-node';
import type { Config } from '../config.js';
import {
  AuthenticationError,
  ForbiddenError,
  GatewayError,
  TokenExchangeFailedError,
  TokenExchangeUnavailableError,
  type IdentityProviderDetails,
  type UpstreamService,
} from '../errors.js';
import { ExpiringLru } from './lru.js';
import { createFetchNetworkClient, guardNetworkClient, type UrlRewrite } from './msal-network.js';
import type { Principal } from './principal.js';
import { UPSTREAMS, upstreamDescriptor } from '../upstreams.js';

/** The access token for one upstream, bound to one caller. */
export type UpstreamTokenProvider = (service: UpstreamService) => Promise<string>;

/** Hands out upstream tokens per caller; one instance per process. */
export interface UpstreamTokenSource {
  /** A provider bound to `principal`; cheap, so create one per request. */
  forCaller(principal: Principal): UpstreamTokenProvider;
}

/**
 * Told about each request for an on-behalf-of token (metrics, tracing): the composition root passes one;
 * auth/ knows nothing of what it does with them.
 */
export interface TokenRequestObserver {
  /** Served without a new exchange: from the cache, or shared with a concurrent exchange for the same key. */
  cacheHit(service: UpstreamService): void;
  /** An exchange with the identity provider starts; the returned function is called once when it ends. */
  exchangeStarted(service: UpstreamService): (outcome: { readonly ok: true } | { readonly ok: false; readonly errorCode: string }) => void;
}

/** Options of {@link createUpstreamTokenSource}. */
export interface UpstreamTokenSourceOptions {
  /** Told about cache hits and exchanges. @default none */
  readonly observer?: TokenRequestObserver;
  /**
   * msal's HTTP layer (tests route it to a local server). Whatever is given is still wrapped so that
   * 5xx/429 count as unavailability, and a plain-http authority is still mapped.
   * @default a fetch-based client with `timeoutMs`
   */
  readonly msalNetworkClient?: INetworkModule;
  /** The clock for our cache, in epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** Timeout of one token endpoint call, in milliseconds. @default config.upstreamTimeoutMs */
  readonly timeoutMs?: number;
  /** How many upstream tokens to keep. @default 10000 */
  readonly cacheSize?: number;
}

/** Refresh a cached token this long before it expires (capped at half its lifetime). */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** msal applications kept, one per tenant authority. */
const MAX_APPLICATIONS = 1_000;

/**
 * Hosts msal knows (it has their endpoints built in and needs no discovery). Any other authority (the
 * emulator, a local stand-in) gets its endpoints from us, so msal never asks the internet about it.
 */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'login.microsoftonline.us',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
]);

/** OAuth errors that mean "the caller's token cannot be exchanged": sign in again (UNAUTHENTICATED). */
const CALLER_TOKEN_ERRORS = new Set([
  'invalid_grant',
  'interaction_required',
  'consent_required',
  'login_required',
  'bad_token',
  'ui_not_allowed',
  'interrupted_user',
]);

/** msal's own codes for "could not talk to the token endpoint". */
const UNAVAILABLE_CLIENT_ERRORS = new Set(['network_error', 'endpoints_resolution_error', 'openid_config_error']);

/** Creates the token source for `config.upstreamAuth`. Throws at once if on-behalf-of lacks credentials. */
export function createUpstreamTokenSource(config: Config, options: UpstreamTokenSourceOptions = {}): UpstreamTokenSource {
  const mode = config.upstreamAuth;
  switch (mode) {
    case 'passthrough':
      return {
        forCaller: (principal) => async (service) => {
          refuseAppOnlyWhereDelegatedOnly(principal, service);
          return principal.token;
        },
      };
    case 'on-behalf-of':
      return createOnBehalfOfSource(config, options);
    default: {
      const unknown: never = mode;
      throw new Error(`unknown upstream auth mode ${String(unknown)}`);
    }
  }
}

function refuseAppOnlyWhereDelegatedOnly(principal: Principal, service: UpstreamService): void {
  if (principal.kind !== 'application') return;
  const upstream = upstreamDescriptor(service);
  if (upstream.delegatedOnly) {
    // docs/upstream.md §1.2: every Partner Center operation in scope is "App+User credentials only".
    throw new ForbiddenError(`${upstream.name} accepts App+User (delegated) tokens only; app-only callers cannot use it`);
  }
}

function createOnBehalfOfSource(config: Config, options: UpstreamTokenSourceOptions): UpstreamTokenSource {
  const { clientId, clientSecret } = config.azure;
  if (!clientId || !clientSecret) {
    throw new Error('UPSTREAM_AUTH=on-behalf-of needs AZURE_CLIENT_ID and AZURE_CLIENT_SECRET');
  }
  const now = options.clock ?? Date.now;
  const authority = describeAuthority(config.azure.authority ?? config.authorityHost);
  const networkClient = guardNetworkClient(
    options.msalNetworkClient ?? createFetchNetworkClient(options.timeoutMs ?? config.upstreamTimeoutMs),
    authority.rewrite,
  );
  const scopes = Object.fromEntries(
    UPSTREAMS.map((u) => [u.service, [u.tokenScope(trimSlash(config.upstreams[u.service].tokenResource))]]),
  ) as Record<UpstreamService, string[]>;

  const applications = new ExpiringLru<string, ConfidentialClientApplication>(MAX_APPLICATIONS);
  const tokens = new ExpiringLru<string, string>(options.cacheSize ?? 10_000, now);
  const inFlight = new Map<string, Promise<string>>();
  const tokenHashes = new WeakMap<Principal, string>();

  /** One msal application per tenant authority, created on first use and reused. */
  function applicationFor(tenantId: string): ConfidentialClientApplication {
    const url = authority.forTenant(tenantId);
    let app = applications.get(url);
    if (!app) {
      const msalConfig: Configuration = {
        auth: { clientId: clientId!, clientSecret: clientSecret!, authority: url, ...authority.metadataFor(url) },
        system: {
          networkClient,
          // msal's log is off: it could name tenants and users, and our errors carry what matters.
          loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} },
        },
      };
      app = new ConfidentialClientApplication(msalConfig);
      applications.set(url, app);
    }
    return app;
  }

  async function exchange(principal: Principal, service: UpstreamService): Promise<string> {
    const ended = options.observer?.exchangeStarted(service);
    try {
      const token = await exchangeOnce(principal, service);
      ended?.({ ok: true });
      return token;
    } catch (error) {
      ended?.({ ok: false, errorCode: error instanceof GatewayError ? error.code : 'INTERNAL_SERVER_ERROR' });
      throw error;
    }
  }

  async function exchangeOnce(principal: Principal, service: UpstreamService): Promise<string> {
    const app = applicationFor(principal.tenantId);
    let result: AuthenticationResult | null;
    try {
      result =
        principal.kind === 'application'
          ? await app.acquireTokenByClientCredential({ scopes: scopes[service], skipCache: true })
          : await app.acquireTokenOnBehalfOf({ oboAssertion: principal.token, scopes: scopes[service], skipCache: true });
    } catch (error) {
      throw toGatewayError(error);
    } finally {
      // See the module comment: our cache is the one that counts; msal's would only grow.
      app.clearCache();
    }
    if (!result?.accessToken) throw new TokenExchangeFailedError('the upstream token exchange returned no token');
    const expiresAt = result.expiresOn ? result.expiresOn.getTime() : now();
    const lifetime = expiresAt - now();
    tokens.set(cacheKey(principal, service), result.accessToken, expiresAt - Math.min(REFRESH_BEFORE_EXPIRY_MS, lifetime / 2));
    return result.accessToken;
  }

  function cacheKey(principal: Principal, service: UpstreamService): string {
    let hash = tokenHashes.get(principal);
    if (!hash) {
      hash = createHash('sha256').update(principal.token).digest('base64url');
      tokenHashes.set(principal, hash);
    }
    return `${service}\n${principal.tenantId}\n${principal.objectId}\n${hash}`;
  }

  return {
    forCaller: (principal) => async (service) => {
      refuseAppOnlyWhereDelegatedOnly(principal, service);
      // The tenant id ends up in the authority URL path.
      if (!/^[A-Za-z0-9.-]+$/.test(principal.tenantId)) throw new AuthenticationError('the token tenant cannot be used for the token exchange');
      const key = cacheKey(principal, service);
      const cached = tokens.get(key);
      if (cached) {
        options.observer?.cacheHit(service);
        return cached;
      }
      // Resolvers of one request often ask for the same token at once; they share one exchange.
      let pending = inFlight.get(key);
      if (pending) options.observer?.cacheHit(service);
      else {
        pending = exchange(principal, service).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
}

interface AuthorityDescription {
  /** The msal authority for a caller's tenant. */
  forTenant(tenantId: string): string;
  /** `knownAuthorities` + endpoint metadata for hosts msal does not know; empty for Microsoft's. */
  metadataFor(authorityUrl: string): Pick<Configuration['auth'], 'knownAuthorities' | 'authorityMetadata' | 'cloudDiscoveryMetadata'>;
  /** Set when msal must be given https but the authority speaks plain http (the emulator). */
  readonly rewrite?: UrlRewrite;
}

/**
 * `base` is the cloud's authority host, or `AZURE_AUTHORITY`. Without a path the caller's tenant is
 * appended (multi-tenant); with one (e.g. `https://login.microsoftonline.com/<tenant>`) it is used as is.
 */
function describeAuthority(base: string): AuthorityDescription {
  const url = new URL(base);
  const path = trimSlash(url.pathname);
  // msal refuses non-https authorities. A plain-http one (allowed by config only on loopback in
  // production) is handed to msal as https, and the network layer maps it back.
  const msalOrigin = `https://${url.host}`;
  const rewrite = url.protocol === 'http:' ? { from: msalOrigin, to: `http://${url.host}` } : undefined;
  const known = MICROSOFT_AUTHORITY_HOSTS.has(url.hostname.toLowerCase());
  return {
    rewrite,
    forTenant: (tenantId) => (path ? `${msalOrigin}${path}` : `${msalOrigin}/${encodeURIComponent(tenantId)}`),
    metadataFor: (authorityUrl) => {
      if (known) return {};
      // Entra's endpoint layout, which the emulator serves too.
      return {
        knownAuthorities: [url.host],
        authorityMetadata: JSON.stringify({
          token_endpoint: `${authorityUrl}/oauth2/v2.0/token`,
          authorization_endpoint: `${authorityUrl}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${authorityUrl}/oauth2/v2.0/logout`,
          issuer: `${authorityUrl}/v2.0`,
          jwks_uri: `${msalOrigin}/discovery/v2.0/keys`,
        }),
        cloudDiscoveryMetadata: JSON.stringify({
          tenant_discovery_endpoint: `${authorityUrl}/v2.0/.well-known/openid-configuration`,
          'api-version': '1.1',
          metadata: [{ preferred_network: url.host, preferred_cache: url.host, aliases: [url.host] }],
        }),
      };
    },
  };
}

function trimSlash(value: string): string {
  return value.replace(/\/+$/, '');
}

/** Only OAuth-style codes reach a message; anything else the server said stays out of it. */
function safeCode(code: string | undefined): string | undefined {
  return code && /^[A-Za-z0-9_.]{1,64}$/.test(code) ? code : undefined;
}

/**
 * msal failure → contract error. The message names the OAuth error and Entra's AADSTS number, never the
 * server's description (it can quote user names) nor, of course, the token.
 */
function toGatewayError(error: unknown): Error {
  if (error instanceof GatewayError) return error;
  if (!(error instanceof AuthError)) return error instanceof Error ? error : new Error(String(error));
  const code = safeCode(error.errorCode);
  const subError = safeCode(error.subError);
  const status = error instanceof ServerError ? error.status : undefined;
  const errorNo = (error as { errorNo?: unknown }).errorNo;
  const correlationId = /^[0-9a-f-]{36}$/i.test(error.correlationId) ? error.correlationId : undefined;
  const details: IdentityProviderDetails = { code, status, correlationId };
  const reason = [code ?? 'refused', subError && subError !== code ? `/${subError}` : '', /^\d+$/.test(String(errorNo ?? '')) ? ` (AADSTS${String(errorNo)})` : ''].join('');

  if (error instanceof InteractionRequiredAuthError || (code && CALLER_TOKEN_ERRORS.has(code)) || (subError && CALLER_TOKEN_ERRORS.has(subError))) {
    return new AuthenticationError(`the upstream token exchange refused the caller's token: ${reason}`);
  }
  if (
    (error instanceof ServerError && ((status !== undefined && (status >= 500 || status === 429)) || code === 'temporarily_unavailable' || code === 'server_error')) ||
    (error instanceof ClientAuthError && code !== undefined && UNAVAILABLE_CLIENT_ERRORS.has(code))
  ) {
    return new TokenExchangeUnavailableError('the identity provider is unavailable for the upstream token exchange', details);
  }
  return new TokenExchangeFailedError(`the upstream token exchange failed: ${reason}`, details);
}
