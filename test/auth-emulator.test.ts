/**
 * src/auth/ against the embedded emulator, configured exactly as `UPSTREAM=emulator` (`npm start`) does:
 * plain-http authority, the emulator's issuer template and JWKS.
 */
import type { Config } from '../src/config.js';
import { createTokenVerifier } from '../src/auth/token-verifier.js';
import { createUpstreamTokenSource } from '../src/auth/upstream-tokens.js';
import { decodeJwt } from 'jose';
import { seedData } from '../src/emulator/index.js';
import { startEmulatorForFile } from './helpers/emulator-fixtures.js';
import { emulatorConfig, startStack } from './helpers/stack.js';

describe('auth against the emulator', () => {
  const emulator = startEmulatorForFile();
  let config: Config;

  beforeAll(() => {
    config = emulatorConfig({}, emulator);
  });

  const verifier = () => createTokenVerifier({ issuers: config.auth.issuers, audience: config.auth.audience, jwksUrl: config.auth.jwksUrl });

  it("verifies the emulator's tokens and exchanges them on behalf of the caller for both upstreams", async () => {
    const token = await emulator.mintToken({ scp: 'SupportProfile.ReadWrite ExternalUserProfile.Read.All' });
    const principal = await verifier().verify(`Bearer ${token}`);
    expect(principal).toMatchObject({ kind: 'delegated', personalAccount: false });
    expect(principal!.permissions.has('SupportProfile.Read')).toBe(true);

    emulator.clearRequests();
    const tokens = createUpstreamTokenSource(config).forCaller(principal!);
    const partnerCenter = await tokens('partner-center');
    const graph = await tokens('graph');
    expect(partnerCenter).not.toBe(token);
    expect(graph).not.toBe(partnerCenter);
    await tokens('graph');
    expect(emulator.requests({ service: 'identity', method: 'POST' })).toHaveLength(2);
  });

  it('mints realistic v2 access tokens: azp, a pairwise sub for users, idtyp app and sub = oid for app-only', async () => {
    const user = decodeJwt(await emulator.mintToken({ scp: 'SupportProfile.Read' }));
    expect(user).toMatchObject({ ver: '2.0', azp: seedData.gatewayClientId, scp: 'SupportProfile.Read' });
    expect(user.sub).toEqual(expect.any(String));
    expect(user.sub).not.toBe(user.oid);
    expect(user).not.toHaveProperty('idtyp');
    expect(user).not.toHaveProperty('nonce');
    const app = decodeJwt(await emulator.mintToken({ roles: ['ExternalUserProfile.Read.All'] }));
    expect(app).toMatchObject({ ver: '2.0', azp: seedData.gatewayClientId, idtyp: 'app', sub: app.oid });
    expect(app).not.toHaveProperty('scp');
    expect(app).not.toHaveProperty('appid');
  });

  it('uses client credentials for an app-only caller on Graph', async () => {
    const token = await emulator.mintToken({ roles: ['ExternalUserProfile.Read.All'] });
    const principal = await verifier().verify(`Bearer ${token}`);
    expect(principal!.kind).toBe('application');
    await expect(createUpstreamTokenSource(config).forCaller(principal!)('graph')).resolves.toEqual(expect.any(String));
  });

  it('picks up a rotated-in key at once and flags personal accounts', async () => {
    const v = verifier();
    await v.verify(`Bearer ${await emulator.mintToken({ scp: 'SupportProfile.Read' })}`);
    await emulator.rotateKey();
    await expect(v.verify(`Bearer ${await emulator.mintToken({ scp: 'SupportProfile.Read' })}`)).resolves.not.toBeNull();
    await expect(v.verify(`Bearer ${await emulator.mintToken({ msa: true, scp: 'ExternalUserProfile.Read.All' })}`)).resolves.toMatchObject({ personalAccount: true });
  });

  it("never trusts the emulator's keys for another issuer, whatever host spelling serves them", async () => {
    const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const { port } = new URL(emulator.url);
    // localhost is the emulator, but not its URL's text: the keys it serves are what gives it away.
    const stack = await startStack({
      emulator,
      env: { AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0', AUTH_JWKS_URL: `http://localhost:${port}/discovery/v2.0/keys` },
    });
    try {
      const forged = await emulator.mintToken({ scp: 'SupportProfile.Read', tenantId, issuer: `https://login.microsoftonline.com/${tenantId}/v2.0` });
      const { body } = await stack.graphql('{ viewer { authenticated tenantId } }', undefined, { token: forged });
      expect(body.data?.viewer?.authenticated).not.toBe(true);
      expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(stack.logs.join('')).toContain("the JWKS holds the embedded emulator's signing keys while an accepted issuer is not the emulator's");
    } finally {
      await stack.close();
    }
  });
});
