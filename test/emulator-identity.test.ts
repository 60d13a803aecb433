import { jest } from '@jest/globals';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { main as tokenCli, parseTokenCliArgs } from '../src/emulator/token-cli.js';
import {
  EMULATOR_GATEWAY_AUDIENCE,
  GRAPH_RESOURCE,
  PARTNER_CENTER_RESOURCE,
  PERSONAL_ACCOUNT_TENANT_ID,
  call,
  partnerCenterToken,
  seedData,
  startEmulator,
  startEmulatorForFile,
} from './helpers/emulator-fixtures.js';

const emulator = startEmulatorForFile();

/** Captures what is written to stdout and stderr (the token CLI's output) until `restore()`. */
function captureOutput(): { out: string[]; err: string[]; restore(): void } {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  return {
    out,
    err,
    restore() {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}

/** POSTs a form to the emulator's token endpoint, as msal-node does. */
async function tokenRequest(tenant: string, form: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.json() };
}

function oboForm(assertion: string, scope: string): Record<string, string> {
  return {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    requested_token_use: 'on_behalf_of',
    assertion,
    scope,
    client_id: seedData.gatewayClientId,
    client_secret: 'emulator-secret',
  };
}

describe('token minting and JWKS', () => {
  it('mints delegated tokens that verify against the published JWKS', async () => {
    const token = await emulator.mintToken();
    const jwks = createRemoteJWKSet(new URL(emulator.jwksUrl));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: emulator.issuerFor(seedData.partnerTenantId),
      audience: EMULATOR_GATEWAY_AUDIENCE,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({
      tid: seedData.partnerTenantId,
      oid: seedData.devUserObjectId,
      ver: '2.0',
      scp: 'SupportProfile.ReadWrite CustomerUser.ReadWrite.All ExternalUserProfile.ReadWrite.All',
      name: expect.any(String),
      preferred_username: expect.any(String),
    });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.roles).toBeUndefined();
  });

  it('mints app-only tokens (roles, no scp), personal-account tokens and expired tokens', async () => {
    const app = decodeJwt(await emulator.mintToken({ roles: ['ExternalUserProfile.ReadWrite.All'] }));
    expect(app.scp).toBeUndefined();
    expect(app.roles).toEqual(['ExternalUserProfile.ReadWrite.All']);
    const msa = decodeJwt(await emulator.mintToken({ msa: true }));
    expect(msa.tid).toBe(PERSONAL_ACCOUNT_TENANT_ID);
    expect(msa.iss).toBe(emulator.issuerFor(PERSONAL_ACCOUNT_TENANT_ID));
    const expired = await emulator.mintToken({ expiresInSeconds: -60 });
    await expect(jwtVerify(expired, createRemoteJWKSet(new URL(emulator.jwksUrl)))).rejects.toBeInstanceOf(joseErrors.JWTExpired);
  });

  it('honours issuer and kid overrides, so wrong-issuer and unknown-key tokens can be made', async () => {
    const jwks = createRemoteJWKSet(new URL(emulator.jwksUrl));
    const wrongIssuer = await emulator.mintToken({ issuer: 'https://evil.example/v2.0' });
    await expect(jwtVerify(wrongIssuer, jwks, { issuer: emulator.issuerFor(seedData.partnerTenantId) })).rejects.toThrow();
    const unknownKid = await emulator.mintToken({ kid: 'no-such-key' });
    expect(decodeProtectedHeader(unknownKid).kid).toBe('no-such-key');
    await expect(jwtVerify(unknownKid, jwks)).rejects.toThrow();
  });

  it('publishes OpenID configuration per tenant, with the {tenantid} template for common', async () => {
    const tenant = await call(emulator, 'GET', `/${seedData.partnerTenantId}/v2.0/.well-known/openid-configuration`);
    expect(tenant.status).toBe(200);
    expect(tenant.body).toMatchObject({
      issuer: emulator.issuerFor(seedData.partnerTenantId),
      token_endpoint: `${emulator.url}/${seedData.partnerTenantId}/oauth2/v2.0/token`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const keys = await call(emulator, 'GET', new URL(tenant.body.jwks_uri).pathname);
    expect(keys.body.keys.length).toBeGreaterThan(0);
    const common = await call(emulator, 'GET', '/common/v2.0/.well-known/openid-configuration');
    expect(common.body.issuer).toBe(emulator.issuerTemplate);
    expect(emulator.issuerTemplate).toBe(`${emulator.url}/{tenantid}/v2.0`);
    const unknown = await call(emulator, 'GET', '/nowhere.example/v2.0/.well-known/openid-configuration');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_tenant');
  });

  it('answers msal instance discovery', async () => {
    const res = await call(emulator, 'GET', '/common/discovery/instance?api-version=1.1');
    expect(res.body).toMatchObject({ 'api-version': '1.1', tenant_discovery_endpoint: expect.any(String), metadata: expect.any(Array) });
  });

  it('rotates keys: new tokens get a new kid, old tokens still verify', async () => {
    const before = await emulator.mintToken();
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await emulator.rotateKey();
    const after = await emulator.mintToken();
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect(newKid).not.toBe(oldKid);
    const jwks = createRemoteJWKSet(new URL(emulator.jwksUrl));
    await expect(jwtVerify(before, jwks)).resolves.toBeTruthy();
    await expect(jwtVerify(after, jwks)).resolves.toBeTruthy();
    const published = (await call(emulator, 'GET', '/discovery/v2.0/keys')).body.keys.map((k: { kid: string }) => k.kid);
    expect(published).toEqual(expect.arrayContaining([oldKid, newKid]));
  });
});

describe('token endpoint', () => {
  it('exchanges a gateway token On-Behalf-Of for a Partner Center token that Partner Center accepts', async () => {
    const assertion = await emulator.mintToken();
    const res = await tokenRequest(seedData.partnerTenantId, oboForm(assertion, `${PARTNER_CENTER_RESOURCE}/user_impersonation`));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number), ext_expires_in: expect.any(Number), scope: `${PARTNER_CENTER_RESOURCE}/user_impersonation` });
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ aud: PARTNER_CENTER_RESOURCE, scp: 'user_impersonation', tid: seedData.partnerTenantId, oid: seedData.devUserObjectId });
    const profile = await call(emulator, 'GET', '/v1/profiles/support', { token: res.body.access_token });
    expect(profile.status).toBe(200);
  });

  it('exchanges for a Graph token carrying the caller ExternalUserProfile permissions', async () => {
    const assertion = await emulator.mintToken({ scp: 'ExternalUserProfile.Read.All SupportProfile.ReadWrite' });
    const res = await tokenRequest('organizations', oboForm(assertion, `${GRAPH_RESOURCE}/.default`));
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ aud: GRAPH_RESOURCE, scp: 'ExternalUserProfile.Read.All', tid: seedData.partnerTenantId });
    const id = seedData.externalUserProfileIds[0];
    expect((await call(emulator, 'GET', `/beta/directory/externalUserProfiles/${id}`, { token: res.body.access_token })).status).toBe(200);
  });

  it.each([
    ['an expired assertion', () => emulator.mintToken({ expiresInSeconds: -10 }), 'invalid_grant'],
    ['an assertion for another audience', () => emulator.mintToken({ audience: 'api://someone-else' }), 'invalid_grant'],
    ['an app-only assertion', () => emulator.mintToken({ roles: ['ExternalUserProfile.ReadWrite.All'] }), 'invalid_grant'],
    ['a forged assertion', async () => `${(await emulator.mintToken()).slice(0, -4)}AAAA`, 'invalid_grant'],
  ])('refuses %s with Entra OAuth error JSON', async (_name, makeAssertion, error) => {
    const res = await tokenRequest(seedData.partnerTenantId, oboForm(await makeAssertion(), `${PARTNER_CENTER_RESOURCE}/user_impersonation`));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error, error_description: expect.stringMatching(/^AADSTS\d+/), error_codes: [expect.any(Number)], correlation_id: expect.any(String) });
  });

  it('requires client_id and client_secret, a form body, and one resource per request', async () => {
    const assertion = await emulator.mintToken();
    const { client_secret: _secret, ...noSecret } = oboForm(assertion, `${GRAPH_RESOURCE}/.default`);
    expect((await tokenRequest(seedData.partnerTenantId, noSecret)).status).toBe(401);
    const { client_id: _id, ...noId } = oboForm(assertion, `${GRAPH_RESOURCE}/.default`);
    expect((await tokenRequest(seedData.partnerTenantId, noId)).body.error).toBe('invalid_request');
    const json = await call(emulator, 'POST', `/${seedData.partnerTenantId}/oauth2/v2.0/token`, { body: oboForm(assertion, `${GRAPH_RESOURCE}/.default`) });
    expect(json.status).toBe(400);
    const mixed = await tokenRequest(seedData.partnerTenantId, oboForm(assertion, `${GRAPH_RESOURCE}/.default ${PARTNER_CENTER_RESOURCE}/user_impersonation`));
    expect(mixed.body.error).toBe('invalid_scope');
  });

  it('issues app-only Graph tokens with client credentials; Partner Center refuses app-only tokens', async () => {
    const graph = await tokenRequest(seedData.partnerTenantId, {
      grant_type: 'client_credentials', scope: `${GRAPH_RESOURCE}/.default`, client_id: seedData.gatewayClientId, client_secret: 's',
    });
    expect(graph.status).toBe(200);
    const claims = decodeJwt(graph.body.access_token);
    expect(claims.scp).toBeUndefined();
    expect(claims.roles).toEqual(['ExternalUserProfile.ReadWrite.All']);
    const id = seedData.externalUserProfileIds[0];
    expect((await call(emulator, 'GET', `/beta/directory/externalUserProfiles/${id}`, { token: graph.body.access_token })).status).toBe(200);

    const pc = await tokenRequest(seedData.partnerTenantId, {
      grant_type: 'client_credentials', scope: `${PARTNER_CENTER_RESOURCE}/.default`, client_id: seedData.gatewayClientId, client_secret: 's',
    });
    const refused = await call(emulator, 'GET', '/v1/profiles/support', { token: pc.body.access_token });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: expect.any(Number), source: 'PartnerFD' });
  });
});

describe('upstream token checks', () => {
  it('Partner Center answers 401 with WWW-Authenticate without a token or with a wrong-audience token', async () => {
    const none = await call(emulator, 'GET', '/v1/profiles/support');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^OAuth realm=/);
    expect(none.body).toMatchObject({ source: 'PartnerFD', data: [] });
    const gatewayAudience = await call(emulator, 'GET', '/v1/profiles/support', { token: await emulator.mintToken() });
    expect(gatewayAudience.status).toBe(401);
    const expired = await call(emulator, 'GET', '/v1/profiles/support', { token: await partnerCenterToken(emulator, { expiresInSeconds: -1 }) });
    expect(expired.status).toBe(401);
    const wrongIssuer = await call(emulator, 'GET', '/v1/profiles/support', { token: await partnerCenterToken(emulator, { issuer: 'https://evil.example/x/v2.0' }) });
    expect(wrongIssuer.status).toBe(401);
  });

  it('refuses tokens signed by another emulator', async () => {
    const other = await startEmulator();
    try {
      const foreign = await partnerCenterToken(other);
      expect((await call(emulator, 'GET', '/v1/profiles/support', { token: foreign })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('Partner Center refuses app-only tokens with 403', async () => {
    const app = await emulator.mintToken({ audience: PARTNER_CENTER_RESOURCE, roles: ['Partner.Read'] });
    const res = await call(emulator, 'GET', '/v1/profiles/support', { token: app });
    expect(res.status).toBe(403);
    expect(res.body.source).toBe('PartnerFD');
  });
});

describe('dev token endpoint and CLI', () => {
  it('mints over HTTP even outside test mode, where the test controls are absent', async () => {
    const dev = await startEmulator();
    try {
      const res = await call(dev, 'POST', '/_emulator/tokens', { body: { roles: ['ExternalUserProfile.ReadWrite.All'] } });
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.token).roles).toEqual(['ExternalUserProfile.ReadWrite.All']);
      expect((await call(dev, 'GET', '/_emulator/requests')).status).toBe(404);
      expect((await call(dev, 'POST', '/_emulator/faults', { body: { path: '/v1/x', status: 500 } })).status).toBe(404);
      expect(() => dev.injectFault({ path: '/v1/x', status: 500 })).toThrow(/testMode/);
    } finally {
      await dev.close();
    }
  });

  it('refuses to bind anything but loopback', async () => {
    await expect(startEmulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('parses the CLI flags', () => {
    expect(parseTokenCliArgs([], {})).toEqual({ url: 'http://127.0.0.1:4010', source: 'default', mint: {} });
    expect(parseTokenCliArgs(['--scp', 'SupportProfile.ReadWrite CustomerUser.ReadWrite.All'], { EMULATOR_URL: 'http://127.0.0.1:9/' })).toEqual({
      url: 'http://127.0.0.1:9',
      source: 'EMULATOR_URL',
      mint: { scp: 'SupportProfile.ReadWrite CustomerUser.ReadWrite.All' },
    });
    expect(parseTokenCliArgs(['--roles', 'A,B', '--roles', 'C', '--url=http://127.0.0.1:1']).mint).toEqual({ roles: ['A', 'B', 'C'] });
    expect(parseTokenCliArgs(['--msa']).mint).toEqual({ msa: true });
    expect(() => parseTokenCliArgs(['--bogus'])).toThrow(/unknown argument/);
  });

  it('finds the emulator from EMULATOR_PORT, as npm start places it (--url still wins)', () => {
    expect(parseTokenCliArgs([], { EMULATOR_PORT: '4011' })).toMatchObject({ url: 'http://127.0.0.1:4011', source: 'EMULATOR_PORT' });
    expect(parseTokenCliArgs(['--url', 'http://127.0.0.1:5000'], { EMULATOR_PORT: '4011' })).toMatchObject({ url: 'http://127.0.0.1:5000', source: '--url' });
    expect(() => parseTokenCliArgs([], { EMULATOR_PORT: '0' })).toThrow(/EMULATOR_PORT=0 .*--url/);
    expect(() => parseTokenCliArgs([], { EMULATOR_PORT: 'abc' })).toThrow(/^EMULATOR_PORT must be/);
  });

  it('says on stderr which emulator minted the token, keeping stdout to the token alone', async () => {
    const { out, err, restore } = captureOutput();
    try {
      const port = new URL(emulator.url).port;
      expect(await tokenCli([], { EMULATOR_PORT: port })).toBe(0);
      expect(out.join('')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(err.join('')).toBe(`Token minted by the emulator at http://127.0.0.1:${port} (from EMULATOR_PORT)\n`);
    } finally {
      restore();
    }
  });

  it('prints just the token on stdout, or a hint on stderr when no emulator runs', async () => {
    const { out, err, restore } = captureOutput();
    try {
      expect(await tokenCli(['--url', emulator.url], {})).toBe(0);
      const token = out.join('').trim();
      expect(decodeJwt(token).scp).toBe('SupportProfile.ReadWrite CustomerUser.ReadWrite.All ExternalUserProfile.ReadWrite.All');
      const closed = await startEmulator();
      const deadUrl = closed.url;
      await closed.close();
      expect(await tokenCli(['--msa'], { EMULATOR_URL: deadUrl })).toBe(1);
      expect(err.join('')).toMatch(/start the gateway with npm start first/);
    } finally {
      restore();
    }
  });
});
