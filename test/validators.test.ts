import { isPhoneNumber, isWebsite } from '../src/features/shared/validators.js';

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
