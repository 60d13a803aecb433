/**
 * The probes of the HTTP surface (README): `GET /healthz` (the process is alive) and `GET /readyz`
 * (200 when the upstreams are reachable, else 503, with the report; see src/upstream/readiness.ts for
 * how it probes and caches). The report carries the shared state's health under `redis`; Redis down
 * leaves the replica ready: it still serves reads (README, Running several replicas).
 */
import type { FastifyInstance } from 'fastify';
import type { ReadinessProbe } from '../upstream/readiness.js';
import type { SharedState } from '../state/index.js';
import type { SigningKeysStatus } from '../auth/signing-keys.js';

/** Options of `registerHealthRoutes`. */
export interface HealthRoutesOptions {
  /** What `/readyz` asks of the upstreams. */
  readonly readiness: ReadinessProbe;
  /** Whose health `/readyz` reports under `redis`. */
  readonly sharedState: Pick<SharedState, 'health'>;
  /**
   * What `/readyz` shows under `signingKeys`. Shown, not judged: keys are fetched only when a token needs
   * them, so an unready replica taken out of rotation would never refetch them and never become ready again.
   */
  readonly signingKeys: () => SigningKeysStatus;
}

export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  const { readiness, sharedState, signingKeys } = options;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const [report, redis] = await Promise.all([readiness.check(), sharedState.health()]);
    return reply.code(report.ready ? 200 : 503).send({ ...report, redis, signingKeys: signingKeys() });
  });
}
