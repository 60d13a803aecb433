/**
 * A tiny static server for browser tests: one HTML page, the project's `node_modules` as ES modules
 * (no bundler: the page's import map points bare specifiers such as `@apollo/client` at the packages'
 * own ESM files), and `POST /report`, where the page posts what happened.
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { listenOnLoopback } from './loopback.js';

/** Export conditions a browser-targeting bundler would use, in order of preference. */
const CONDITIONS = ['browser', 'module', 'import', 'default'];

type Exports = string | { [key: string]: Exports } | null;

/** Resolves one entry of a package's `exports` with {@link CONDITIONS}. */
function pickCondition(target: Exports): string | undefined {
  if (typeof target === 'string') return target;
  if (!target) return undefined;
  for (const condition of CONDITIONS) {
    if (condition in target) {
      const picked = pickCondition(target[condition]!);
      if (picked) return picked;
    }
  }
  return undefined;
}

interface PackageJson {
  module?: string;
  main?: string;
  exports?: Exports;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * An import map for `roots` and, transitively, every installed dependency and peer dependency of
 * theirs: each package's `.` and non-wildcard `exports` subpaths, and for packages without `exports`
 * their `module` (else `main`) plus a `pkg/` prefix for deep imports.
 */
export function importMapFor(nodeModules: string, roots: readonly string[], base = '/node_modules/'): { imports: Record<string, string> } {
  const imports: Record<string, string> = {};
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(readFileSync(join(nodeModules, name, 'package.json'), 'utf8')) as PackageJson;
    } catch {
      continue; // an optional peer that is not installed
    }
    const url = (file: string) => `${base}${name}/${file.replace(/^\.\//, '')}`;
    const exportsField = pkg.exports;
    if (exportsField && typeof exportsField === 'object' && Object.keys(exportsField).some((k) => k.startsWith('.'))) {
      for (const [subpath, target] of Object.entries(exportsField)) {
        if (subpath.includes('*') || subpath.endsWith('/')) continue;
        const file = pickCondition(target);
        if (file) imports[subpath === '.' ? name : `${name}/${subpath.slice(2)}`] = url(file);
      }
    } else {
      const entry = pickCondition(exportsField ?? null) ?? pkg.module ?? pkg.main ?? 'index.js';
      imports[name] = url(entry);
      imports[`${name}/`] = url('');
    }
    queue.push(...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}));
  }
  return { imports };
}

export interface StaticPage {
  /** The page's URL, on `http://localhost:<port>/` (a localhost origin, as a dev server's). */
  readonly url: string;
  /** Resolves with the first body the page posts to `/report`. */
  readonly report: Promise<unknown>;
  /** Paths the page asked for that were not served (a missing module shows here). */
  readonly misses: string[];
  close(): Promise<void>;
}

/** Serves `html` on `/` and `nodeModules` under `/node_modules/`, on 127.0.0.1 and an ephemeral port. */
export async function serveStaticPage(html: string, nodeModules: string): Promise<StaticPage> {
  let resolveReport!: (body: unknown) => void;
  const report = new Promise<unknown>((resolve) => (resolveReport = resolve));
  const misses: string[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
      if (request.method === 'POST' && path === '/report') {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        response.writeHead(204).end();
        resolveReport(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        return;
      }
      if (request.method === 'GET' && path === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
        return;
      }
      if (request.method === 'GET' && path.startsWith('/node_modules/')) {
        const file = normalize(join(nodeModules, path.slice('/node_modules/'.length)));
        if (file.startsWith(nodeModules + sep)) {
          if (/\.(m?js|json)$/.test(path)) {
            try {
              const body = await readFile(file);
              response.writeHead(200, { 'content-type': path.endsWith('.json') ? 'application/json' : 'text/javascript; charset=utf-8' }).end(body);
              return;
            } catch {
              // fall through to 404
            }
          } else {
            // Extensionless relative imports (rxjs's ESM build is written for bundlers): redirect as a dev
            // server resolves them, so the module's URL, and so its own relative imports, stay right.
            for (const suffix of ['.js', '/index.js']) {
              if (await stat(file + suffix).then((s) => s.isFile(), () => false)) {
                response.writeHead(302, { location: path + suffix }).end();
                return;
              }
            }
          }
        }
      }
      misses.push(path);
      response.writeHead(404).end();
    })().catch(() => response.writeHead(500).end());
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://localhost:${port}/`,
    report,
    misses,
    close,
  };
}
