/**
 * A new user's first run (issue 19): what `npm start` prints is ready to use (hosted Sandbox link, a
 * curl line that works as pasted), a port already in use names the variable that moves it, `npm start`
 * compiles only src/, and the README shows the commands that work (`TOKEN=$(npm run -s token)`).
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { nodeVersionNotice } from '../src/node-version.js';
import { repoRoot as root, runMain, startMain } from './helpers/main-process.js';

/** Splits a shell command line of words and single-quoted strings (what the banner prints). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2]!);
  return words;
}

/** Runs a `curl -s URL -H 'name: value'... -d 'body'` line with fetch (no curl needed). */
async function runCurl(line: string): Promise<Response> {
  const [command, ...args] = shellWords(line);
  expect(command).toBe('curl');
  let url: string | undefined;
  let body: string | undefined;
  const headers = new Headers();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-s') continue;
    if (arg === '-H') {
      const header = args[++i]!;
      headers.append(header.slice(0, header.indexOf(':')), header.slice(header.indexOf(':') + 1).trim());
    } else if (arg === '-d') body = args[++i];
    else if (!arg.startsWith('-') && url === undefined) url = arg;
    else throw new Error(`unexpected curl argument ${arg}`);
  }
  return fetch(url!, { method: body === undefined ? 'GET' : 'POST', headers, body });
}

/** Starts `dist/src/main.js` on ephemeral ports and resolves to its banner once printed in full. */
async function startAndReadBanner(): Promise<{ banner: string; stop: () => Promise<void> }> {
  const main = startMain({ LOG_LEVEL: 'warn' });
  await main.waitFor(/Example ids/);
  return {
    banner: main.stdout(),
    async stop() {
      await main.stop();
    },
  };
}

describe('the start banner', () => {
  let banner: string;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ banner, stop } = await startAndReadBanner());
  }, 60_000);
  afterAll(() => stop());

  it('prints a ready hosted-Sandbox link to this endpoint beside the offline explorer', () => {
    const endpoint = /GraphQL endpoint and explorer \(open it in a browser\): (http:\/\/\S+)/.exec(banner)?.[1];
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    const sandbox = /(https:\/\/studio\.apollographql\.com\/\S+)/.exec(banner)?.[1];
    expect(sandbox).toBe(`https://studio.apollographql.com/sandbox/explorer?endpoint=${encodeURIComponent(endpoint!)}`);
    expect(new URL(sandbox!).searchParams.get('endpoint')).toBe(endpoint);
  });

  it('prints a curl line that runs a query as pasted', async () => {
    const line = banner.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl '));
    expect(line).toBeDefined();
    const response = await runCurl(line!);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data?: { viewer?: { authenticated?: boolean } } };
    expect(body.data?.viewer?.authenticated).toBe(true);
  });

  it('shows the other token commands one per line, each with -s and runnable as pasted (no `|` between choices)', () => {
    const lines = banner.split('\n');
    const heading = lines.findIndex((l) => l.trim().startsWith('Other tokens'));
    expect(heading).toBeGreaterThan(-1);
    const commands = lines.slice(heading + 1).map((l) => l.trim()).filter((l) => l.startsWith('npm run'));
    expect(commands.map((c) => c.replace(/ --url \S+/, '').replace(/^npm run -s token -- /, ''))).toEqual([
      '--scp "SupportProfile.Read CustomerUser.Read.All"',
      '--roles ExternalUserProfile.Read.All',
      '--msa',
    ]);
    for (const command of commands) {
      expect(command).not.toContain('|');
      // What `npm run -s token --` runs (package.json), through a shell as a pasted line would be.
      const pasted = command.replace(/^npm run -s token --/, `"${process.execPath}" dist/src/emulator/token-cli.js`);
      const result = spawnSync(pasted, { shell: true, cwd: root, encoding: 'utf8', timeout: 20_000 });
      expect({ command, status: result.status }).toEqual({ command, status: 0 });
      expect(result.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    }
  });
});

describe('a port already in use', () => {
  let holder: Server;
  let busy: number;
  beforeAll(async () => {
    holder = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    busy = (holder.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  const run = (env: Record<string, string>) => runMain({ LOG_LEVEL: 'warn', ...env }, 30_000);

  it("names PORT in one line when the gateway's port is taken", () => {
    const result = run({ PORT: String(busy), EMULATOR_PORT: '0' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `Gateway failed to start: 127.0.0.1:${busy} (PORT, the gateway) is already in use: stop what holds it, or set PORT to a free port (0 picks one)`,
    ]);
  });

  it('names METRICS_PORT in one line when the metrics port is taken (two replicas in one network namespace)', () => {
    const result = run({ PORT: '0', EMULATOR_PORT: '0', METRICS_PORT: String(busy) });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `Gateway failed to start: 127.0.0.1:${busy} (METRICS_PORT, the metrics listener) is already in use: stop what holds it, or set METRICS_PORT to a free port (0 turns metrics off)`,
    ]);
  });

  it("names EMULATOR_PORT in one line when the emulator's port is taken", () => {
    const result = run({ PORT: '0', EMULATOR_PORT: String(busy) });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `Gateway failed to start: 127.0.0.1:${busy} (EMULATOR_PORT, the embedded emulator) is already in use: stop what holds it, or set EMULATOR_PORT to a free port (0 picks one)`,
    ]);
  });
});

describe('npm scripts and README for a first run', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it('builds only src/ for npm start; npm test still type-checks the tests and the bench', () => {
    expect(pkg.scripts.prestart).toBe('npm run build');
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { extends: string; include: string[] };
    expect(build).toMatchObject({ extends: './tsconfig.json', include: ['src/**/*.ts'] });
    expect(pkg.scripts.pretest).toBe('tsc -p tsconfig.json');
    const full = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    expect(full.include).toEqual(expect.arrayContaining(['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts']));
  });

  it('shows TOKEN=$(npm run -s token) and never a bare $(npm run token)', () => {
    expect(readme).toContain('TOKEN=$(npm run -s token)');
    expect(readme).not.toMatch(/\$\(npm run token/);
  });
});

describe('a Node older than engines', () => {
  const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;

  it('is named in one line, below the floor only', () => {
    expect(engines).toMatch(/^>=\d+\.\d+$/);
    expect(nodeVersionNotice('22.14.0', '>=22.15')).toBe(
      'Node.js v22.14.0 is older than this gateway supports (22.15 or later, package.json engines): expect failures that do not say why; run it on Node 22.15+ (npm start uses the Node 24 that npm ci installs)',
    );
    expect(nodeVersionNotice('20.20.2', '>=22.15')).toMatch(/^Node\.js v20\.20\.2 is older/);
    for (const fine of ['22.15.0', '22.15.1', '22.16.0', '24.0.0', '23.0.0']) expect(nodeVersionNotice(fine, '>=22.15')).toBeUndefined();
    expect(nodeVersionNotice('18.0.0', '^22 || ^24')).toBeUndefined(); // a range of another form is not judged
    expect(nodeVersionNotice('18.0.0', undefined)).toBeUndefined();
  });

  it('makes the gateway say so first, at start, reading the floor from package.json', () => {
    // This Node made to report an older version, before main.js loads (as an older binary would).
    const older = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'22.14.0'})`;
    const result = spawnSync(process.execPath, ['--import', older, 'dist/src/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', CLOUD: 'nowhere' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1); // the configuration error below stops it
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([nodeVersionNotice('22.14.0', engines), 'Configuration error: CLOUD must be one of global, usgov, usgov-dod, china']);
  });

  it('stays silent on this Node', () => {
    const result = runMain({ CLOUD: 'nowhere' });
    expect(result.stderr.trim().split('\n')).toEqual(['Configuration error: CLOUD must be one of global, usgov, usgov-dod, china']);
  });
});
