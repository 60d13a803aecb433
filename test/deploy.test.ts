/**
 * deploy/ without a container engine: the image's contents are proven by installing the production
 * dependencies alone into a copy of the built tree and starting it with the Dockerfile's exact CMD; the
 * compose and Kubernetes files are checked against the config schema and the server's probes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { ConfigError, envSchema, loadConfig } from '../src/config.js';
import { ALL_GATEWAY_SCOPES, startEmulator } from '../src/emulator/index.js';
import { freePort } from './helpers/loopback.js';
import { startMain } from './helpers/main-process.js';
import { redisAvailable, startRedis, type RedisServer } from './helpers/redis.js';
import { microsoftEnvFor, startStack } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const deploy = join(root, 'deploy');
const read = (path: string) => readFileSync(join(deploy, path), 'utf8');
const dockerfile = read('Dockerfile');
const composeFiles = readdirSync(deploy).filter((f) => /^compose.*\.ya?ml$/.test(f));
const kubernetesFiles = readdirSync(join(deploy, 'kubernetes')).map((f) => `kubernetes/${f}`);
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** `npm start`'s command line (package.json), which the bench also gives the gateway it measures. */
const npmStart = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);

/** The production settings template, as `node --env-file`, compose's `env_file` and `kubectl --from-env-file` read it. */
const productionTemplate = read('production.env.example');
/**
 * Node 22.15's `parseEnv` (and so its `--env-file`) reads some commented `# NAME=value` lines as a variable
 * literally named `# NAME`; nothing reads such a name, so it is left out here as every other reader does.
 */
const productionEnv = Object.fromEntries(
  Object.entries(parseEnv(productionTemplate) as Record<string, string>).filter(([name]) => !name.startsWith('#')),
);
/** Variables the template offers commented out (`# NAME=value`): optional, off until uncommented. */
const productionOptional = parseEnv(
  productionTemplate
    .split('\n')
    .filter((line) => /^# [A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => line.slice(2))
    .join('\n'),
) as Record<string, string>;
/** What a reader puts in place of each `<placeholder>` of the template. */
const PLACEHOLDER_VALUES: Record<string, string> = {
  '<tenant-id>': '72f988bf-86f1-41af-91ab-2d7cd011db47',
  '<gateway-client-id>': '3c5e2f0a-9d1b-4c8e-a7f6-0b2d4e6f8a1c',
  '<gateway-client-secret>': 'Q~s3cr3t.v4lu3_from-entra',
  '<at-least-32-random-characters>': 'mK4pV8x2QeR7tY1uI9oP3aS6dF0gH5jL',
  '<redis-password>': 'redis-password',
  '<redis-host>': 'cache.contoso.example',
  '<your-web-app-host>': 'app.contoso.example',
  '<collector-host>': 'otel-collector.observability',
};
const placeholdersIn = (value: string) => value.match(/<[^<>]+>/g) ?? [];
const fill = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value.replace(/<[^<>]+>/g, (p) => PLACEHOLDER_VALUES[p] ?? p)]));

/** The run stage: everything after the last FROM. */
const runStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
/** `CMD [...]` of the run stage, as the image runs it. */
const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runStage)![1]!) as string[];
/** `ENV KEY=value` of the run stage. */
const imageEnv = Object.fromEntries([...runStage.matchAll(/^ENV (\w+)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]));

/** Every environment variable a deploy file sets: ENV lines, compose `KEY: value`, Kubernetes env names and ConfigMap/Secret keys. */
function variablesSet(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/^ENV (\w+)=/gm)) names.add(m[1]!);
  for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)) names.add(m[1]!);
  for (const m of text.matchAll(/-\s+name:\s+([A-Z][A-Z0-9_]*)\s*$/gm)) names.add(m[1]!);
  return [...names];
}

describe('deploy files', () => {
  const known = new Set(Object.keys(envSchema.shape));

  it.each(['Dockerfile', ...composeFiles, ...kubernetesFiles])('%s sets only variables the config schema reads', (file) => {
    const names = variablesSet(read(file));
    if (file !== 'kubernetes/redis.yaml') expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });

  it('the image runs node on the built entry point, in production, as a non-root user, with the probes on /healthz', () => {
    // The same node flags as `npm start` (package.json), which the bench also gives the gateway it measures.
    expect(cmd).toEqual(npmStart);
    expect(cmd.at(-1)).toBe('dist/src/main.js');
    expect(runStage).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(runStage).toMatch(/^USER node$/m);
    expect(runStage).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(imageEnv.NODE_ENV).toBe('production');
    expect(runStage).toMatch(/^EXPOSE (\d+)$/m);
    expect(/^EXPOSE (\d+)$/m.exec(runStage)![1]).toBe(imageEnv.PORT);
    expect(runStage).toMatch(/HEALTHCHECK[\s\S]*'\/healthz'/);
  });

  it('Kubernetes probes /readyz and /healthz on the port the gateway listens on, with a grace period above the drain', () => {
    const manifest = read('kubernetes/gateway.yaml');
    const port = /^\s+PORT: "(\d+)"$/m.exec(manifest)![1];
    expect(/containerPort: (\d+)/.exec(manifest)![1]).toBe(port);
    expect(manifest).toMatch(/readinessProbe:\s+httpGet: \{ path: \/readyz, port: http \}/);
    expect(manifest).toMatch(/livenessProbe:\s+httpGet: \{ path: \/healthz, port: http \}/);
    expect(manifest).toMatch(/- name: http\s+containerPort:/);
    // src/main.ts exits after UPSTREAM_DEADLINE_MS + 5 s of draining; preStop sleeps first.
    const deadlineMs = Number(/^\s+UPSTREAM_DEADLINE_MS: "(\d+)"$/m.exec(manifest)![1]);
    const preStopSeconds = Number(/command: \["sleep", "(\d+)"\]/.exec(manifest)?.[1] ?? 0);
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(manifest)![1]);
    expect(grace * 1000).toBeGreaterThan(preStopSeconds * 1000 + deadlineMs + 5000);
    expect(manifest).toMatch(/kind: PodDisruptionBudget/);
  });

  it.each(composeFiles)('%s: gateways sharing a network namespace listen on distinct ports (PORT and METRICS_PORT)', (file) => {
    const text = read(file);
    const [head, body = ''] = text.split(/^services:$/m);
    // A variable set in an anchor (before `services:`) applies to every service merging it; else the defaults.
    const inherited = (name: string, fallback: string) => new RegExp(`^\\s+${name}: "?(\\d+)"?$`, 'm').exec(head!)?.[1] ?? fallback;
    const blocks = [...body.matchAll(/^ {2}([\w-]+):\n((?: {4,}.*\n?|\n)*)/gm)].map((m) => ({ name: m[1]!, text: m[2]! }));
    const gateways = blocks.filter((b) => /<<: \*gateway\b/.test(b.text));
    expect(gateways.length).toBeGreaterThan(0);
    const byNamespace = new Map<string, string[]>();
    for (const g of gateways) {
      const namespace = /network_mode: service:([\w-]+)/.exec(g.text)?.[1] ?? g.name;
      const replicas = Number(/replicas: (\d+)/.exec(g.text)?.[1] ?? 1);
      const port = /^\s+PORT: "?(\d+)"?$/m.exec(g.text)?.[1] ?? inherited('PORT', imageEnv.PORT!);
      const metricsPort = /^\s+METRICS_PORT: "?(\d+)"?$/m.exec(g.text)?.[1] ?? inherited('METRICS_PORT', '9464');
      // `deploy.replicas` are containers of their own, each in its own namespace.
      for (let i = 0; i < (namespace === g.name ? 1 : replicas); i++) byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), port, metricsPort]);
    }
    for (const ports of byNamespace.values()) expect(new Set(ports).size).toBe(ports.length);
  });

  it('the probe paths answer 200 on a running gateway', async () => {
    const stack = await startStack();
    try {
      const paths = new Set(
        [...[...kubernetesFiles.map(read), dockerfile].join('\n').matchAll(/(\/(?:readyz|healthz))\b/g)].map((m) => m[1]!),
      );
      expect([...paths].sort()).toEqual(['/healthz', '/readyz']);
      for (const path of paths) expect((await fetch(`${stack.url}${path}`)).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});

describe('the README and the deploy files quote the start command as it is', () => {
  it("quotes the Dockerfile's CMD exactly", () => {
    const quoted = [...readme.matchAll(/CMD (\[[^\]\n]*\])/g)].map((m) => JSON.parse(m[1]!) as string[]);
    expect(quoted.length).toBeGreaterThan(0);
    for (const q of quoted) expect(q).toEqual(cmd);
  });

  it("gives every node command line that starts the gateway npm start's node flags", () => {
    const texts = [readme, productionTemplate, ...composeFiles.map(read), ...kubernetesFiles.map(read), dockerfile];
    const lines = texts.flatMap((text) => [...text.matchAll(/\bnode((?: --?[\w.=/-]+)*) dist\/src\/main\.js/g)].map((m) => m[0]));
    expect(lines.length).toBeGreaterThan(2);
    const flags = npmStart.slice(1, -1);
    for (const line of lines) expect({ line, flags: line.split(/\s+/).slice(1, -1) }).toEqual({ line, flags: expect.arrayContaining(flags) });
  });
});

describe('deploy/production.env.example', () => {
  const known = new Set(Object.keys(envSchema.shape));

  it('names only variables the config schema reads, each under a one-line comment, as plain KEY=value lines', () => {
    const names = [...Object.keys(productionEnv), ...Object.keys(productionOptional)];
    expect(names.filter((name) => !known.has(name))).toEqual([]);
    const lines = productionTemplate.split('\n');
    const isVariable = (line: string) => /^(# )?[A-Z][A-Z0-9_]*=/.test(line);
    lines.forEach((line, i) => {
      if (!isVariable(line)) return;
      const above = lines[i - 1] ?? '';
      expect({ line, above: above.startsWith('# ') && !isVariable(above) }).toEqual({ line, above: true });
      // node --env-file, compose's env_file and kubectl --from-env-file agree on these only.
      if (!line.startsWith('#')) expect(line).toMatch(/^[A-Z][A-Z0-9_]*=[^\s'"#]*$/);
    });
  });

  it('filled in, is a production configuration for several replicas (and tracing, once uncommented)', () => {
    const placeholders = [...Object.values(productionEnv), ...Object.values(productionOptional)].flatMap(placeholdersIn);
    expect(placeholders.filter((p) => !(p in PLACEHOLDER_VALUES))).toEqual([]);
    const config = loadConfig(fill(productionEnv));
    expect(config).toMatchObject({ production: true, upstream: 'microsoft', upstreamAuth: 'on-behalf-of', cloud: 'global', trustProxy: 1 });
    expect(config.redisUrl).toMatch(/^rediss:\/\//);
    expect(config.cursorSecret).toBeDefined();
    expect(config.corsOrigins).toEqual(['https://app.contoso.example']);
    expect(config.tracing).toBeUndefined();
    const optional = loadConfig({ ...fill(productionEnv), ...fill(productionOptional) });
    expect(optional.tracing).toMatchObject({ sampler: 'traceidratio', samplerRatio: 0.1 });
    expect(optional.redisKeyPrefix).toBe('partner-bff-production:');
  });

  it('leaves the secrets and identities to the reader (placeholders), and as shipped is refused', () => {
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'CURSOR_SECRET', 'REDIS_URL']) {
      expect({ name, placeholders: placeholdersIn(productionEnv[name] ?? '').length > 0 }).toEqual({ name, placeholders: true });
    }
    expect(() => loadConfig(productionEnv)).toThrow(ConfigError);
  });

  it('is what compose and Kubernetes read, and the filled-in copy stays out of git and of the image', () => {
    expect(read('compose.production.yaml')).toMatch(/^ {2}env_file: production\.env$/m);
    expect(read('kubernetes/gateway.yaml')).toMatch(/kubectl create secret generic partner-bff-gateway --from-env-file=deploy\/production\.env/);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toMatch(/^deploy\/production\.env$/m);
    expect(read('Dockerfile.dockerignore')).toMatch(/^deploy\/\*\.env$/m);
    expect(readme).toContain('deploy/production.env.example');
  });
});

describe('the Kubernetes manifest and the image it runs', () => {
  const manifest = read('kubernetes/gateway.yaml');

  it('names a placeholder image to replace (nothing a cluster would pull from Docker Hub) with a deliberate pull policy', () => {
    const images = [...manifest.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]!);
    expect(images).toEqual(['<registry>/partner-bff-gateway:<version>']);
    expect(manifest).toMatch(/^\s+imagePullPolicy: IfNotPresent$/m);
    // The README says how to build, tag and push it, or load it into kind.
    expect(readme).toMatch(/docker build -f deploy\/Dockerfile -t <registry>\/partner-bff-gateway:<version> \./);
    expect(readme).toContain('docker push <registry>/partner-bff-gateway:<version>');
    expect(readme).toMatch(/kind load docker-image partner-bff-gateway:\S+/);
  });

  it('takes the settings from the Secret and lets its ConfigMap (the ports the probes name) win', () => {
    expect(manifest).toMatch(/envFrom:\s+- secretRef: \{ name: partner-bff-gateway \}.*\n\s+- configMapRef: \{ name: partner-bff-gateway \}/);
    expect(manifest).not.toMatch(/^kind: Secret$/m);
  });
});

/**
 * `npm ci --omit=dev`, as the Dockerfile runs it but offline (from the npm cache the build filled), into a
 * folder kept per package-lock.json: the install is the slow part (hundreds of MB), so later runs on this
 * machine reuse it. Written to a temporary name and renamed when complete, so a broken install is never reused.
 */
function productionDependencies(): string {
  const files = ['package.json', 'package-lock.json'];
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(join(root, file)));
  const target = join(tmpdir(), `gateway-production-deps-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(target, 'node_modules'))) return target;
  const partial = `${target}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  for (const file of files) cpSync(join(root, file), join(partial, file));
  const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--offline'], { cwd: partial, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`npm ci --omit=dev --offline failed (${install.status}):\n${install.stderr}`);
  try {
    renameSync(partial, target);
  } catch {
    rmSync(partial, { recursive: true, force: true }); // another run finished first
  }
  return target;
}

describe('the image contents (production dependencies only, the exact CMD)', () => {
  let dir: string;
  beforeAll(() => {
    const dependencies = productionDependencies();
    dir = mkdtempSync(join(tmpdir(), 'gateway-image-'));
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    cpSync(join(root, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
    symlinkSync(join(dependencies, 'node_modules'), join(dir, 'node_modules'), 'dir');
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = redisAvailable ? await startRedis() : undefined;
  });
  afterAll(() => redis?.close());

  it('starts from production.env.example, filled in, with production dependencies only: answers on behalf of the caller, probes, metrics, then drains on SIGTERM', async () => {
    expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false); // no dev dependency
    expect(existsSync(join(dir, 'node_modules', 'redis'))).toBe(true);
    // Microsoft's hosts are out of reach here: the same API shape, on an emulator on loopback.
    const emulator = await startEmulator();
    // Metrics on, as the image runs by default, but on a free port: other tests may hold 9464.
    const metricsPort = await freePort();
    const env: Record<string, string> = {
      ...fill(productionEnv),
      ...imageEnv,
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: String(metricsPort),
      ...microsoftEnvFor(emulator),
      REDIS_URL: redis?.url ?? '',
    };
    // `node` is the Node this suite runs on (.ci/run runs it on 24 and on 22.15), not whatever PATH finds first.
    const command = cmd[0] === 'node' ? process.execPath : cmd[0]!;
    const main = startMain(env, { cwd: dir, command: [command, ...cmd.slice(1)] });
    try {
      const url = await main.listening();
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      if (redis) expect(((await ready.json()) as { redis: unknown }).redis).toMatchObject({ configured: true, reachable: true });
      // On behalf of the caller (UPSTREAM_AUTH=on-behalf-of with the gateway's app registration).
      const token = await emulator.mintToken({ scp: ALL_GATEWAY_SCOPES });
      const answer = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ supportProfile { id email } }' }),
      });
      const body = (await answer.json()) as { data?: { supportProfile?: { id?: string } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data?.supportProfile?.id).toEqual(expect.any(String));
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^gateway_http_request_duration_seconds_count\{/m);
      expect(await main.stop()).toBe(0);
    } finally {
      main.child.kill('SIGKILL');
      await emulator.close();
    }
  });
});
