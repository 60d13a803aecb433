/**
 * An APQ hash is checked before Apollo Server sees the request (README, Web and mobile clients). Apollo uses
 * `extensions.persistedQuery.sha256Hash` as a cache key at the very start of its pipeline, before any
 * plugin can refuse the request: a hash of the caller's choosing (any bytes and any length: CRLF and
 * Redis protocol text, 400,000 characters) would become a store key (`<REDIS_KEY_PREFIX>apq:<hash>`), and
 * a store that throws on it would turn into a 500. So a `persistedQuery` whose `sha256Hash` is not 64 hex
 * digits is refused `BAD_REQUEST` (HTTP 400) here, in POST bodies and GET query strings alike, unless it is
 * an id of the configured manifest (those are swapped for their document before Apollo looks up anything:
 * plugins/persisted-queries.ts). The message never repeats the hash.
 */
import type { FastifyRequest } from 'fastify';

/** Options of `persistedQueryHashCheck`. */
export interface PersistedQueryHashCheckOptions {
  /** Whether `id` is an id of the persisted query manifest (accepted whatever its form). @default none is */
  readonly isManifestId?: (id: string) => boolean;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** What the refusal says: the rule, never the value. */
export const PERSISTED_QUERY_HASH_MESSAGE = 'extensions.persistedQuery.sha256Hash must be the SHA-256 of the document as 64 hexadecimal digits';

/** A refusal the error handler (plugins/error-handler.ts) answers as HTTP 400 `BAD_REQUEST`. */
class PersistedQueryHashError extends Error {
  readonly statusCode = 400;
  constructor() {
    super(PERSISTED_QUERY_HASH_MESSAGE);
  }
}

/**
 * A route hook for `/graphql` (before the handler): throws the 400 refusal for a malformed APQ hash.
 * Requests Apollo refuses anyway for their shape (a string or malformed `extensions`, a batch) are left to it.
 */
export function persistedQueryHashCheck(options: PersistedQueryHashCheckOptions = {}): (request: FastifyRequest) => Promise<void> {
  const isManifestId = options.isManifestId ?? (() => false);
  const check = (extensions: unknown): void => {
    if (typeof extensions !== 'object' || extensions === null) return;
    const persisted = (extensions as { persistedQuery?: unknown }).persistedQuery;
    // Apollo reads the hash whenever `persistedQuery` is truthy.
    if (!persisted) return;
    const hash = typeof persisted === 'object' ? (persisted as { sha256Hash?: unknown }).sha256Hash : undefined;
    if (typeof hash === 'string' && (SHA256_HEX.test(hash) || isManifestId(hash))) return;
    throw new PersistedQueryHashError();
  };
  return async (request) => {
    if (request.method === 'GET') {
      const at = request.url.indexOf('?');
      if (at < 0) return;
      for (const raw of new URLSearchParams(request.url.slice(at + 1)).getAll('extensions')) {
        let extensions: unknown;
        try {
          extensions = JSON.parse(raw);
        } catch {
          continue; // Apollo answers invalid JSON itself (400), before any lookup
        }
        check(extensions);
      }
      return;
    }
    const body = request.body;
    for (const operation of Array.isArray(body) ? body : [body]) {
      if (typeof operation === 'object' && operation !== null) check((operation as { extensions?: unknown }).extensions);
    }
  };
}
