/**
 * Bearer token → principal. Checks an Entra ID style access token the way the contract asks (README,
 * Security: tokens and configuration rules; docs/permissions.md): RS256 only, signature against the issuer's JWKS, accepted issuer (with Entra's
 * `{tenantid}` placeholder), the tenant named by the issuer equal to `tid`, the gateway's audience, and
 * `exp`/`nbf` with a small clock skew.
 *
 * Cost per request: once a key id is known, verification makes no network call. Keys come from
 * `signing-keys.ts`, which caches the key set (refreshed when older than `jwksMaxAgeMs`, the last good set
 * kept for `jwksGraceMs` when a refresh fails) and dedupes concurrent fetches; a token naming an unknown
 * `kid` (key rotation) triggers one refetch, at most one per cooldown. Verified tokens are also remembered
 * (keyed by the token, until `exp`), so a client sending the same token on every request pays
 * the RSA check once.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthenticationError, SigningKeysUnavailableError } from '../errors.js';
import { ExpiringLru } from './lru.js';
import { principalFromClaims, type AccessTokenClaims, type Principal } from './principal.js';
import { createSigningKeySet, SIGNING_KEYS_SEVERITY, type SigningKeySet, type SigningKeysLogger, type SigningKeysStatus } from './signing-keys.js';
import { isGuid } from '../guid.js';

/** Options of {@link createTokenVerifier}; `Config.auth` provides the first three. */
export interface TokenVerifierOptions {
  /**
   * Accepted issuers, compared exactly with `iss`. Entra's multi-tenant form
   * `https://login.microsoftonline.com/{tenantid}/v2.0` matches any tenant, with the token's `tid` in place
   * of the placeholder.
   */
  readonly issuers: readonly string[];
  /** The gateway's own audience (`aud`). */
  readonly audience: string;
  /** Where the signing keys are. @default discovered from `${issuer}/.well-known/openid-configuration` */
  readonly jwksUrl?: string;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. @default 60 */
  readonly clockToleranceSec?: number;
  /** Timeout of one JWKS or OpenID configuration fetch, in milliseconds. @default 5000 */
  readonly fetchTimeoutMs?: number;
  /**
   * Least time between two JWKS refetches triggered by an unknown `kid`, in milliseconds. The first unknown
   * `kid` after any fetch is always looked up. @default 30000
   */
  readonly jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again, in milliseconds. @default 600000 */
  readonly jwksMaxAgeMs?: number;
  /**
   * How long past `jwksMaxAgeMs` the last good JWKS stays in use while refetching it fails, in
   * milliseconds; `0`: not at all. `Config.auth.jwksGraceMs` provides it. @default 3600000
   */
  readonly jwksGraceMs?: number;
  /** Where signing-key outages are logged. @default not logged */
  readonly logger?: SigningKeysLogger;
  /**
   * Public keys never trusted, whatever URL serves them: `Config.auth.untrustedKeys` (the embedded
   * emulator's while an accepted issuer is not the emulator's). @default none
   */
  readonly untrustedKeys?: readonly JWK[];
  /** How many verified tokens to remember until they expire; `0` turns the cache off. @default 5000 */
  readonly cacheSize?: number;
}

/** Turns the `Authorization` header into a principal. */
export interface TokenVerifier {
  /**
   * `null` when there is no header (an anonymous caller); the principal for a valid token; otherwise throws
   * `AuthenticationError` (a bad token) or `SigningKeysUnavailableError` (the keys could not be fetched).
   */
  verify(authorizationHeader: string | undefined): Promise<Principal | null>;
  /** The state of the signing keys, the worst of every key set in use (for `/readyz`). */
  signingKeys(): SigningKeysStatus;
}

/** Entra's placeholder for "the token's tenant" in multi-tenant issuers. */
const HAS_PLACEHOLDER = /\{tenantid\}/i;
const PLACEHOLDERS = /\{tenantid\}/gi;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** How long a failed OpenID configuration lookup is remembered, so a burst of requests makes one fetch. */
const DISCOVERY_FAILURE_TTL_MS = 5_000;
/** Discovered issuers and key sets kept; more than a handful only happens with multi-tenant issuers. */
const MAX_ISSUERS = 256;

interface AcceptedIssuer {
  /** As configured, possibly with the placeholder. */
  readonly template: string;
  /** With the token's `tid` substituted: what `iss` must equal. */
  readonly resolved: string;
}

/** The issuer's OpenID configuration answered 4xx: no such tenant, so the token cannot be genuine. */
class IssuerNotFound extends Error {}

/** Creates the verifier. No network call happens until the first token arrives. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clockTolerance = options.clockToleranceSec ?? 60;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  const issuers = options.issuers.map((i) => i.trim()).filter(Boolean);
  if (!options.audience) throw new Error('createTokenVerifier: an audience is required');
  if (!issuers.length) throw new Error('createTokenVerifier: at least one accepted issuer is required');

  const verified = new ExpiringLru<string, Principal>(options.cacheSize ?? 5_000);
  const keySets = new ExpiringLru<string, SigningKeySet>(MAX_ISSUERS);
  const discovered = new ExpiringLru<string, Promise<string>>(MAX_ISSUERS);

  /** One jose key set per JWKS URL, shared by every issuer that points at it (Entra: all tenants). */
  function keySetFor(jwksUrl: string): JWTVerifyGetKey {
    let keySet = keySets.get(jwksUrl);
    if (!keySet) {
      keySet = createSigningKeySet({
        url: jwksUrl,
        timeoutMs: fetchTimeoutMs,
        cooldownMs: options.jwksCooldownMs,
        maxAgeMs: options.jwksMaxAgeMs,
        graceMs: options.jwksGraceMs,
        logger: options.logger,
        untrustedKeys: options.untrustedKeys,
      });
      keySets.set(jwksUrl, keySet);
    }
    return keySet.getKey;
  }

  /**
   * The `jwks_uri` of an issuer, from its OpenID configuration: fetched once per discovery document.
   * A `{tenantid}` issuer is discovered once, through Entra's `common` document (whose issuer is the
   * placeholder form and whose keys sign every tenant's tokens), not once per tenant: otherwise any
   * caller could make the gateway fetch a document for every made-up `tid` it puts in an unsigned token.
   */
  function discoverJwksUrl(issuer: AcceptedIssuer): Promise<string> {
    const discoveryIssuer = HAS_PLACEHOLDER.test(issuer.template) ? issuer.template.replace(PLACEHOLDERS, 'common') : issuer.resolved;
    let pending = discovered.get(discoveryIssuer);
    if (!pending) {
      pending = fetchJwksUrl(discoveryIssuer, issuer, fetchTimeoutMs);
      discovered.set(discoveryIssuer, pending);
      // A failure is remembered only briefly: long enough to spare the issuer a burst, short enough to recover.
      pending.catch(() => discovered.set(discoveryIssuer, pending!, Date.now() + DISCOVERY_FAILURE_TTL_MS));
    }
    return pending;
  }

  async function keysFor(issuer: AcceptedIssuer): Promise<JWTVerifyGetKey> {
    if (options.jwksUrl) return keySetFor(options.jwksUrl);
    try {
      return keySetFor(await discoverJwksUrl(issuer));
    } catch (error) {
      if (error instanceof IssuerNotFound) throw new AuthenticationError('the token issuer is not accepted');
      throw new SigningKeysUnavailableError('the OpenID configuration of the token issuer could not be fetched');
    }
  }

  function acceptedIssuer(iss: unknown, tid: unknown): AcceptedIssuer | undefined {
    if (typeof iss !== 'string') return undefined;
    for (const template of issuers) {
      if (HAS_PLACEHOLDER.test(template)) {
        // Only a GUID may stand in for the placeholder: it ends up in a URL we fetch.
        if (!isGuid(tid)) continue;
        const resolved = template.replace(PLACEHOLDERS, tid);
        if (resolved === iss) return { template, resolved };
      } else if (template === iss) {
        return { template, resolved: template };
      }
    }
    return undefined;
  }

  async function verifyToken(token: string): Promise<Principal> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new AuthenticationError('the bearer token is malformed');
    }
    // jose enforces this too (`algorithms` below); checking first spares a key fetch for `none`/HS256 tokens.
    if (header.alg !== 'RS256') throw new AuthenticationError('the token algorithm is not allowed (RS256 only)');
    if (typeof unverified.tid !== 'string' || !unverified.tid) throw new AuthenticationError('the token lacks the tid claim');
    // Chosen from unverified claims, but jwtVerify then requires `iss` to equal it on the signed payload.
    const issuer = acceptedIssuer(unverified.iss, unverified.tid);
    if (!issuer) throw new AuthenticationError('the token issuer is not accepted');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await keysFor(issuer), {
        algorithms: ['RS256'],
        issuer: issuer.resolved,
        audience: options.audience,
        clockTolerance,
        requiredClaims: ['exp', 'tid', 'oid'],
      }));
    } catch (error) {
      throw toAuthenticationError(error);
    }

    const { tid, oid } = payload;
    if (typeof tid !== 'string' || !tid) throw new AuthenticationError('the token lacks the tid claim');
    if (typeof oid !== 'string' || !oid) throw new AuthenticationError('the token lacks the oid claim');
    // README, Configuration: whenever an accepted issuer names a tenant, it must be the token's tenant.
    const named = tenantNamedBy(issuer.template, tid);
    if (named !== undefined && named.toLowerCase() !== tid.toLowerCase()) {
      throw new AuthenticationError("the token's tenant does not match its issuer");
    }
    return principalFromClaims(payload as unknown as AccessTokenClaims, token);
  }

  return {
    async verify(authorizationHeader) {
      if (authorizationHeader === undefined || authorizationHeader.trim() === '') return null;
      const match = /^(\S+)\s+(\S+)\s*$/.exec(authorizationHeader.trim());
      if (!match || match[1]!.toLowerCase() !== 'bearer') {
        throw new AuthenticationError('the Authorization header must be "Bearer <token>"');
      }
      const token = match[2]!;
      if (!JWT_SHAPE.test(token)) throw new AuthenticationError('the bearer token is malformed');

      // Keyed by the token itself: the cached principal holds the token anyway, and hashing it cost more
      // than the rest of a cache hit.
      const cached = verified.get(token);
      if (cached) return cached;
      const principal = await verifyToken(token);
      verified.set(token, principal, principal.expiresAt);
      return principal;
    },
    signingKeys() {
      let worst: SigningKeysStatus = { state: 'not-fetched' };
      for (const keySet of keySets.values()) {
        const status = keySet.status();
        if (SIGNING_KEYS_SEVERITY[status.state] > SIGNING_KEYS_SEVERITY[worst.state]) worst = status;
      }
      return worst;
    },
  };
}

/**
 * The tenant an issuer names, if any: a GUID path segment, or the `{tenantid}` placeholder (then the
 * token's `tid` was substituted, so it names exactly that tenant). `undefined` for issuers naming none,
 * such as `https://login.microsoftonline.com/common/v2.0` or a non-Entra issuer.
 */
function tenantNamedBy(template: string, tid: string): string | undefined {
  const segments = template.replace(/^[a-z]+:\/\/[^/]*/i, '').split('/');
  if (segments.some((segment) => /^\{tenantid\}$/i.test(segment))) return tid;
  return segments.find(isGuid);
}

async function fetchJwksUrl(discoveryIssuer: string, issuer: AcceptedIssuer, timeoutMs: number): Promise<string> {
  const url = `${discoveryIssuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  if (response.status >= 400 && response.status < 500 && response.status !== 429) throw new IssuerNotFound();
  if (response.status !== 200) throw new Error(`OpenID configuration answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for. Entra's
  // multi-tenant documents name the placeholder form, so that is accepted too.
  if (document.issuer !== undefined && document.issuer !== issuer.resolved && document.issuer !== issuer.template) {
    throw new Error('OpenID configuration names another issuer');
  }
  if (typeof document.jwks_uri !== 'string') throw new Error('OpenID configuration has no jwks_uri');
  const jwksUrl = new URL(document.jwks_uri);
  // An https issuer must not downgrade its keys to plain http.
  if (jwksUrl.protocol !== 'https:' && !(jwksUrl.protocol === 'http:' && new URL(url).protocol === 'http:')) {
    throw new Error('OpenID configuration has an insecure jwks_uri');
  }
  return jwksUrl.href;
}

/** Maps a jose failure to a short, safe message; never echoes the token or its claims. */
function toAuthenticationError(error: unknown): Error {
  if (error instanceof AuthenticationError || error instanceof SigningKeysUnavailableError) return error;
  if (error instanceof joseErrors.JWTExpired) return new AuthenticationError('the token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return new AuthenticationError('the token is not valid yet');
      case 'aud':
        return new AuthenticationError('the token audience is not accepted');
      case 'iss':
        return new AuthenticationError('the token issuer is not accepted');
      case 'exp':
      case 'tid':
      case 'oid':
        return new AuthenticationError(`the token lacks the ${error.claim} claim`);
      default:
        return new AuthenticationError('the token claims are invalid');
    }
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new AuthenticationError('the token algorithm is not allowed (RS256 only)');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthenticationError('the token signature is invalid');
  if (error instanceof joseErrors.JWKSNoMatchingKey) return new AuthenticationError('the token signing key is not known');
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return new AuthenticationError('the token signing key is ambiguous');
  if (error instanceof joseErrors.JOSEError) return new AuthenticationError('the bearer token is malformed');
  return error instanceof Error ? error : new Error(String(error));
}
