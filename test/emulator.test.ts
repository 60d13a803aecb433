import { connect } from 'node:net';
import { createSeedState } from '../src/emulator/seed-data.js';
import { EMULATOR_GATEWAY_AUDIENCE, GRAPH_RESOURCE, PARTNER_CENTER_RESOURCE, PERSONAL_ACCOUNT_TENANT_ID } from './helpers/emulator-fixtures.js';
import { call, graphToken, partnerCenterToken, seedData, startEmulator, startEmulatorForFile } from './helpers/emulator-fixtures.js';

const emulator = startEmulatorForFile();

describe('emulator public API', () => {
  it('exposes its URLs on loopback', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.partnerCenterUrl).toBe(emulator.url);
    expect(emulator.graphUrl).toBe(emulator.url);
    expect(emulator.jwksUrl).toBe(`${emulator.url}/discovery/v2.0/keys`);
    expect(emulator.issuerFor('abc')).toBe(`${emulator.url}/abc/v2.0`);
    expect(emulator.issuerTemplate).toBe(`${emulator.url}/{tenantid}/v2.0`);
  });

  it('exports the constants of the contract', () => {
    expect(EMULATOR_GATEWAY_AUDIENCE).toBe('api://partner-bff-gateway');
    expect(PARTNER_CENTER_RESOURCE).toBe('https://api.partnercenter.microsoft.com');
    expect(GRAPH_RESOURCE).toBe('https://graph.microsoft.com');
    expect(PERSONAL_ACCOUNT_TENANT_ID).toBe('9188040d-6c67-4c5b-b112-36a304b66dad');
  });
});

describe('seed data', () => {
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('has a partner, two customers with 50+ users each, one soft-deleted user and 30+ external profiles', () => {
    expect(seedData.partnerTenantId).toMatch(guid);
    expect(seedData.devUserObjectId).toMatch(guid);
    expect(seedData.customers).toHaveLength(2);
    for (const c of seedData.customers) {
      expect(c.id).toMatch(guid);
      expect(c.userIds.length).toBeGreaterThanOrEqual(50);
      expect(new Set(c.userIds).size).toBe(c.userIds.length);
    }
    expect(seedData.customers[0]!.deletedUserIds).toEqual([seedData.softDeletedUserId]);
    expect(seedData.externalUserProfileIds.length).toBeGreaterThanOrEqual(30);
  });

  it('is deterministic: every fresh copy is equal and independent', () => {
    const a = createSeedState();
    const b = createSeedState();
    expect(a).toEqual(b);
    a.customers.get(seedData.customers[0]!.id)!.users.get(seedData.customers[0]!.userIds[0]!)!.displayName = 'Mutated';
    expect(b.customers.get(seedData.customers[0]!.id)!.users.get(seedData.customers[0]!.userIds[0]!)!.displayName).not.toBe('Mutated');
    expect(Object.isFrozen(seedData.customers[0]!.userIds)).toBe(true);
  });
});

describe('robustness', () => {
  it('answers hostile or malformed requests in the service shapes and keeps serving', async () => {
    const pc = await partnerCenterToken(emulator);
    const graph = await graphToken(emulator);
    const cases: Array<[string, string, { token?: string; rawBody?: string; headers?: Record<string, string> }]> = [
      ['GET', '/v1/customers/%E0%A4%A/users', { token: pc }],
      ['PATCH', `/v1/customers/${seedData.customers[0]!.id}/users/${seedData.customers[0]!.userIds[0]}`, { token: pc, rawBody: 'null', headers: { 'content-type': 'application/json' } }],
      ['PATCH', `/v1/customers/${seedData.customers[0]!.id}/users/${seedData.customers[0]!.userIds[0]}`, { token: pc, rawBody: '{"passwordProfile": [1]}', headers: { 'content-type': 'application/json' } }],
      ['GET', `/v1/customers/${seedData.customers[0]!.id}/users?filter=%7B`, { token: pc }],
      ['POST', '/beta/$batch', { token: graph, rawBody: '{"requests": "nope"}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/beta/$batch', { token: graph, rawBody: '{"requests": [null, 1]}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/beta/$batch', { token: graph, rawBody: '{"requests":[{"id":"1","method":"GET","url":"/directory/externalUserProfiles","dependsOn":["1"]}]}', headers: { 'content-type': 'application/json' } }],
      ['GET', '/beta/directory/externalUserProfiles?$filter=foo', { token: graph }],
      ['GET', '/beta/directory/externalUserProfiles?$top=-1', { token: graph }],
      ['POST', '/common/oauth2/v2.0/token', { rawBody: '%%%', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
      ['GET', '/v1/profiles/support', { headers: { authorization: 'Bearer not.a.jwt' } }],
      ['GET', '/beta/directory/externalUserProfiles', { headers: { authorization: 'Basic abc' } }],
    ];
    for (const [method, path, init] of cases) {
      const res = await call(emulator, method, path, init);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    const ok = await call(emulator, 'GET', '/v1/profiles/support', { token: pc });
    expect(ok.status).toBe(200);
  });

  it('survives a broken HTTP request line', async () => {
    const port = Number(new URL(emulator.url).port);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const token = await partnerCenterToken(emulator);
    expect((await call(emulator, 'GET', '/v1/profiles/support', { token })).status).toBe(200);
  });

  it('closes cleanly while a delayed answer is pending', async () => {
    const local = await startEmulator({ testMode: true });
    local.injectFault({ path: '/v1/profiles/support', delayMs: 100 });
    const pending = fetch(`${local.url}/v1/profiles/support`).then(
      (r) => r.status,
      () => 'failed',
    );
    await new Promise((resolve) => setImmediate(resolve));
    await local.close();
    expect(['failed', 401]).toContain(await pending);
  });
});
