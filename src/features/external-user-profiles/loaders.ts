import DataLoader from 'dataloader';
import type { ExternalUserProfileResource, GraphClient } from '../../upstream/graph.js';

export type ExternalUserProfileLoader = DataLoader<string, ExternalUserProfileResource>;

/**
 * Per request: every profile read in one tick (aliased fields, profiles inside other objects) is
 * collected and sent as Graph `$batch` requests of at most 20 (UPSTREAM.md §2.6), which the Graph
 * client sends in parallel and matches back by id. The batch function returns values or Errors aligned
 * with its keys, so a 404 is that one field's NOT_FOUND. `onBatch` is told each batch's size (metrics).
 */
export function createExternalUserProfileLoader(graph: GraphClient, onBatch?: (size: number) => void): ExternalUserProfileLoader {
  // maxBatchSize is left unbounded here: the client splits into $batch chunks of 20 and sends them in parallel.
  return new DataLoader<string, ExternalUserProfileResource>((ids) => {
    onBatch?.(ids.length);
    return graph.batchGetExternalUserProfiles(ids);
  });
}
