import type { UpstreamEndpoint } from '../src/config.js';
import { createUpstreamTransport } from '../src/upstream/transport.js';
import type { UpstreamTransport } from '../src/upstream/transport.js';
import { createReadinessProbe } from '../src/upstream/readiness.js';
import { startTestUpstream } from './helpers/upstream-server.js';
import type { TestUpstream } from './helpers/upstream-server.js';

let upstream: TestUpstream;
let transport: UpstreamTransport;
beforeEach(async () => {
  upstream = await startTestUpstream(() => ({ status: 404 }));
  transport = createUpstreamTransport();
});
afterEach(async () => {
  transport.close();
  await upstream.close();
});

/** Both upstreams at the test upstream, as the global cloud has them; `over` changes one of them. */
const upstreams = (over: { partnerCenter?: Partial<UpstreamEndpoint>; graph?: Partial<UpstreamEndpoint> } = {}) => {
  const at = { url: upstream.url, urlSet: true, tokenResource: upstream.url, available: true };
  return { 'partner-center': { ...at, ...over.partnerCenter }, graph: { ...at, ...over.graph } };
};

describe('readiness probe', () => {
  it('is ready when every upstream answers anything, and caches the answer (≤ 10 s)', async () => {
    let t = 0;
    const probe = createReadinessProbe({ transport, upstreams: upstreams(), now: () => t, cacheMs: 60_000 });
    const [a, b] = await Promise.all([probe.check(), probe.check()]); // one probe for both
    expect(a).toBe(b);
    expect(a.ready).toBe(true);
    // Said as what it is: the root's answer to an unauthenticated GET, which proves the upstream reachable.
    const healthy = { reachable: true, probe: 'GET / answered 404 Not Found (any answer means reachable)', circuit: 'closed' };
    expect(a.upstreams).toEqual({ 'partner-center': healthy, graph: healthy });
    expect(upstream.requests).toHaveLength(2);
    t = 9_999;
    await probe.check();
    expect(upstream.requests).toHaveLength(2);
    t = 10_000; // cacheMs is capped at 10 s
    await probe.check();
    expect(upstream.requests).toHaveLength(4);
  });

  it('is unready when an upstream does not answer; Graph is not probed outside the global cloud', async () => {
    const probe = createReadinessProbe({ transport, upstreams: upstreams({ partnerCenter: { url: 'http://127.0.0.1:1' }, graph: { available: false } }) });
    const report = await probe.check();
    expect(report.ready).toBe(false);
    expect(report.upstreams['partner-center']).toEqual({ reachable: false, probe: 'GET / got no answer: ECONNREFUSED', error: 'ECONNREFUSED', circuit: 'closed' });
    expect(report.upstreams.graph).toBeUndefined();
    expect(upstream.requests).toHaveLength(0);
  });
});
