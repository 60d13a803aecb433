import { readFileSync } from 'node:fs';
import { ConfigError, envSchema, loadConfig, withEmulator } from '../src/config.js';
import { runMain } from './helpers/main-process.js';
import { freePort } from './helpers/loopback.js';

const configError = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return undefined;
};

const MICROSOFT = {
  UPSTREAM: 'microsoft',
  AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0',
  AUTH_AUDIENCE: 'api://gateway',
  AZURE_CLIENT_ID: 'client',
  AZURE_CLIENT_SECRET: 'secret',
};

describe('config', () => {
  it('defaults to the emulator, the global cloud and the contract limits', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      upstream: 'emulator',
      cloud: 'global',
      upstreamAuth: 'on-behalf-of',
      upstreamTimeoutMs: 10_000,
      upstreamDeadlineMs: 30_000,
      upstreamMaxResponseBytes: 8_388_608,
      rateLimitPerMinute: 600,
      introspection: true,
      limits: { maxDepth: 10, maxAliases: 30, maxCost: 5000, maxTokens: 2000, maxDirectives: 50, maxBodyBytes: 524_288 },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the national cloud endpoints, with explicit roots winning', () => {
    expect(loadConfig({ CLOUD: 'china' }).upstreams).toMatchObject({
      'partner-center': { url: 'https://partner.partnercenterapi.microsoftonline.cn', available: true },
      graph: { url: 'https://microsoftgraph.chinacloudapi.cn', available: false },
    });
    expect(loadConfig({ CLOUD: 'usgov', GRAPH_URL: 'https://graph.example/' }).upstreams.graph.url).toBe('https://graph.example');
  });

  it('needs issuer, audience and app credentials for UPSTREAM=microsoft', () => {
    expect(configError({ ...MICROSOFT, AUTH_ISSUER: '' })).toMatch(/^AUTH_ISSUER is required/);
    expect(configError({ ...MICROSOFT, AUTH_AUDIENCE: '' })).toMatch(/^AUTH_AUDIENCE is required/);
    expect(configError({ ...MICROSOFT, AZURE_CLIENT_SECRET: '' })).toMatch(/AZURE_CLIENT_SECRET are required/);
    expect(configError({ ...MICROSOFT, AZURE_CLIENT_SECRET: '', UPSTREAM_AUTH: 'passthrough' })).toBeUndefined();
  });

  it('requires https in production except on loopback', () => {
    const production = { ...MICROSOFT, NODE_ENV: 'production' };
    expect(configError({ ...production, GRAPH_URL: 'http://graph.internal' })).toBe(
      'GRAPH_URL must use https in production (plain http is allowed only on loopback hosts)',
    );
    expect(configError({ ...production, GRAPH_URL: 'http://127.0.0.1:9000' })).toBeUndefined();
    expect(loadConfig(production)).toMatchObject({ introspection: false, corsOrigins: [] });
  });

  it('allows plain http in production only on real loopback addresses, not on names starting with 127.', () => {
    const production = { ...MICROSOFT, NODE_ENV: 'production' };
    for (const url of ['http://127.evil.example/keys', 'http://127.0.0.1.evil.example/keys', 'http://localhost.evil.example/keys', 'http://[::ffff:10.0.0.1]/keys', 'http://0.0.0.0/keys']) {
      expect([url, configError({ ...production, AUTH_JWKS_URL: url })]).toEqual([url, 'AUTH_JWKS_URL must use https in production (plain http is allowed only on loopback hosts)']);
    }
    for (const url of ['http://127.0.0.1:9000/keys', 'http://127.45.6.7/keys', 'http://[::1]:8080/keys', 'http://localhost:1234/keys']) {
      expect([url, configError({ ...production, AUTH_JWKS_URL: url })]).toEqual([url, undefined]);
    }
  });

  it('turns tracing on only with an OTLP endpoint, with OpenTelemetry\'s defaults', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'partner-bff-gateway',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      scheduleDelayMs: 5000,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom/path',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      }).tracing,
    ).toMatchObject({ tracesUrl: 'http://traces:4318/custom/path', protocol: 'http/json', sampler: 'parentbased_traceidratio', samplerRatio: 0.1, scheduleDelayMs: 200 });
  });

  it.each([
    [{ UPSTREAM_TIMEOUT_MS: '5000', UPSTREAM_DEADLINE_MS: '1000' }, 'UPSTREAM_DEADLINE_MS must be at least UPSTREAM_TIMEOUT_MS'],
    [{ MAX_DEPTH: '0' }, 'MAX_DEPTH must be from 1 to 1000'],
    [{ INTROSPECTION: 'yes' }, 'INTROSPECTION must be true or false'],
    [{ PERSISTED_QUERIES: 'only' }, 'PERSISTED_QUERIES_MANIFEST is required when PERSISTED_QUERIES=only'],
    [{ PERSISTED_QUERIES_LOG_UNKNOWN: 'true' }, 'PERSISTED_QUERIES_LOG_UNKNOWN=true needs a manifest to compare with: set PERSISTED_QUERIES_MANIFEST (and PERSISTED_QUERIES allow or only)'],
    [{ PERSISTED_QUERIES_LOG_UNKNOWN: 'true', PERSISTED_QUERIES: 'off', PERSISTED_QUERIES_MANIFEST: 'm.json' }, 'PERSISTED_QUERIES_LOG_UNKNOWN=true needs a manifest to compare with: set PERSISTED_QUERIES_MANIFEST (and PERSISTED_QUERIES allow or only)'],
    [{ PARTNER_CENTER_URL: 'ftp://x' }, 'PARTNER_CENTER_URL must be an absolute http(s) URL'],
    [{ CURSOR_SECRET: 'short' }, 'CURSOR_SECRET must be at least 32 characters'],
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT must be from 0 to 65535'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, http/json'],
    [{ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, 'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio'],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(configError(env)).toBe(message);
  });
});

describe('emulator trust (issue 16)', () => {
  const EMULATOR = { url: 'http://127.0.0.1:4010', issuerTemplate: 'http://127.0.0.1:4010/{tenantid}/v2.0', jwksUrl: 'http://127.0.0.1:4010/discovery/v2.0/keys', audience: 'api://partner-bff-gateway', publicKeys: [] };
  const emulatorError = (env: Record<string, string>) => {
    try {
      withEmulator(loadConfig(env), EMULATOR);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return undefined;
  };

  it('refuses UPSTREAM=emulator in production', () => {
    expect(configError({ NODE_ENV: 'production', UPSTREAM: 'emulator' })).toMatch(/^UPSTREAM=emulator is refused in production/);
  });

  it("refuses an AUTH_ISSUER that is not the emulator's while the signing keys are the emulator's", () => {
    expect(emulatorError({ AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0' })).toMatch(/^AUTH_ISSUER .*emulator/);
    expect(emulatorError({ AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0', AUTH_JWKS_URL: 'http://127.0.0.1:4010/other/keys' })).toMatch(/^AUTH_ISSUER /);
    expect(emulatorError({ AUTH_ISSUER: `${EMULATOR.issuerTemplate},https://sts.windows.net/{tenantid}/` })).toMatch(/^AUTH_ISSUER /);
    // The emulator's own issuer, or keys that are not the emulator's, are fine.
    expect(emulatorError({ AUTH_ISSUER: 'http://127.0.0.1:4010/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0' })).toBeUndefined();
    expect(emulatorError({})).toBeUndefined();
    expect(emulatorError({ AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0', AUTH_JWKS_URL: 'https://login.microsoftonline.com/common/discovery/v2.0/keys' })).toBeUndefined();
  });

  it.each([
    [{ NODE_ENV: 'production', UPSTREAM: 'emulator' }, /^Configuration error: UPSTREAM=emulator is refused in production/],
    [{ UPSTREAM: 'emulator', AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0' }, /^Configuration error: AUTH_ISSUER .*emulator/],
  ])('stops start-up on %j with one clear line, exit 1', (env, line) => {
    const result = runMain(env);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(line);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).not.toContain('listening');
  });
});

describe('emulator keys judged by the keys, not by the URL (issue 24)', () => {
  const ENTRA = 'https://login.microsoftonline.com/{tenantid}/v2.0';

  // localhost and 0.0.0.0 both reach the emulator on 127.0.0.1 without being its URL's text.
  it.each(['localhost', '0.0.0.0'])("stops start-up when AUTH_JWKS_URL reaches the emulator's keys through %s", async (host) => {
    const port = await freePort();
    const result = runMain({ UPSTREAM: 'emulator', EMULATOR_PORT: String(port), AUTH_ISSUER: ENTRA, AUTH_JWKS_URL: `http://${host}:${port}/discovery/v2.0/keys` });
    expect(result.stderr.trim()).toMatch(/^Configuration error: AUTH_ISSUER .*not the emulator's issuer.*signing keys are the emulator's/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('listening');
  });
});

describe('configuration errors', () => {
  it('stops on a bad CLOUD with one line naming the variable and the allowed values, exit 1', () => {
    const result = runMain({ CLOUD: 'mars' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Configuration error: CLOUD must be one of global, usgov, usgov-dod, china');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('requires UPSTREAM to be explicit in production', () => {
    const result = runMain({ NODE_ENV: 'production' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('UPSTREAM must be set explicitly in production');
  });

  it('names a non-numeric PORT', () => {
    const result = runMain({ PORT: 'eighty' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Configuration error: PORT must be a whole number from 0 to 65535');
  });
});

describe('documentation of the configuration', () => {
  const variables = Object.keys(envSchema.shape);
  const envExample = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

  it.each(variables)('.env.example and the README document %s', (name) => {
    expect(envExample).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(readme).toContain(`\`${name}\``);
  });
});
