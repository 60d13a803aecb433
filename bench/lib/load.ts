/**
 * Load generation.
 *
 * - Saturation: autocannon, closed loop, `connections` keep-alive connections each sending the next
 *   request as soon as the previous answer arrives. Gives throughput (req/s).
 * - Fixed rate: an open-loop, evenly paced generator (one request every 1000/rate ms, whatever the
 *   answers do), latencies measured per request with `process.hrtime` (microsecond resolution).
 *
 *   Why not autocannon's `overallRate` for latency: autocannon splits the rate over its connections,
 *   and each connection resets its budget once a second and spends it back to back, so 200 req/s over
 *   50 connections is a 50-wide burst at the top of every second followed by idleness (bursts that
 *   do saturate the server); its rate mode also applies coordinated-omission correction with an
 *   expected interval of ceil(1/rate) = 1 ms, which adds synthetic samples to every answer slower than
 *   1 ms; and its latency histogram has whole-millisecond resolution, too coarse for a 1 ms overhead
 *   goal. `--rate-engine autocannon` still runs it that way, for comparison.
 */
import http from 'node:http';
import autocannon, { type Result as AutocannonResult } from 'autocannon';

export interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The exact body every answer must have (checked; a different body counts as an error). */
  expectBody?: string;
  /**
   * `Authorization` values taken in turn, one per request (many callers, each with a token of their own),
   * instead of `headers.authorization`: successive requests, whichever connection sends them, are
   * successive callers, so with fewer requests in flight than callers no caller has two at once.
   */
  authorizations?: readonly string[];
}

/** The headers of a target's `i`-th request (its turn in `authorizations`). */
export function headersOf(target: Target, i: number): Record<string, string> {
  const auths = target.authorizations;
  return auths?.length ? { ...target.headers, authorization: auths[i % auths.length]! } : target.headers;
}

export interface SaturationResult {
  reqPerSec: number;
  total: number;
  durationSec: number;
  /** Whole-millisecond resolution (autocannon). */
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
  detail: { non2xx: number; errors: number; timeouts: number; mismatches: number; statusCodes: Record<string, number> };
}

export interface RateResult {
  engine: 'paced' | 'autocannon';
  targetRate: number;
  achievedRate: number;
  total: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  errors: number;
  /** Paced only: sends that left more than 2 ms after their slot (the load generator itself fell behind). */
  lateSends?: number;
}

/** What every autocannon run of a target shares. */
function autocannonOptions(target: Target, options: { connections: number; durationSec: number }) {
  let turn = 0;
  return {
    url: target.url,
    // One request whose headers are rebuilt each time it is sent (autocannon calls setupRequest per request).
    ...(target.authorizations?.length
      ? { requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, headers: headersOf(target, turn++) }) }] }
      : {}),
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections: options.connections,
    duration: options.durationSec,
    timeout: 30,
    // autocannon refuses expectBody beside `requests`; verifyBody checks the same.
    ...(target.expectBody !== undefined
      ? target.authorizations?.length
        ? { verifyBody: (body: string) => body === target.expectBody }
        : { expectBody: target.expectBody }
      : {}),
  };
}

export async function runSaturation(target: Target, options: { connections: number; durationSec: number }): Promise<SaturationResult> {
  const result: AutocannonResult = await autocannon(autocannonOptions(target, options));
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count]));
  const ok = result['2xx'] - result.mismatches;
  return {
    reqPerSec: round(ok / result.duration, 1),
    total: result['2xx'] + result.non2xx,
    durationSec: round(result.duration, 2),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts + result.mismatches,
    detail: { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, mismatches: result.mismatches, statusCodes },
  };
}

/** autocannon's own rate mode (see the module comment for why it is not the default). */
export async function runAutocannonRate(
  target: Target,
  options: { rate: number; connections: number; durationSec: number },
): Promise<RateResult> {
  const result: AutocannonResult = await autocannon({ ...autocannonOptions(target, options), overallRate: options.rate });
  return {
    engine: 'autocannon',
    targetRate: options.rate,
    achievedRate: round(result['2xx'] / result.duration, 1),
    total: result['2xx'] + result.non2xx,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    meanMs: round(result.latency.mean, 3),
    errors: result.non2xx + result.errors + result.timeouts + result.mismatches,
  };
}

/**
 * Open loop at a fixed rate: request i leaves at start + i × 1000/rate ms (or as soon after as the
 * event loop allows), on a keep-alive agent of at most `connections` sockets.
 */
export async function runPaced(target: Target, options: { rate: number; connections: number; durationSec: number }): Promise<RateResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections, scheduling: 'lifo' });
  const url = new URL(target.url);
  const body = target.body !== undefined ? Buffer.from(target.body) : undefined;
  const lengthHeader = body ? { 'content-length': String(body.length) } : {};
  const headers = { ...target.headers, ...lengthHeader };
  const intervalNs = 1e9 / options.rate;
  const count = Math.max(1, Math.round(options.rate * options.durationSec));
  const latenciesUs = new Float64Array(count);
  let done = 0;
  let errors = 0;
  let lateSends = 0;
  let sent = 0;

  const start = process.hrtime.bigint();
  const finished = new Promise<void>((resolve) => {
    const one = (i: number, t0 = process.hrtime.bigint(), retried = false): void => {
      if (!retried && Number(t0 - start) - i * intervalNs > 2e6) lateSends++;
      const finish = (ok: boolean): void => {
        latenciesUs[i] = Number(process.hrtime.bigint() - t0) / 1e3;
        if (!ok) errors++;
        if (++done === count) resolve();
      };
      // A kept-alive socket the server closed while idle (the stock BFF's Node default is 5 s, and a LIFO
      // pool leaves its oldest sockets idle that long) fails the next request on it: resend once on a fresh
      // socket, as HTTP clients do, timed from the first attempt.
      const failed = (error: NodeJS.ErrnoException): void => {
        if (!retried && req.reusedSocket && error.code === 'ECONNRESET') one(i, t0, true);
        else finish(false);
      };
      const req = http.request(
        {
          agent,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: target.method,
          headers: target.authorizations ? { ...headersOf(target, i), ...lengthHeader } : headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const ok =
              status >= 200 && status < 300 && (target.expectBody === undefined || Buffer.concat(chunks).toString('utf8') === target.expectBody);
            finish(ok);
          });
          res.on('error', () => finish(false));
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', failed);
      req.end(body);
    };
    const tick = (): void => {
      const elapsedNs = Number(process.hrtime.bigint() - start);
      const due = Math.min(count, Math.floor(elapsedNs / intervalNs) + 1);
      while (sent < due) one(sent++);
      if (sent < count) {
        const nextNs = sent * intervalNs - Number(process.hrtime.bigint() - start);
        setTimeout(tick, Math.max(0, Math.floor(nextNs / 1e6)));
      }
    };
    tick();
  });
  await finished;
  const elapsedSec = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();

  const sorted = Array.from(latenciesUs).sort((a, b) => a - b);
  const pct = (p: number): number => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! / 1e3, 3);
  return {
    engine: 'paced',
    targetRate: options.rate,
    achievedRate: round(count / elapsedSec, 1),
    total: count,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    maxMs: round(sorted[sorted.length - 1]! / 1e3, 3),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length / 1e3, 3),
    errors,
    lateSends,
  };
}

/** Sends one request (the target's `i`-th) and returns status and body (for the counting phase and sanity checks). */
export async function sendOnce(target: Target, i = 0): Promise<{ status: number; body: string }> {
  const res = await fetch(target.url, { method: target.method, headers: headersOf(target, i), body: target.body });
  return { status: res.status, body: await res.text() };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
