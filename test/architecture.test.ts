/**
 * The folders are the architecture (README, "How it works"): these checks keep modules from reaching
 * around one another as the code grows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Every module specifier a file imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

const files = sourceFiles(src).map((file) => ({ path: relative(src, file), imports: importsOf(file) }));
const under = (folder: string) => files.filter((f) => f.path.startsWith(`${folder}/`));

describe('architecture', () => {
  it('has one got instance: only src/upstream/transport.ts imports got', () => {
    expect(files.filter((f) => f.imports.includes('got')).map((f) => f.path)).toEqual(['upstream/transport.ts']);
  });

  it('keeps the transport generic: no upstream is named in src/upstream/transport.ts (each client passes its profile)', () => {
    const text = readFileSync(join(src, 'upstream/transport.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(text.match(/'(partner-center|graph)'|ms-\w+|client-request-id|retry-attempt/gi) ?? []).toEqual([]);
  });

  it('keeps the error family in one file: only src/errors.ts defines gateway error classes', () => {
    const definers = files.filter((f) => /\bextends\s+(GatewayError|TokenExchangeError)\b/.test(readFileSync(join(src, f.path), 'utf8'))).map((f) => f.path);
    expect(definers).toEqual(['errors.ts']);
  });

  it('keeps server.ts a composition root: Fastify hooks and the error handler live in src/plugins/', () => {
    const hookers = files.filter((f) => /\.(addHook|setErrorHandler)\(/.test(readFileSync(join(src, f.path), 'utf8'))).map((f) => f.path);
    expect(hookers.filter((p) => !p.startsWith('plugins/'))).toEqual([]);
  });

  it('keeps src/upstream/ free of GraphQL, auth and features', () => {
    const offenders = under('upstream').filter((f) =>
      f.imports.some((i) => i === 'graphql' || i === 'type-graphql' || /\/(auth|features|emulator)\//.test(i) || i.includes('context')),
    );
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('keeps src/auth/ off the upstream clients and the features', () => {
    const offenders = under('auth').filter((f) => f.imports.some((i) => /^\.\.\/(upstream|features|emulator)\//.test(i)));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('keeps the emulator self-contained: it imports nothing of the gateway', () => {
    const offenders = under('emulator').filter((f) => f.imports.some((i) => i.startsWith('../')));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('loads the emulator only from main.ts, and only dynamically (never with UPSTREAM=microsoft)', () => {
    const importers = files.filter((f) => !f.path.startsWith('emulator/') && f.imports.some((i) => i.includes('emulator/')));
    expect(importers.map((f) => f.path)).toEqual(['main.ts']);
    expect(readFileSync(join(src, 'main.ts'), 'utf8')).not.toMatch(/^import [^\n]*emulator\//m);
  });

  it('loads OpenTelemetry only with tracing on: only plugins/tracing/otel.ts imports it, and otel.ts is only imported dynamically', () => {
    const otelImporters = files.filter((f) => f.imports.some((i) => i.startsWith('@opentelemetry/')));
    expect(otelImporters.map((f) => f.path)).toEqual(['plugins/tracing/otel.ts']);
    const importersOfOtel = files.filter((f) => f.imports.some((i) => /(^|\/)otel\.js$/.test(i)));
    expect(importersOfOtel.map((f) => f.path)).toEqual(['plugins/tracing/tracing.ts']);
    // tracing.ts loads otel.js with import() only when tracing is configured; otel.ts loads the chosen exporter the same way.
    expect(readFileSync(join(src, 'plugins/tracing/tracing.ts'), 'utf8')).not.toMatch(/from '\.\/otel\.js'/);
    expect(readFileSync(join(src, 'plugins/tracing/otel.ts'), 'utf8')).not.toMatch(/from '@opentelemetry\/exporter-/);
  });

  it('keeps src/upstream/ and src/auth/ free of prom-client and OpenTelemetry (they report through observer interfaces)', () => {
    const offenders = [...under('upstream'), ...under('auth')].filter((f) => f.imports.some((i) => i === 'prom-client' || i.startsWith('@opentelemetry/') || i.includes('plugins/')));
    expect(offenders.map((f) => f.path)).toEqual([]);
    expect(files.filter((f) => f.imports.includes('prom-client')).map((f) => f.path).sort()).toEqual(['plugins/metrics/metrics.ts', 'plugins/metrics/server.ts']);
  });

  it('reads process.env only in config.ts (and the entry points)', () => {
    const readers = files.filter((f) => /process\.env/.test(readFileSync(join(src, f.path), 'utf8'))).map((f) => f.path);
    expect(readers.filter((p) => !['config.ts', 'emulator/token-cli.ts'].includes(p))).toEqual([]);
  });
});
