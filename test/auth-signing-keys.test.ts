/**
 * Signing keys when the key endpoint fails (issue 16): the last good key set stays in use for a bounded
 * grace period, the outage is logged and shown in /readyz, and tokens keep verifying meanwhile.
 * Time moves by setting the faked wall clock (no sleeps); the key endpoint is a real loopback server.
 */
import { jest } from '@jest/globals';
import { SigningKeysUnavailableError } from '../src/errors.js';
import { createTokenVerifier, type TokenVerifierOptions } from '../src/auth/token-verifier.js';
import { createSigningKey, mintToken, startIdentityServer, type IdentityServer, type SigningKey } from './helpers/auth-keys.js';
import { startStack } from './helpers/stack.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const USER = '00000000-0000-0000-0000-0000000000aa';
const AUDIENCE = 'api://partner-bff';
const KEYS_PATH = '/discovery/v2.0/keys';
const MAX_AGE = 600_000;
const GRACE = 3_600_000;
const COOLDOWN = 30_000;

// Only the wall clock is faked (jose reads `new Date()`, the caches `Date.now()`); timers, sockets and
// fetch run for real. The clock stands still except when a test moves it.
const REAL_TIMERS = ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] as const;
let clock = 0;
const advance = (ms: number) => jest.setSystemTime((clock += ms));
beforeEach(() => {
  jest.useFakeTimers({ doNotFake: [...REAL_TIMERS] });
  clock = Date.now();
  jest.setSystemTime(clock);
});
afterEach(() => jest.useRealTimers());

describe('a failed JWKS refresh', () => {
  let idp: IdentityServer;
  let key: SigningKey;
  beforeAll(async () => {
    key = await createSigningKey('key-1');
    idp = await startIdentityServer([key]);
  });
  afterAll(() => idp.close());
  beforeEach(() => {
    idp.keysStatus = undefined;
    idp.hits.clear();
  });

  const logged: Array<{ level: string; msg: string }> = [];
  const logger = {
    warn: (_obj: object, msg: string) => void logged.push({ level: 'warn', msg }),
    error: (_obj: object, msg: string) => void logged.push({ level: 'error', msg }),
    info: (_obj: object, msg: string) => void logged.push({ level: 'info', msg }),
  };
  const verifier = (options: Partial<TokenVerifierOptions> = {}) =>
    createTokenVerifier({ issuers: [`${idp.url}/${TENANT}/v2.0`], audience: AUDIENCE, jwksUrl: `${idp.url}${KEYS_PATH}`, jwksMaxAgeMs: MAX_AGE, jwksCooldownMs: COOLDOWN, logger, ...options });
  // A distinct token each time, so the verified-token cache never answers.
  let n = 0;
  const bearer = async () => `Bearer ${await mintToken(key, { issuer: `${idp.url}/${TENANT}/v2.0`, audience: AUDIENCE, tid: TENANT, oid: USER }, { claims: { scp: `S${n++}.Read` } })}`;

  it('keeps the last good keys for the grace period, retrying at most once per cooldown, then gives up', async () => {
    logged.length = 0;
    const v = verifier({ jwksGraceMs: GRACE });
    expect(v.signingKeys()).toMatchObject({ state: 'not-fetched' });
    await v.verify(await bearer());
    expect(v.signingKeys()).toMatchObject({ state: 'ok' });
    expect(idp.count(KEYS_PATH)).toBe(1);

    idp.keysStatus = 503;
    advance(MAX_AGE + 1);
    await expect(v.verify(await bearer())).resolves.toMatchObject({ tenantId: TENANT });
    expect(idp.count(KEYS_PATH)).toBe(2);
    expect(v.signingKeys()).toMatchObject({ state: 'stale', graceUntil: new Date(Date.now() - 1 + GRACE).toISOString() });
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(1);

    // Within the cooldown the issuer is not asked again; after it, once.
    await expect(v.verify(await bearer())).resolves.not.toBeNull();
    expect(idp.count(KEYS_PATH)).toBe(2);
    advance(COOLDOWN);
    await expect(v.verify(await bearer())).resolves.not.toBeNull();
    expect(idp.count(KEYS_PATH)).toBe(3);
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(1);

    // Past the grace period the old keys are not trusted any more.
    advance(GRACE);
    await expect(v.verify(await bearer())).rejects.toBeInstanceOf(SigningKeysUnavailableError);
    expect(v.signingKeys()).toMatchObject({ state: 'unavailable' });

    idp.keysStatus = undefined;
    await expect(v.verify(await bearer())).resolves.not.toBeNull();
    expect(v.signingKeys()).toMatchObject({ state: 'ok' });
    expect(logged.some((l) => l.level === 'info')).toBe(true);
  });

  it('gives no grace when the grace period is 0', async () => {
    const v = verifier({ jwksGraceMs: 0 });
    await v.verify(await bearer());
    idp.keysStatus = 500;
    advance(MAX_AGE + 1);
    await expect(v.verify(await bearer())).rejects.toBeInstanceOf(SigningKeysUnavailableError);
  });
});

describe('a failed JWKS refresh through the gateway', () => {
  it('keeps serving tokens with the last good keys and shows the outage in /readyz (still 200)', async () => {
    const stack = await startStack();
    try {
      const query = '{ viewer { authenticated } }';
      expect((await stack.graphql(query)).body.data).toEqual({ viewer: { authenticated: true } });
      expect(await (await fetch(`${stack.url}/readyz`)).json()).toMatchObject({ signingKeys: { state: 'ok' } });

      stack.emulator.injectFault({ path: KEYS_PATH, status: 503, times: Number.POSITIVE_INFINITY });
      advance(MAX_AGE + 1);
      const fresh = await stack.mint({ scp: 'SupportProfile.Read' });
      const answer = await stack.graphql(query, undefined, { token: fresh });
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ viewer: { authenticated: true } });

      const ready = await fetch(`${stack.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ signingKeys: { state: 'stale', graceUntil: expect.any(String) } });
      expect(stack.logs.some((line) => /"level":40/.test(line) && /signing keys/.test(line))).toBe(true);
    } finally {
      await stack.close();
    }
  });

  it('answers UPSTREAM_UNAVAILABLE with HTTP 503 (not a masked INTERNAL_SERVER_ERROR) when no signing keys can be had', async () => {
    const stack = await startStack();
    try {
      stack.emulator.injectFault({ path: KEYS_PATH, status: 503, times: Number.POSITIVE_INFINITY });
      const answer = await stack.graphql('{ viewer { authenticated } }');
      expect(answer.status).toBe(503);
      expect(answer.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE' }) })]);
      expect(await (await fetch(`${stack.url}/readyz`)).json()).toMatchObject({ signingKeys: { state: 'unavailable' } });
    } finally {
      await stack.close();
    }
  });
});
