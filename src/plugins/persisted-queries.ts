/**
 * Persisted queries for mobile and locked-down clients (README, Configuration: `PERSISTED_QUERIES`).
 *
 * - `allow` (default): Apollo's Automatic Persisted Queries stay on (hash first; on
 *   `PERSISTED_QUERY_NOT_FOUND` the client resends with the document, which registers it) with Apollo
 *   Server's default bounded in-memory cache (an LRU of about 30 MiB). When a manifest is configured,
 *   its ids are accepted as persisted query hashes too, and any other document still runs.
 * - `only`: only the manifest's documents run. A hash the manifest does not know is
 *   `PERSISTED_QUERY_NOT_FOUND` (APQ registration is off, so nothing new can be registered); a full
 *   document whose text is not in the manifest is refused `BAD_REQUEST` before execution, so it never
 *   reaches a resolver or an upstream. A document sent in full is accepted when it is byte-for-byte a
 *   manifest body (like a trusted-document safelist), or prints as one the way Apollo's manifest generator
 *   prints it (`manifestForm`: graphql-js `print` with operations before fragments, each sorted by
 *   name), so an Apollo Client that sends its documents in full, or hashes them as it prints them, is
 *   accepted whatever the order of its fragments.
 * - `off`: no APQ and no manifest: every request carries its document.
 *
 * With `PERSISTED_QUERIES_LOG_UNKNOWN=true` (the rollout step between `allow` and `only`), a document
 * that is not a manifest body is reported (unknown-documents.ts) once parsed and validated: with `allow`
 * before it runs, with `only` before it is refused. The manifest file is read again on SIGHUP
 * (`PersistedQueryManifestFile.reload`); a bad file keeps the manifest in force.
 *
 * The manifest is Apollo's persisted query manifest JSON (what `@apollo/generate-persisted-query-manifest`
 * writes): `{ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id, name, type, body }] }`.
 * Ids are usually the SHA-256 of the body, but any string is accepted: a client sends it as
 * `extensions.persistedQuery.sha256Hash`, and this plugin swaps in the body before Apollo looks at the
 * request, dropping the `persistedQuery` extension so Apollo neither re-hashes nor re-registers it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { GraphQLError, Kind, print, type DefinitionNode, type DocumentNode } from 'graphql';
import { ConfigError, type Config } from '../config.js';
import { clientIdentity } from './request-log.js';
import type { UnknownDocumentReporter } from './unknown-documents.js';

export type PersistedQueriesMode = Config['persistedQueries']['mode'];

/** One operation of the manifest. */
export interface PersistedOperation {
  readonly id: string;
  readonly name?: string;
  readonly type?: 'query' | 'mutation' | 'subscription';
  readonly body: string;
}

/** A loaded manifest: bodies by id, and the SHA-256 of every body (to recognise documents sent in full). */
export interface PersistedQueryManifest {
  readonly byId: ReadonlyMap<string, string>;
  readonly bodyHashes: ReadonlySet<string>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Validates a parsed manifest file; the error names the variable, as every configuration error does. */
export function parsePersistedQueryManifest(json: unknown, source = 'PERSISTED_QUERIES_MANIFEST'): PersistedQueryManifest {
  const fail = (why: string): never => {
    throw new ConfigError(`${source} ${why}`);
  };
  if (typeof json !== 'object' || json === null) return fail('must hold a JSON object');
  const manifest = json as { format?: unknown; version?: unknown; operations?: unknown };
  if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1) {
    fail('must be an Apollo persisted query manifest (format "apollo-persisted-query-manifest", version 1)');
  }
  if (!Array.isArray(manifest.operations)) return fail('must list its operations in "operations"');
  const byId = new Map<string, string>();
  const bodyHashes = new Set<string>();
  manifest.operations.forEach((operation: unknown, index) => {
    const { id, body } = (operation ?? {}) as Partial<PersistedOperation>;
    if (typeof id !== 'string' || !id || typeof body !== 'string' || !body) {
      fail(`operation ${index} needs a non-empty string "id" and "body"`);
    }
    if (byId.has(id!) && byId.get(id!) !== body) fail(`lists id ${JSON.stringify(id)} twice with different bodies`);
    byId.set(id!, body!);
    bodyHashes.add(sha256(body!));
  });
  return { byId, bodyHashes };
}

/** Reads and validates the manifest file named by `PERSISTED_QUERIES_MANIFEST`. */
export async function loadPersistedQueryManifest(path: string): Promise<PersistedQueryManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`PERSISTED_QUERIES_MANIFEST cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`PERSISTED_QUERIES_MANIFEST is not valid JSON: ${path}`);
  }
  return parsePersistedQueryManifest(json);
}

/** The manifest in force and its file, read again by `reload()`. */
export interface PersistedQueryManifestFile {
  readonly path: string;
  /** Swapped whole by `reload()`: a request works with the one it started with. */
  readonly current: PersistedQueryManifest;
  /** Reads the file again; a file that cannot be read or is not a manifest throws (ConfigError) and changes nothing. */
  reload(): Promise<PersistedQueryManifest>;
}

/** Reads the manifest file (a bad one throws, to stop the start-up) and returns it with its reloader. */
export async function openPersistedQueryManifest(path: string): Promise<PersistedQueryManifestFile> {
  let current = await loadPersistedQueryManifest(path);
  return {
    path,
    get current() {
      return current;
    },
    async reload() {
      current = await loadPersistedQueryManifest(path);
      return current;
    },
  };
}

/**
 * A document as `@apollo/generate-persisted-query-manifest` writes its body: `print` of the document with
 * its operations first, then its fragments, each kind sorted by name (`sortTopLevelDefinitions` of
 * `@apollo/persisted-query-lists`, which imports Apollo Client, so it is restated here).
 */
export function manifestForm(document: DocumentNode): string {
  const nameOf = (d: DefinitionNode) => (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION ? (d.name?.value ?? '') : '');
  const definitions = [...document.definitions].sort((a, b) =>
    a.kind !== b.kind ? (a.kind > b.kind ? -1 : 1) : nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0,
  );
  return print({ ...document, definitions });
}

/** An APQ cache that stores nothing: with `only`, clients cannot register new documents. */
const NOTHING_CACHE = {
  async get(): Promise<string | undefined> {
    return undefined;
  },
  async set(): Promise<void> {},
  async delete(): Promise<boolean> {
    return false;
  },
};

/**
 * Apollo Server's `persistedQueries` option for a mode. `cache` is the APQ registry for `allow` (the
 * Redis one shared by replicas, src/state/apq-cache.ts). @default Apollo's in-memory cache
 */
export function persistedQueriesOption(mode: PersistedQueriesMode, cache?: KeyValueCache<string>): ApolloServerOptions<BaseContext>['persistedQueries'] {
  switch (mode) {
    case 'off':
      return false;
    case 'allow':
      return cache ? { cache } : {}; // Apollo's default: the server's bounded in-memory LRU cache.
    case 'only':
      return { cache: NOTHING_CACHE };
    default: {
      const unknown: never = mode;
      throw new Error(`unknown persisted queries mode ${String(unknown)}`);
    }
  }
}

export interface PersistedQueriesPluginOptions {
  /** `PERSISTED_QUERIES`. */
  readonly mode: PersistedQueriesMode;
  /** The manifest (read at each request's start), if `PERSISTED_QUERIES_MANIFEST` is set. @default none */
  readonly manifest?: { readonly current: PersistedQueryManifest };
  /** Told of every document that resolved but is not in the manifest (`PERSISTED_QUERIES_LOG_UNKNOWN`). @default none */
  readonly onUnknownDocument?: UnknownDocumentReporter;
}

const EMPTY_MANIFEST: PersistedQueryManifest = { byId: new Map(), bodyHashes: new Set() };

/** The refusal for a document outside the manifest with `PERSISTED_QUERIES=only`. */
export function notInManifestError(): GraphQLError {
  return new GraphQLError(
    'This server only runs operations from its persisted query manifest (PERSISTED_QUERIES=only), and this document is not in it',
    { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
  );
}

/**
 * Resolves manifest ids to their documents (before Apollo's APQ handling) and, with `only`, refuses any
 * other document once it is parsed and validated, before execution. Returns no plugin when there is
 * nothing to do.
 */
export function createPersistedQueriesPlugin<TContext extends BaseContext>(
  options: PersistedQueriesPluginOptions,
): ApolloServerPlugin<TContext> | undefined {
  const { mode, manifest, onUnknownDocument } = options;
  if (mode === 'off' || (mode === 'allow' && !manifest)) return undefined;
  const checksDocuments = mode === 'only' || onUnknownDocument !== undefined;
  return {
    async requestDidStart({ request }) {
      const { byId, bodyHashes } = manifest?.current ?? EMPTY_MANIFEST;
      // Runs before Apollo reads `query` and `extensions.persistedQuery` (requestPipeline.ts).
      const persisted = request.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
      if (request.query === undefined && persisted?.version === 1 && typeof persisted.sha256Hash === 'string') {
        const body = byId.get(persisted.sha256Hash);
        if (body !== undefined) {
          const { persistedQuery: _resolved, ...extensions } = request.extensions ?? {};
          request.query = body;
          request.extensions = extensions;
        }
      }
      if (!checksDocuments) return;
      return {
        // The first hook whose errors Apollo answers as a client error (HTTP 400), not a 500: parsing and
        // validation (with the query limits) have run, execution has not. `source` is the text as sent
        // (or as APQ registered it), so its SHA-256 is the hash APQ computes.
        async didResolveOperation({ source, document, operationName, request: resolved }) {
          const hash = sha256(source);
          if (bodyHashes.has(hash) || bodyHashes.has(sha256(manifestForm(document)))) return;
          if (onUnknownDocument) {
            const headers = resolved.http?.headers;
            onUnknownDocument({
              hash,
              operationName: operationName ?? undefined,
              ...clientIdentity({
                'apollographql-client-name': headers?.get('apollographql-client-name'),
                'apollographql-client-version': headers?.get('apollographql-client-version'),
              }),
              outcome: mode === 'only' ? 'refused' : 'ran',
            });
          }
          if (mode === 'only') throw notInManifestError();
        },
      };
    },
  };
}
