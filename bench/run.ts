/**
 * `npm run bench`: what the gateway adds to a request, measured against the floor (the REST call sent
 * straight to the emulator) and against a stock Apollo Server + RESTDataSource BFF (bench/baseline),
 * in one run on one machine. See README.md, "Benchmark".
 *
 * Processes (all on 127.0.0.1): this one (load generator, reads the others' memory), the emulator in
 * test mode with a fixed latency, the built gateway in production mode, the baseline. Each is its own
 * process, so the gateway's RSS is the gateway's alone.
 *
 * Every scenario: a counting phase (a few sequential operations; upstream requests per operation and
 * identity requests read from the emulator's request log, answers checked), a warm-up at low
 * concurrency, then
 *   - fixed rate: an open-loop paced generator at `--rate` req/s for `--duration` s → p50/p99
 *     (see lib/load.ts for why not autocannon's overallRate);
 *   - saturation: autocannon, `--connections` keep-alive connections, `--duration` s → req/s, and the
 *     server's CPU time per operation;
 * with the server's RSS sampled throughout (fixed rate first, so its RSS is that of a moderately loaded
 * process, not of one that has just been saturated). The observability scenarios (`--only observability`)
 * run `gateway`'s supportProfile on gateways with metrics on, or tracing at 100 % / 10 % to an OTLP sink
 * this process runs (lib/otlp-sink.ts), and count what the sink and the metrics listener received. The
 * realistic scenarios (`--only realistic`) play real traffic on the gateway and the stock BFF: many callers
 * with tokens of their own taken in turn, a slow upstream (the emulator's latency raised for them), many
 * connections, and the bytes each request in flight keeps alive (measureLiveInFlight); `--soak-realistic`
 * runs that traffic for minutes at a share of saturation. The cache scenarios (`--only cache`) run that
 * traffic again with the response cache on (30 s TTL; hit ratio from the gateway's metrics) and one caller's
 * identical reads with coalescing on and off, counting upstream calls per operation at the fixed rate. Output: a Markdown table on stdout (progress on stderr),
 * `bench/results/latest.json`, and on a full run a dated copy with the hardware line.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedData } from '../src/emulator/seed-data.js';
import { renderChart } from './lib/chart.js';
import { pinning, startChild, type Child, type MemoryReport } from './lib/children.js';
import { runAutocannonRate, runPaced, runSaturation, sendOnce, round, type RateResult, type SaturationResult, type Target } from './lib/load.js';
import type { GcReport, LiveHeapReport } from './lib/probe.js';
import { profileMarkdown, summarizeProfile, type ProfileSummary } from './lib/profile.js';
import { RssSampler, mb, readCpuSeconds, readMemory } from './lib/rss.js';
import { REDIS_SERVER, startBenchRedis, type BenchRedis } from './lib/redis.js';
import { startOtlpSink, type OtlpSink, type SinkCounts } from './lib/otlp-sink.js';
import { createServer } from 'node:net';

// --- options ------------------------------------------------------------------------------------

const SCENARIOS = [
  'floor',
  'gateway',
  'gateway-warn',
  'baseline',
  'aliases-gateway',
  'aliases-baseline',
  'aliases-narrow',
  'aliases-wide',
  'mutation',
  'mutation-baseline',
  'ratelimit-memory',
  'ratelimit-redis',
  'lock-memory',
  'lock-redis',
  'gateway-metrics',
  'gateway-tracing-100',
  'gateway-tracing-10',
  'realistic',
  'realistic-baseline',
  'realistic-cache',
  'coalesce',
  'coalesce-off',
] as const;
type ScenarioId = (typeof SCENARIOS)[number];
const GROUPS: Record<string, ScenarioId[]> = {
  aliases: ['aliases-gateway', 'aliases-baseline'],
  /** What `$select` saves: the 25 aliased reads selecting one field beside every field. */
  select: ['aliases-narrow', 'aliases-wide'],
  logging: ['gateway', 'gateway-warn'],
  mutations: ['mutation', 'mutation-baseline'],
  support: ['gateway', 'baseline'],
  /** What Redis round trips cost (REDIS_URL), beside the same work in process. */
  redis: ['ratelimit-memory', 'ratelimit-redis', 'lock-memory', 'lock-redis'],
  /** What metrics and tracing cost, beside the same gateway with both off (`gateway`). */
  observability: ['gateway', 'gateway-metrics', 'gateway-tracing-100', 'gateway-tracing-10'],
  /** Many callers with tokens of their own, a slow upstream, many connections (settings.realistic). */
  realistic: ['realistic', 'realistic-baseline'],
  /**
   * What the response cache and coalescing save: the realistic traffic with the cache off (`realistic`) and
   * on at a 30 s TTL; many concurrent identical reads of one caller with coalescing on (the default) and off.
   */
  cache: ['realistic', 'realistic-cache', 'coalesce', 'coalesce-off'],
};

interface Options {
  durationSec: number;
  warmupSec: number;
  connections: number;
  rate: number;
  /** Fixed rate of the 25-alias scenarios (each operation is 25 reads: 200/s would be past saturation). */
  aliasRate: number;
  latencyMs: number;
  soakMin: number;
  smoke: boolean;
  only?: Set<string>;
  outDir: string;
  rateEngine: 'paced' | 'autocannon';
  profile: boolean;
  countOps: number;
  /** Extra node flags for the gateway children (e.g. heap sizing experiments). */
  gatewayNodeOptions: string[];
  /** Extra environment of every gateway child (`--gateway-env NAME=value`, e.g. UPSTREAM_COALESCE=false). */
  gatewayEnv: Record<string, string>;
  /** CPU the gateway and the baseline are pinned to (each in turn, the same one), or undefined for none. */
  cpu?: number;
  /** Base name of the results files (`<name>.json`, `<name>.svg`) besides latest.*. */
  name?: string;
  /** The realistic scenarios' traffic. */
  realistic: RealisticSettings;
  /** Minutes of the realistic soak (the gateway at `soakLoad` × its realistic saturation); 0 = none. */
  soakRealisticMin: number;
  /** Share of the realistic saturation the realistic soak sends, at a fixed rate. */
  soakLoad: number;
}

/** Real traffic, as far as one machine can play it. */
interface RealisticSettings {
  /** Distinct callers, each with a signed token of its own; successive requests are successive callers. */
  callers: number;
  /** The emulator's upstream latency during these scenarios, ms. */
  latencyMs: number;
  /** Connections at saturation (and the fixed-rate generator's socket cap). */
  connections: number;
  /** Fixed rate of the latency phase, req/s. */
  rate: number;
  /** Requests parked on the upstream at once to measure the bytes each keeps alive. */
  liveRequests: number;
  /** How long the upstream holds them, ms (below the gateway's UPSTREAM_TIMEOUT_MS). */
  holdMs: number;
}

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench

/**
 * The node flags the gateway runs with in production: those of `npm start` (package.json), which the
 * Dockerfile's CMD repeats (test/deploy.test.ts holds them equal). The gateway is measured as it ships;
 * the stock baseline runs with Node's defaults, as a hand-built BFF would.
 */
const PRODUCTION_NODE_FLAGS: readonly string[] = (() => {
  const pkg = JSON.parse(readFileSync(resolve(HERE, '../../package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('dist/src/main.js')).filter((w) => w.startsWith('--'));
})();
const DEFAULT_OUT = resolve(HERE, '../../bench/results');

const USAGE = `Usage: npm run bench -- [options]

  --duration <s>       seconds per measured phase (default 15)
  --warmup <s>         warm-up seconds before each scenario (default 3)
  --connections <n>    autocannon connections at saturation; socket cap of the paced run (default 50)
  --rate <n>           fixed rate in req/s for the latency phase (default 200)
  --alias-rate <n>     fixed rate of the 25-alias scenarios, operations/s (default 20)
  --latency <ms>       upstream latency of the emulator (default 5)
  --soak <min>         afterwards, N minutes of the gateway supportProfile scenario at saturation,
                       sampling the gateway's RSS every 10 s (add --only soak for the soak alone)
  --soak-realistic <min>
                       afterwards, N minutes of the realistic scenario on the gateway at a fixed rate of
                       --soak-load × its saturation (measured first), RSS every 10 s, errors, p50/p99
                       (add --only soak-realistic for this soak alone)
  --soak-load <f>      share of saturation the realistic soak sends (default 0.7)
  --callers <n>        realistic scenarios: distinct callers, a token each, rotating per request (default 300)
  --realistic-latency <ms>
                       realistic scenarios: upstream latency (default 50)
  --realistic-connections <n>
                       realistic scenarios: connections at saturation (default 256)
  --realistic-rate <n> realistic scenarios: fixed rate, req/s (default 400)
  --live-requests <n>  realistic scenarios: requests parked on the upstream for bytes live per request (default 200)
  --only <list>        scenarios, comma separated: ${SCENARIOS.join(', ')};
                       groups: ${Object.keys(GROUPS).join(', ')}; soak
  --rate-engine <e>    paced (default) or autocannon (its overallRate mode, for comparison)
  --profile            run the gateway and stock BFF children under node --cpu-prof and print their hot spots
  --gateway-node-options "<flags>"
                       extra node flags for the gateway process, e.g. "--max-old-space-size=64"
  --gateway-env NAME=value
                       extra environment for every gateway process (repeatable), e.g. UPSTREAM_COALESCE=false
                       to measure the gateway without coalescing; recorded in the results' settings
  --cpu <n|none>       pin the gateway and the baseline (in turn) to this CPU with taskset (default 1;
                       none: unpinned). Said in the output when taskset is missing.
  --name <name>        also write <name>.json and <name>.svg (e.g. before-2026-12-01)
  --smoke              tiny durations (CI smoke test)
  --out-dir <dir>      where latest.json/latest.svg go (default bench/results)
`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rate: { type: 'string' },
      'alias-rate': { type: 'string' },
      latency: { type: 'string' },
      soak: { type: 'string' },
      'soak-realistic': { type: 'string' },
      'soak-load': { type: 'string' },
      callers: { type: 'string' },
      'realistic-latency': { type: 'string' },
      'realistic-connections': { type: 'string' },
      'realistic-rate': { type: 'string' },
      'live-requests': { type: 'string' },
      only: { type: 'string', multiple: true },
      'rate-engine': { type: 'string' },
      profile: { type: 'boolean' },
      smoke: { type: 'boolean' },
      'out-dir': { type: 'string' },
      'gateway-node-options': { type: 'string' },
      'gateway-env': { type: 'string', multiple: true },
      cpu: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const num = (name: string, value: string | undefined, fallback: number, min = 0): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const smoke = values.smoke ?? false;
  const only = values.only?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const known = new Set<string>([...SCENARIOS, ...Object.keys(GROUPS), 'soak', 'soak-realistic']);
  for (const o of only ?? []) if (!known.has(o)) throw new Error(`--only: unknown scenario '${o}' (known: ${[...known].join(', ')})`);
  const engine = values['rate-engine'] ?? 'paced';
  if (engine !== 'paced' && engine !== 'autocannon') throw new Error('--rate-engine must be paced or autocannon');
  return {
    durationSec: num('duration', values.duration, smoke ? 0.5 : 15, 0.2),
    warmupSec: num('warmup', values.warmup, smoke ? 0.2 : 3, 0),
    connections: Math.round(num('connections', values.connections, smoke ? 4 : 50, 1)),
    rate: num('rate', values.rate, smoke ? 50 : 200, 1),
    aliasRate: num('alias-rate', values['alias-rate'], smoke ? 10 : 20, 1),
    latencyMs: num('latency', values.latency, 5, 0),
    soakMin: num('soak', values.soak, 0, 0),
    smoke,
    only: only?.length ? new Set(only.flatMap((o) => GROUPS[o] ?? [o])) : undefined,
    outDir: resolve(values['out-dir'] ?? DEFAULT_OUT),
    rateEngine: engine,
    profile: values.profile ?? false,
    countOps: smoke ? 3 : 10,
    gatewayNodeOptions: (values['gateway-node-options'] ?? '').split(/\s+/).filter(Boolean),
    gatewayEnv: Object.fromEntries(
      (values['gateway-env'] ?? []).map((pair) => {
        const at = pair.indexOf('=');
        if (at < 1) throw new Error(`--gateway-env takes NAME=value, not '${pair}'`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
    ),
    cpu: values.cpu === 'none' ? undefined : Math.round(num('cpu', values.cpu, 1, 0)),
    name: values.name,
    realistic: {
      callers: Math.round(num('callers', values.callers, 300, 1)),
      latencyMs: num('realistic-latency', values['realistic-latency'], 50, 0),
      connections: Math.round(num('realistic-connections', values['realistic-connections'], smoke ? 8 : 256, 1)),
      rate: num('realistic-rate', values['realistic-rate'], smoke ? 50 : 400, 1),
      liveRequests: Math.round(num('live-requests', values['live-requests'], smoke ? 20 : 200, 1)),
      // Under --smoke still long enough that a slow full GC (a loaded machine) ends before the first answer.
      holdMs: smoke ? 4000 : 8000,
    },
    soakRealisticMin: num('soak-realistic', values['soak-realistic'], 0, 0),
    soakLoad: num('soak-load', values['soak-load'], 0.7, 0.01),
  };
}

const progress = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// --- the emulator's controls --------------------------------------------------------------------

interface RecordedRequest {
  service: string;
  method: string;
  path: string;
  batchOf?: string;
  /** When it arrived (ms since the epoch; the emulator records a request once answered). */
  at?: number;
  /** Bytes of the answer's body as sent (top-level requests). */
  responseBytes?: number;
}

class EmulatorControl {
  constructor(readonly url: string) {}

  async mint(options: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${this.url}/_emulator/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(options),
    });
    if (!res.ok) throw new Error(`minting a token failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  }

  async setLatency(ms: number): Promise<void> {
    const res = await fetch(`${this.url}/_emulator/latency`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms }) });
    if (!res.ok) throw new Error(`setting the emulator's latency failed: ${res.status}`);
  }

  async clear(): Promise<void> {
    const res = await fetch(`${this.url}/_emulator/requests`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`clearing the request log failed: ${res.status}`);
  }

  async requests(service?: string): Promise<RecordedRequest[]> {
    const res = await fetch(`${this.url}/_emulator/requests${service ? `?service=${service}` : ''}`);
    if (!res.ok) throw new Error(`reading the request log failed: ${res.status}`);
    return (await res.json()) as RecordedRequest[];
  }
}

// --- scenarios ----------------------------------------------------------------------------------

const PARTNER_CENTER_AUDIENCE = 'https://api.partnercenter.microsoft.com';
const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

const SUPPORT_QUERY = 'query Support { supportProfile { id email telephone website } }';

/** The bench callers' delegated permissions on the gateway. */
const GATEWAY_SCOPES = 'SupportProfile.ReadWrite CustomerUser.ReadWrite.All ExternalUserProfile.ReadWrite.All';

/** TTL of the response-cache scenario (`realistic-cache`). */
const CACHE_TTL_MS = 30_000;

/** Warm-up connections of the realistic scenarios: enough that every caller's first request (its token exchange) is in the warm-up. */
const REALISTIC_WARM_CONNECTIONS = 32;

/** What measure() is told for a realistic scenario. */
const realisticSpec = (r: RealisticSettings) => ({ rate: r.rate, connections: r.connections, warmConnections: Math.min(REALISTIC_WARM_CONNECTIONS, r.connections), liveProbe: true });

/**
 * `Authorization` values of `n` distinct callers of one partner tenant (object ids differ; one tenant so
 * that every answer is the same, as the bench checks), minted by the emulator, a few at a time.
 */
async function mintCallers(emulator: EmulatorControl, n: number, options: Record<string, unknown>): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, j) =>
      emulator.mint({ ...options, objectId: `00000000-0000-4000-8000-${String(i + j).padStart(12, '0')}` }).then((t) => `Bearer ${t}`),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

const ALIAS_COUNT = 25;
const ALIASES_QUERY = `query Profiles {\n${seedData.externalUserProfileIds
  .slice(0, ALIAS_COUNT)
  .map((id, i) => `  p${i}: externalUserProfile(id: "${id}") { id displayName companyName jobTitle }`)
  .join('\n')}\n}`;

/**
 * The same 25 aliased reads selecting one field (narrow) and every field (wide), so `$select` asks Graph for
 * `id,displayName` or for every property: what the narrower answer saves upstream and in the gateway.
 */
const aliasesSelecting = (selection: string): string =>
  `query Profiles {\n${seedData.externalUserProfileIds
    .slice(0, ALIAS_COUNT)
    .map((id, i) => `  p${i}: externalUserProfile(id: "${id}") { ${selection} }`)
    .join('\n')}\n}`;
const ALIASES_NARROW_QUERY = aliasesSelecting('id displayName');
const ALIASES_WIDE_QUERY = aliasesSelecting(
  'id displayName companyName department jobTitle phoneNumber address { city countryOrRegion officeLocation postalCode state street } isDiscoverable isEnabled supervisorId createdBy createdDateTime deletedDateTime',
);

/** One partner's support profile: read-merge-PUT under the lock (in process, or in Redis with REDIS_URL). */
const SUPPORT_WRITE_QUERY = 'mutation SupportWrite { updateSupportProfile(input: { email: "bench@contoso.example" }) { id email } }';

/**
 * Fixed rate of the lock scenarios: every write of the one bench partner waits for the previous one
 * (GET + PUT, twice the upstream latency), so 200/s would be past what one partner's lock lets through.
 */
const LOCK_RATE = 20;

/**
 * The observability scenarios: supportProfile on a gateway of its own with metrics on (the production
 * default; METRICS_PORT on a free port), or with tracing alone at 100 % and at 10 % sampling (spans to the
 * bench's OTLP sink, lib/otlp-sink.ts), beside `gateway`, the same work with both off (METRICS_PORT=0, no
 * OTLP endpoint). Tracing is measured without metrics, so each figure is one feature's cost.
 */
const OBSERVABILITY: ReadonlyArray<{ id: ScenarioId; label: string; metrics: boolean; ratio?: number }> = [
  { id: 'gateway-metrics', label: 'gateway: supportProfile, metrics on', metrics: true },
  { id: 'gateway-tracing-100', label: 'gateway: supportProfile, tracing 100 %', metrics: false, ratio: 1 },
  { id: 'gateway-tracing-10', label: 'gateway: supportProfile, tracing 10 %', metrics: false, ratio: 0.1 },
];
/** OTEL_TRACES_SAMPLER of the tracing scenarios, with OTEL_TRACES_SAMPLER_ARG the ratio (no inbound traceparent: every trace is a root). */
const TRACES_SAMPLER = 'parentbased_traceidratio';
/**
 * OTEL_BSP_SCHEDULE_DELAY of the tracing scenarios (the default is 5 s): spans leave within a fraction of a
 * phase, so each phase's spans can be counted at its end. Under load batches fill (512 spans) and go before that.
 */
const BSP_SCHEDULE_DELAY_MS = 200;
/** The sink is settled (the phase's last batch is out) when no export has come for this long. */
const SINK_QUIET_MS = 3 * BSP_SCHEDULE_DELAY_MS;
/** How often the metrics scenario scrapes GET /metrics during its run, as Prometheus would (its default is 1 min). */
const METRICS_SCRAPE_SEC = 5;

/** A rate limit no bench caller reaches: the check runs on every request, and never refuses. */
const UNREACHED_RATE_LIMIT = '10000000';

const MUTATION_QUERY = `mutation Rename($customerId: ID!, $userId: ID!) {
  updateCustomerUser(customerId: $customerId, userId: $userId, input: { displayName: "Bench User", usageLocation: "DE" }) { id displayName usageLocation }
}`;

const graphqlTarget = (url: string, token: string, query: string, variables?: Record<string, unknown>): Target => ({
  url,
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify(variables ? { query, variables } : { query }),
});

interface ScenarioResult {
  id: ScenarioId | 'soak';
  label: string;
  server: 'emulator' | 'gateway' | 'baseline';
  saturation: SaturationResult;
  fixedRate: RateResult;
  upstream: {
    /** Top-level Partner Center + Graph HTTP requests per operation (a `$batch` counts once). */
    callsPerOp: number;
    /** `$batch` sub-requests per operation. */
    batchSubRequestsPerOp: number;
    /** Bytes of the upstreams' answer bodies per operation (top-level answers: a `$batch` envelope holds its sub-answers). */
    bytesPerOp?: number;
    /** Identity (token endpoint, JWKS) requests during the counting phase (the first operations of a token). */
    identityRequestsFirstOps: number;
    /** Identity requests during saturation + fixed-rate load (0 = tokens and keys are cached). */
    identityRequestsDuringLoad: number;
  };
  /**
   * The server's memory (MB): RSS before the scenario's load, peak sampled RSS during the fixed-rate run
   * (which comes first, after a low-concurrency warm-up) and during the saturation run
   * (peakUnderLoadMb = the larger), and the process's VmHWM (lifetime peak) after.
   */
  rss?: { beforeMb: number; peakSaturationMb: number; peakFixedRateMb: number; peakUnderLoadMb: number; hwmMb?: number };
  /**
   * CPU time per operation during the saturation run (µs, user + system, from /proc): the server's
   * (the emulator's own for the floor) and the emulator's. Less sensitive to a noisy box than req/s.
   */
  cpu?: { serverUsPerOp?: number; emulatorUsPerOp?: number; serverCores?: number };
  /** The server's garbage collector (v8.GCProfiler inside it, bench/lib/probe.ts) per load phase. */
  gc?: { fixedRate?: GcPhase; saturation?: GcPhase };
  /** The observability scenarios: what was on, and what reached the OTLP sink and the metrics listener. */
  observability?: ObservabilityResult;
  /** The realistic scenarios: the traffic they played (callers, upstream latency, connections, fixed rate). */
  traffic?: { callers: number; latencyMs: number; connections: number; rate: number };
  /** Bytes each request in flight keeps alive (the realistic scenarios). */
  liveInFlight?: LiveInFlight;
  /**
   * The response-cache and coalescing scenarios: upstream calls per operation during the fixed-rate run
   * (the emulator's log), and with the cache on its hit ratio per load phase (the gateway's metrics).
   */
  reads?: ReadsResult;
  /** With --profile: the server's CPU profile over the saturation phase (hot spots per function and module). */
  profile?: ProfileSummary;
}

/** What the cache and coalescing scenarios measured besides the usual. */
interface ReadsResult {
  /** `RESPONSE_CACHE_TTL_MS` (0: off). */
  cacheTtlMs: number;
  /** `UPSTREAM_COALESCE`. */
  coalesce: boolean;
  /** Distinct callers taking turns (1: every request is the same caller's). */
  callers: number;
  /** Partner Center + Graph requests during the fixed-rate run ÷ its operations. */
  upstreamCallsPerOpAtFixedRate: number;
  /** hits ÷ lookups (gateway_response_cache_requests_total) per phase; undefined with the cache off. */
  hitRatio?: { fixedRate: number; saturation: number };
}

/** hit, miss and bypass counts of gateway_response_cache_requests_total in a Prometheus text exposition. */
async function cacheLookups(metricsUrl: string): Promise<{ hit: number; all: number }> {
  const text = await (await fetch(metricsUrl)).text();
  let hit = 0;
  let all = 0;
  for (const line of text.split('\n')) {
    const m = /^gateway_response_cache_requests_total\{[^}]*result="(hit|miss|bypass)"[^}]*\} (\S+)$/.exec(line);
    if (!m) continue;
    all += Number(m[2]);
    if (m[1] === 'hit') hit += Number(m[2]);
  }
  return { hit, all };
}
const hitRatio = (a: { hit: number; all: number }, b: { hit: number; all: number }): number =>
  b.all > a.all ? round((b.hit - a.hit) / (b.all - a.all), 4) : 0;

/**
 * Bytes live per request in flight: the server's used heap after a full GC with requests parked on a slow
 * upstream, minus the same right before with none in flight, divided by the requests parked.
 */
interface LiveInFlight {
  /** Requests sent at once. */
  requests: number;
  /** Of them, those whose upstream call had arrived when the heap was read (and not yet answered). */
  parked: number;
  /** Answers that came before the heap was read (0, or the figure is off). */
  answeredEarly: number;
  holdMs: number;
  idleHeapMb: number;
  parkedHeapMb: number;
  /** (parked heap − idle heap) ÷ parked requests, KB (1000 bytes). */
  kbPerRequest: number;
}

/** What an observability scenario turned on, and the proof that it worked. */
interface ObservabilityResult {
  metrics: boolean;
  /** Tracing's sampler and ratio, when on. */
  tracing?: { sampler: string; ratio: number; scheduleDelayMs: number };
  /** What the OTLP sink received during each load phase (after the gateway's last batch was out). */
  sink?: { fixedRate: SinkPhase; saturation: SinkPhase; rejected: number };
  /**
   * `GET /metrics`, scraped every METRICS_SCRAPE_SEC s during the scenario as Prometheus would, and once
   * after: how many scrapes, the supportProfile operations the last one counted, and its size.
   */
  scrape?: { scrapes: number; operationsCounted: number; bytes: number };
}

interface SinkPhase {
  spans: number;
  exportRequests: number;
  exportKb: number;
  /** Spans received ÷ operations the phase sent (4 at 100 %: server, operation, root field, upstream try). */
  spansPerOp: number;
}

/** One load phase's GC figures, per operation where it says so. */
interface GcPhase {
  ops: number;
  /** Bytes allocated per operation, KB (1000 bytes). */
  allocatedKbPerOp: number;
  /** Bytes surviving a scavenge (kept in new space or promoted) per operation, KB. */
  survivedKbPerOp: number;
  scavenges: number;
  scavengePauseMs: number;
  scavengeMaxPauseMs: number;
  markSweeps: number;
  markSweepPauseMs: number;
}

function gcPhase(report: GcReport | undefined, ops: number): GcPhase | undefined {
  if (!report) return undefined;
  const perOp = (bytes: number) => round(bytes / Math.max(1, ops) / 1000, 1);
  return {
    ops,
    allocatedKbPerOp: perOp(report.allocatedBytes),
    survivedKbPerOp: perOp(report.scavengeSurvivedBytes),
    scavenges: report.scavenges,
    scavengePauseMs: report.scavengePauseMs,
    scavengeMaxPauseMs: report.scavengeMaxPauseMs,
    markSweeps: report.markSweeps,
    markSweepPauseMs: report.markSweepPauseMs,
  };
}

interface RunContext {
  options: Options;
  emulator: EmulatorControl;
  emulatorPid: number;
  /** The CPU the servers under test run on, when they could be pinned. */
  cpu?: number;
}

async function countingPhase(
  ctx: RunContext,
  target: Target,
): Promise<{ expectBody?: string; callsPerOp: number; subPerOp: number; bytesPerOp: number; identity: number }> {
  const { emulator, options } = ctx;
  // Requests the previous load phase left in flight (autocannon stops with answers outstanding; the
  // server still makes their upstream calls) must not be counted: wait until the log stays empty.
  await countingQuiet(emulator);
  const bodies: string[] = [];
  for (let i = 0; i < options.countOps; i++) {
    const { status, body } = await sendOnce(target, i);
    if (status < 200 || status >= 300) throw new Error(`${target.url} answered ${status}: ${body.slice(0, 500)}`);
    if (target.method === 'POST') {
      // GraphQL: a 200 may still carry errors.
      const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown };
      if (parsed.errors || !parsed.data) throw new Error(`${target.url} answered with errors: ${body.slice(0, 500)}`);
    }
    bodies.push(body);
  }
  const log = await emulator.requests();
  const upstream = log.filter((r) => r.service === 'partner-center' || r.service === 'graph');
  const top = upstream.filter((r) => r.batchOf === undefined).length;
  const bytes = upstream.reduce((sum, r) => sum + (r.batchOf === undefined ? (r.responseBytes ?? 0) : 0), 0);
  const sub = upstream.length - top;
  const identity = log.filter((r) => r.service === 'identity').length;
  // Under load every answer must equal the counted ones, when those were all identical (they are here).
  const same = bodies.every((b) => b === bodies[0]);
  return {
    expectBody: same ? bodies[0] : undefined,
    callsPerOp: round(top / options.countOps, 2),
    subPerOp: round(sub / options.countOps, 2),
    bytesPerOp: Math.round(bytes / options.countOps),
    identity,
  };
}

async function measure(
  ctx: RunContext,
  spec: {
    id: ScenarioId;
    label: string;
    server: ScenarioResult['server'];
    target: Target;
    child: Child;
    rate?: number;
    /** Connections at saturation and the fixed-rate generator's socket cap. @default options.connections */
    connections?: number;
    /** Connections of the warm-up. @default min(4, connections) */
    warmConnections?: number;
    /** Measure the bytes live per request in flight after the load (a slow-upstream probe). */
    liveProbe?: boolean;
    /** The cache and coalescing scenarios: count upstream calls at the fixed rate, and (with `metricsUrl`) the hit ratio. */
    reads?: Omit<ReadsResult, 'upstreamCallsPerOpAtFixedRate' | 'hitRatio'> & { readonly metricsUrl?: string };
    traffic?: ScenarioResult['traffic'];
    /** The observability scenarios: what is on; with a sink, its counts are taken around each load phase. */
    observability?: { metrics: boolean; tracing?: ObservabilityResult['tracing']; sink?: OtlpSink };
  },
): Promise<ScenarioResult> {
  const { options, emulator } = ctx;
  const pid = spec.child.pid;
  const gcStart = () => spec.child.ask({ kind: 'gc-start' }).catch(() => undefined);
  const gcStop = () => spec.child.ask<GcReport>({ kind: 'gc-stop' }).catch(() => undefined);
  progress(`${spec.id}: counting upstream requests over ${options.countOps} operations`);
  const beforeKb = readMemory(pid)?.rssKb ?? 0;
  const counted = await countingPhase(ctx, spec.target);
  const target: Target = { ...spec.target, expectBody: counted.expectBody };

  // Warm-up at low concurrency: enough to get the hot paths optimised without growing the heap the way
  // 50 concurrent requests do, so the fixed-rate phase sees the RSS of a moderately loaded server.
  const connections = spec.connections ?? options.connections;
  const warmConnections = spec.warmConnections ?? Math.min(4, connections);
  if (options.warmupSec > 0) {
    progress(`${spec.id}: warm-up ${options.warmupSec} s (${warmConnections} connections)`);
    await runSaturation(target, { connections: warmConnections, durationSec: options.warmupSec });
  }
  await emulator.clear();

  const rate = spec.rate ?? options.rate;
  progress(`${spec.id}: fixed rate ${rate} req/s (${options.rateEngine}), ${options.durationSec} s`);
  const rateRun = (durationSec: number) =>
    options.rateEngine === 'paced'
      ? runPaced(target, { rate, connections, durationSec })
      : runAutocannonRate(target, { rate, connections, durationSec });
  await rateRun(Math.min(0.5, Math.max(0.2, options.warmupSec))); // the paced generator's own sockets
  // With tracing on, each phase's spans are counted once the gateway's last batch of it is out.
  const sink = spec.observability?.sink;
  const settle = async (): Promise<SinkCounts | undefined> => sink?.settle(SINK_QUIET_MS);
  const sink0 = await settle();
  let sampler = new RssSampler(pid);
  const readsSpec = spec.reads;
  const lookups = readsSpec?.metricsUrl ? () => cacheLookups(readsSpec.metricsUrl!) : undefined;
  if (readsSpec) await emulator.clear();
  const lookups0 = await lookups?.();
  await gcStart();
  const fixedRate = await rateRun(options.durationSec);
  const gcFixedRate = await gcStop();
  const lookups1 = await lookups?.();
  // Upstream calls of the fixed-rate run: the emulator logs a call once answered, so the log is read until
  // it stops growing (the run's last answers may still be coming).
  let readsResult: ReadsResult | undefined;
  if (readsSpec) {
    const upstreamCalls = async (): Promise<number> =>
      (await emulator.requests()).filter((r) => (r.service === 'partner-center' || r.service === 'graph') && r.batchOf === undefined).length;
    let calls = await upstreamCalls();
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      const now = await upstreamCalls();
      if (now === calls) break;
      calls = now;
    }
    const { metricsUrl: _url, ...settings } = readsSpec;
    readsResult = { ...settings, upstreamCallsPerOpAtFixedRate: round(calls / Math.max(1, fixedRate.total), 4) };
  }
  const peakFixedRateKb = sampler.stop().peakKb;
  await sleep(300);
  const sink1 = await settle();

  progress(`${spec.id}: saturation, ${connections} connections, ${options.durationSec} s`);
  sampler = new RssSampler(pid);
  const profileFile = options.profile ? join(options.outDir, 'profiles', `${spec.id}.cpuprofile`) : undefined;
  if (profileFile) {
    mkdirSync(dirname(profileFile), { recursive: true });
    await spec.child.ask({ kind: 'profile-start' });
  }
  await gcStart();
  const cpu0 = { server: readCpuSeconds(pid), emulator: readCpuSeconds(ctx.emulatorPid), at: process.hrtime.bigint() };
  const saturation = await runSaturation(target, { connections, durationSec: options.durationSec });
  const cpu1 = { server: readCpuSeconds(pid), emulator: readCpuSeconds(ctx.emulatorPid), at: process.hrtime.bigint() };
  const gcSaturation = await gcStop();
  const lookups2 = await lookups?.();
  if (readsResult && lookups0 && lookups1 && lookups2) readsResult.hitRatio = { fixedRate: hitRatio(lookups0, lookups1), saturation: hitRatio(lookups1, lookups2) };
  const peakSaturationKb = sampler.stop().peakKb;
  const profile = profileFile ? await profilePhase(spec.child, profileFile, spec.label) : undefined;
  const sink2 = await settle();
  const ops = Math.max(1, saturation.total);
  const perOp = (a?: number, b?: number) => (a !== undefined && b !== undefined ? Math.round(((b - a) / ops) * 1e6) : undefined);
  const cpu = {
    serverUsPerOp: perOp(cpu0.server, cpu1.server),
    emulatorUsPerOp: spec.server !== 'emulator' ? perOp(cpu0.emulator, cpu1.emulator) : undefined,
    serverCores:
      cpu0.server !== undefined && cpu1.server !== undefined ? round((cpu1.server - cpu0.server) / (Number(cpu1.at - cpu0.at) / 1e9), 2) : undefined,
  };

  const identityDuringLoad = (await emulator.requests('identity')).length;
  const memory = readMemory(pid);
  const liveInFlight = spec.liveProbe ? await measureLiveInFlight(ctx, spec.child, target, counted.callsPerOp, spec.id) : undefined;
  const result: ScenarioResult = {
    id: spec.id,
    label: spec.label,
    server: spec.server,
    saturation,
    fixedRate,
    upstream: {
      callsPerOp: counted.callsPerOp,
      batchSubRequestsPerOp: counted.subPerOp,
      bytesPerOp: counted.bytesPerOp,
      identityRequestsFirstOps: counted.identity,
      identityRequestsDuringLoad: identityDuringLoad,
    },
    rss: {
      beforeMb: mb(beforeKb),
      peakSaturationMb: mb(peakSaturationKb),
      peakFixedRateMb: mb(peakFixedRateKb),
      peakUnderLoadMb: mb(Math.max(peakSaturationKb, peakFixedRateKb)),
      hwmMb: memory?.hwmKb ? mb(memory.hwmKb) : undefined,
    },
    cpu,
    gc: { fixedRate: gcPhase(gcFixedRate, fixedRate.total), saturation: gcPhase(gcSaturation, saturation.total) },
    ...(spec.traffic ? { traffic: spec.traffic } : {}),
    ...(profile ? { profile } : {}),
    ...(liveInFlight ? { liveInFlight } : {}),
    ...(readsResult ? { reads: readsResult } : {}),
    ...(spec.observability
      ? {
          observability: {
            metrics: spec.observability.metrics,
            ...(spec.observability.tracing ? { tracing: spec.observability.tracing } : {}),
            ...(sink0 && sink1 && sink2
              ? { sink: { fixedRate: sinkPhase(sink0, sink1, fixedRate.total), saturation: sinkPhase(sink1, sink2, saturation.total), rejected: sink2.rejected } }
              : {}),
          },
        }
      : {}),
  };
  const errs = saturation.errors + fixedRate.errors;
  const g = result.gc?.fixedRate;
  progress(
    `${spec.id}: ${saturation.reqPerSec} req/s (${cpu.serverUsPerOp ?? '?'} µs CPU/op); p50 ${fixedRate.p50Ms} ms, p99 ${fixedRate.p99Ms} ms; ${counted.callsPerOp} upstream/op` +
      `; peak RSS ${result.rss!.peakUnderLoadMb} MB` +
      `${g ? `; ${g.allocatedKbPerOp} KB allocated/op, ${g.scavenges} scavenges ${g.scavengePauseMs} ms (max ${g.scavengeMaxPauseMs})` : ''}` +
      `${liveInFlight ? `; ${liveInFlight.kbPerRequest} KB live per request in flight (${liveInFlight.parked} parked)` : ''}` +
      `${readsResult ? `; ${readsResult.upstreamCallsPerOpAtFixedRate} upstream calls/op at the fixed rate${readsResult.hitRatio ? `, cache hit ratio ${readsResult.hitRatio.fixedRate} / ${readsResult.hitRatio.saturation}` : ''}` : ''}` +
      `${errs ? `; ${errs} ERRORS` : ''}`,
  );
  const sunk = result.observability?.sink;
  if (sunk) {
    progress(
      `${spec.id}: OTLP sink got ${sunk.fixedRate.spans} spans at the fixed rate (${sunk.fixedRate.spansPerOp}/op), ` +
        `${sunk.saturation.spans} at saturation (${sunk.saturation.spansPerOp}/op) in ${sunk.fixedRate.exportRequests + sunk.saturation.exportRequests} exports` +
        `${sunk.rejected ? `; ${sunk.rejected} REJECTED` : ''}`,
    );
  }
  if (errs) progress(`${spec.id}: error detail ${JSON.stringify(saturation.detail)}, fixed-rate errors ${fixedRate.errors}`);
  return result;
}

/**
 * Bytes live per request in flight (see LiveInFlight): the heap after a full GC (the probe's `live-heap`)
 * with nothing in flight, then with `liveRequests` requests sent at once while the emulator holds every
 * upstream answer for `holdMs`. Which of them were parked when the heap was read is checked afterwards:
 * their upstream calls had arrived (the emulator's log, `at`) and their answers came after the reading.
 */
async function measureLiveInFlight(ctx: RunContext, child: Child, target: Target, callsPerOp: number, id: string): Promise<LiveInFlight | undefined> {
  const { emulator, options } = ctx;
  const { liveRequests: n, holdMs, latencyMs } = options.realistic;
  const heap = async (): Promise<number | undefined> =>
    (await child.ask<LiveHeapReport>({ kind: 'live-heap' }, 60_000).catch(() => undefined))?.heapUsedBytes;
  // The saturation run's last answers are out; the counting phase's wait for a quiet upstream log, again.
  await countingQuiet(emulator);
  const idle = await heap();
  if (idle === undefined) return undefined;
  progress(`${id}: bytes live per request in flight, ${n} requests held ${holdMs} ms by the upstream`);
  await emulator.clear();
  await emulator.setLatency(holdMs);
  let readDoneAt = Number.POSITIVE_INFINITY;
  let answeredEarly = 0;
  let failed = 0;
  const answers = Promise.all(
    Array.from({ length: n }, (_, i) =>
      sendOnce(target, i).then(
        ({ status }) => {
          if (Date.now() < readDoneAt) answeredEarly++;
          if (status < 200 || status >= 300) failed++;
        },
        () => void failed++,
      ),
    ),
  );
  // Long enough for every request to reach the upstream, well before the first answer comes back.
  await sleep(Math.min(3000, holdMs / 3));
  const readAt = Date.now();
  const parkedHeap = await heap();
  readDoneAt = Date.now();
  // Later upstream calls (none, normally) get the scenario's latency again.
  await emulator.setLatency(latencyMs);
  await answers;
  const arrived = (await emulator.requests()).filter((r) => (r.service === 'partner-center' || r.service === 'graph') && r.batchOf === undefined && (r.at ?? Infinity) <= readAt).length;
  const parked = Math.min(n, Math.round(arrived / Math.max(1, callsPerOp))) - answeredEarly;
  if (parkedHeap === undefined || parked <= 0) return undefined;
  if (failed) progress(`${id}: ${failed} of the ${n} held requests FAILED`);
  const mbOf = (bytes: number) => round(bytes / 1024 ** 2, 1);
  return {
    requests: n,
    parked,
    answeredEarly,
    holdMs,
    idleHeapMb: mbOf(idle),
    parkedHeapMb: mbOf(parkedHeap),
    kbPerRequest: round((parkedHeap - idle) / parked / 1000, 1),
  };
}

/** Stops the CPU profile of a phase (started over IPC), writes it, prints its hot spots. */
async function profilePhase(child: Child, file: string, label: string): Promise<ProfileSummary | undefined> {
  const done = await child.ask<{ kind: string; file: string }>({ kind: 'profile-stop', file }, 60_000).catch(() => undefined);
  if (!done) {
    progress(`${label}: no profile written at ${file}`);
    return undefined;
  }
  const summary = summarizeProfile(file);
  process.stdout.write(`\n### CPU profile at saturation: ${label}\n\n${profileMarkdown(summary)}\n`);
  return summary;
}

/** Waits until the emulator's log stays empty for 250 ms (what a previous load left in flight is done). */
async function countingQuiet(emulator: EmulatorControl): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await emulator.clear();
    await sleep(250);
    if ((await emulator.requests()).every((r) => r.service === 'control')) break;
  }
}

function sinkPhase(before: SinkCounts, after: SinkCounts, ops: number): SinkPhase {
  const spans = after.spans - before.spans;
  return {
    spans,
    exportRequests: after.requests - before.requests,
    exportKb: round((after.bytes - before.bytes) / 1000, 1),
    spansPerOp: round(spans / Math.max(1, ops), 2),
  };
}

// --- children -----------------------------------------------------------------------------------

interface EmulatorEndpoints {
  url: string;
  issuerTemplate: string;
  jwksUrl: string;
  audience: string;
}

function gatewayEnv(emu: EmulatorEndpoints, logLevel: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    // UPSTREAM=emulator is refused in production: pointed at the emulator as a real deployment is configured.
    UPSTREAM: 'microsoft',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: logLevel,
    // The limiter would refuse bench load from one caller (600/min by default).
    RATE_LIMIT_PER_MINUTE: '0',
    // Metrics off (and no OTLP endpoint: tracing off) but in the observability scenarios, which set their own
    // METRICS_PORT (a free port) or OTEL_* beside `gateway`, the same work with both off.
    METRICS_PORT: '0',
    MAX_ALIASES: '30',
    PARTNER_CENTER_URL: emu.url,
    GRAPH_URL: emu.url,
    AUTH_ISSUER: emu.issuerTemplate,
    AUTH_AUDIENCE: emu.audience,
    AUTH_JWKS_URL: emu.jwksUrl,
    // UPSTREAM_AUTH stays at its default, on-behalf-of (token exchange with the emulator's issuer, cached per caller).
    AZURE_CLIENT_ID: 'emulator-gateway-client',
    AZURE_CLIENT_SECRET: 'emulator-gateway-secret',
    AZURE_AUTHORITY: emu.url,
    BENCH_EMULATOR_URL: emu.url,
  };
}

/** A port free on 127.0.0.1 right now (for METRICS_PORT, where 0 would mean off). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Scrapes `url` every METRICS_SCRAPE_SEC s, as Prometheus would; `stop()` scrapes once more and says how many
 * supportProfile operations the gateway counted (`gateway_graphql_operations_total{operation_name="Support"}`).
 */
function startScraper(url: string): { stop(): Promise<NonNullable<ObservabilityResult['scrape']>> } {
  let scrapes = 0;
  let last = '';
  const scrape = async (): Promise<void> => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    last = await res.text();
    scrapes++;
  };
  const timer = setInterval(() => void scrape().catch((error: unknown) => progress(`scrape failed: ${String(error)}`)), METRICS_SCRAPE_SEC * 1000);
  let stopped: Promise<NonNullable<ObservabilityResult['scrape']>> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await scrape();
        const counted = [...last.matchAll(/^gateway_graphql_operations_total\{[^}]*operation_name="Support"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
        return { scrapes, operationsCounted: counted, bytes: Buffer.byteLength(last) };
      })();
      return stopped;
    },
  };
}

async function startGateway(
  ctx: RunContext,
  emu: EmulatorEndpoints,
  label: string,
  logLevel: string,
  extraFlags: string[] = [],
  env: Record<string, string> = {},
): Promise<Child> {
  const nodeFlags = [...PRODUCTION_NODE_FLAGS, ...ctx.options.gatewayNodeOptions, ...extraFlags];
  progress(
    `starting gateway (${label}, LOG_LEVEL=${logLevel}${ctx.cpu !== undefined ? `, taskset -c ${ctx.cpu}` : ''}${ctx.options.profile ? ', --cpu-prof' : ''}${nodeFlags.length ? `, ${nodeFlags.join(' ')}` : ''})`,
  );
  return startChild({
    name: `gateway-${label}`,
    module: join(HERE, 'gateway-entry.js'),
    // A scenario's own settings win over --gateway-env (coalesce-off stays off).
    env: { ...gatewayEnv(emu, logLevel), ...ctx.options.gatewayEnv, ...env },
    cpu: ctx.cpu,
    execArgv: nodeFlags,
  });
}

/** The stock BFF, pinned like the gateway, against the emulator (its JWKS for the callers' tokens). */
async function startBaseline(ctx: RunContext, emu: EmulatorEndpoints, name: string): Promise<Child> {
  progress(`starting ${name} (Apollo Server 5 standalone + RESTDataSource, jose${ctx.cpu !== undefined ? `, taskset -c ${ctx.cpu}` : ''})`);
  return startChild({
    name,
    module: join(HERE, 'baseline/server.js'),
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      PARTNER_CENTER_URL: emu.url,
      GRAPH_URL: emu.url,
      AUTH_JWKS_URL: emu.jwksUrl,
      AUTH_ISSUER: emu.issuerTemplate,
      AUTH_AUDIENCE: [PARTNER_CENTER_AUDIENCE, GRAPH_AUDIENCE].join(','),
    },
    cpu: ctx.cpu,
  });
}

// --- soak ---------------------------------------------------------------------------------------

/** How RSS moved over a soak, from samples taken every 10 s. */
interface RssTrend {
  /** Every 10 s, MB. */
  samplesMb: number[];
  firstMb: number;
  lastMb: number;
  maxMb: number;
  /** (last sample − first sample) ÷ first sample, %: includes the heap's ramp-up at the start. */
  rawGrowthPct: number;
  /** Samples of the first min(60 s, 20 %) are the heap's ramp-up and left out of the steady-state figures. */
  rampUpSec: number;
  /** Steady state: (median of the last third − median of the first third) ÷ median of the first third, %. */
  growthPct: number;
  /** Least-squares slope over the steady-state samples, MB per minute. */
  slopeMbPerMin: number;
}

function rssTrend(samples: Array<{ atMs: number; rssKb: number }>, durationSec: number): RssTrend {
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  const all = samples.map((x) => ({ min: x.atMs / 60_000, mb: x.rssKb / 1024 }));
  const rampUpSec = round(Math.min(60, durationSec * 0.2), 1);
  const steady = all.filter((x) => x.min * 60 >= rampUpSec);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const head = median(steady.slice(0, third).map((x) => x.mb));
  const tail = median(steady.slice(-third).map((x) => x.mb));
  const mx = steady.reduce((a, x) => a + x.min, 0) / Math.max(1, steady.length);
  const my = steady.reduce((a, x) => a + x.mb, 0) / Math.max(1, steady.length);
  const slope =
    steady.reduce((acc, x) => acc + (x.min - mx) * (x.mb - my), 0) / Math.max(1e-9, steady.reduce((acc, x) => acc + (x.min - mx) ** 2, 0));
  const first = all[0]?.mb ?? 0;
  const last = all[all.length - 1]?.mb ?? 0;
  return {
    samplesMb: all.map((x) => round(x.mb, 1)),
    firstMb: round(first, 1),
    lastMb: round(last, 1),
    maxMb: round(Math.max(...all.map((x) => x.mb)), 1),
    rawGrowthPct: round(((last - first) / Math.max(1e-9, first)) * 100, 1),
    rampUpSec,
    growthPct: round(((tail - head) / Math.max(1e-9, head)) * 100, 1),
    slopeMbPerMin: round(slope, 2),
  };
}

/** The realistic soak: a fixed rate (a share of saturation) for minutes, as a service runs for hours. */
interface RealisticSoakResult extends RssTrend {
  minutes: number;
  callers: number;
  latencyMs: number;
  /** Saturation of the realistic scenario (this run's, or measured on the soak's gateway first). */
  saturationReqPerSec: number;
  load: number;
  targetRate: number;
  achievedRate: number;
  total: number;
  errors: number;
  lateSends?: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Live heap (used heap after a full GC) right after the warm-up and at the end, MB: the leak signal. */
  liveHeapStartMb?: number;
  liveHeapEndMb?: number;
  identityRequestsDuringSoak: number;
}

async function soakRealistic(ctx: RunContext, gateway: Child, target: Target, saturationReqPerSec: number | undefined): Promise<RealisticSoakResult> {
  const { options, emulator } = ctx;
  const r = options.realistic;
  const counted = await countingPhase(ctx, target);
  const t: Target = { ...target, expectBody: counted.expectBody };
  const warmSec = Math.max(options.warmupSec, 1);
  await runSaturation(t, { connections: Math.min(REALISTIC_WARM_CONNECTIONS, r.connections), durationSec: warmSec });
  let saturation = saturationReqPerSec;
  if (!saturation) {
    progress(`soak-realistic: saturation first (${r.connections} connections, ${options.durationSec} s)`);
    saturation = (await runSaturation(t, { connections: r.connections, durationSec: options.durationSec })).reqPerSec;
  }
  const rate = Math.max(1, Math.round(saturation * options.soakLoad));
  const liveHeap = async (): Promise<number | undefined> => {
    const m = await gateway.ask<LiveHeapReport>({ kind: 'live-heap' }, 60_000).catch(() => undefined);
    return m ? round(m.heapUsedBytes / 1024 ** 2, 1) : undefined;
  };
  await countingQuiet(emulator);
  const liveHeapStartMb = await liveHeap();
  await emulator.clear();
  const durationSec = Math.max(1, Math.round(options.soakRealisticMin * 60));
  progress(`soak-realistic: ${options.soakRealisticMin} min at ${rate} req/s (${options.soakLoad} × ${saturation}), ${r.callers} callers, RSS every 10 s`);
  const sampler = new RssSampler(gateway.pid, 10_000);
  const run = await runPaced(t, { rate, connections: r.connections, durationSec });
  const { samples } = sampler.stop();
  await countingQuiet(emulator);
  const liveHeapEndMb = await liveHeap();
  const result: RealisticSoakResult = {
    minutes: options.soakRealisticMin,
    callers: r.callers,
    latencyMs: r.latencyMs,
    saturationReqPerSec: saturation,
    load: options.soakLoad,
    targetRate: rate,
    achievedRate: run.achievedRate,
    total: run.total,
    errors: run.errors,
    lateSends: run.lateSends,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    maxMs: run.maxMs,
    ...rssTrend(samples, durationSec),
    liveHeapStartMb,
    liveHeapEndMb,
    identityRequestsDuringSoak: (await emulator.requests('identity')).length,
  };
  progress(
    `soak-realistic: ${result.achievedRate} req/s (${result.errors} errors), p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, RSS ${result.firstMb} → ${result.lastMb} MB (max ${result.maxMb}), ` +
      `steady-state growth ${result.growthPct} %, live heap ${liveHeapStartMb ?? '?'} → ${liveHeapEndMb ?? '?'} MB`,
  );
  return result;
}

interface SoakResult extends RssTrend {
  minutes: number;
  reqPerSec: number;
  errors: number;
  /** Live heap (heapUsed after a full GC) right after the warm-up and at the end, MB: the leak signal. */
  liveHeapStartMb?: number;
  liveHeapEndMb?: number;
  identityRequestsDuringSoak: number;
}

async function soak(ctx: RunContext, gateway: Child, target: Target): Promise<SoakResult> {
  const { options, emulator } = ctx;
  const counted = await countingPhase(ctx, target);
  const t: Target = { ...target, expectBody: counted.expectBody };
  if (options.warmupSec > 0) await runSaturation(t, { connections: options.connections, durationSec: options.warmupSec });
  const liveHeap = async (): Promise<number | undefined> => {
    const m = await gateway.ask<MemoryReport>({ kind: 'memory', gc: true }).catch(() => undefined);
    return m?.gc ? round(m.heapUsed / 1024 ** 2, 1) : undefined;
  };
  const liveHeapStartMb = await liveHeap();
  await emulator.clear();
  const durationSec = Math.max(1, Math.round(options.soakMin * 60));
  progress(`soak: ${options.soakMin} min of gateway supportProfile at saturation, RSS every 10 s`);
  const sampler = new RssSampler(gateway.pid, 10_000);
  const run = await runSaturation(t, { connections: options.connections, durationSec });
  const { samples } = sampler.stop();
  const liveHeapEndMb = await liveHeap();

  const result: SoakResult = {
    minutes: options.soakMin,
    reqPerSec: run.reqPerSec,
    errors: run.errors,
    ...rssTrend(samples, durationSec),
    liveHeapStartMb,
    liveHeapEndMb,
    identityRequestsDuringSoak: (await emulator.requests('identity')).length,
  };
  progress(
    `soak: ${result.reqPerSec} req/s, RSS ${result.firstMb} → ${result.lastMb} MB (max ${result.maxMb}), ` +
      `steady-state growth ${result.growthPct} %, live heap ${liveHeapStartMb ?? '?'} → ${liveHeapEndMb ?? '?'} MB`,
  );
  return result;
}

// --- report -------------------------------------------------------------------------------------

interface Goal {
  goal: string;
  target: string;
  value: string;
  met: boolean | null;
}

function hardware() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function selectSavings(narrow?: ScenarioResult, wide?: ScenarioResult): { bytes: number | null; throughput: number | null } | null {
  if (!narrow || !wide) return null;
  const div = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b, 2) : null);
  return { bytes: div(narrow.upstream.bytesPerOp, wide.upstream.bytesPerOp), throughput: div(narrow.saturation.reqPerSec, wide.saturation.reqPerSec) };
}

function ratios(results: Map<string, ScenarioResult>, soakResult: SoakResult | undefined, soakRealisticResult?: RealisticSoakResult) {
  const floor = results.get('floor');
  const gw = results.get('gateway');
  const gwWarn = results.get('gateway-warn');
  const base = results.get('baseline');
  const aGw = results.get('aliases-gateway');
  const aBase = results.get('aliases-baseline');
  const mGw = results.get('mutation');
  const mBase = results.get('mutation-baseline');
  const rGw = results.get('realistic');
  const rBase = results.get('realistic-baseline');
  const gatewayRuns = [...results.values()].filter((r) => r.server === 'gateway' && r.rss);
  const gatewayRss = gatewayRuns.map((r) => r.rss!.peakUnderLoadMb);
  const baselineRss = [...results.values()].filter((r) => r.server === 'baseline' && r.rss).map((r) => r.rss!.peakUnderLoadMb);
  const div = (a: number, b: number) => (b > 0 ? round(a / b, 2) : null);
  const tput = (a?: ScenarioResult, b?: ScenarioResult) => (a && b ? div(a.saturation.reqPerSec, b.saturation.reqPerSec) : null);
  const cpuRatio = (a?: ScenarioResult, b?: ScenarioResult) =>
    a?.cpu?.serverUsPerOp && b?.cpu?.serverUsPerOp ? div(a.cpu.serverUsPerOp, b.cpu.serverUsPerOp) : null;
  return {
    gatewayOverheadP50Ms: gw && floor ? round(gw.fixedRate.p50Ms - floor.fixedRate.p50Ms, 3) : null,
    gatewayOverheadP99Ms: gw && floor ? round(gw.fixedRate.p99Ms - floor.fixedRate.p99Ms, 3) : null,
    baselineOverheadP50Ms: base && floor ? round(base.fixedRate.p50Ms - floor.fixedRate.p50Ms, 3) : null,
    baselineOverheadP99Ms: base && floor ? round(base.fixedRate.p99Ms - floor.fixedRate.p99Ms, 3) : null,
    /** supportProfile at the fixed rate: gateway p99 − baseline p99 (≤ 0: no worse than the stock BFF). */
    gatewayMinusBaselineP99Ms: gw && base ? round(gw.fixedRate.p99Ms - base.fixedRate.p99Ms, 3) : null,
    gatewayVsBaselineThroughput: tput(gw, base),
    gatewayVsFloorThroughput: tput(gw, floor),
    gatewayVsBaselineCpuPerOp: cpuRatio(gw, base),
    mutationGatewayVsBaselineThroughput: tput(mGw, mBase),
    mutationGatewayVsBaselineCpuPerOp: cpuRatio(mGw, mBase),
    aliasesGatewayVsBaselineCpuPerOp: cpuRatio(aGw, aBase),
    aliasesEmulatorCpuPerOp: aGw && aBase ? { gateway: aGw.cpu?.emulatorUsPerOp ?? null, baseline: aBase.cpu?.emulatorUsPerOp ?? null } : null,
    aliasesGatewayVsBaselineThroughput: tput(aGw, aBase),
    aliasesGatewayVsBaselineP50: aGw && aBase ? div(aGw.fixedRate.p50Ms, aBase.fixedRate.p50Ms) : null,
    /** The 25 aliased reads selecting `id displayName` ÷ every field: upstream answer bytes and req/s. */
    select: selectSavings(results.get('aliases-narrow'), results.get('aliases-wide')),
    upstreamCallsPerOperation: Object.fromEntries([...results.values()].map((r) => [r.id, r.upstream.callsPerOp])),
    /** supportProfile at the fixed rate, KB allocated per request. */
    gatewayAllocatedKbPerOp: gw?.gc?.fixedRate?.allocatedKbPerOp ?? null,
    baselineAllocatedKbPerOp: base?.gc?.fixedRate?.allocatedKbPerOp ?? null,
    gatewayScavengePauseMs: gw?.gc?.fixedRate?.scavengePauseMs ?? null,
    baselineScavengePauseMs: base?.gc?.fixedRate?.scavengePauseMs ?? null,
    gatewayPeakRssMb: gatewayRss.length ? Math.max(...gatewayRss) : null,
    /** Scenario 2's fixed-rate phase: the first load its gateway process sees, after a low-concurrency warm-up. */
    gatewayPeakRssAtFixedRateMb: gw?.rss?.peakFixedRateMb ?? null,
    baselinePeakRssMb: baselineRss.length ? Math.max(...baselineRss) : null,
    gatewayVsBaselinePeakRss: gatewayRss.length && baselineRss.length ? div(Math.max(...gatewayRss), Math.max(...baselineRss)) : null,
    logging:
      gw && gwWarn
        ? {
            warnVsInfoThroughput: div(gwWarn.saturation.reqPerSec, gw.saturation.reqPerSec),
            infoMinusWarnP50Ms: round(gw.fixedRate.p50Ms - gwWarn.fixedRate.p50Ms, 3),
            infoMinusWarnP99Ms: round(gw.fixedRate.p99Ms - gwWarn.fixedRate.p99Ms, 3),
          }
        : null,
    soakGrowthPct: soakResult?.growthPct ?? null,
    /** Many callers, a slow upstream, many connections: the gateway beside the stock BFF. */
    realistic:
      rGw && rBase
        ? {
            throughput: tput(rGw, rBase),
            cpuPerOp: cpuRatio(rGw, rBase),
            /** p99 at the realistic fixed rate: gateway − stock BFF (≤ 0: no worse). */
            p99DeltaMs: round(rGw.fixedRate.p99Ms - rBase.fixedRate.p99Ms, 3),
            p50DeltaMs: round(rGw.fixedRate.p50Ms - rBase.fixedRate.p50Ms, 3),
            peakRss: rGw.rss && rBase.rss ? div(rGw.rss.peakUnderLoadMb, rBase.rss.peakUnderLoadMb) : null,
            liveKbPerRequest: { gateway: rGw.liveInFlight?.kbPerRequest ?? null, baseline: rBase.liveInFlight?.kbPerRequest ?? null },
          }
        : null,
    soakRealisticGrowthPct: soakRealisticResult?.growthPct ?? null,
    soakRealisticErrors: soakRealisticResult?.errors ?? null,
    /** Metrics on, tracing at 100 % and 10 %, each against `gateway` (both off). */
    observability: observabilityCost(results),
    /** Redis − in process, per request: the rate-limit script on every request; the lock (+ that script) on writes. */
    redis: redisCost(results.get('ratelimit-memory'), results.get('ratelimit-redis'), results.get('lock-memory'), results.get('lock-redis')),
  };
}

/** Each observability scenario beside `gateway` (metrics and tracing off), measured in the same run. */
function observabilityCost(results: Map<string, ScenarioResult>) {
  const off = results.get('gateway');
  if (!off) return null;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? round(a / b, 2) : null);
  const rows = OBSERVABILITY.flatMap(({ id }) => {
    const on = results.get(id);
    if (!on) return [];
    const sink = on.observability?.sink;
    return [
      {
        id,
        label: on.label,
        throughput: ratio(on.saturation.reqPerSec, off.saturation.reqPerSec),
        p50DeltaMs: round(on.fixedRate.p50Ms - off.fixedRate.p50Ms, 3),
        p99DeltaMs: round(on.fixedRate.p99Ms - off.fixedRate.p99Ms, 3),
        cpuPerOp: ratio(on.cpu?.serverUsPerOp, off.cpu?.serverUsPerOp),
        cpuUsPerOpDelta: on.cpu?.serverUsPerOp !== undefined && off.cpu?.serverUsPerOp !== undefined ? on.cpu.serverUsPerOp - off.cpu.serverUsPerOp : null,
        allocatedPerOp: ratio(on.gc?.fixedRate?.allocatedKbPerOp, off.gc?.fixedRate?.allocatedKbPerOp),
        peakRss: ratio(on.rss?.peakUnderLoadMb, off.rss?.peakUnderLoadMb),
        spansPerOp: sink ? { fixedRate: sink.fixedRate.spansPerOp, saturation: sink.saturation.spansPerOp } : null,
      },
    ];
  });
  return rows.length ? rows : null;
}

/** What the Redis round trips add per request, at the fixed rate (p50, p99) and in server CPU per operation. */
function redisCost(rlMemory?: ScenarioResult, rlRedis?: ScenarioResult, lockMemory?: ScenarioResult, lockRedis?: ScenarioResult) {
  const delta = (memory?: ScenarioResult, redis?: ScenarioResult) =>
    memory && redis
      ? {
          p50Ms: round(redis.fixedRate.p50Ms - memory.fixedRate.p50Ms, 3),
          p99Ms: round(redis.fixedRate.p99Ms - memory.fixedRate.p99Ms, 3),
          cpuUsPerOp: redis.cpu?.serverUsPerOp !== undefined && memory.cpu?.serverUsPerOp !== undefined ? redis.cpu.serverUsPerOp - memory.cpu.serverUsPerOp : null,
          throughput: memory.saturation.reqPerSec > 0 ? round(redis.saturation.reqPerSec / memory.saturation.reqPerSec, 2) : null,
        }
      : null;
  const rateLimit = delta(rlMemory, rlRedis);
  const lock = delta(lockMemory, lockRedis);
  return rateLimit || lock ? { rateLimit, lock } : null;
}

function goals(r: ReturnType<typeof ratios>, results: Map<string, ScenarioResult>): Goal[] {
  const g: Goal[] = [];
  const check = (goal: string, target: string, value: number | null, ok: (v: number) => boolean, unit = '') =>
    g.push({ goal, target, value: value === null ? 'not measured' : `${value}${unit}`, met: value === null ? null : ok(value) });
  check('supportProfile: gateway ÷ stock BFF req/s (floor)', '≥ 1.0×', r.gatewayVsBaselineThroughput, (v) => v >= 1, '×');
  check('supportProfile: gateway ÷ stock BFF req/s (stretch)', '≥ 1.5×', r.gatewayVsBaselineThroughput, (v) => v >= 1.5, '×');
  check(`supportProfile p99 at the fixed rate: gateway − stock BFF`, '≤ 0 ms', r.gatewayMinusBaselineP99Ms, (v) => v <= 0, ' ms');
  check('supportProfile p50 at the fixed rate: gateway − REST floor', '≤ 1 ms', r.gatewayOverheadP50Ms, (v) => v <= 1, ' ms');
  check('supportProfile p99 at the fixed rate: gateway − REST floor', '≤ 3 ms', r.gatewayOverheadP99Ms, (v) => v <= 3, ' ms');
  check('25 aliased reads: gateway ÷ stock BFF ops/s', '≥ 10×', r.aliasesGatewayVsBaselineThroughput, (v) => v >= 10, '×');
  const aGw = results.get('aliases-gateway')?.upstream.callsPerOp ?? null;
  const aBase = results.get('aliases-baseline')?.upstream.callsPerOp;
  check(`25 aliased reads: gateway upstream requests/op${aBase !== undefined ? ` (stock BFF ${aBase})` : ''}`, '≤ 2', aGw, (v) => v <= 2);
  check('peak RSS under load: gateway ÷ stock BFF', '≤ 1.0×', r.gatewayVsBaselinePeakRss, (v) => v <= 1, '×');
  check(`gateway peak RSS under load (${[...results.values()].filter((x) => x.server === 'gateway').length} scenarios)`, '≤ 120 MB', r.gatewayPeakRssMb, (v) => v <= 120, ' MB');
  check('supportProfile: gateway bytes allocated per request', '≤ 40 KB', r.gatewayAllocatedKbPerOp, (v) => v <= 40, ' KB');
  check('soak RSS growth (steady state)', '≤ 5 %', r.soakGrowthPct, (v) => v <= 5, ' %');
  check('updateCustomerUser: gateway ÷ stock BFF req/s (floor)', '≥ 1.0×', r.mutationGatewayVsBaselineThroughput, (v) => v >= 1, '×');
  const rl = r.realistic;
  check('realistic traffic: gateway ÷ stock BFF req/s (floor)', '≥ 1.0×', rl?.throughput ?? null, (v) => v >= 1, '×');
  check('realistic traffic: gateway ÷ stock BFF req/s (stretch)', '≥ 1.5×', rl?.throughput ?? null, (v) => v >= 1.5, '×');
  check('realistic traffic: p99 at the fixed rate, gateway − stock BFF', '≤ 0 ms', rl?.p99DeltaMs ?? null, (v) => v <= 0, ' ms');
  check('realistic traffic: peak RSS, gateway ÷ stock BFF', '≤ 1.0×', rl?.peakRss ?? null, (v) => v <= 1, '×');
  const live = rl?.liveKbPerRequest;
  check(
    `realistic traffic: KB live per request in flight, gateway − stock BFF${live?.baseline != null ? ` (stock BFF ${live.baseline})` : ''}`,
    '≤ 0 KB',
    live?.gateway != null && live.baseline != null ? round(live.gateway - live.baseline, 1) : null,
    (v) => v <= 0,
    ' KB',
  );
  check('realistic soak RSS growth (steady state)', '≤ 5 %', r.soakRealisticGrowthPct, (v) => v <= 5, ' %');
  check('realistic soak errors', '0', r.soakRealisticErrors, (v) => v === 0);
  return g;
}

function markdown(report: Report): string {
  const rows = Object.values(report.scenarios).map((s) => {
    const errors = s.saturation.errors + s.fixedRate.errors;
    const gc = s.gc?.fixedRate;
    return `| ${s.label} | ${s.saturation.reqPerSec} | ${s.cpu?.serverUsPerOp ?? '–'} | ${s.fixedRate.p50Ms} | ${s.fixedRate.p99Ms} | ${
      gc ? `${gc.allocatedKbPerOp} / ${gc.survivedKbPerOp}` : '–'
    } | ${gc ? `${gc.scavenges} / ${gc.scavengePauseMs} / ${gc.scavengeMaxPauseMs}` : '–'} | ${s.upstream.callsPerOp}${
      s.upstream.batchSubRequestsPerOp ? ` (${s.upstream.batchSubRequestsPerOp} in $batch)` : ''
    } | ${s.server === 'gateway' ? `${s.upstream.identityRequestsFirstOps} / ${s.upstream.identityRequestsDuringLoad}` : '–'} | ${
      s.rss ? `${s.rss.beforeMb} / ${s.rss.peakFixedRateMb} / ${s.rss.peakSaturationMb}` : '–'
    } | ${errors} |`;
  });
  const { settings, hardware: hw } = report;
  const lines = [
    `## Gateway benchmark, ${report.date}`,
    '',
    `${hw.cpu}, ${hw.cores} cores, ${hw.memoryGb} GB, Node ${hw.node}, ${hw.os}`,
    `${report.pinning}.`,
    `Upstream latency ${settings.latencyMs} ms; saturation: ${settings.connections} connections × ${settings.durationSec} s; ` +
      `fixed rate: ${settings.rate} req/s × ${settings.durationSec} s (${settings.rateEngine}); warm-up ${settings.warmupSec} s.`,
    `Allocation, survivors and scavenges: v8.GCProfiler inside the server, during the fixed-rate phase. ¹ 25 aliases: at ${settings.aliasRate} operations/s; support-profile writes (one partner, one at a time): at ${Math.min(settings.rate, LOCK_RATE)}/s; realistic traffic: at ${settings.realistic.rate}/s, ${settings.realistic.connections} connections at saturation, ${settings.realistic.latencyMs} ms upstream (below).`,
    '',
    `| scenario | req/s at saturation | server CPU µs/op | p50 ms @${settings.rate}/s¹ | p99 ms @${settings.rate}/s¹ | KB allocated / surviving scavenge per op | scavenges: count / total ms / max ms | upstream req/op | identity req (first ${settings.countOps} ops / load) | RSS MB before / peak @rate / peak sat. | errors |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ];
  const r = report.ratios;
  const realRows = (['realistic', 'realistic-baseline'] as const).map((id) => report.scenarios[id]).filter((x): x is ScenarioResult => x !== undefined);
  if (realRows.length) {
    const t = realRows[0]!.traffic;
    lines.push(
      '',
      `Realistic traffic: supportProfile from ${t?.callers} distinct callers (a signed token each, taken in turn: successive requests are successive callers), ` +
        `upstream latency ${t?.latencyMs} ms; saturation: ${t?.connections} connections × ${settings.durationSec} s; fixed rate ${t?.rate} req/s. ` +
        `KB live per request in flight: used heap after a full GC with requests parked on the upstream, minus it idle, ÷ requests parked.`,
      '',
      `| server | req/s at saturation | server CPU µs/op | p50 / p99 ms @${t?.rate}/s | KB allocated / surviving scavenge per op | KB live per request in flight (parked) | peak RSS MB | errors |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...realRows.map((x) => {
        const gc = x.gc?.fixedRate;
        const live = x.liveInFlight;
        return `| ${x.server === 'gateway' ? 'gateway' : 'stock BFF'} | ${x.saturation.reqPerSec} | ${x.cpu?.serverUsPerOp ?? '–'} | ${x.fixedRate.p50Ms} / ${x.fixedRate.p99Ms} | ${
          gc ? `${gc.allocatedKbPerOp} / ${gc.survivedKbPerOp}` : '–'
        } | ${live ? `${live.kbPerRequest} (${live.parked})` : '–'} | ${x.rss?.peakUnderLoadMb ?? '–'} | ${x.saturation.errors + x.fixedRate.errors} |`;
      }),
    );
    if (r.realistic) {
      const q = r.realistic;
      lines.push(
        `| gateway ÷ stock BFF | ${q.throughput ?? '–'}× | ${q.cpuPerOp ?? '–'}× | ${q.p50DeltaMs >= 0 ? '+' : ''}${q.p50DeltaMs} / ${q.p99DeltaMs >= 0 ? '+' : ''}${q.p99DeltaMs} ms | | ${
          q.liveKbPerRequest.gateway ?? '–'
        } vs ${q.liveKbPerRequest.baseline ?? '–'} | ${q.peakRss ?? '–'}× | |`,
      );
    }
  }
  const readRows = (['realistic', 'realistic-cache', 'coalesce', 'coalesce-off'] as const)
    .map((id) => report.scenarios[id])
    .filter((x): x is ScenarioResult & { reads: ReadsResult } => x?.reads !== undefined);
  if (readRows.some((x) => x.id !== 'realistic')) {
    lines.push(
      '',
      `Response cache and coalescing: the realistic traffic with the cache off and on (${CACHE_TTL_MS / 1000} s TTL; that gateway's metrics on, for the hit ratio), ` +
        `and one caller's identical reads, many in flight at once, with coalescing on and off (same upstream latency, connections and fixed rate). ` +
        `Upstream calls per operation: the emulator's log over the fixed-rate run.`,
      '',
      `| scenario | callers | cache | coalescing | req/s at saturation | server CPU µs/op | p50 / p99 ms @${settings.realistic.rate}/s | upstream calls / op | cache hit ratio (fixed rate / saturation) | peak RSS MB | errors |`,
      '|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...readRows.map((x) => {
        const rd = x.reads;
        return `| ${x.id} | ${rd.callers} | ${rd.cacheTtlMs ? `${rd.cacheTtlMs / 1000} s` : 'off'} | ${rd.coalesce ? 'on' : 'off'} | ${x.saturation.reqPerSec} | ${x.cpu?.serverUsPerOp ?? '–'} | ${x.fixedRate.p50Ms} / ${x.fixedRate.p99Ms} | ${rd.upstreamCallsPerOpAtFixedRate} | ${
          rd.hitRatio ? `${rd.hitRatio.fixedRate} / ${rd.hitRatio.saturation}` : '–'
        } | ${x.rss?.peakUnderLoadMb ?? '–'} | ${x.saturation.errors + x.fixedRate.errors} |`;
      }),
    );
  }
  const off = report.scenarios.gateway;
  if (r.observability && off) {
    const cell = (value: number | undefined, ratio: number | null | undefined, unit = '×') =>
      value === undefined ? '–' : ratio === null || ratio === undefined ? String(value) : `${value} (${ratio}${unit})`;
    const delta = (value: number, d: number | undefined) => (d === undefined ? String(value) : `${value} (${d >= 0 ? '+' : ''}${d})`);
    lines.push(
      '',
      `Observability cost, supportProfile, each on a gateway of its own beside \`gateway\` (metrics and tracing off), same run; ` +
        `tracing: ${TRACES_SAMPLER} with OTEL_TRACES_SAMPLER_ARG the ratio, OTEL_BSP_SCHEDULE_DELAY=${BSP_SCHEDULE_DELAY_MS} ms, http/protobuf to the bench's OTLP sink on 127.0.0.1; ` +
        `metrics: GET /metrics scraped every ${METRICS_SCRAPE_SEC} s.`,
      '',
      `| scenario | req/s at saturation (× off) | p50 ms @${settings.rate}/s (Δ) | p99 ms @${settings.rate}/s (Δ) | server CPU µs/op (× off) | KB allocated/op (× off) | peak RSS MB (× off) | spans at the sink: fixed rate / saturation (per op) | exports / KB |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${off.label} (both off) | ${off.saturation.reqPerSec} | ${off.fixedRate.p50Ms} | ${off.fixedRate.p99Ms} | ${off.cpu?.serverUsPerOp ?? '–'} | ${off.gc?.fixedRate?.allocatedKbPerOp ?? '–'} | ${off.rss?.peakUnderLoadMb ?? '–'} | – | – |`,
    );
    for (const o of r.observability) {
      const s = report.scenarios[o.id]!;
      const sink = s.observability?.sink;
      const scrape = s.observability?.scrape;
      lines.push(
        `| ${s.label} | ${cell(s.saturation.reqPerSec, o.throughput)} | ${delta(s.fixedRate.p50Ms, o.p50DeltaMs)} | ${delta(s.fixedRate.p99Ms, o.p99DeltaMs)} | ${cell(s.cpu?.serverUsPerOp, o.cpuPerOp)} | ${cell(s.gc?.fixedRate?.allocatedKbPerOp, o.allocatedPerOp)} | ${cell(s.rss?.peakUnderLoadMb, o.peakRss)} | ${
          sink ? `${sink.fixedRate.spans} / ${sink.saturation.spans} (${sink.fixedRate.spansPerOp} / ${sink.saturation.spansPerOp})` : scrape ? `– (scrapes: ${scrape.scrapes}, ${scrape.operationsCounted} operations counted)` : '–'
        } | ${sink ? `${sink.fixedRate.exportRequests + sink.saturation.exportRequests} / ${round(sink.fixedRate.exportKb + sink.saturation.exportKb, 1)}` : '–'} |`,
      );
    }
  }
  const narrow = report.scenarios['aliases-narrow'];
  const wide = report.scenarios['aliases-wide'];
  if (narrow || wide) {
    lines.push(
      '',
      `What \`$select\` saves: ${ALIAS_COUNT} aliased externalUserProfile reads (one \`$batch\` of 20 and one of 5), selecting \`id displayName\` or every field; bytes are the upstream's answer bodies per operation.`,
      '',
      '| selection | upstream bytes/op | upstream req/op | req/s at saturation | server CPU µs/op | p50 / p99 ms¹ | KB allocated/op |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const s of [narrow, wide]) {
      if (!s) continue;
      lines.push(
        `| ${s.label} | ${s.upstream.bytesPerOp ?? '–'} | ${s.upstream.callsPerOp} | ${s.saturation.reqPerSec} | ${s.cpu?.serverUsPerOp ?? '–'} | ${s.fixedRate.p50Ms} / ${s.fixedRate.p99Ms} | ${s.gc?.fixedRate?.allocatedKbPerOp ?? '–'} |`,
      );
    }
  }
  lines.push('', '| ratio | value |', '|---|---:|');
  const add = (name: string, v: unknown, unit = '') => {
    if (v !== null && v !== undefined) lines.push(`| ${name} | ${String(v)}${unit} |`);
  };
  add('gateway ÷ stock BFF req/s (supportProfile)', r.gatewayVsBaselineThroughput, '×');
  add('gateway ÷ stock BFF server CPU per op (supportProfile)', r.gatewayVsBaselineCpuPerOp, '×');
  add('gateway − stock BFF p99 at the fixed rate (supportProfile)', r.gatewayMinusBaselineP99Ms, ' ms');
  add('gateway overhead p50 (gateway − floor)', r.gatewayOverheadP50Ms, ' ms');
  add('gateway overhead p99 (gateway − floor)', r.gatewayOverheadP99Ms, ' ms');
  add('stock BFF overhead p50 (stock BFF − floor)', r.baselineOverheadP50Ms, ' ms');
  add('stock BFF overhead p99 (stock BFF − floor)', r.baselineOverheadP99Ms, ' ms');
  add('gateway ÷ floor req/s', r.gatewayVsFloorThroughput, '×');
  add('updateCustomerUser: gateway ÷ stock BFF req/s', r.mutationGatewayVsBaselineThroughput, '×');
  add('updateCustomerUser: gateway ÷ stock BFF server CPU per op', r.mutationGatewayVsBaselineCpuPerOp, '×');
  add('25 aliases: gateway ÷ stock BFF req/s', r.aliasesGatewayVsBaselineThroughput, '×');
  add('25 aliases: gateway ÷ stock BFF server CPU per op', r.aliasesGatewayVsBaselineCpuPerOp, '×');
  if (r.aliasesEmulatorCpuPerOp) add('25 aliases: upstream (emulator) CPU µs/op, gateway vs stock BFF', `${r.aliasesEmulatorCpuPerOp.gateway} vs ${r.aliasesEmulatorCpuPerOp.baseline}`);
  add('25 aliases: gateway p50 ÷ stock BFF p50', r.aliasesGatewayVsBaselineP50, '×');
  if (r.select) {
    add('25 aliases, $select narrow ÷ wide: upstream bytes per op', r.select.bytes, '×');
    add('25 aliases, $select narrow ÷ wide: req/s at saturation', r.select.throughput, '×');
  }
  if (r.gatewayAllocatedKbPerOp !== null && r.baselineAllocatedKbPerOp !== null)
    add('supportProfile KB allocated per request, gateway vs stock BFF', `${r.gatewayAllocatedKbPerOp} vs ${r.baselineAllocatedKbPerOp}`);
  if (r.gatewayScavengePauseMs !== null && r.baselineScavengePauseMs !== null)
    add(`supportProfile scavenge pauses over ${settings.durationSec} s at ${settings.rate} req/s, gateway vs stock BFF`, `${r.gatewayScavengePauseMs} vs ${r.baselineScavengePauseMs} ms`);
  add('gateway peak RSS under load (saturation or fixed rate)', r.gatewayPeakRssMb, ' MB');
  add(`gateway peak RSS at the fixed rate (${report.settings.rate} req/s)`, r.gatewayPeakRssAtFixedRateMb, ' MB');
  add('stock BFF peak RSS under load', r.baselinePeakRssMb, ' MB');
  add('peak RSS under load, gateway ÷ stock BFF', r.gatewayVsBaselinePeakRss, '×');
  if (r.logging) {
    add('LOG_LEVEL=warn ÷ info req/s', r.logging.warnVsInfoThroughput, '×');
    add('p50 info − warn', r.logging.infoMinusWarnP50Ms, ' ms');
    add('p99 info − warn', r.logging.infoMinusWarnP99Ms, ' ms');
  }
  if (r.redis) {
    const show = (what: string, d: NonNullable<typeof r.redis>['rateLimit']) => {
      if (!d) return;
      add(`${what}: Redis − in process, p50 / p99 at the fixed rate`, `${d.p50Ms} / ${d.p99Ms} ms`);
      add(`${what}: Redis − in process, server CPU per op`, d.cpuUsPerOp, ' µs');
      add(`${what}: Redis ÷ in process req/s at saturation`, d.throughput, '×');
    };
    show('rate-limit check (every request)', r.redis.rateLimit);
    show(`support-profile write (lock + rate limit; at ${Math.min(settings.rate, LOCK_RATE)}/s)`, r.redis.lock);
  }
  if (report.soak) {
    const k = report.soak;
    add(`soak ${k.minutes} min at saturation: RSS first → last (max)`, `${k.firstMb} → ${k.lastMb} (${k.maxMb}) MB, ${k.rawGrowthPct} %`);
    add(`soak RSS growth, steady state (after ${k.rampUpSec} s, first third → last third)`, k.growthPct, ' %');
    add('soak RSS slope, steady state', k.slopeMbPerMin, ' MB/min');
    if (k.liveHeapStartMb !== undefined) add('soak live heap after full GC, start → end', `${k.liveHeapStartMb} → ${k.liveHeapEndMb} MB`);
    add('soak req/s (errors)', `${k.reqPerSec} (${k.errors})`);
  }
  if (report.soakRealistic) {
    const k = report.soakRealistic;
    add(
      `realistic soak ${k.minutes} min at ${k.targetRate} req/s (${k.load} × ${k.saturationReqPerSec}), ${k.callers} callers, ${k.latencyMs} ms upstream: achieved req/s (errors)`,
      `${k.achievedRate} (${k.errors})`,
    );
    add('realistic soak p50 / p99 / max', `${k.p50Ms} / ${k.p99Ms} / ${k.maxMs} ms`);
    add('realistic soak RSS first → last (max)', `${k.firstMb} → ${k.lastMb} (${k.maxMb}) MB, ${k.rawGrowthPct} %`);
    add(`realistic soak RSS growth, steady state (after ${k.rampUpSec} s)`, k.growthPct, ' %');
    add('realistic soak RSS slope, steady state', k.slopeMbPerMin, ' MB/min');
    if (k.liveHeapStartMb !== undefined) add('realistic soak live heap after full GC, start → end', `${k.liveHeapStartMb} → ${k.liveHeapEndMb} MB`);
  }
  lines.push('', '| goal | target | measured | met |', '|---|---|---|---|');
  for (const g of report.goals) lines.push(`| ${g.goal} | ${g.target} | ${g.value} | ${g.met === null ? '–' : g.met ? 'yes' : '**no**'} |`);
  return `${lines.join('\n')}\n`;
}

export interface Report {
  version: 2;
  date: string;
  generatedAt: string;
  hardware: ReturnType<typeof hardware>;
  /** Whether and where the servers under test were pinned (taskset), as printed. */
  pinning: string;
  settings: Omit<Options, 'only' | 'outDir'> & { only?: string[] };
  scenarios: Record<string, ScenarioResult>;
  ratios: ReturnType<typeof ratios>;
  goals: Goal[];
  soak?: SoakResult;
  soakRealistic?: RealisticSoakResult;
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const wants = (id: ScenarioId): boolean => !options.only || options.only.has(id);
  const wantsSoak = options.soakMin > 0 && (!options.only || options.only.has('soak'));
  if (options.only?.has('soak') && options.soakMin <= 0) throw new Error('--only soak needs --soak <minutes>');
  for (const file of ['gateway-entry.js', 'emulator-entry.js', 'baseline/server.js']) {
    if (!existsSync(join(HERE, file))) throw new Error(`${join(HERE, file)} is missing: run npm run build first`);
  }

  const children: Child[] = [];
  const cleanup = async () => {
    await Promise.all(children.splice(0).map((c) => c.stop(3_000).catch(() => undefined)));
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  const results = new Map<string, ScenarioResult>();
  let soakResult: SoakResult | undefined;
  let soakRealisticResult: RealisticSoakResult | undefined;
  let pinned: number | undefined;
  let pinNote = '';
  try {
    progress(`starting emulator (test mode, latency ${options.latencyMs} ms)`);
    const emuChild = await startChild({
      name: 'emulator',
      module: join(HERE, 'emulator-entry.js'),
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', BENCH_LATENCY_MS: String(options.latencyMs) },
    });
    children.push(emuChild);
    const emu = emuChild.ready as EmulatorEndpoints;
    const pin = options.cpu !== undefined ? pinning(options.cpu) : ({ ok: false, reason: '--cpu none' } as const);
    pinned = pin.ok ? options.cpu : undefined;
    pinNote = pin.ok
      ? `gateway and baseline pinned to CPU ${options.cpu} (taskset -c ${options.cpu}), each in turn`
      : `NOT pinned (${pin.reason}): the gateway and the baseline may use every core`;
    progress(pinNote);
    const ctx: RunContext = { options, emulator: new EmulatorControl(emu.url), emulatorPid: emuChild.pid, cpu: pinned };

    const expiresInSeconds = 12 * 3600;
    const gatewayToken = await ctx.emulator.mint({ scp: GATEWAY_SCOPES, expiresInSeconds });
    // The floor and the passthrough baseline send tokens the upstreams accept as they are.
    const partnerCenterToken = await ctx.emulator.mint({ audience: PARTNER_CENTER_AUDIENCE, scp: 'user_impersonation', expiresInSeconds });
    const graphToken = await ctx.emulator.mint({ audience: GRAPH_AUDIENCE, scp: 'ExternalUserProfile.Read.All', expiresInSeconds });

    // 1. floor
    if (wants('floor')) {
      const target: Target = { url: `${emu.url}/v1/profiles/support`, method: 'GET', headers: { authorization: `Bearer ${partnerCenterToken}`, accept: 'application/json' } };
      results.set('floor', await measure(ctx, { id: 'floor', label: 'floor: GET /v1/profiles/support (emulator)', server: 'emulator', target, child: emuChild }));
    }

    // 2, 4, 5. gateway (production, LOG_LEVEL=info)
    const customer = seedData.customers[0]!;
    const mutationVariables = { customerId: customer.id, userId: customer.userIds[0] };
    if (wants('gateway') || wants('aliases-gateway') || wants('aliases-narrow') || wants('aliases-wide') || wants('mutation')) {
      const gw = await startGateway(ctx, emu, 'info', 'info');
      children.push(gw);
      const endpoint = `${gw.ready.url}/graphql`;
      if (wants('gateway')) {
        results.set('gateway', await measure(ctx, { id: 'gateway', label: 'gateway: supportProfile', server: 'gateway', child: gw, target: graphqlTarget(endpoint, gatewayToken, SUPPORT_QUERY) }));
      }
      if (wants('aliases-gateway')) {
        results.set('aliases-gateway', await measure(ctx, { id: 'aliases-gateway', label: `gateway: ${ALIAS_COUNT} aliased externalUserProfile`, server: 'gateway', child: gw, rate: options.aliasRate, target: graphqlTarget(endpoint, gatewayToken, ALIASES_QUERY) }));
      }
      for (const [id, query, what] of [['aliases-narrow', ALIASES_NARROW_QUERY, 'id displayName'], ['aliases-wide', ALIASES_WIDE_QUERY, 'every field']] as const) {
        if (!wants(id)) continue;
        const label = `gateway: ${ALIAS_COUNT} aliased externalUserProfile, ${what}`;
        results.set(id, await measure(ctx, { id, label, server: 'gateway', child: gw, rate: options.aliasRate, target: graphqlTarget(endpoint, gatewayToken, query) }));
      }
      if (wants('mutation')) {
        const target = graphqlTarget(endpoint, gatewayToken, MUTATION_QUERY, mutationVariables);
        results.set('mutation', await measure(ctx, { id: 'mutation', label: 'gateway: updateCustomerUser', server: 'gateway', child: gw, target }));
      }
      children.splice(children.indexOf(gw), 1);
      await gw.stop();
    }

    // 3, 4, 5. baseline, right after the gateway's same scenarios: on a shared machine the speed of the
    // box drifts over minutes, so the two sides of each ratio are measured as close together as they can be.
    if (wants('baseline') || wants('aliases-baseline') || wants('mutation-baseline')) {
      const base = await startBaseline(ctx, emu, 'baseline');
      children.push(base);
      const endpoint = `${base.ready.url}/`;
      if (wants('baseline')) {
        results.set('baseline', await measure(ctx, { id: 'baseline', label: 'baseline: supportProfile', server: 'baseline', child: base, target: graphqlTarget(endpoint, partnerCenterToken, SUPPORT_QUERY) }));
      }
      if (wants('aliases-baseline')) {
        results.set('aliases-baseline', await measure(ctx, { id: 'aliases-baseline', label: `baseline: ${ALIAS_COUNT} aliased externalUserProfile`, server: 'baseline', child: base, rate: options.aliasRate, target: graphqlTarget(endpoint, graphToken, ALIASES_QUERY) }));
      }
      if (wants('mutation-baseline')) {
        const target = graphqlTarget(endpoint, partnerCenterToken, MUTATION_QUERY, mutationVariables);
        results.set('mutation-baseline', await measure(ctx, { id: 'mutation-baseline', label: 'baseline: updateCustomerUser', server: 'baseline', child: base, target }));
      }
      children.splice(children.indexOf(base), 1);
      await base.stop();
    }

    // 9. Real traffic: many callers, each with a token of its own taken in turn (successive requests are
    // successive callers), a slow upstream, many connections; the gateway, then the stock BFF right after.
    const realistic = options.realistic;
    const traffic = { callers: realistic.callers, latencyMs: realistic.latencyMs, connections: realistic.connections, rate: realistic.rate };
    const realisticLabel = (who: string) => `${who}: supportProfile, ${realistic.callers} callers, ${realistic.latencyMs} ms upstream`;
    const wantsRealisticSoak = options.soakRealisticMin > 0 && (!options.only || options.only.has('soak-realistic'));
    if (options.only?.has('soak-realistic') && options.soakRealisticMin <= 0) throw new Error('--only soak-realistic needs --soak-realistic <minutes>');
    const gatewayCallers = wants('realistic') || wants('realistic-cache') || wantsRealisticSoak ? await mintCallers(ctx.emulator, realistic.callers, { scp: GATEWAY_SCOPES, expiresInSeconds }) : [];
    if (wants('realistic') || wants('realistic-baseline')) {
      await ctx.emulator.setLatency(realistic.latencyMs);
      try {
        if (wants('realistic')) {
          const gw = await startGateway(ctx, emu, 'realistic', 'info');
          children.push(gw);
          const target: Target = { ...graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY), authorizations: gatewayCallers };
          const reads = { cacheTtlMs: 0, coalesce: true, callers: realistic.callers };
          results.set('realistic', await measure(ctx, { id: 'realistic', label: realisticLabel('gateway'), server: 'gateway', child: gw, target, ...realisticSpec(realistic), traffic, reads }));
          children.splice(children.indexOf(gw), 1);
          await gw.stop();
        }
        if (wants('realistic-baseline')) {
          const baseCallers = await mintCallers(ctx.emulator, realistic.callers, { audience: PARTNER_CENTER_AUDIENCE, scp: 'user_impersonation', expiresInSeconds });
          const base = await startBaseline(ctx, emu, 'baseline-realistic');
          children.push(base);
          const target: Target = { ...graphqlTarget(`${base.ready.url}/`, partnerCenterToken, SUPPORT_QUERY), authorizations: baseCallers };
          results.set('realistic-baseline', await measure(ctx, { id: 'realistic-baseline', label: realisticLabel('baseline'), server: 'baseline', child: base, target, ...realisticSpec(realistic), traffic }));
          children.splice(children.indexOf(base), 1);
          await base.stop();
        }
      } finally {
        await ctx.emulator.setLatency(options.latencyMs);
      }
    }

    // 10. What the response cache and coalescing save (--only cache): the realistic traffic on a gateway with
    // the cache on at a 30 s TTL (its metrics on, for the hit ratio), beside `realistic` (off); then one
    // caller's identical reads, many at once, with coalescing on (the default) and off.
    // --smoke skips coalesce-off (coalesce with one setting changed).
    const readScenarios = (['coalesce', 'coalesce-off'] as const).filter((id) => wants(id) && !(options.smoke && !options.only && id === 'coalesce-off'));
    if (wants('realistic-cache') || readScenarios.length) {
      await ctx.emulator.setLatency(realistic.latencyMs);
      try {
        if (wants('realistic-cache')) {
          const metricsPort = await freePort();
          const gw = await startGateway(ctx, emu, 'realistic-cache', 'info', [], { RESPONSE_CACHE_TTL_MS: String(CACHE_TTL_MS), METRICS_PORT: String(metricsPort) });
          children.push(gw);
          const target: Target = { ...graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY), authorizations: gatewayCallers };
          const reads = { cacheTtlMs: CACHE_TTL_MS, coalesce: true, callers: realistic.callers, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
          const label = `${realisticLabel('gateway')}, response cache ${CACHE_TTL_MS / 1000} s`;
          results.set('realistic-cache', await measure(ctx, { id: 'realistic-cache', label, server: 'gateway', child: gw, target, ...realisticSpec(realistic), liveProbe: false, traffic, reads }));
          children.splice(children.indexOf(gw), 1);
          await gw.stop();
        }
        for (const id of readScenarios) {
          const coalesce = id === 'coalesce';
          const gw = await startGateway(ctx, emu, id, 'info', [], coalesce ? {} : { UPSTREAM_COALESCE: 'false' });
          children.push(gw);
          // One caller: every request in flight is the same read.
          const target = graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY);
          const label = `gateway: supportProfile, one caller, ${realistic.latencyMs} ms upstream, coalescing ${coalesce ? 'on' : 'off'}`;
          const spec = { ...realisticSpec(realistic), liveProbe: false };
          results.set(id, await measure(ctx, { id, label, server: 'gateway', child: gw, target, ...spec, reads: { cacheTtlMs: 0, coalesce, callers: 1 } }));
          children.splice(children.indexOf(gw), 1);
          await gw.stop();
        }
      } finally {
        await ctx.emulator.setLatency(options.latencyMs);
      }
    }

    // 2 again, LOG_LEVEL=warn: what the request log line costs.
    if (wants('gateway-warn')) {
      const gw = await startGateway(ctx, emu, 'warn', 'warn');
      children.push(gw);
      results.set('gateway-warn', await measure(ctx, { id: 'gateway-warn', label: 'gateway: supportProfile, LOG_LEVEL=warn', server: 'gateway', child: gw, target: graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY) }));
      children.splice(children.indexOf(gw), 1);
      await gw.stop();
    }

    // 8. What metrics and tracing cost (beside `gateway` above, both off): each on a gateway of its own.
    // --smoke keeps only gateway-tracing-100 (the sink and the span count); the others differ by a setting.
    const observability = OBSERVABILITY.filter((o) => wants(o.id) && !(options.smoke && !options.only && o.id !== 'gateway-tracing-100'));
    if (observability.length) {
      const sink = observability.some((o) => o.ratio !== undefined) ? await startOtlpSink() : undefined;
      if (sink) progress(`OTLP sink (POST /v1/traces, http/protobuf) at ${sink.url}`);
      try {
        for (const o of observability) {
          const metricsPort = o.metrics ? await freePort() : 0;
          const tracing = o.ratio !== undefined ? { sampler: TRACES_SAMPLER, ratio: o.ratio, scheduleDelayMs: BSP_SCHEDULE_DELAY_MS } : undefined;
          const env: Record<string, string> = {
            METRICS_PORT: String(metricsPort),
            ...(tracing
              ? {
                  OTEL_EXPORTER_OTLP_ENDPOINT: sink!.url,
                  OTEL_TRACES_SAMPLER: tracing.sampler,
                  OTEL_TRACES_SAMPLER_ARG: String(tracing.ratio),
                  OTEL_BSP_SCHEDULE_DELAY: String(tracing.scheduleDelayMs),
                }
              : {}),
          };
          const gw = await startGateway(ctx, emu, o.id, 'info', [], env);
          children.push(gw);
          const scraper = o.metrics ? startScraper(`http://127.0.0.1:${metricsPort}/metrics`) : undefined;
          try {
            const result = await measure(ctx, {
              id: o.id,
              label: o.label,
              server: 'gateway',
              child: gw,
              target: graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY),
              observability: { metrics: o.metrics, tracing, sink: tracing ? sink : undefined },
            });
            if (scraper) {
              const scrape = await scraper.stop();
              result.observability!.scrape = scrape;
              progress(`${o.id}: ${scrape.scrapes} scrapes of GET /metrics, the last ${round(scrape.bytes / 1000, 1)} KB counting ${scrape.operationsCounted} Support operations`);
            }
            results.set(o.id, result);
          } finally {
            await scraper?.stop().catch(() => undefined);
          }
          children.splice(children.indexOf(gw), 1);
          await gw.stop();
        }
      } finally {
        await sink?.close();
      }
    }

    // 7. What Redis costs per request: the same gateway work with the state in process and in Redis.
    // The rate limit is on (never reached) in all four, so its check runs on every request; the lock
    // scenarios add the support-profile lock around each write (SET NX + the release script in Redis).
    // --smoke keeps only lock-redis (it runs both Redis paths, the lock and the rate-limit script): the
    // others differ from it by a setting, and each costs the smoke test a gateway start.
    const smokeSkips = (id: ScenarioId) => options.smoke && !options.only && id !== 'lock-redis';
    const redisScenarios = (['ratelimit-redis', 'lock-redis'] as const).filter((id) => wants(id) && !smokeSkips(id));
    const memoryScenarios = (['ratelimit-memory', 'lock-memory'] as const).filter((id) => wants(id) && !smokeSkips(id));
    let redis: BenchRedis | undefined;
    if (redisScenarios.length) {
      redis = await startBenchRedis();
      if (!redis) progress(`${REDIS_SERVER} is missing: the Redis scenarios are skipped (apt-get install -y redis-server)`);
    }
    try {
      for (const [state, ids] of [['memory', memoryScenarios], ['redis', redis ? redisScenarios : []]] as const) {
        if (!ids.length) continue;
        const env: Record<string, string> = { RATE_LIMIT_PER_MINUTE: UNREACHED_RATE_LIMIT, ...(state === 'redis' ? { REDIS_URL: redis!.url } : {}) };
        const where = state === 'redis' ? 'Redis' : 'in process';
        const gw = await startGateway(ctx, emu, `state-${state}`, 'info', [], env);
        children.push(gw);
        const endpoint = `${gw.ready.url}/graphql`;
        if (ids.some((id) => id.startsWith('ratelimit'))) {
          const id = `ratelimit-${state}` as const;
          results.set(id, await measure(ctx, { id, label: `gateway: supportProfile, rate limit ${where}`, server: 'gateway', child: gw, target: graphqlTarget(endpoint, gatewayToken, SUPPORT_QUERY) }));
        }
        if (ids.some((id) => id.startsWith('lock'))) {
          const id = `lock-${state}` as const;
          const target = graphqlTarget(endpoint, gatewayToken, SUPPORT_WRITE_QUERY);
          results.set(id, await measure(ctx, { id, label: `gateway: updateSupportProfile, lock + rate limit ${where}`, server: 'gateway', child: gw, rate: Math.min(options.rate, LOCK_RATE), target }));
        }
        children.splice(children.indexOf(gw), 1);
        await gw.stop();
      }
    } finally {
      await redis?.stop();
    }

    // 6. soak
    if (wantsSoak) {
      const gw = await startGateway(ctx, emu, 'soak', 'info', ['--expose-gc']);
      children.push(gw);
      soakResult = await soak(ctx, gw, graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY));
      children.splice(children.indexOf(gw), 1);
      await gw.stop();
    }

    // 10. The realistic soak: the realistic scenario on a fresh gateway at a fixed share of its saturation.
    if (wantsRealisticSoak) {
      await ctx.emulator.setLatency(realistic.latencyMs);
      try {
        const gw = await startGateway(ctx, emu, 'soak-realistic', 'info');
        children.push(gw);
        const target: Target = { ...graphqlTarget(`${gw.ready.url}/graphql`, gatewayToken, SUPPORT_QUERY), authorizations: gatewayCallers };
        soakRealisticResult = await soakRealistic(ctx, gw, target, results.get('realistic')?.saturation.reqPerSec);
        children.splice(children.indexOf(gw), 1);
        await gw.stop();
      } finally {
        await ctx.emulator.setLatency(options.latencyMs);
      }
    }
  } finally {
    await cleanup();
  }

  const date = new Date().toISOString().slice(0, 10);
  const r = ratios(results, soakResult, soakRealisticResult);
  const { only, outDir: _outDir, ...settings } = options;
  const report: Report = {
    version: 2,
    date,
    generatedAt: new Date().toISOString(),
    hardware: hardware(),
    pinning: pinNote,
    settings: { ...settings, ...(only ? { only: [...only] } : {}) },
    scenarios: Object.fromEntries(results),
    ratios: r,
    goals: goals(r, results),
    ...(soakResult ? { soak: soakResult } : {}),
    ...(soakRealisticResult ? { soakRealistic: soakRealisticResult } : {}),
  };
  process.stdout.write(`\n${markdown(report)}`);

  mkdirSync(options.outDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const svg = renderChart(report);
  const written: string[] = [];
  const write = (base: string) => {
    writeFileSync(join(options.outDir, `${base}.json`), json);
    writeFileSync(join(options.outDir, `${base}.svg`), svg);
    written.push(join(options.outDir, `${base}.{json,svg}`));
  };
  write('latest');
  // A dated copy (with the hardware line) only for full runs: every scenario, real durations.
  if (!options.only && !options.smoke) write(date);
  if (options.name) write(options.name);
  progress(`wrote ${written.join(', ')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
