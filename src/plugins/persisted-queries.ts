/**
 * Persisted queries for mobile and locked-down clients (DESIGN.md, Configuration: `PERSISTED_QUERIES`).
 *
 * - `allow` (default): Apollo's Automatic Persisted Queries stay on (hash first; on
 *   `PERSISTED_QUERY_NOT_FOUND` the client resends with the document, which registers it) with Apollo
 *   Server's default bounded in-memory cache (an LRU of about 30 MiB). When a manifest is configured,
 *   its ids are accepted as persisted query hashes too, and any other document still runs.
 * - `only`: only the manifest's documents run. A hash the manifest does not know is
 *   `PERSISTED_QUERY_NOT_FOUND` (APQ registration is off, so nothing new can be registered); a full
 *   document whose text is not in the manifest is refused `BAD_REQUEST` before execution, so it never
 *   reaches a resolver or an upstream. A document sent in full is accepted when it is byte-for-byte a
 *   manifest body (like a trusted-document safelist).
 * - `off`: no APQ and no manifest: every request carries its document.
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
import { GraphQLError } from 'graphql';
import { ConfigError, type Config } from '../config.js';

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
  /** The loaded manifest, if `PERSISTED_QUERIES_MANIFEST` is set. @default none */
  readonly manifest?: PersistedQueryManifest;
}

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
  const { mode, manifest } = options;
  if (mode === 'off' || (mode === 'allow' && !manifest)) return undefined;
  const byId = manifest?.byId ?? new Map<string, string>();
  const bodyHashes = manifest?.bodyHashes ?? new Set<string>();
  return {
    async requestDidStart({ request }) {
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
      if (mode !== 'only') return;
      return {
        // The first hook whose errors Apollo answers as a client error (HTTP 400), not a 500: parsing and
        // validation (with the query limits) have run, execution has not.
        async didResolveOperation({ source }) {
          if (!bodyHashes.has(sha256(source))) throw notInManifestError();
        },
      };
    },
  };
}
