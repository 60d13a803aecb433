/**
 * A throwaway Entra-like identity provider for the auth unit tests: RS256 keys generated per test run,
 * an OpenID configuration per tenant and a JWKS served from a loopback server on port 0, with request
 * counts so tests can prove what was (not) fetched.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { listenOnLoopback } from './loopback.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyPair['privateKey'];
  readonly jwk: JWK;
}

export async function createSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

/** The client app (`azp`) of minted tokens. */
export const CLIENT_APP_ID = '3f1a9c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';

export interface MintOptions {
  /**
   * What the token is, shaped as Entra ID v2 mints it: `delegated` (App+User: `scp`, a pairwise `sub`)
   * or `app` (client credentials: `idtyp: "app"`, `sub` equal to `oid`, no `scp`). @default 'delegated'
   */
  readonly kind?: 'delegated' | 'app';
  /** Extra/overriding claims. `undefined` values remove a default claim. */
  readonly claims?: Record<string, unknown>;
  /** Overriding protected header fields. */
  readonly header?: Record<string, unknown>;
  /** Lifetime in seconds from now (negative = already expired). @default 3600 */
  readonly expiresIn?: number;
}

/**
 * Signs an access token with `key`; defaults make a realistic v2 access token for `issuer`/`audience`
 * (`ver`, `azp`, `sub`, and `scp: "SupportProfile.Read"` or `idtyp: "app"` by `kind`).
 */
export async function mintToken(key: SigningKey, base: { issuer: string; audience: string; tid: string; oid: string }, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const app = options.kind === 'app';
  const claims: Record<string, unknown> = {
    iss: base.issuer,
    aud: base.audience,
    tid: base.tid,
    oid: base.oid,
    // Entra: an app-only token's `sub` is the service principal's object id; a user's is pairwise per app.
    sub: app ? base.oid : createHash('sha256').update(`${base.oid}|${base.audience}`).digest('base64url').slice(0, 43),
    azp: CLIENT_APP_ID,
    ver: '2.0',
    ...(app ? { idtyp: 'app' } : { scp: 'SupportProfile.Read' }),
    iat: now,
    nbf: now,
    exp: now + (options.expiresIn ?? 3600),
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...options.header } as { alg: string }).sign(key.privateKey);
}

/** Encodes an unsigned (`alg: none`) token by hand: jose refuses to produce one. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

export interface IdentityServer {
  readonly url: string;
  /** Keys currently published in the JWKS; mutate to rotate. */
  keys: SigningKey[];
  /** When set, the JWKS answers this status (an outage of the key endpoint) instead of the keys. */
  keysStatus: number | undefined;
  /** Requests per path. */
  readonly hits: Map<string, number>;
  count(path: string): number;
  close(): Promise<void>;
}

/**
 * Serves `GET /{tenant}/v2.0/.well-known/openid-configuration` (issuer `${url}/{tenant}/v2.0`, jwks_uri
 * `${url}/discovery/v2.0/keys`) and that JWKS. Any other path is 404 (as Entra answers for an unknown tenant).
 */
export async function startIdentityServer(keys: SigningKey[]): Promise<IdentityServer> {
  const hits = new Map<string, number>();
  const state: { keys: SigningKey[]; keysStatus: number | undefined } = { keys, keysStatus: undefined };
  let url = '';
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const discovery = /^\/([0-9a-f-]{36}|common)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (discovery) {
      // Entra's multi-tenant document names the placeholder form as its issuer.
      const tenant = discovery[1] === 'common' ? '{tenantid}' : discovery[1];
      return json(200, { issuer: `${url}/${tenant}/v2.0`, jwks_uri: `${url}/discovery/v2.0/keys`, id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (path === '/discovery/v2.0/keys') {
      return state.keysStatus ? json(state.keysStatus, { error: 'temporarily_unavailable' }) : json(200, { keys: state.keys.map((k) => k.jwk) });
    }
    return json(404, { error: 'invalid_tenant' });
  });
  const listening = await listenOnLoopback(server);
  url = listening.url;
  return {
    url,
    get keys() {
      return state.keys;
    },
    set keys(next) {
      state.keys = next;
    },
    get keysStatus() {
      return state.keysStatus;
    },
    set keysStatus(next) {
      state.keysStatus = next;
    },
    hits,
    count: (path) => hits.get(path) ?? 0,
    close: listening.close,
  };
}
