/**
 * Circuit breakers are scoped per (service, partner tenant): one tenant's failing route must not cut off
 * another tenant (issue 16, item 2). Bounded in memory, idle scopes dropped, counted per state without
 * tenants. Timing through an injected clock, never wall-clock waits.
 */
import { randomUUID } from 'node:crypto';
import { CircuitBreakers } from '../src/upstream/circuit-breaker.js';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import type { UpstreamCaller, UpstreamTransport } from '../src/upstream/transport.js';
import { PARTNER_CENTER } from '../src/upstream/partner-center.js';
import { GRAPH } from '../src/upstream/graph.js';
import { seedData } from '../src/emulator/index.js';
import { startTestUpstream } from './helpers/upstream-server.js';
import type { TestUpstream } from './helpers/upstream-server.js';
import { rejectionOf } from './helpers/rejection.js';
import { startStack } from './helpers/stack.js';

const TENANT_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const TENANT_B = '0b0b0b0b-0000-4000-8000-00000000000b';
const callerOf = (tenantId: string): UpstreamCaller => ({ correlationId: randomUUID(), tenantId, getToken: async () => 't' });

describe('CircuitBreakers (scoped registry)', () => {
  it('keeps one breaker per scope, counts them per state, and drops idle scopes', () => {
    let t = 0;
    const breakers = new CircuitBreakers({ idleMs: 60_000 }, () => t);
    const a = breakers.get('partner-center', TENANT_A);
    expect(breakers.get('partner-center', TENANT_A)).toBe(a);
    for (let i = 0; i < 5; i++) a.failure();
    breakers.get('partner-center', TENANT_B);
    breakers.get('graph', TENANT_A);
    expect(breakers.counts('partner-center')).toEqual({ closed: 1, half_open: 0, open: 1 });
    expect(breakers.counts('graph')).toEqual({ closed: 1, half_open: 0, open: 0 });
    t = 5000;
    expect(breakers.counts('partner-center')).toEqual({ closed: 1, half_open: 1, open: 0 });
    t = 30_000;
    breakers.get('graph', TENANT_A); // used again: stays
    t = 65_000;
    expect(breakers.counts('partner-center')).toEqual({ closed: 0, half_open: 0, open: 0 });
    expect(breakers.counts('graph')).toEqual({ closed: 1, half_open: 0, open: 0 });
    expect(breakers.size).toBe(1);
  });

  it('holds at most maxScopes breakers, dropping the least recently used', () => {
    const breakers = new CircuitBreakers({ maxScopes: 3 }, () => 0);
    for (let i = 0; i < 10; i++) breakers.get('graph', `tenant-${i}`);
    expect(breakers.size).toBe(3);
    const kept = breakers.get('graph', 'tenant-9');
    breakers.get('graph', 'tenant-new');
    expect(breakers.get('graph', 'tenant-9')).toBe(kept);
  });
});

describe('transport circuit per (service, partner tenant)', () => {
  let upstream: TestUpstream;
  let transport: UpstreamTransport;
  beforeEach(async () => {
    upstream = await startTestUpstream((req) => (req.url.startsWith('/broken') ? { status: 500 } : { status: 200, body: {} }));
    transport = createUpstreamTransport({ timeoutMs: 1000, deadlineMs: 3000, retryBaseMs: 1, retryMaxDelayMs: 5 });
  });
  afterEach(async () => {
    transport.close();
    await upstream.close();
  });

  it("one tenant's failing route does not open the circuit for another tenant", async () => {
    const a = callerOf(TENANT_A);
    for (let i = 0; i < 6; i++) {
      await rejectionOf(transport.request({ upstream: PARTNER_CENTER, caller: a, method: 'GET', url: `${upstream.url}/broken` }));
    }
    expect(upstream.requests).toHaveLength(5); // the sixth failed fast: A's circuit is open
    expect(transport.circuitCounts('partner-center')).toEqual({ closed: 0, half_open: 0, open: 1 });

    const b = callerOf(TENANT_B);
    for (let i = 0; i < 20; i++) {
      await transport.request({ upstream: PARTNER_CENTER, caller: b, method: 'GET', url: `${upstream.url}/v1/profiles/support` });
    }
    expect(upstream.requests).toHaveLength(25);
    expect(transport.circuitCounts('partner-center')).toEqual({ closed: 1, half_open: 0, open: 1 });
    // The same tenant on the other service is unaffected too.
    await transport.request({ upstream: GRAPH, caller: a, method: 'GET', url: `${upstream.url}/beta/x` });
    expect(transport.circuitCounts('graph')).toEqual({ closed: 1, half_open: 0, open: 0 });
  });
});

describe('gateway circuit isolation', () => {
  it("a caller hammering a customer whose route answers 500 does not make another tenant's supportProfile fail", async () => {
    const stack = await startStack();
    try {
      const customer = seedData.customers[0]!;
      stack.emulator.injectFault({ path: '/v1/customers/*/users/*', status: 500, times: Infinity });
      const get = 'query($c: ID!, $u: ID!) { customerUser(customerId: $c, userId: $u) { id } }';
      for (let i = 0; i < 8; i++) {
        const { body } = await stack.graphql(get, { c: customer.id, u: customer.userIds[0] });
        expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      }
      const other = await stack.mint({ scp: 'SupportProfile.Read', tenantId: TENANT_B });
      for (let i = 0; i < 20; i++) {
        const { body } = await stack.graphql('{ supportProfile { id } }', undefined, { token: other });
        expect(body.errors).toBeUndefined();
        expect(body.data?.supportProfile.id).toBe(TENANT_B);
      }
    } finally {
      await stack.close();
    }
  });
});
