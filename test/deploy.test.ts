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
import { envSchema } from '../src/config.js';
import { EMULATOR_GATEWAY_AUDIENCE, startEmulator } from '../src/emulator/index.js';
import { freePort } from './helpers/loopback.js';
import { startMain } from './helpers/main-process.js';
import { startStack } from './helpers/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const deploy = join(root, 'deploy');
const read = (path: string) => readFileSync(join(deploy, path), 'utf8');
const dockerfile = read('Dockerfile');
const composeFiles = readdirSync(deploy).filter((f) => /^compose.*\.ya?ml$/.test(f));
const kubernetesFiles = readdirSync(join(deploy, 'kubernetes')).map((f) => `kubernetes/${f}`);

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
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(cmd).toEqual(start.split(/\s+/));
    expect(cmd).toEqual(['node', '--max-semi-space-size=8', 'dist/src/main.js']);
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

  it('serves /healthz, /readyz and /metrics with production dependencies only, then drains on SIGTERM', async () => {
    expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false); // no dev dependency
    expect(existsSync(join(dir, 'node_modules', 'redis'))).toBe(true);
    // Production mode needs explicit upstreams: Microsoft's API shape, pointed at an emulator on loopback.
    const emulator = await startEmulator();
    // Metrics on, as the image runs by default, but on a free port: other tests may hold 9464.
    const metricsPort = await freePort();
    const env: Record<string, string> = {
      ...imageEnv,
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: String(metricsPort),
      UPSTREAM: 'microsoft',
      PARTNER_CENTER_URL: emulator.url,
      GRAPH_URL: emulator.url,
      AUTH_ISSUER: emulator.issuerTemplate,
      AUTH_JWKS_URL: emulator.jwksUrl,
      AUTH_AUDIENCE: EMULATOR_GATEWAY_AUDIENCE,
      UPSTREAM_AUTH: 'passthrough',
    };
    // `node` is the Node this suite runs on (.ci/run runs it on 24 and on 22.15), not whatever PATH finds first.
    const command = cmd[0] === 'node' ? process.execPath : cmd[0]!;
    const main = startMain(env, { cwd: dir, command: [command, ...cmd.slice(1)] });
    try {
      const url = await main.listening();
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
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
