import DataLoader from 'dataloader';
import type { CustomerUserResource, PartnerCenterClient } from '../../upstream/partner-center.js';

/** Key: `${customerId}/${userId}` (both validated GUIDs, so `/` cannot occur inside either). */
export type CustomerUserLoader = DataLoader<string, CustomerUserResource>;

export const customerUserKey = (customerId: string, userId: string): string => `${customerId}/${userId}`.toLowerCase();

/**
 * Per request: the same user asked for twice in one operation costs one upstream call. Partner Center
 * has no batch read for users, so distinct keys are fetched in parallel; a failed key yields its
 * Error alone (dataloader does not cache failures). `onBatch` is told each batch's size (metrics).
 */
export function createCustomerUserLoader(partnerCenter: PartnerCenterClient, onBatch?: (size: number) => void): CustomerUserLoader {
  return new DataLoader<string, CustomerUserResource>(
    (keys) => {
      onBatch?.(keys.length);
      return Promise.all(
        keys.map((key) => {
          const [customerId, userId] = key.split('/') as [string, string];
          return partnerCenter.getCustomerUser(customerId, userId).catch((error: unknown) => error as Error);
        }),
      );
    },
    { maxBatchSize: 50 },
  );
}
