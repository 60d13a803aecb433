/**
 * Process entry: reads the config, starts the embedded emulator when `UPSTREAM=emulator`, starts the
 * gateway, prints where to open it, and on SIGTERM/SIGINT stops accepting, drains in-flight requests
 * and exits 0. A configuration mistake prints one line and exits 1, without a stack trace.
 */
import 'reflect-metadata';
import { ConfigError, loadConfigOrExit, withEmulator, type Config } from './config.js';
import { createLogger } from './logger.js';
import { createGateway } from './server.js';

async function main(): Promise<void> {
  let config: Config = loadConfigOrExit();
  const log = createLogger({ level: config.logLevel });

  // The emulator is imported only in emulator mode: with UPSTREAM=microsoft it is never loaded or reachable.
  let emulator: import('./emulator/index.js').Emulator | undefined;
  let devToken: string | undefined;
  let exampleIds: string[] = [];
  if (config.upstream === 'emulator') {
    const { startEmulator, EMULATOR_GATEWAY_AUDIENCE, ALL_GATEWAY_SCOPES, seedData } = await import('./emulator/index.js');
    emulator = await startEmulator({ host: '127.0.0.1', port: config.emulatorPort });
    config = withEmulator(config, {
      url: emulator.url,
      issuerTemplate: emulator.issuerTemplate,
      jwksUrl: emulator.jwksUrl,
      audience: EMULATOR_GATEWAY_AUDIENCE,
    });
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
  const url = await gateway.listen();

  // The explorer exists outside production only (server.ts).
  const explorer = !config.production;
  const lines = [``, `  Partner BFF gateway listening on ${url}`, `  GraphQL endpoint${explorer ? ' and explorer (open it in a browser)' : ''}: ${url}/graphql`];
  if (emulator && devToken) {
    lines.push(
      `  Upstream: embedded emulator at ${emulator.url} (no credentials, no network)`,
      ``,
      explorer ? `  Dev token (valid 12 h), already filled in the explorer's headers; for other clients:` : `  Dev token (valid 12 h):`,
      `  {"Authorization": "Bearer ${devToken}"}`,
      ``,
      // The token CLI assumes the default emulator port; name the URL when it is another one.
      `  Other tokens: npm run token -- ${emulator.url === 'http://127.0.0.1:4010' ? '' : `--url ${emulator.url} `}--scp "SupportProfile.Read" | --roles ExternalUserProfile.Read.All | --msa`,
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
      log.flush?.();
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
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
