/**
 * The emulator's token issuer, shaped like Entra ID v2: RS256 signing keys with a JWKS, OpenID
 * configuration per tenant, a token endpoint for On-Behalf-Of and client credentials, and the
 * verification that Partner Center and Graph apply to the bearer tokens they receive.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, errors as joseErrors, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import {
  ALL_GATEWAY_SCOPES,
  EMULATOR_GATEWAY_AUDIENCE,
  GRAPH_RESOURCE,
  PARTNER_CENTER_DELEGATED_SCOPE,
  PARTNER_CENTER_RESOURCE,
  PERSONAL_ACCOUNT_TENANT_ID,
} from './constants.js';
import { isGuid, mediaType, pathSegments } from './messages.js';
import type { EmuRequest, EmuResponse, ServiceHandler } from './messages.js';
import { seedData } from './seed-data.js';

/** Options of a dev/test token minted by the emulator. */
export interface MintOptions {
  /** Space-separated delegated permissions → delegated token. */
  scp?: string;
  /**
   * App roles → app-only token unless `scp` is given too: no `scp`, `idtyp: "app"` and `sub` equal to
   * `oid`, as Entra mints client-credentials tokens.
   */
  roles?: string[];
  /** Personal Microsoft account: `tid` 9188040d-6c67-4c5b-b112-36a304b66dad. */
  msa?: boolean;
  tenantId?: string;
  objectId?: string;
  name?: string;
  preferredUsername?: string;
  /** @default EMULATOR_GATEWAY_AUDIENCE */
  audience?: string;
  /** @default 3600; negative values mint an already expired token. */
  expiresInSeconds?: number;
  /** Added to `iat` to form `nbf`. @default 0 */
  notBeforeOffsetSeconds?: number;
  /** Overrides `iss` (wrong-issuer tests). */
  issuer?: string;
  /** Overrides the `kid` header (unknown-key tests); the token is still signed with the current key. */
  kid?: string;
}

/** The claims of a verified access token that the upstream services act on. */
export interface VerifiedToken {
  tid: string;
  oid: string;
  /** Delegated permissions (`scp`), empty for app-only tokens. */
  scopes: string[];
  /** App roles (`roles`). */
  roles: string[];
  /** No `scp`: an app-only (client credentials) token. */
  appOnly: boolean;
  payload: JWTPayload;
}

/** Why a bearer token was refused. */
export type TokenRejection = 'missing' | 'malformed' | 'signature' | 'expired' | 'not_yet_valid' | 'audience' | 'issuer';

/** Result of checking a bearer token. */
export type TokenCheck = { ok: true; token: VerifiedToken } | { ok: false; reason: TokenRejection; message: string };

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const TOKEN_LIFETIME_SECONDS = 3599;
const OIDC_META_TENANTS = new Set(['common', 'organizations', 'consumers']);

/** Signs and verifies the emulator's tokens; holds every key it ever used (rotation keeps old ones). */
export class TokenIssuer {
  private readonly keys: SigningKey[] = [];
  private keySet: ReturnType<typeof createLocalJWKSet> | undefined;

  private constructor(private readonly baseUrl: string) {}

  /** Creates an issuer with one fresh RS256 key. */
  static async create(baseUrl: string): Promise<TokenIssuer> {
    const issuer = new TokenIssuer(baseUrl);
    await issuer.rotate();
    return issuer;
  }

  /** `${url}/${tenantId}/v2.0`, as Entra v2 names its issuers. */
  issuerFor(tenantId: string): string {
    return `${this.baseUrl}/${tenantId}/v2.0`;
  }

  /** Adds a new key with a new `kid` and makes it current; old keys stay published. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomBytes(20).toString('base64url');
    const jwk = await exportJWK(publicKey);
    // Entra publishes kid = x5t and an `issuer` template on each key; no `alg` member.
    const publicJwk: JWK = { kty: jwk.kty, use: 'sig', kid, x5t: kid, n: jwk.n, e: jwk.e };
    this.keys.push({ kid, privateKey, publicJwk });
    this.keySet = createLocalJWKSet({ keys: this.keys.map((k) => k.publicJwk) });
    return kid;
  }

  /** The JWKS document (every key, newest last). */
  jwks(): { keys: Array<JWK & { issuer: string }> } {
    return { keys: this.keys.map((k) => ({ ...k.publicJwk, issuer: `${this.baseUrl}/{tenantid}/v2.0` })) };
  }

  /** Signs a payload with the current key. */
  async sign(payload: JWTPayload, kidOverride?: string): Promise<string> {
    const key = this.keys[this.keys.length - 1]!;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: kidOverride ?? key.kid })
      .sign(key.privateKey);
  }

  /** Mints a dev/test token (for the gateway audience unless told otherwise). */
  async mint(opts: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const tid = opts.msa ? PERSONAL_ACCOUNT_TENANT_ID : (opts.tenantId ?? seedData.partnerTenantId);
    const appOnly = opts.roles !== undefined && opts.scp === undefined;
    const oid =
      opts.objectId ?? (appOnly ? seedData.appObjectId : opts.msa ? seedData.msaUserObjectId : seedData.devUserObjectId);
    const audience = opts.audience ?? EMULATOR_GATEWAY_AUDIENCE;
    const payload: JWTPayload & Record<string, unknown> = {
      aud: audience,
      iss: opts.issuer ?? this.issuerFor(tid),
      iat: now,
      nbf: now + (opts.notBeforeOffsetSeconds ?? 0),
      exp: now + (opts.expiresInSeconds ?? 3600),
      // A v2 access token names its client app in `azp` (v1 used `appid`); never `nonce` (ID tokens only).
      azp: seedData.gatewayClientId,
      oid,
      // Entra: an app-only token's `sub` is the service principal's object id; a user's is pairwise per app.
      sub: appOnly ? oid : pairwiseSubject(oid, audience),
      tid,
      uti: randomBytes(16).toString('base64url'),
      ver: '2.0',
    };
    const name = opts.name ?? (appOnly ? undefined : opts.msa ? 'Personal User' : seedData.devUserName);
    const username =
      opts.preferredUsername ??
      (appOnly ? undefined : opts.msa ? 'personal.user@outlook.com' : seedData.devUserPrincipalName);
    if (name !== undefined) payload.name = name;
    if (username !== undefined) payload.preferred_username = username;
    if (!appOnly) payload.scp = opts.scp ?? ALL_GATEWAY_SCOPES;
    if (opts.roles !== undefined) payload.roles = [...opts.roles];
    if (appOnly) payload.idtyp = 'app';
    return this.sign(payload, opts.kid);
  }

  /**
   * Verifies a compact JWT as an Entra-protected resource would: RS256 with one of our keys, the
   * exact audience, inside its lifetime (no clock skew allowance: stricter than Entra, never more
   * lenient), and an issuer matching its own `tid`.
   */
  async verify(token: string | undefined, audience: string | string[]): Promise<TokenCheck> {
    if (token === undefined || token === '') return { ok: false, reason: 'missing', message: 'Access token is empty.' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keySet!, { algorithms: ['RS256'], audience, clockTolerance: 0 }));
    } catch (err) {
      return { ok: false, ...classifyJoseError(err) };
    }
    const tid = payload.tid;
    if (!isGuid(tid) || payload.iss !== this.issuerFor(tid)) {
      return { ok: false, reason: 'issuer', message: 'Access token validation failure. Invalid issuer.' };
    }
    const oid = typeof payload.oid === 'string' ? payload.oid : typeof payload.sub === 'string' ? payload.sub : '';
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : [];
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
    return { ok: true, token: { tid, oid, scopes, roles, appOnly: typeof payload.scp !== 'string', payload } };
  }
}

function classifyJoseError(err: unknown): { reason: TokenRejection; message: string } {
  if (err instanceof joseErrors.JWTExpired) {
    return { reason: 'expired', message: 'Lifetime validation failed, the token is expired.' };
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return { reason: 'audience', message: 'Access token validation failure. Invalid audience.' };
    if (err.claim === 'nbf') return { reason: 'not_yet_valid', message: 'Lifetime validation failed, the token is not yet valid.' };
    return { reason: 'malformed', message: `Access token validation failure (${err.claim}).` };
  }
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JOSEAlgNotAllowed
  ) {
    return { reason: 'signature', message: 'Access token validation failure. Invalid signature.' };
  }
  return { reason: 'malformed', message: 'Access token validation failure. The token is malformed.' };
}

/** Entra's `sub` is pairwise per application; derive a stable one from oid + audience. */
function pairwiseSubject(oid: string, audience: string): string {
  return createHash('sha256').update(`${oid}|${audience}`).digest('base64url').slice(0, 43);
}

/** The bearer token of an `Authorization` header, `undefined` when absent or not a Bearer. */
export function bearerToken(headers: Record<string, string>): string | undefined {
  const value = headers['authorization'];
  if (value === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : '';
}

// --- the identity service (login.microsoftonline.com look-alike) ----------------------------------

/** Domain names the emulator's Entra knows, mapped to tenant ids. */
function knownDomains(): Map<string, string> {
  const map = new Map<string, string>([[seedData.partnerDomain, seedData.partnerTenantId]]);
  for (const c of seedData.customers) map.set(c.domain, c.id);
  return map;
}

type TenantRef = { kind: 'tenant'; id: string } | { kind: 'meta'; name: 'common' | 'organizations' | 'consumers' };

function resolveTenant(segment: string): TenantRef | undefined {
  const lower = segment.toLowerCase();
  if (OIDC_META_TENANTS.has(lower)) return { kind: 'meta', name: lower as 'common' | 'organizations' | 'consumers' };
  if (isGuid(segment)) return { kind: 'tenant', id: segment.toLowerCase() };
  const id = knownDomains().get(lower);
  return id ? { kind: 'tenant', id } : undefined;
}

/** Creates the handler of the identity endpoints (OpenID configuration, JWKS, token endpoint). */
export function createIdentityHandler(issuer: TokenIssuer, baseUrl: string): ServiceHandler {
  const oauthError = (
    req: EmuRequest,
    status: number,
    error: string,
    code: number,
    description: string,
  ): EmuResponse => {
    const traceId = randomUUID();
    const correlationId = isGuid(req.headers['client-request-id']) ? req.headers['client-request-id'] : randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
    return {
      status,
      headers: { 'cache-control': 'no-store, no-cache' },
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${baseUrl}/error?code=${code}`,
      },
    };
  };

  const openIdConfiguration = (tenant: TenantRef): Record<string, unknown> => {
    // For the multi-tenant endpoints Entra publishes the `{tenantid}` placeholder as issuer.
    const issuerTenant =
      tenant.kind === 'tenant' ? tenant.id : tenant.name === 'consumers' ? PERSONAL_ACCOUNT_TENANT_ID : '{tenantid}';
    const pathTenant = tenant.kind === 'tenant' ? tenant.id : tenant.name;
    return {
      token_endpoint: `${baseUrl}/${pathTenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${baseUrl}/${pathTenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: issuer.issuerFor(issuerTenant),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
      authorization_endpoint: `${baseUrl}/${pathTenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${baseUrl}/${pathTenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${baseUrl}/${pathTenant}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host',
        'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash',
        'c_hash', 'email',
      ],
      kerberos_endpoint: `${baseUrl}/${pathTenant}/kerberos`,
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  };

  const tokenEndpoint = async (req: EmuRequest, tenant: TenantRef): Promise<EmuResponse> => {
    // Entra reads only form bodies; anything else looks like an empty request.
    const params =
      mediaType(req.headers) === 'application/x-www-form-urlencoded'
        ? new URLSearchParams(req.bodyText ?? '')
        : new URLSearchParams();
    const missing = (name: string): EmuResponse =>
      oauthError(req, 400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
    const grantType = params.get('grant_type');
    if (!grantType) return missing('grant_type');
    const clientId = params.get('client_id');
    if (!clientId) return missing('client_id');
    const hasSecret = !!params.get('client_secret');
    const hasAssertion = !!params.get('client_assertion') && !!params.get('client_assertion_type');
    if (!hasSecret && !hasAssertion) {
      return oauthError(req, 401, 'invalid_client', 7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const scopeParam = params.get('scope');
    if (!scopeParam) return missing('scope');
    const scopes = resolveScopes(scopeParam);
    if (!scopes.ok) return oauthError(req, 400, scopes.error, scopes.code, scopes.message);
    const now = Math.floor(Date.now() / 1000);

    if (grantType === 'client_credentials') {
      if (tenant.kind !== 'tenant') {
        return oauthError(req, 400, 'invalid_request', 90009,
          `Application is requesting a token for itself through the '${tenant.name}' endpoint; use a tenant-specific endpoint.`);
      }
      if (!scopes.isDefault || scopes.names.length !== 1) {
        return oauthError(req, 400, 'invalid_scope', 1002012,
          `The provided value for scope ${scopeParam} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
      }
      const payload: JWTPayload & Record<string, unknown> = {
        aud: scopes.resource, iss: issuer.issuerFor(tenant.id), iat: now, nbf: now, exp: now + TOKEN_LIFETIME_SECONDS,
        azp: clientId, idtyp: 'app', oid: seedData.appObjectId, sub: seedData.appObjectId,
        tid: tenant.id, uti: randomBytes(16).toString('base64url'), ver: '2.0',
      };
      // The gateway app holds the Graph application permission; Partner Center defines none
      // (its operations here are App+User only, docs/upstream.md §1.2), so its app token has no roles.
      if (scopes.resource === GRAPH_RESOURCE) payload.roles = ['ExternalUserProfile.ReadWrite.All'];
      return tokenResponse(await issuer.sign(payload), undefined);
    }

    if (grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      if (params.get('requested_token_use') !== 'on_behalf_of') {
        return oauthError(req, 400, 'invalid_request', 900144,
          "The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of'.");
      }
      const assertion = params.get('assertion');
      if (!assertion) return missing('assertion');
      const checked = await issuer.verify(assertion, [EMULATOR_GATEWAY_AUDIENCE, clientId]);
      if (!checked.ok) {
        if (checked.reason === 'expired' || checked.reason === 'not_yet_valid') {
          return oauthError(req, 400, 'invalid_grant', 500133, 'Assertion is not within its valid time range.');
        }
        if (checked.reason === 'audience') {
          return oauthError(req, 400, 'invalid_grant', 50013, 'Assertion audience does not match the Client app presenting the assertion.');
        }
        return oauthError(req, 400, 'invalid_grant', 50013, `Assertion failed signature validation. (${checked.message})`);
      }
      const user = checked.token;
      if (user.appOnly) {
        return oauthError(req, 400, 'invalid_grant', 50013, 'Assertion is an application token; On-Behalf-Of needs a user token.');
      }
      const tenantMatches =
        tenant.kind === 'tenant'
          ? tenant.id === user.tid
          : tenant.name === 'common' ||
            (tenant.name === 'consumers') === (user.tid === PERSONAL_ACCOUNT_TENANT_ID);
      if (!tenantMatches) {
        return oauthError(req, 400, 'invalid_grant', 50020,
          `User account from the assertion's tenant '${user.tid}' does not exist in the requested tenant.`);
      }
      let granted: string[];
      if (scopes.resource === PARTNER_CENTER_RESOURCE) {
        granted = [PARTNER_CENTER_DELEGATED_SCOPE];
      } else if (scopes.isDefault) {
        // `.default` grants what was consented; the emulator models that as the caller's own
        // ExternalUserProfile.* permissions (a token without any still gets issued; Graph refuses it).
        const mine = user.scopes.filter((s) => s.startsWith('ExternalUserProfile.'));
        granted = mine.length > 0 ? mine : ['User.Read'];
      } else {
        granted = scopes.names;
      }
      const payload: JWTPayload & Record<string, unknown> = {
        aud: scopes.resource, iss: issuer.issuerFor(user.tid), iat: now, nbf: now, exp: now + TOKEN_LIFETIME_SECONDS,
        azp: clientId, oid: user.oid, sub: pairwiseSubject(user.oid, scopes.resource),
        tid: user.tid, scp: granted.join(' '), uti: randomBytes(16).toString('base64url'), ver: '2.0',
      };
      if (typeof user.payload.name === 'string') payload.name = user.payload.name;
      if (typeof user.payload.preferred_username === 'string') payload.preferred_username = user.payload.preferred_username;
      return tokenResponse(await issuer.sign(payload), granted.map((s) => `${scopes.resource}/${s}`).join(' '));
    }

    return oauthError(req, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
  };

  return async (req) => {
    const segments = pathSegments(req.pathname);
    if (segments === undefined) return oauthError(req, 400, 'invalid_request', 90100, 'Invalid request path.');
    const path = segments.join('/');
    if (req.method === 'GET' && path === 'discovery/v2.0/keys') return json(200, issuer.jwks());
    if (req.method === 'GET' && (path === 'common/discovery/instance' || path === 'organizations/discovery/instance')) {
      return json(200, instanceDiscovery(baseUrl, req.query.get('authorization_endpoint')));
    }
    const [tenantSegment, ...rest] = segments;
    const tail = rest.join('/');
    const known =
      tail === 'v2.0/.well-known/openid-configuration' || tail === 'discovery/v2.0/keys' || tail === 'oauth2/v2.0/token';
    if (tenantSegment === undefined || !known) {
      return oauthError(req, 404, 'not_found', 90100, `The endpoint '${req.pathname}' does not exist.`);
    }
    const tenant = resolveTenant(tenantSegment);
    if (tenant === undefined) {
      return oauthError(req, 400, 'invalid_tenant', 90002,
        `Tenant '${tenantSegment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    if (tail === 'oauth2/v2.0/token') {
      if (req.method !== 'POST') return oauthError(req, 405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
      return tokenEndpoint(req, tenant);
    }
    if (req.method !== 'GET') return oauthError(req, 405, 'invalid_request', 900561, 'The endpoint only accepts GET requests.');
    if (tail === 'discovery/v2.0/keys') return json(200, issuer.jwks());
    return json(200, openIdConfiguration(tenant));
  };
}

function json(status: number, body: unknown): EmuResponse {
  return { status, headers: {}, body };
}

function tokenResponse(accessToken: string, scope: string | undefined): EmuResponse {
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    ...(scope !== undefined ? { scope } : {}),
    expires_in: TOKEN_LIFETIME_SECONDS,
    ext_expires_in: TOKEN_LIFETIME_SECONDS,
    access_token: accessToken,
  };
  return { status: 200, headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' }, body };
}

type ScopeResolution =
  | { ok: true; resource: string; names: string[]; isDefault: boolean }
  | { ok: false; error: string; code: number; message: string };

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

/** Splits a v2 `scope` parameter into one resource and its permission names. */
function resolveScopes(scope: string): ScopeResolution {
  const resources = new Set<string>();
  const names: string[] = [];
  for (const item of scope.split(/\s+/).filter(Boolean)) {
    if (OIDC_SCOPES.has(item.toLowerCase())) continue;
    let resource: string;
    let name: string;
    const slash = item.lastIndexOf('/');
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(item) && slash > item.indexOf('://') + 2) {
      resource = item.slice(0, slash);
      name = item.slice(slash + 1);
    } else if (!item.includes('/')) {
      // Entra reads a bare permission name as a Microsoft Graph permission.
      resource = GRAPH_RESOURCE;
      name = item;
    } else {
      return { ok: false, error: 'invalid_scope', code: 70011, message: `The provided value for the input parameter 'scope' is not valid. The scope '${item}' is not valid.` };
    }
    resource = resource.replace(/\/+$/, '').toLowerCase();
    if (resource !== PARTNER_CENTER_RESOURCE && resource !== GRAPH_RESOURCE) {
      return { ok: false, error: 'invalid_resource', code: 500011, message: `The resource principal named ${resource} was not found in the tenant.` };
    }
    resources.add(resource);
    names.push(name);
  }
  if (resources.size === 0) {
    return { ok: false, error: 'invalid_scope', code: 70011, message: "The provided value for the input parameter 'scope' is not valid." };
  }
  if (resources.size > 1) {
    return { ok: false, error: 'invalid_scope', code: 28000, message: 'Provided value for the input parameter scope is not valid because it contains more than one resource.' };
  }
  const resource = [...resources][0]!;
  const isDefault = names.includes('.default');
  if (isDefault && names.length > 1) {
    return { ok: false, error: 'invalid_scope', code: 70011, message: "The '.default' scope can't be combined with other scopes." };
  }
  if (resource === PARTNER_CENTER_RESOURCE && !isDefault && names.some((n) => n !== PARTNER_CENTER_DELEGATED_SCOPE)) {
    return { ok: false, error: 'invalid_scope', code: 70011, message: `The provided value for the input parameter 'scope' is not valid. Partner Center only defines '${PARTNER_CENTER_DELEGATED_SCOPE}'.` };
  }
  return { ok: true, resource, names, isDefault };
}

/** Entra instance discovery (what msal asks before anything else). */
function instanceDiscovery(baseUrl: string, authorizationEndpoint: string | null): Record<string, unknown> {
  const host = new URL(baseUrl).host;
  let tenant = 'common';
  if (authorizationEndpoint) {
    try {
      tenant = new URL(authorizationEndpoint).pathname.split('/').filter(Boolean)[0] ?? 'common';
    } catch {
      // keep `common`
    }
  }
  return {
    tenant_discovery_endpoint: `${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
