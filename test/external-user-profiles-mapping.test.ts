import { toExternalUserProfilePatch } from '../src/features/external-user-profiles/mapping.js';

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
