/**
 * Keeps `npm run bench` runnable: the built bench (`dist/bench/run.js`, which `npm test` builds first)
 * runs every scenario in `--smoke` mode (about a second each, a few connections, 127.0.0.1 only) and
 * must print the table and write its JSON. No performance figure is asserted here, only that the
 * bench works and counts what it claims to count.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = join(root, 'dist/bench/run.js');

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // NODE_OPTIONS is jest's (--experimental-vm-modules): not for the bench and its children.
    const child = spawn(process.execPath, [run, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench smoke (npm run bench -- --smoke)', () => {
  it('is built', () => {
    expect(existsSync(run)).toBe(true);
  });

  it('runs every scenario briefly, prints the Markdown table and writes latest.json and latest.svg', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    try {
      const { code, stdout, stderr } = await runBench(['--smoke', '--out-dir', out]);
      if (code !== 0) throw new Error(`bench exited ${code}\n${stderr.slice(-4000)}`);

      expect(stdout).toMatch(/^\| scenario \| req\/s at saturation \|/m);
      for (const row of ['floor: GET /v1/profiles/support', 'gateway: supportProfile |', 'baseline: supportProfile |', 'gateway: 25 aliased', 'baseline: 25 aliased', 'gateway: updateCustomerUser', 'baseline: updateCustomerUser']) {
        expect(stdout).toContain(`| ${row}`);
      }
      expect(stdout).toMatch(/^\| goal \| target \| measured \| met \|/m);

      const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
      // Of the Redis group, --smoke runs lock-redis (the lock and the rate-limit script), when redis-server is
      // installed (bench/lib/redis.ts); without it the bench says so and runs the rest.
      const redisScenarios = existsSync('/usr/bin/redis-server') ? ['lock-redis'] : [];
      expect(Object.keys(report.scenarios).sort()).toEqual(
        [
          'aliases-baseline',
          'aliases-gateway',
          'aliases-narrow',
          'aliases-wide',
          'baseline',
          'floor',
          'gateway',
          'gateway-tracing-100',
          'gateway-warn',
          'mutation',
          'mutation-baseline',
          'realistic',
          'realistic-baseline',
          'realistic-cache',
          'coalesce',
          ...redisScenarios,
        ].sort(),
      );
      // Pinned with taskset where it exists, and said either way.
      expect(report.pinning).toMatch(/pinned to CPU 1 \(taskset -c 1\)|NOT pinned \(/);
      expect(stderr).toContain(report.pinning);
      expect(report.hardware).toEqual(expect.objectContaining({ cores: expect.any(Number), node: process.version }));
      for (const scenario of Object.values<any>(report.scenarios)) {
        expect(scenario.saturation.reqPerSec).toBeGreaterThan(0);
        expect(scenario.fixedRate.p50Ms).toBeGreaterThan(0);
        expect(scenario.saturation.errors + scenario.fixedRate.errors).toBe(0);
        // From v8.GCProfiler inside the server under test: every request allocates something.
        expect(scenario.gc.fixedRate.allocatedKbPerOp).toBeGreaterThan(0);
        expect(scenario.gc.fixedRate.scavengePauseMs).toEqual(expect.any(Number));
        expect(scenario.rss.peakUnderLoadMb).toBeGreaterThan(0);
        expect(scenario.cpu.serverUsPerOp).toBeGreaterThan(0);
      }
      // What the bench counts from the emulator's log: $batch for the gateway, one GET per alias for the baseline,
      // and the on-behalf-of exchange once per token, never per request.
      expect(report.scenarios['aliases-gateway'].upstream.callsPerOp).toBeLessThanOrEqual(2);
      expect(report.scenarios['aliases-baseline'].upstream.callsPerOp).toBe(25);
      // $select: the narrow selection's answers are smaller than the wide one's, in the same two $batch calls.
      const [narrow, wide] = [report.scenarios['aliases-narrow'].upstream, report.scenarios['aliases-wide'].upstream];
      expect(narrow.callsPerOp).toBeLessThanOrEqual(2);
      expect(narrow.bytesPerOp).toBeGreaterThan(0);
      expect(narrow.bytesPerOp).toBeLessThan(wide.bytesPerOp);
      expect(stdout).toMatch(/^\| selection \| upstream bytes\/op \|/m);
      expect(report.scenarios.gateway.upstream.callsPerOp).toBe(1);
      expect(report.scenarios.gateway.upstream.identityRequestsDuringLoad).toBe(0);
      expect(report.ratios.gatewayOverheadP50Ms).toEqual(expect.any(Number));
      expect(report.ratios.gatewayVsBaselineThroughput).toEqual(expect.any(Number));
      expect(report.ratios.gatewayPeakRssMb).toBeGreaterThan(0);
      expect(report.scenarios['mutation-baseline'].upstream.callsPerOp).toBe(1);
      expect(report.ratios.gatewayMinusBaselineP99Ms).toEqual(expect.any(Number));
      expect(report.ratios.gatewayVsBaselinePeakRss).toEqual(expect.any(Number));
      expect(report.ratios.mutationGatewayVsBaselineThroughput).toEqual(expect.any(Number));
      // Tracing at 100 % (of the observability group, --smoke runs this one): the spans really reached the
      // bench's OTLP sink, four per supportProfile request (server, operation, root field, upstream try).
      const traced = report.scenarios['gateway-tracing-100'];
      expect(traced.observability).toMatchObject({ metrics: false, tracing: { sampler: 'parentbased_traceidratio', ratio: 1 } });
      expect(traced.observability.sink.rejected).toBe(0);
      expect(traced.observability.sink.fixedRate.spans).toBeGreaterThan(0);
      expect(traced.observability.sink.fixedRate.spansPerOp).toBeCloseTo(4, 0);
      expect(traced.observability.sink.saturation.spans).toBeGreaterThan(0);
      expect(report.ratios.observability).toEqual([expect.objectContaining({ id: 'gateway-tracing-100', throughput: expect.any(Number) })]);
      expect(stdout).toMatch(/^\| gateway: supportProfile, tracing 100 % \|/m);
      // Realistic traffic: every request a caller of its own in turn (each of the first operations costs the
      // gateway one token exchange), and the bytes live per request in flight measured on both servers.
      for (const id of ['realistic', 'realistic-baseline']) {
        const real = report.scenarios[id];
        expect(real.traffic).toEqual({ callers: 300, latencyMs: 50, connections: 8, rate: 50 });
        expect(real.upstream.callsPerOp).toBe(1);
        expect(real.liveInFlight).toMatchObject({ requests: 20, parked: expect.any(Number), kbPerRequest: expect.any(Number) });
        expect(real.liveInFlight.parked).toBeGreaterThan(0);
        expect(real.liveInFlight.parkedHeapMb).toBeGreaterThan(0);
      }
      expect(report.scenarios.realistic.upstream.identityRequestsFirstOps).toBeGreaterThanOrEqual(report.settings.countOps);
      expect(report.ratios.realistic).toEqual(expect.objectContaining({ throughput: expect.any(Number), liveKbPerRequest: { gateway: expect.any(Number), baseline: expect.any(Number) } }));
      expect(stdout).toMatch(/^\| gateway ÷ stock BFF \|/m);
      // The response cache and coalescing: upstream calls per operation at the fixed rate, and the hit ratio with the cache on.
      expect(report.scenarios.realistic.reads).toMatchObject({ cacheTtlMs: 0, coalesce: true, callers: 300, upstreamCallsPerOpAtFixedRate: expect.any(Number) });
      expect(report.scenarios['realistic-cache'].reads).toMatchObject({ cacheTtlMs: 30000, hitRatio: { fixedRate: expect.any(Number), saturation: expect.any(Number) } });
      expect(report.scenarios['realistic-cache'].reads.upstreamCallsPerOpAtFixedRate).toBeLessThanOrEqual(1);
      // One caller's reads 20 ms apart on a 50 ms upstream: most join a call already in flight.
      expect(report.scenarios.coalesce.reads).toMatchObject({ coalesce: true, callers: 1 });
      expect(report.scenarios.coalesce.reads.upstreamCallsPerOpAtFixedRate).toBeLessThan(1);
      expect(stdout).toMatch(/^\| realistic-cache \| 300 \| 30 s \| on \|/m);
      // The read-merge-PUT under the Redis lock: a GET and a PUT per write.
      if (redisScenarios.length) expect(report.scenarios['lock-redis'].upstream.callsPerOp).toBe(2);
      // The chart, drawn from the JSON: the gateway beside the stock BFF for every scenario pair.
      const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      for (const label of ['supportProfile', 'updateCustomerUser', '25 aliased externalUserProfile', 'realistic: 300 callers, 50 ms', 'REST floor', 'stock Apollo BFF']) expect(svg).toContain(label);
      expect(svg.match(/<rect [^>]*fill="#2563eb"><title>gateway:/g)).toHaveLength(12); // 4 scenarios × 3 panels
      expect(svg.match(/<rect [^>]*fill="#ea580c"><title>stock Apollo BFF:/g)).toHaveLength(12);
      // A smoke run never leaves a dated results file.
      expect(existsSync(join(out, `${report.date}.json`))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
