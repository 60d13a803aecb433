/**
 * Integration harness: the real emulator and the real gateway, each on an ephemeral loopback port,
 * spoken to over HTTP (like got's `with-server.ts`). Log lines are captured for assertions.
 */
import { loadConfig, withEmulator, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/server.js';
import { startEmulator, ALL_GATEWAY_SCOPES, EMULATOR_GATEWAY_AUDIENCE, type Emulator, type MintOptions } from '../../src/emulator/index.js';
import { startedForFile } from './for-file.js';

/** A delegated token's scopes with every gateway permission. */
export const ALL_DELEGATED = ALL_GATEWAY_SCOPES;

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
  };
}

export interface RequestOptions {
  token?: string | null;
  headers?: Record<string, string>;
}

export interface Stack {
  readonly url: string;
  /** `GET /metrics` URL, with `metrics: true`. */
  readonly metricsUrl: string | undefined;
  readonly emulator: Emulator;
  readonly gateway: Gateway;
  readonly config: Config;
  /** Raw JSON log lines the gateway wrote. */
  readonly logs: string[];
  /** A delegated token with every permission, for the common case. */
  readonly token: string;
  mint(options?: MintOptions): Promise<string>;
  graphql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface StackOptions extends Pick<GatewayOptions, 'plugins' | 'explorer'> {
  /** Environment overrides, as strings, as the process would read them. */
  env?: Record<string, string>;
  /** An emulator to share (another replica's); `close()` leaves it running. @default a new one */
  emulator?: Emulator;
  /**
   * Starts the metrics listener on an ephemeral port (`stack.metricsUrl`). Off by default: several
   * gateways run in one test process, and the default METRICS_PORT (9464) would collide.
   * @default false
   */
  metrics?: boolean;
}

/**
 * What an operator sets to run `UPSTREAM=microsoft` against the emulator (or a double): how production
 * mode is tested, since `UPSTREAM=emulator` is refused there (README, Configuration).
 */
export function microsoftEnvFor(emulator: Emulator): Record<string, string> {
  return {
    UPSTREAM: 'microsoft',
    PARTNER_CENTER_URL: emulator.url,
    GRAPH_URL: emulator.url,
    AUTH_ISSUER: emulator.issuerTemplate,
    AUTH_AUDIENCE: EMULATOR_GATEWAY_AUDIENCE,
    AUTH_JWKS_URL: emulator.jwksUrl,
    AZURE_CLIENT_ID: 'emulator-gateway-client',
    AZURE_CLIENT_SECRET: 'emulator-gateway-secret',
    AZURE_AUTHORITY: emulator.url,
  };
}

/** The config of a gateway on `emulator` with `UPSTREAM=emulator`, as main.ts builds it once its emulator listens. */
export function emulatorConfig(env: Record<string, string>, emulator: Emulator): Config {
  return withEmulator(loadConfig(env), {
    url: emulator.url,
    issuerTemplate: emulator.issuerTemplate,
    jwksUrl: emulator.jwksUrl,
    audience: EMULATOR_GATEWAY_AUDIENCE,
    publicKeys: emulator.publicKeys(),
  });
}

/** `env.UPSTREAM: 'microsoft'` points every upstream and auth URL at the emulator ({@link microsoftEnvFor}). */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const emulator = options.emulator ?? (await startEmulator({ testMode: true }));
  const microsoft = options.env?.UPSTREAM === 'microsoft';
  const env = {
    PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', UPSTREAM_TIMEOUT_MS: '2000', UPSTREAM_DEADLINE_MS: '5000',
    ...(microsoft ? microsoftEnvFor(emulator) : {}),
    ...options.env,
  };
  const config = microsoft ? loadConfig(env) : emulatorConfig(env, emulator);
  const logs: string[] = [];
  const logger = createLogger({ level: config.logLevel, destination: { write: (line: string) => void logs.push(line) } });
  const gateway = await createGateway(config, {
    logger,
    plugins: options.plugins,
    explorer: options.explorer,
    // An explicit METRICS_PORT is the config's to apply; otherwise off, or ephemeral with `metrics: true`.
    metricsListener: options.metrics ? { port: 0 } : options.env?.METRICS_PORT !== undefined ? undefined : false,
  });
  const url = await gateway.listen();
  const token = await emulator.mintToken({ scp: ALL_DELEGATED });

  return {
    url,
    metricsUrl: gateway.metricsUrl,
    emulator,
    gateway,
    config,
    logs,
    token,
    mint: (mintOptions) => emulator.mintToken(mintOptions),
    async graphql(query, variables, requestOptions = {}) {
      const bearer = requestOptions.token === undefined ? token : requestOptions.token;
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          ...requestOptions.headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
    },
    async close() {
      await gateway.close();
      if (!options.emulator) await emulator.close();
    },
  };
}

/**
 * The gateway stack of a test file (or of the `describe` block this is called in): started before the
 * first test, closed after the last (see `startedForFile`). Pass a function for options that an
 * earlier `beforeAll` prepares (a manifest file, a receiver's URL): it is called at start.
 */
export function startStackForFile(options: StackOptions | (() => StackOptions) = {}): Stack {
  return startedForFile('the gateway stack', () => startStack(typeof options === 'function' ? options() : options), (stack) => stack.close());
}
