import { jest } from '@jest/globals';
import { SignJWT } from 'jose';
import { AuthenticationError } from '../src/errors.js';
import { SigningKeysUnavailableError } from '../src/errors.js';
import { expandPermissions, PERSONAL_ACCOUNT_TENANT_ID } from '../src/auth/principal.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../src/auth/token-verifier.js';
import { createSigningKey, mintToken, startIdentityServer, unsignedToken, type IdentityServer, type MintOptions, type SigningKey } from './helpers/auth-keys.js';
import { startStack, type Stack } from './helpers/stack.js';
import { seedData } from '../src/emulator/index.js';

const TENANT_A = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const TENANT_B = '0b5e6a1c-2d3f-4a5b-8c7d-9e0f1a2b3c4d';
const USER = '00000000-0000-0000-0000-0000000000aa';
const AUDIENCE = 'api://partner-bff';
const KEYS_PATH = '/discovery/v2.0/keys';

describe('expandPermissions', () => {
  it('adds the Read implied by ReadWrite, with and without .All', () => {
    expect([...expandPermissions(['SupportProfile.ReadWrite', 'CustomerUser.ReadWrite.All', 'Other.Read'])].sort()).toEqual(
      ['CustomerUser.Read.All', 'CustomerUser.ReadWrite.All', 'Other.Read', 'SupportProfile.Read', 'SupportProfile.ReadWrite'].sort(),
    );
  });
});

describe('token verifier', () => {
  let idp: IdentityServer;
  let key1: SigningKey;
  let key2: SigningKey;
  let issuerA: string;

  beforeAll(async () => {
    key1 = await createSigningKey('key-1');
    key2 = await createSigningKey('key-2');
    idp = await startIdentityServer([key1]);
    issuerA = `${idp.url}/${TENANT_A}/v2.0`;
  });
  afterAll(() => idp.close());
  beforeEach(() => {
    idp.keys = [key1];
    idp.hits.clear();
  });

  const verifier = (options: Partial<TokenVerifierOptions> = {}) =>
    createTokenVerifier({ issuers: [issuerA], audience: AUDIENCE, jwksUrl: `${idp.url}${KEYS_PATH}`, ...options });
  const mint = (options: MintOptions = {}, key = key1) => mintToken(key, { issuer: issuerA, audience: AUDIENCE, tid: TENANT_A, oid: USER }, options);
  const bearer = (token: string) => `Bearer ${token}`;
  const refusal = async (promise: Promise<unknown>): Promise<AuthenticationError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    return error as AuthenticationError;
  };

  it('answers null (anonymous) without an Authorization header', async () => {
    await expect(verifier().verify(undefined)).resolves.toBeNull();
    expect(idp.count(KEYS_PATH)).toBe(0);
  });

  it('turns a delegated token into a delegated principal with implied Read permissions', async () => {
    const token = await mint({ claims: { scp: 'SupportProfile.ReadWrite CustomerUser.Read.All', name: 'Ada Lovelace', preferred_username: 'ada@contoso.com' } });
    const principal = await verifier().verify(bearer(token));
    expect(principal).toMatchObject({ tenantId: TENANT_A, objectId: USER, kind: 'delegated', name: 'Ada Lovelace', username: 'ada@contoso.com', personalAccount: false });
    expect([...principal!.permissions].sort()).toEqual(['CustomerUser.Read.All', 'SupportProfile.Read', 'SupportProfile.ReadWrite']);
    expect(principal!.token).toBe(token);
    expect(principal!.expiresAt).toBeGreaterThan(Date.now());
  });

  it('never serialises the raw token of a principal', async () => {
    const token = await mint({ claims: { scp: 'SupportProfile.Read' } });
    const principal = await verifier().verify(bearer(token));
    expect(JSON.stringify(principal)).not.toContain(token);
    expect(Object.keys({ ...principal })).not.toContain('token');
  });

  it('turns an app-only token (roles, no scp) into an application principal', async () => {
    const token = await mint({ kind: 'app', claims: { roles: ['ExternalUserProfile.ReadWrite.All'] } });
    const principal = await verifier().verify(bearer(token));
    expect(principal).toMatchObject({ kind: 'application', personalAccount: false });
    expect([...principal!.permissions].sort()).toEqual(['ExternalUserProfile.Read.All', 'ExternalUserProfile.ReadWrite.All']);
  });

  describe('token kinds: access tokens only, app-only only when Entra marks it so', () => {
    const ROLES = ['ExternalUserProfile.ReadWrite.All'];

    it('refuses an ID token (nonce, name, roles, no scp, no idtyp, no azp) instead of taking it for app-only', async () => {
      const idToken = await mint({ claims: { nonce: 'n-0S6_WzA2Mj', name: 'Ada Lovelace', roles: ROLES, scp: undefined, azp: undefined } });
      const error = await refusal(verifier().verify(bearer(idToken)));
      expect(error.message).toMatch(/ID token|access token/);
      expect(error.message).not.toContain('Ada');
    });

    it('refuses a token carrying nonce even with azp and scp', async () => {
      await refusal(verifier().verify(bearer(await mint({ claims: { nonce: 'abc' } }))));
    });

    it('refuses a v2 token without azp and a v1 token without appid', async () => {
      await refusal(verifier().verify(bearer(await mint({ claims: { azp: undefined, appid: 'client' } }))));
      await refusal(verifier().verify(bearer(await mint({ claims: { ver: '1.0' } }))));
      await refusal(verifier().verify(bearer(await mint({ claims: { ver: '3.0' } }))));
      await refusal(verifier().verify(bearer(await mint({ claims: { ver: undefined, azp: undefined } }))));
    });

    it('accepts a v1 access token (appid) and a token without ver by what it carries', async () => {
      const v1 = await mint({ claims: { ver: '1.0', azp: undefined, appid: 'client' } });
      await expect(verifier().verify(bearer(v1))).resolves.toMatchObject({ kind: 'delegated' });
      const noVer = await mint({ claims: { ver: undefined, azp: undefined, appid: 'client', scp: 'X.Read' } });
      await expect(verifier().verify(bearer(noVer))).resolves.toMatchObject({ kind: 'delegated' });
    });

    it('takes roles, no scp and oid equal to sub as app-only where idtyp is not configured', async () => {
      const token = await mint({ kind: 'app', claims: { idtyp: undefined, roles: ROLES } });
      await expect(verifier().verify(bearer(token))).resolves.toMatchObject({ kind: 'application' });
    });

    it('refuses a user token with app roles and no scp (oid is not sub)', async () => {
      const token = await mint({ claims: { scp: undefined, roles: ROLES } });
      await refusal(verifier().verify(bearer(token)));
    });

    it('refuses roles without scp when oid equals sub but idtyp says user', async () => {
      await refusal(verifier().verify(bearer(await mint({ kind: 'app', claims: { idtyp: 'user', roles: ROLES } }))));
    });

    it('refuses a delegated-looking token (idtyp user) without scp', async () => {
      await refusal(verifier().verify(bearer(await mint({ claims: { scp: undefined, idtyp: 'user' } }))));
    });

    it('refuses an scp that is present but empty, blank or not a string, instead of taking the token for app-only', async () => {
      // roles, no idtyp and oid equal to sub: with scp left out this is app-only, but scp is there.
      for (const scp of ['', '   ', 42, ['ExternalUserProfile.ReadWrite.All'], null]) {
        const token = await mint({ kind: 'app', claims: { idtyp: undefined, roles: ROLES, scp } });
        const error = await refusal(verifier().verify(bearer(token)));
        expect(error.message).toMatch(/scp/);
      }
      // idtyp app with an empty scp is no app-only token either.
      await refusal(verifier().verify(bearer(await mint({ kind: 'app', claims: { roles: ROLES, scp: '' } }))));
    });

    it('refuses a token that is both app-only (idtyp app) and delegated (scp)', async () => {
      await refusal(verifier().verify(bearer(await mint({ claims: { idtyp: 'app', roles: ROLES } }))));
    });
  });

  it('flags a personal Microsoft account', async () => {
    const issuer = `${idp.url}/${PERSONAL_ACCOUNT_TENANT_ID}/v2.0`;
    const token = await mintToken(key1, { issuer, audience: AUDIENCE, tid: PERSONAL_ACCOUNT_TENANT_ID, oid: USER }, { claims: { scp: 'ExternalUserProfile.Read.All' } });
    const principal = await verifier({ issuers: [issuer] }).verify(bearer(token));
    expect(principal!.personalAccount).toBe(true);
  });

  it('refuses an expired token', async () => {
    const error = await refusal(verifier().verify(bearer(await mint({ expiresIn: -3600 }))));
    expect(error.message).toMatch(/expired/);
  });

  it('accepts a token expired within the clock tolerance', async () => {
    await expect(verifier({ clockToleranceSec: 60 }).verify(bearer(await mint({ expiresIn: -10 })))).resolves.not.toBeNull();
  });

  it('refuses a token whose nbf is in the future', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 600;
    const error = await refusal(verifier().verify(bearer(await mint({ claims: { nbf } }))));
    expect(error.message).toMatch(/not valid yet/);
  });

  it('refuses a wrong audience', async () => {
    const error = await refusal(verifier().verify(bearer(await mint({ claims: { aud: 'https://graph.microsoft.com' } }))));
    expect(error.message).toMatch(/audience/);
  });

  it('refuses an issuer that is not accepted', async () => {
    const error = await refusal(verifier().verify(bearer(await mint({ claims: { iss: 'https://evil.example/v2.0' } }))));
    expect(error.message).toMatch(/issuer/);
    expect(idp.count(KEYS_PATH)).toBe(0);
  });

  it('refuses a bad signature (signed by another key under a known kid)', async () => {
    const forged = await mint({ header: { kid: 'key-1' } }, key2);
    const error = await refusal(verifier().verify(bearer(forged)));
    expect(error.message).toMatch(/signature/);
  });

  it('refuses a token whose signature was tampered with', async () => {
    const token = await mint();
    const [header, payload] = token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scp: 'Everything.ReadWrite.All' })).toString('base64url')}.${token.split('.')[2]}`;
    await refusal(verifier().verify(bearer(tampered)));
  });

  it('refuses alg: none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = unsignedToken({ iss: issuerA, aud: AUDIENCE, tid: TENANT_A, oid: USER, scp: 'SupportProfile.Read', exp: now + 3600 });
    const error = await refusal(verifier().verify(bearer(token)));
    expect(error.message).toMatch(/algorithm/);
  });

  it('refuses HS256, even keyed with a public key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const secret = new TextEncoder().encode(JSON.stringify(key1.jwk));
    const token = await new SignJWT({ iss: issuerA, aud: AUDIENCE, tid: TENANT_A, oid: USER, exp: now + 3600 })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .sign(secret);
    const error = await refusal(verifier().verify(bearer(token)));
    expect(error.message).toMatch(/algorithm/);
  });

  it('refuses tokens without tid or oid', async () => {
    await refusal(verifier().verify(bearer(await mint({ claims: { tid: undefined } }))));
    const error = await refusal(verifier().verify(bearer(await mint({ claims: { oid: undefined } }))));
    expect(error.message).toMatch(/oid/);
  });

  it('refuses malformed headers without echoing them', async () => {
    const token = await mint();
    for (const header of [token, `Basic ${token}`, 'Bearer', 'Bearer not-a-jwt', `Bearer ${token} extra`]) {
      const error = await refusal(verifier().verify(header));
      expect(error.message).not.toContain(token);
      expect(error.message).not.toContain('not-a-jwt');
    }
  });

  it('accepts the {tenantid} placeholder for any tenant, discovering the keys once through common', async () => {
    const template = `${idp.url}/{tenantid}/v2.0`;
    const v = createTokenVerifier({ issuers: [template], audience: AUDIENCE });
    for (const tid of [TENANT_A, TENANT_B]) {
      const issuer = `${idp.url}/${tid}/v2.0`;
      for (let i = 0; i < 2; i++) {
        const token = await mintToken(key1, { issuer, audience: AUDIENCE, tid, oid: `${USER.slice(0, -1)}${i}` }, { claims: { scp: 'SupportProfile.Read' } });
        await expect(v.verify(bearer(token))).resolves.toMatchObject({ tenantId: tid });
      }
      expect(idp.count(`/${tid}/v2.0/.well-known/openid-configuration`)).toBe(0);
    }
    // One discovery document and one key set for every tenant.
    expect(idp.count('/common/v2.0/.well-known/openid-configuration')).toBe(1);
    expect(idp.count(KEYS_PATH)).toBe(1);
  });

  it('makes no outbound request per made-up tenant in unsigned tokens', async () => {
    const v = createTokenVerifier({ issuers: [`${idp.url}/{tenantid}/v2.0`], audience: AUDIENCE });
    const forged = [1, 2, 3, 4, 5].map((n) => `0000000${n}-0000-4000-8000-000000000000`);
    for (const tid of forged) {
      const token = await mintToken(key1, { issuer: `${idp.url}/${tid}/v2.0`, audience: AUDIENCE, tid, oid: USER }, { claims: { scp: 'X.Read' } });
      await v.verify(bearer(token)).catch(() => undefined);
    }
    expect(forged.map((tid) => idp.count(`/${tid}/v2.0/.well-known/openid-configuration`))).toEqual([0, 0, 0, 0, 0]);
    expect(idp.count('/common/v2.0/.well-known/openid-configuration')).toBe(1);
  });

  it('refuses a placeholder-issuer token whose tid is not the tenant in its issuer', async () => {
    const v = createTokenVerifier({ issuers: [`${idp.url}/{tenantid}/v2.0`], audience: AUDIENCE });
    const token = await mintToken(key1, { issuer: issuerA, audience: AUDIENCE, tid: TENANT_B, oid: USER });
    const error = await refusal(v.verify(bearer(token)));
    expect(error.message).toMatch(/issuer/);
  });

  it("refuses a token from a fixed-tenant issuer whose tid names another tenant", async () => {
    const token = await mintToken(key1, { issuer: issuerA, audience: AUDIENCE, tid: TENANT_B, oid: USER });
    const error = await refusal(verifier().verify(bearer(token)));
    expect(error.message).toMatch(/tenant/);
  });

  it('discovers the JWKS from the issuer when no JWKS URL is configured', async () => {
    const v = createTokenVerifier({ issuers: [issuerA], audience: AUDIENCE });
    await expect(v.verify(bearer(await mint()))).resolves.not.toBeNull();
    await expect(v.verify(bearer(await mint({ claims: { scp: 'X.Read' } })))).resolves.not.toBeNull();
    expect(idp.count(`/${TENANT_A}/v2.0/.well-known/openid-configuration`)).toBe(1);
    expect(idp.count(KEYS_PATH)).toBe(1);
  });

  it('fetches a rotated-in key (new kid) exactly once, even right after the first fetch', async () => {
    const v = verifier();
    await v.verify(bearer(await mint()));
    expect(idp.count(KEYS_PATH)).toBe(1);

    idp.keys = [key1, key2];
    const rotated = await Promise.all([1, 2, 3].map((i) => mint({ claims: { scp: `S${i}.Read` } }, key2)));
    await Promise.all(rotated.map((token) => expect(v.verify(bearer(token))).resolves.not.toBeNull()));
    await v.verify(bearer(await mint({ claims: { scp: 'Again.Read' } }, key2)));
    await v.verify(bearer(await mint({ claims: { scp: 'Old.Read' } }, key1)));
    expect(idp.count(KEYS_PATH)).toBe(2);
  });

  it('refetches for unknown kids at most once per cooldown', async () => {
    const v = verifier({ jwksCooldownMs: 60_000 });
    await v.verify(bearer(await mint()));
    const stranger = await createSigningKey('key-unknown');
    const forged = await Promise.all([0, 1, 2, 3, 4].map((i) => mint({ claims: { scp: `S${i}.Read` } }, stranger)));
    for (const token of forged) {
      const error = await refusal(v.verify(bearer(token)));
      expect(error.message).toMatch(/signing key/);
    }
    await Promise.all(forged.map((token) => refusal(v.verify(bearer(token)))));
    expect(idp.count(KEYS_PATH)).toBe(2);
  });

  it('looks up an unknown kid again once the cooldown has passed', async () => {
    // Only the wall clock is faked (and stands still unless moved): a slow machine cannot outrun the cooldown.
    jest.useFakeTimers({ doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    try {
      const start = Date.now();
      const v = verifier({ jwksCooldownMs: 50 });
      await v.verify(bearer(await mint()));
      await refusal(v.verify(bearer(await mint({}, key2))));
      await refusal(v.verify(bearer(await mint({ claims: { scp: 'A.Read' } }, key2))));
      expect(idp.count(KEYS_PATH)).toBe(2);
      idp.keys = [key1, key2];
      jest.setSystemTime(start + 80);
      await expect(v.verify(bearer(await mint({ claims: { scp: 'B.Read' } }, key2)))).resolves.not.toBeNull();
      expect(idp.count(KEYS_PATH)).toBe(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('verifies a repeated token without refetching or re-verifying', async () => {
    const v = verifier();
    const token = await mint();
    const first = await v.verify(bearer(token));
    const second = await v.verify(bearer(token));
    expect(second).toBe(first);
    expect(idp.count(KEYS_PATH)).toBe(1);
  });

  it('reports unreachable signing keys as UPSTREAM_UNAVAILABLE, not UNAUTHENTICATED', async () => {
    const v = createTokenVerifier({ issuers: [issuerA], audience: AUDIENCE, jwksUrl: 'http://127.0.0.1:9/keys', fetchTimeoutMs: 1000 });
    const error = await v.verify(bearer(await mint())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SigningKeysUnavailableError);
    expect((error as SigningKeysUnavailableError).code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('token kinds over HTTP', () => {
  let idp: IdentityServer;
  let key: SigningKey;
  let stack: Stack;
  const issuer = () => `${idp.url}/${TENANT_A}/v2.0`;

  beforeAll(async () => {
    key = await createSigningKey('http-key');
    idp = await startIdentityServer([key]);
    // Production mode as it is run against the emulator, with this file's own token issuer.
    stack = await startStack({ env: { NODE_ENV: 'production', UPSTREAM: 'microsoft', AUTH_ISSUER: issuer(), AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URL: `${idp.url}${KEYS_PATH}` } });
  });
  afterAll(async () => {
    await stack?.close();
    await idp?.close();
  });

  it('refuses a token with an empty scp (roles, no idtyp, oid equal to sub) instead of writing with client credentials', async () => {
    const token = await mintToken(key, { issuer: issuer(), audience: AUDIENCE, tid: TENANT_A, oid: USER }, {
      kind: 'app',
      claims: { idtyp: undefined, scp: '', roles: ['ExternalUserProfile.ReadWrite.All'] },
    });
    stack.emulator.clearRequests();
    const { status, body } = await stack.graphql(
      'mutation W($id: ID!) { updateExternalUserProfile(id: $id, input: { jobTitle: "Owner" }) { id jobTitle } }',
      { id: seedData.externalUserProfileIds[0] },
      { token },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(status).toBe(401);
    expect(body.data ?? null).toBeNull();
    // Neither a token exchange (client credentials) nor a call to Graph was made.
    expect(stack.emulator.requests()).toEqual([]);
  });
});
