import { jest } from '@jest/globals';
import { toCustomerUser, toCustomerUserPatch } from '../src/features/customer-users/mapping.js';
import { CustomerUserState } from '../src/features/customer-users/types.js';

describe('customer user mapping', () => {
  const warn = jest.fn();
  beforeEach(() => warn.mockReset());

  it('maps wire enums both ways', () => {
    const user = toCustomerUser({ id: 'u', state: 'inactive', userDomainType: 'federated', softDeletionTime: '2026-01-02T03:04:05Z' }, 'c', { warn });
    expect(user).toMatchObject({ id: 'u', customerId: 'c', state: 'inactive', userDomainType: 'federated' });
    expect(user.softDeletionTime?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(toCustomerUserPatch({ state: CustomerUserState.ACTIVE })).toEqual({ state: 'active' });
  });

  it('maps an unknown upstream enum value to null with a warning instead of failing', () => {
    const user = toCustomerUser({ id: 'u', state: 'suspended', userDomainType: 'Managed' }, 'c', { warn });
    expect(user.state).toBeNull();
    expect(user.userDomainType).toBe('managed');
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('puts only the set keys in the PATCH, nulls included, and defaults forceChangePassword', () => {
    expect(toCustomerUserPatch({ displayName: 'A', phoneNumber: null, usageLocation: 'de' })).toEqual({ displayName: 'A', phoneNumber: null, usageLocation: 'DE' });
    expect(toCustomerUserPatch({ passwordProfile: { password: 'Secret-123', forceChangePassword: undefined as unknown as boolean } })).toEqual({
      passwordProfile: { password: 'Secret-123', forceChangePassword: true },
    });
  });
});
