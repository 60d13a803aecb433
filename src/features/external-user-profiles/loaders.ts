import DataLoader from 'dataloader';
import type { ExternalUserProfileRead, ExternalUserProfileResource, GraphClient } from '../../upstream/graph.js';

/**
 * Per request: profile reads by id, each with the Graph properties its selection needs (selection.ts).
 *
 * Batching: every read of one tick (aliased fields, profiles inside other objects) is collected and sent as
 * Graph `$batch` requests of at most 20 (docs/upstream.md §2.6), which the Graph client sends in parallel and
 * matches back by id. The batch function returns values or Errors aligned with its keys, so a 404 is that
 * one field's NOT_FOUND. `onBatch` is told each batch's size (metrics).
 *
 * Selections: reads of one id with different selections in one tick share ONE sub-request, with the union
 * of their properties (the Graph client merges them), rather than the selection being part of the key.
 * Why: Graph throttles and bills per request, and a `$batch` holds only 20; `p1: externalUserProfile(id: X)
 * { displayName } p2: externalUserProfile(id: X) { jobTitle }` as two sub-requests would cost twice the
 * throttle budget and batch room for a few bytes saved. The union is safe because every read gets at least
 * what it asked for.
 *
 * Caching (per request, as DataLoader's): an answer is reused by a later read of the same id only when the
 * properties it was asked with cover the later read's; otherwise the later read goes to Graph again. So an
 * answer fetched (or primed from a list page) with a narrow `$select` is never handed to a wider selection,
 * whose extra fields would come back null by mistake.
 */
export interface ExternalUserProfileLoader {
  /** The profile `id` with at least the properties `select` names (`undefined`: every property). */
  load(id: string, select: readonly string[] | undefined): Promise<ExternalUserProfileResource>;
  /** Remembers a profile read elsewhere (a list page) with the properties it was read with. */
  prime(resource: ExternalUserProfileResource, select: readonly string[] | undefined): void;
  /** Forgets every answer for `id` (after a write). */
  clear(id: string): void;
}

interface Known {
  /** The properties the answer was asked with; `undefined`: every property. */
  readonly select: ReadonlySet<string> | undefined;
  readonly value: Promise<ExternalUserProfileResource>;
}

const covers = (known: ReadonlySet<string> | undefined, wanted: readonly string[] | undefined): boolean =>
  known === undefined || (wanted !== undefined && wanted.every((p) => known.has(p)));

export function createExternalUserProfileLoader(graph: GraphClient, onBatch?: (size: number) => void): ExternalUserProfileLoader {
  // The loader's own cache is off: ours below knows which properties each answer holds. maxBatchSize is
  // left unbounded: the client splits into $batch chunks of 20 and sends them in parallel.
  const batches = new DataLoader<ExternalUserProfileRead, ExternalUserProfileResource>(
    (reads) => {
      onBatch?.(reads.length);
      return graph.batchGetExternalUserProfiles(reads);
    },
    { cache: false },
  );
  const known = new Map<string, Known[]>();
  const remember = (id: string, entry: Known): void => {
    const list = known.get(id);
    if (list) list.push(entry);
    else known.set(id, [entry]);
  };

  return {
    load(id, select) {
      const hit = known.get(id)?.find((k) => covers(k.select, select));
      if (hit) return hit.value;
      const value = batches.load({ id, select });
      const entry: Known = { select: select && new Set(select), value };
      remember(id, entry);
      // A failed read is not reused: the next read of the id asks Graph again (dataloader's README).
      value.catch(() => {
        const list = known.get(id);
        if (list) known.set(id, list.filter((k) => k !== entry));
      });
      return value;
    },
    prime(resource, select) {
      remember(resource.id, { select: select && new Set(select), value: Promise.resolve(resource) });
    },
    clear(id) {
      known.delete(id);
    },
  };
}
