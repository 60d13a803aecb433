import { mergeSupportProfile, toSupportProfile } from '../src/features/support-profile/mapping.js';

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
