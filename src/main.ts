/**
 * Process entry: reads the config, starts the embedded emulator when `UPSTREAM=emulator`, starts the
 * gateway, prints where to open it, and on SIGTERM/SIGINT stops accepting, drains in-flight requests
 * and exits 0. With a persisted query manifest, SIGHUP reads it again (a bad file keeps the old one).
 * A configuration mistake prints one line and exits 1, without a stack trace.
 */
// First: on a Node older than `engines` this says so before a dependency can fail without saying why.
import './preflight.js';
import 'reflect-metadata';
import { ConfigError, emulatorKeysError, foreignIssuer, loadConfigOrExit, withEmulator, type Config } from './config.js';
import { jwksHoldsAnyKey } from './auth/signing-keys.js';
import { createLogger, flushLog } from './logger.js';
import { createGateway } from './server.js';
import { createOriginCheck, HOSTED_SANDBOX_ORIGIN } from './plugins/cors.js';

async function main(): Promise<void> {
  let config: Config = loadConfigOrExit();
  const log = createLogger({ level: config.logLevel });

  // The emulator is imported only in emulator mode: with UPSTREAM=microsoft it is never loaded or reachable.
  let emulator: import('./emulator/index.js').Emulator | undefined;
  let devToken: string | undefined;
  let exampleIds: string[] = [];
  if (config.upstream === 'emulator') {
    const { startEmulator, EMULATOR_GATEWAY_AUDIENCE, ALL_GATEWAY_SCOPES, seedData } = await import('./emulator/index.js');
    emulator = await startEmulator({ host: '127.0.0.1', port: config.emulatorPort }).catch((error: unknown) => {
      throw listenError(error, 'EMULATOR_PORT', '127.0.0.1', config.emulatorPort);
    });
    config = withEmulator(config, {
      url: emulator.url,
      issuerTemplate: emulator.issuerTemplate,
      jwksUrl: emulator.jwksUrl,
      audience: EMULATOR_GATEWAY_AUDIENCE,
      publicKeys: emulator.publicKeys(),
    });
    // An issuer that is not the emulator's, with keys from elsewhere: refused at start-up when those keys
    // are the emulator's after all, however the URL spells its address. If they cannot be fetched now, the
    // key set refuses them on every later fetch (config.auth.untrustedKeys).
    const foreign = foreignIssuer(config, emulator);
    if (foreign !== undefined && config.auth.jwksUrl && (await jwksHoldsAnyKey(config.auth.jwksUrl, config.auth.untrustedKeys))) {
      throw emulatorKeysError(foreign, emulator);
    }
    devToken = await emulator.mintToken({
      scp: ALL_GATEWAY_SCOPES,
      expiresInSeconds: 12 * 3600,
    });
    const customer = seedData.customers[0]!;
    exampleIds = [
      `  Example ids: customerId ${customer.id} (${customer.companyName}), userId ${customer.userIds[0]},`,
      `               externalUserProfile id ${seedData.externalUserProfileIds[0]}`,
    ];
  }

  const gateway = await createGateway(config, {
    logger: log,
    // On the emulator the explorer opens with the dev token filled in, so a query runs at once.
    explorer: devToken ? { defaultHeaders: { Authorization: `Bearer ${devToken}` } } : undefined,
  });
  const url = await gateway.listen().catch((error: unknown) => {
    // listen() binds METRICS_PORT first, then PORT: the failed bind's own port says which it was.
    const failedPort = (error as { port?: unknown } | undefined)?.port;
    if (config.metricsPort > 0 && failedPort === config.metricsPort && failedPort !== config.port) {
      throw listenError(error, 'METRICS_PORT', config.host, config.metricsPort);
    }
    throw listenError(error, 'PORT', config.host, config.port);
  });

  // The explorer exists outside production only (server.ts); hosted Sandbox wherever CORS lets it in.
  const explorer = !config.production;
  const endpoint = `${url}/graphql`;
  const lines = [``, `  Partner BFF gateway listening on ${url}`, `  GraphQL endpoint${explorer ? ' and explorer (open it in a browser)' : ''}: ${endpoint}`];
  if (createOriginCheck({ production: config.production, origins: config.corsOrigins })(HOSTED_SANDBOX_ORIGIN)) {
    lines.push(`  Hosted Apollo Sandbox (online): ${HOSTED_SANDBOX_ORIGIN}/sandbox/explorer?endpoint=${encodeURIComponent(endpoint)}`);
  }
  lines.push(gateway.metricsUrl ? `  Metrics (Prometheus text format): ${gateway.metricsUrl}` : `  Metrics: off (METRICS_PORT=0)`);
  if (config.tracing) lines.push(`  Traces: OTLP ${config.tracing.protocol} to ${config.tracing.tracesUrl} (sampler ${config.tracing.sampler})`);
  if (emulator && devToken) {
    // The token CLI finds the emulator from EMULATOR_PORT as this process did; name the URL when the
    // port is not the default, in case the other shell does not set it.
    const tokenCommand = `npm run -s token -- ${emulator.url === 'http://127.0.0.1:4010' ? '' : `--url ${emulator.url} `}`;
    lines.push(
      `  Upstream: embedded emulator at ${emulator.url} (no credentials, no network)`,
      ``,
      explorer ? `  Dev token (valid 12 h), already filled in the explorer's headers; for other clients:` : `  Dev token (valid 12 h):`,
      `  {"Authorization": "Bearer ${devToken}"}`,
      ``,
      `  Try it:`,
      `  curl -s ${endpoint} -H 'content-type: application/json' -H 'authorization: Bearer ${devToken}' -d '{"query":"{ viewer { authenticated kind permissions } }"}'`,
      ``,
      // One command per line, each runnable as pasted (joined with `|` they would be a shell pipe).
      `  Other tokens (delegated with chosen scopes, app-only, a personal Microsoft account):`,
      ...['--scp "SupportProfile.Read CustomerUser.Read.All"', '--roles ExternalUserProfile.Read.All', '--msa'].map((args) => `    ${tokenCommand}${args}`),
      ...exampleIds,
    );
  } else {
    lines.push(`  Upstream: Microsoft (${config.cloud} cloud)`);
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    // In-flight requests end within the upstream deadline; past that (plus a margin), stop anyway.
    setTimeout(() => {
      log.error('drain did not finish in time; exiting');
      process.exit(1);
    }, config.upstreamDeadlineMs + 5_000).unref();
    try {
      await gateway.close();
      await emulator?.close();
      log.info('stopped');
      // Request lines are written in batches: the last ones are still in the buffer.
      await flushLog(log);
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      await flushLog(log);
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // Only with a manifest: otherwise SIGHUP keeps Node's default (the process ends, as a closed terminal expects).
  if (config.persistedQueries.mode !== 'off' && config.persistedQueries.manifestPath) {
    process.on('SIGHUP', () => {
      if (!stopping) void gateway.reloadPersistedQueries();
    });
  }
}

/**
 * A listen failure as one line naming the variable that moves the port: `EADDRINUSE` alone does not say
 * which of the listeners (gateway, metrics, emulator) collided, nor how to avoid it.
 */
function listenError(error: unknown, variable: 'PORT' | 'METRICS_PORT' | 'EMULATOR_PORT', host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const what = { PORT: 'the gateway', METRICS_PORT: 'the metrics listener', EMULATOR_PORT: 'the embedded emulator' }[variable];
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    // METRICS_PORT=0 turns metrics off rather than picking a port.
    const zero = variable === 'METRICS_PORT' ? '0 turns metrics off' : '0 picks one';
    return new Error(`${address} (${variable}, ${what}) is already in use: stop what holds it, or set ${variable} to a free port (${zero})`);
  }
  if (code === 'EACCES') return new Error(`not allowed to listen on ${address} (${variable}, ${what}): set ${variable} to a port above 1023`);
  return error;
}

main().catch((error: unknown) => {
  // A mistake found once the emulator listens (withEmulator) reads like any other configuration error.
  if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`Gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
