/**
 * Input rules shared by several features, as class-validator decorators. Messages are written for
 * the client: `BadUserInputError` prefixes them with the field's path.
 */
import { ValidateBy, isFQDN, type ValidationOptions } from 'class-validator';
import { isGuid } from '../../guid.js';

/** A class-validator decorator from a predicate and the message a client sees when it fails. */
function rule(name: string, validate: (value: unknown) => boolean, message: string) {
  return (options?: ValidationOptions): PropertyDecorator => ValidateBy({ name, validator: { validate, defaultMessage: () => message } }, options);
}

/** Separators a person types in a phone number; between them, 4 to 20 digits with an optional leading `+`. */
const PHONE = /^\+?[\d\s\-().]*$/;

export function isPhoneNumber(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 40 || !PHONE.test(value)) return false;
  const digits = value.replace(/\D/g, '').length;
  return digits >= 4 && digits <= 20;
}

/** Digits with an optional `+`, spaces, dashes, dots and parentheses; 4 to 20 digits. */
export const IsPhoneNumber = rule('isPhoneNumber', isPhoneNumber, 'must be a phone number: 4 to 20 digits, optionally with +, spaces, dashes or parentheses');

/**
 * A web site: a host name with or without `http://`/`https://` (the seed's own example is
 * `www.microsoft.com`), optionally a port and path. Any other scheme is refused.
 */
export function isWebsite(value: unknown): boolean {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048 || /\s/.test(value)) return false;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  const hasAuthority = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  if (scheme && !(hasAuthority && (scheme === 'http' || scheme === 'https'))) {
    // `www.example.com:8080` has no scheme, only a port.
    if (!/^[^/:]+:\d+(\/|$)/.test(value)) return false;
  }
  let url: URL;
  try {
    url = new URL(hasAuthority ? value : `https://${value}`);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return isFQDN(url.hostname, { require_tld: true });
}

export const IsWebsite = rule('isWebsite', isWebsite, 'must be a web site: a host name such as www.contoso.com, optionally with http:// or https://');

/** A directory object id: a GUID, as Entra ID assigns them. */
export const IsDirectoryObjectId = rule('isDirectoryObjectId', isGuid, 'must be a directory object id (a GUID)');
