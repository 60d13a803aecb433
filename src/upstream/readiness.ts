/**
 * `/readyz` support (README, HTTP surface): are the upstreams reachable? Probed on demand, never in
 * the background, and the answer is cached for at most 10 s so a probe storm cannot hammer the
 * upstreams. A probe is one unauthenticated GET of the upstream root: any HTTP answer, even 401 or 404,
 * proves DNS, TCP and TLS work; only "no answer" makes the gateway unready. Each upstream's descriptor
 * names the path probed; an upstream is probed only where what the gateway uses of it exists in the
 * cloud (Graph's externalUserProfile: docs/upstream.md §2.4).
 */
import { STATUS_CODES } from 'node:http';
import type { UpstreamEndpoint } from '../config.js';
import type { UpstreamService } from '../errors.js';
import { UPSTREAMS } from '../upstreams.js';
import type { UpstreamTransport } from './transport.js';

/** One upstream's state in the report. */
export interface UpstreamReadiness {
  readonly reachable: boolean;
  /**
   * What the probe got, said as what it is: `GET / answered 404 Not Found (any answer means reachable)`,
   * or `GET / got no answer: ECONNREFUSED`. A bare status would read as a failure: the upstream root
   * answers an unauthenticated GET with 401 or 404 when all is well.
   */
  readonly probe: string;
  /** Why it is unreachable (`timeout`, `ECONNREFUSED`…). */
  readonly error?: string;
  /** The transport's circuit breaker for this service. */
  readonly circuit: 'closed' | 'open' | 'half-open';
}

/** What `/readyz` answers. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** ISO time of the probe the report comes from. */
  readonly checkedAt: string;
  readonly upstreams: Partial<Record<UpstreamService, UpstreamReadiness>>;
}

/** Options of `createReadinessProbe`. */
export interface ReadinessProbeOptions {
  readonly transport: UpstreamTransport;
  /** Every upstream's endpoint (`config.upstreams`). */
  readonly upstreams: Readonly<Record<UpstreamService, UpstreamEndpoint>>;
  /** How long a report is reused (capped at 10 s by the contract). @default 10000 */
  readonly cacheMs?: number;
  /** Timeout of one probe. @default 2000 */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Checks readiness on demand. */
export interface ReadinessProbe {
  check(): Promise<ReadinessReport>;
}

/** Creates the probe; concurrent `check()` calls share one probe. */
export function createReadinessProbe(options: ReadinessProbeOptions): ReadinessProbe {
  const { transport } = options;
  const cacheMs = Math.min(10_000, Math.max(0, options.cacheMs ?? 10_000));
  const timeoutMs = options.timeoutMs ?? 2000;
  const now = options.now ?? Date.now;
  const targets: Array<[UpstreamService, string, string]> = UPSTREAMS.filter((u) => options.upstreams[u.service].available).map((u) => [
    u.service,
    `${options.upstreams[u.service].url.replace(/\/+$/, '')}${u.readinessPath}`,
    u.readinessPath,
  ]);

  let cached: { at: number; report: ReadinessReport } | undefined;
  let inFlight: Promise<ReadinessReport> | undefined;

  async function probeAll(): Promise<ReadinessReport> {
    const at = now();
    const entries = await Promise.all(
      targets.map(async ([service, url, path]): Promise<[UpstreamService, UpstreamReadiness]> => {
        const result = await transport.probe(url, timeoutMs);
        const circuit = transport.circuitState(service);
        return [
          service,
          result.reachable
            ? { reachable: true, probe: `GET ${path} answered ${describeStatus(result.status)} (any answer means reachable)`, circuit }
            : { reachable: false, probe: `GET ${path} got no answer: ${result.error}`, error: result.error, circuit },
        ];
      }),
    );
    const report: ReadinessReport = {
      ready: entries.every(([, r]) => r.reachable),
      checkedAt: new Date(at).toISOString(),
      upstreams: Object.fromEntries(entries),
    };
    cached = { at, report };
    return report;
  }

  return {
    check() {
      if (cached && now() - cached.at < cacheMs) return Promise.resolve(cached.report);
      inFlight ??= probeAll().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}

/** `404 Not Found`: the status with its reason phrase, so nobody reads the number alone as a failure. */
function describeStatus(status: number | undefined): string {
  if (status === undefined) return 'an HTTP answer';
  const reason = STATUS_CODES[status];
  return reason ? `${status} ${reason}` : String(status);
}
