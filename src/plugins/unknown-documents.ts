/**
 * What `PERSISTED_QUERIES_LOG_UNKNOWN=true` reports about a document that is not in the persisted query
 * manifest (the rollout step between `allow` and `only`): one log line per document hash per interval
 * (an hour by default) on this replica, and a count on every request (`gateway_persisted_queries_unknown_total`).
 *
 * The line names the document by its hash (the SHA-256 hex of the text as sent, the hash APQ computes,
 * so a team can find it with `shasum -a 256` or in its own APQ traffic), its operation name and the
 * client from Apollo's client-awareness headers. Never the document itself: its literals may hold
 * personal data or secrets.
 */
import type { Logger } from '../logger.js';

/** A document that ran (or, with `only`, was refused) without being in the manifest. */
export interface UnknownDocument {
  /** SHA-256 hex of the document text. */
  readonly hash: string;
  readonly operationName?: string;
  /** `apollographql-client-name`, already bounded to printable ASCII. */
  readonly clientName?: string;
  /** `apollographql-client-version`, the same way. */
  readonly clientVersion?: string;
  /** Whether the document ran (`allow`) or was refused (`only`). */
  readonly outcome: 'ran' | 'refused';
}

export interface UnknownDocumentReporterOptions {
  /** Where the lines go (the gateway's logger). */
  readonly log: Logger;
  /** Told of every unknown document (the metric). @default none */
  readonly count?: (clientName: string | undefined) => void;
  /** A hash is logged again once this long has passed since its last line. @default 3_600_000 (an hour) */
  readonly intervalMs?: number;
  /**
   * Hashes remembered at most (the oldest line's hash is forgotten first, and may then be logged again
   * before its hour is up): a client sending ever new documents cannot grow the memory without bound.
   * @default 10_000
   */
  readonly maxHashes?: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** Reports one unknown document: counts it, and logs it unless its hash was logged within the interval. */
export type UnknownDocumentReporter = (document: UnknownDocument) => void;

export function createUnknownDocumentReporter(options: UnknownDocumentReporterOptions): UnknownDocumentReporter {
  const { log, count } = options;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const maxHashes = Math.max(1, options.maxHashes ?? 10_000);
  const now = options.now ?? Date.now;
  /** Hash -> when it was last logged, oldest first (a logged hash is moved to the end). */
  const lastLogged = new Map<string, number>();

  return (document) => {
    count?.(document.clientName);
    const at = now();
    const last = lastLogged.get(document.hash);
    if (last !== undefined && at - last < intervalMs) return;
    lastLogged.delete(document.hash);
    lastLogged.set(document.hash, at);
    if (lastLogged.size > maxHashes) lastLogged.delete(lastLogged.keys().next().value!);
    log.warn(
      {
        documentHash: document.hash,
        operationName: document.operationName,
        clientName: document.clientName,
        clientVersion: document.clientVersion,
        outcome: document.outcome,
      },
      document.outcome === 'ran'
        ? 'document not in the persisted query manifest (it ran; PERSISTED_QUERIES=only would refuse it)'
        : 'document not in the persisted query manifest (refused)',
    );
  };
}
