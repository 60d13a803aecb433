import { jest } from '@jest/globals';
import { mergeSupportProfile, toSupportProfile } from '../src/features/support-profile/merge.js';
import { KeyedSerializer } from '../src/state/keyed-serializer.js';
import { toCustomerUser, toCustomerUserPatch } from '../src/features/customer-users/mapping.js';
import { CustomerUserState } from '../src/features/customer-users/types.js';
import { toExternalUserProfilePatch } from '../src/features/external-user-profiles/mapping.js';
import { isPhoneNumber, isWebsite } from '../src/features/shared/validators.js';

describe('support profile merge', () => {
  const current = {
    email: 'old@contoso.example',
    telephone: '4255555555',
    website: 'www.microsoft.com',
    profileType: 'support_profile',
    links: { self: { uri: '/v1/profiles/support', method: 'GET', headers: [] } },
    attributes: { objectType: 'PartnerSupportProfile' },
  };

  it('applies only the fields set and keeps profileType, links and attributes as read', () => {
    expect(mergeSupportProfile(current, { telephone: '+1 425 555 0100' })).toEqual({ ...current, telephone: '+1 425 555 0100' });
  });

  it('clears a field given as null', () => {
    expect(mergeSupportProfile(current, { website: null })).toEqual({ ...current, website: null });
  });

  it('derives the id from the partner tenant and maps missing fields to null', () => {
    expect(toSupportProfile({ email: 'a@b.example' }, 'tenant-1')).toEqual({ id: 'tenant-1', email: 'a@b.example', telephone: null, website: null });
  });
});

describe('KeyedSerializer', () => {
  it('runs tasks of one key one at a time, in arrival order, and other keys in parallel', async () => {
    const serializer = new KeyedSerializer();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = serializer.run('a', async () => {
      events.push('a1 start');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      events.push('a1 end');
    });
    const second = serializer.run('a', async () => void events.push('a2'));
    const other = serializer.run('b', async () => void events.push('b1'));
    await other;
    await Promise.resolve();
    expect(events).toEqual(['a1 start', 'b1']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it('keeps going after a failed task and forgets drained keys', async () => {
    const serializer = new KeyedSerializer();
    await expect(serializer.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(serializer.run('a', async () => 42)).resolves.toBe(42);
    await new Promise((resolve) => setImmediate(resolve));
    expect(serializer.size).toBe(0);
  });
});

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

describe('external user profile PATCH', () => {
  it('sends the whole address when one is given (complex property replaces)', () => {
    expect(toExternalUserProfilePatch({ address: { city: 'Oslo' }, isEnabled: false })).toEqual({
      isEnabled: false,
      address: { city: 'Oslo', countryOrRegion: null, officeLocation: null, postalCode: null, state: null, street: null },
    });
  });

  it('clears the address with null and leaves out what was not set', () => {
    expect(toExternalUserProfilePatch({ address: null })).toEqual({ address: null });
  });
});

describe('input rules', () => {
  it.each(['4255555555', '+1 (425) 555-0100', '+47 22 33 44 55', '1234'])('accepts the phone number %s', (value) => {
    expect(isPhoneNumber(value)).toBe(true);
  });
  it.each(['123', 'call me', '+1 425 555 0100 ext. 5', '1'.repeat(21), '++1234', ''])('refuses the phone number %s', (value) => {
    expect(isPhoneNumber(value)).toBe(false);
  });
  it.each(['www.microsoft.com', 'https://support.contoso.example/help?x=1', 'http://contoso.example', 'contoso.example:8443/path'])(
    'accepts the website %s',
    (value) => expect(isWebsite(value)).toBe(true),
  );
  it.each(['javascript:alert(1)', 'ftp://contoso.example', 'localhost', 'https://user:pw@contoso.example', 'not a site', 'mailto:a@b.example', 'data:text/html,x'])(
    'refuses the website %s',
    (value) => expect(isWebsite(value)).toBe(false),
  );
});
