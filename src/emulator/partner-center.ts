/**
 * Partner Center (`/v1`) as docs/upstream.md §1 describes it: support profile GET/PUT, customer users
 * GET/PATCH/DELETE and seek-paged listing, `MS-RequestId` idempotency, camelCase answers with
 * lower snake_case enums, and errors as `{ code, description, data, source }`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PARTNER_CENTER_DELEGATED_SCOPE, PARTNER_CENTER_RESOURCE, PERSONAL_ACCOUNT_TENANT_ID } from './constants.js';
import { isGuid, isPlainObject, parseJsonBody, pathSegments } from './messages.js';
import type { EmuRequest, EmuResponse, ServiceHandler } from './messages.js';
import { bearerToken } from './identity.js';
import type { TokenIssuer, VerifiedToken } from './identity.js';
import type { StoredCustomer, StoredCustomerUser, StoredSupportProfile } from './seed-data.js';
import { pageAfter, type EmulatorStore } from './state.js';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const WRITE_METHODS = new Set(['PUT', 'PATCH', 'POST', 'DELETE']);
const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 500;
const SEEK_TOKEN_PURPOSE = 'pc-users-seek';

/**
 * Partner Center error codes per HTTP status for injected faults. docs/upstream.md §1.7 names 3000
 * (invalid input, 400), 900150 (role lacks rights, 403) and 1000 (not found, 404); for the other
 * statuses no code is documented, so the status number itself is used.
 */
const FAULT_CODES: Record<number, number> = { 400: 3000, 403: 900150, 404: 1000 };

/** A Partner Center error answer: numeric `code`, `description`, `data`, `source: PartnerFD` (docs/upstream.md §1.7). */
export function partnerCenterError(status: number, code: number, description: string, data: unknown[] = []): EmuResponse {
  return { status, headers: {}, body: { code, description, data, source: 'PartnerFD' } };
}

/** The answer of an injected fault with this status, in Partner Center's own shapes. */
export function partnerCenterFault(status: number, retryAfter: string | undefined): EmuResponse {
  if (status === 429) {
    // Throttling comes from the API gateway in front of Partner Center, with its own body shape.
    return {
      status,
      headers: {},
      body: { statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfterSeconds(retryAfter)} seconds.` },
    };
  }
  const response = partnerCenterError(status, FAULT_CODES[status] ?? status, faultDescription(status));
  if (status === 401) response.headers['www-authenticate'] = 'OAuth realm=urn:cpsvc:cpid:partnercenter';
  return response;
}

function faultDescription(status: number): string {
  if (status >= 500) return 'The service encountered an internal error. Please retry the request.';
  if (status === 401) return 'Authentication failed.';
  if (status === 403) return 'Access is denied.';
  if (status === 404) return 'The requested resource was not found.';
  if (status === 409) return 'The request conflicts with the current state of the resource.';
  return 'The request was rejected.';
}

function retryAfterSeconds(retryAfter: string | undefined): number {
  if (retryAfter === undefined) return 1;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? 1 : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * Adds the response headers Partner Center sends on every answer (docs/upstream.md §1.3): the request
 * and correlation ids echoed (or generated when absent or malformed), `MS-CV`, `MS-ServerId`.
 */
export function decoratePartnerCenter(req: EmuRequest, res: EmuResponse): void {
  const requestId = req.headers['ms-requestid'];
  const correlationId = req.headers['ms-correlationid'];
  res.headers['ms-requestid'] = isGuid(requestId) ? requestId : req.requestId;
  res.headers['ms-correlationid'] = isGuid(correlationId) ? correlationId : randomUUID();
  res.headers['ms-cv'] = req.headers['ms-cv'] ?? `${randomBytes(12).toString('base64')}.0`;
  res.headers['ms-serverid'] = '102030524';
  if ((res.body !== undefined || res.rawBody !== undefined) && res.headers['content-type'] === undefined) {
    res.headers['content-type'] = JSON_CONTENT_TYPE;
  }
}

/** What the Partner Center handler needs from the emulator. */
export interface PartnerCenterDeps {
  issuer: TokenIssuer;
  store: EmulatorStore;
}

/** Creates the Partner Center (`/v1`) request handler. */
export function createPartnerCenterHandler(deps: PartnerCenterDeps): ServiceHandler {
  const { issuer, store } = deps;

  return async (req) => {
    const checked = await issuer.verify(bearerToken(req.headers), PARTNER_CENTER_RESOURCE);
    if (!checked.ok) {
      const res = partnerCenterError(401, 401, `Authentication failed: ${checked.message}`);
      res.headers['www-authenticate'] = `OAuth realm=urn:cpsvc:cpid:${realmTenant(req)}`;
      return res;
    }
    const caller = checked.token;
    // Every operation emulated here is "App+User credentials only" (docs/upstream.md §1.2).
    if (caller.appOnly) {
      return partnerCenterError(403, 900150, 'This operation supports App+User credentials only; app-only tokens are not accepted.');
    }
    if (!caller.scopes.includes(PARTNER_CENTER_DELEGATED_SCOPE)) {
      return partnerCenterError(403, 900150, `The token does not carry the '${PARTNER_CENTER_DELEGATED_SCOPE}' permission.`);
    }
    if (caller.tid === PERSONAL_ACCOUNT_TENANT_ID) {
      return partnerCenterError(403, 900150, 'Personal Microsoft accounts cannot access Partner Center.');
    }
    for (const header of ['ms-requestid', 'ms-correlationid']) {
      const value = req.headers[header];
      if (value !== undefined && !isGuid(value)) {
        return partnerCenterError(400, 3000, `The ${header === 'ms-requestid' ? 'MS-RequestId' : 'MS-CorrelationId'} header must be a GUID.`);
      }
    }

    // Idempotency (docs/upstream.md §1.3): a write whose MS-RequestId was already seen for this partner
    // replays the first answer instead of applying again. No await between the check and the
    // remember() below, so concurrent duplicates cannot both apply.
    const requestId = req.headers['ms-requestid'];
    const idempotencyKey =
      WRITE_METHODS.has(req.method) && requestId !== undefined ? `${caller.tid}|${requestId.toLowerCase()}` : undefined;
    if (idempotencyKey !== undefined) {
      const replay = store.replayOf(idempotencyKey);
      if (replay) return replay;
    }
    const res = route(req, caller, store);
    if (idempotencyKey !== undefined && res.status < 500) store.remember(idempotencyKey, res);
    return res;
  };
}

function realmTenant(req: EmuRequest): string {
  // Best effort: the tenant of the (refused) token, for the WWW-Authenticate realm.
  const token = bearerToken(req.headers);
  try {
    const payload = JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { tid?: unknown };
    if (isGuid(payload.tid)) return payload.tid;
  } catch {
    // fall through
  }
  return '00000000-0000-0000-0000-000000000000';
}

function route(req: EmuRequest, caller: VerifiedToken, store: EmulatorStore): EmuResponse {
  const segments = pathSegments(req.pathname);
  if (segments === undefined || segments[0] !== 'v1') return notFound(req);
  const [, first, second, third, fourth, ...extra] = segments.map((s) => s.toLowerCase());

  if (first === 'profiles' && third === undefined) {
    if (second === 'support') {
      if (req.method === 'GET') return getSupportProfile(caller, store);
      if (req.method === 'PUT') return putSupportProfile(req, caller, store);
      return methodNotAllowed(req);
    }
    // The "Update support profile" page's path (docs/upstream.md §1.5 [CONFLICT]); PUT only.
    if (second === 'supportprofile') {
      if (req.method === 'PUT') return putSupportProfile(req, caller, store);
      return methodNotAllowed(req);
    }
  }

  if (first === 'customers' && second !== undefined && third === 'users' && extra.length === 0) {
    const customerId = segments[2]!;
    const userId = segments[4];
    if (!isGuid(customerId)) return partnerCenterError(400, 3000, `The customer tenant id '${customerId}' is not a valid GUID.`);
    if (userId !== undefined && !isGuid(userId)) return partnerCenterError(400, 3000, `The user id '${userId}' is not a valid GUID.`);
    const found = findCustomer(customerId, caller, store);
    if ('status' in found) return found;
    if (fourth === undefined) {
      if (req.method === 'GET') return listUsers(req, caller, found, store);
      return methodNotAllowed(req);
    }
    const user = found.users.get(userId!.toLowerCase());
    if (user === undefined) {
      return partnerCenterError(404, 60002, `User object id ${userId} not found in customer tenant ${customerId}.`);
    }
    if (req.method === 'GET') return { status: 200, headers: {}, body: userJson(found, user) };
    if (req.method === 'PATCH') return patchUser(req, found, user);
    if (req.method === 'DELETE') return deleteUser(found, user);
    return methodNotAllowed(req);
  }

  return notFound(req);
}

function notFound(req: EmuRequest): EmuResponse {
  return partnerCenterError(404, 1000, `The requested resource '${req.pathname}' was not found.`);
}

function methodNotAllowed(req: EmuRequest): EmuResponse {
  return partnerCenterError(405, 405, `The requested resource does not support http method '${req.method}'.`);
}

// --- support profile (docs/upstream.md §1.5) ----------------------------------------------------------

function supportProfileJson(p: StoredSupportProfile): Record<string, unknown> {
  return {
    ...(p.email !== undefined ? { email: p.email } : {}),
    ...(p.telephone !== undefined ? { telephone: p.telephone } : {}),
    ...(p.website !== undefined ? { website: p.website } : {}),
    profileType: 'support_profile',
    links: { self: { uri: '/v1/profiles/support', method: 'GET', headers: [] } },
    attributes: { objectType: 'PartnerSupportProfile' },
  };
}

function getSupportProfile(caller: VerifiedToken, store: EmulatorStore): EmuResponse {
  // Per partner tenant; a tenant the seed does not know starts with an empty profile.
  const profile = store.data.supportProfiles.get(caller.tid) ?? {};
  return { status: 200, headers: {}, body: supportProfileJson(profile) };
}

function putSupportProfile(req: EmuRequest, caller: VerifiedToken, store: EmulatorStore): EmuResponse {
  const parsed = readJsonObject(req);
  if ('status' in parsed) return parsed;
  const body = parsed.props;
  const next: StoredSupportProfile = {};
  for (const name of ['email', 'telephone', 'website'] as const) {
    const value = body.get(name.toLowerCase());
    if (value === undefined || value === null) continue; // PUT replaces the resource: left out = cleared
    if (typeof value !== 'string') return partnerCenterError(400, 3000, `The property '${name}' must be a string.`);
    next[name] = value;
  }
  if (next.email !== undefined && next.email !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(next.email)) {
    return partnerCenterError(400, 3000, `The email address '${next.email}' is not valid.`);
  }
  const profileType = body.get('profiletype');
  if (profileType !== undefined && profileType !== null && (typeof profileType !== 'string' || profileType.toLowerCase() !== 'support_profile')) {
    return partnerCenterError(400, 3000, "The property 'profileType' must be 'support_profile'.");
  }
  const attributes = body.get('attributes');
  if (attributes !== undefined && attributes !== null && !isPlainObject(attributes)) {
    return partnerCenterError(400, 3000, "The property 'attributes' must be an object.");
  }
  store.data.supportProfiles.set(caller.tid, next);
  return { status: 200, headers: {}, body: supportProfileJson(next) };
}

// --- customer users (docs/upstream.md §1.6) -----------------------------------------------------------

function findCustomer(customerId: string, caller: VerifiedToken, store: EmulatorStore): StoredCustomer | EmuResponse {
  const customer = store.data.customers.get(customerId.toLowerCase());
  if (customer === undefined) return partnerCenterError(404, 60003, `Customer tenant ${customerId} was not found.`);
  if (customer.partnerTenantId !== caller.tid) {
    return partnerCenterError(403, 20002, `The partner does not have a relationship with customer ${customerId}.`);
  }
  return customer;
}

function userJson(customer: StoredCustomer, user: StoredCustomerUser): Record<string, unknown> {
  // Nulls are left out, as Partner Center omits unset members; passwordProfile is write-only.
  const out: Record<string, unknown> = { id: user.id, userPrincipalName: user.userPrincipalName };
  const optional = {
    firstName: user.firstName,
    lastName: user.lastName,
    displayName: user.displayName,
    phoneNumber: user.phoneNumber,
    usageLocation: user.usageLocation,
    immutableId: user.immutableId,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== null) out[k] = v;
  out.userDomainType = user.userDomainType;
  out.state = user.state;
  if (user.softDeletionTime !== null) out.softDeletionTime = user.softDeletionTime;
  if (user.lastDirectorySyncTime !== null) out.lastDirectorySyncTime = user.lastDirectorySyncTime;
  out.links = { self: { uri: `/customers/${customer.id}/users/${user.id}`, method: 'GET', headers: [] } };
  out.attributes = { objectType: 'CustomerUser' };
  return out;
}

interface SeekState {
  /** Partner tenant the token was issued to. */
  p: string;
  /** Customer id. */
  c: string;
  /** Id of the last user already returned. */
  a: string;
  /** Which users are listed. */
  s: 'active' | 'inactive';
}

function listUsers(req: EmuRequest, caller: VerifiedToken, customer: StoredCustomer, store: EmulatorStore): EmuResponse {
  const sizeParam = req.query.get('size');
  let size = DEFAULT_PAGE_SIZE;
  if (sizeParam !== null) {
    if (!/^\d+$/.test(sizeParam) || Number(sizeParam) < 1 || Number(sizeParam) > MAX_PAGE_SIZE) {
      return partnerCenterError(400, 3000, `The size parameter must be an integer between 1 and ${MAX_PAGE_SIZE}.`);
    }
    size = Number(sizeParam);
  }
  for (const unsupported of ['sortField', 'sortDirection']) {
    if ([...req.query.keys()].some((k) => k.toLowerCase() === unsupported.toLowerCase())) {
      return partnerCenterError(400, 3000, `The emulator does not support '${unsupported}'.`);
    }
  }

  let listed: 'active' | 'inactive' = 'active';
  let after: string | undefined;
  const seek = req.query.get('seekOperation');
  if (seek !== null) {
    if (seek.toLowerCase() !== 'next') return partnerCenterError(400, 3000, `Unsupported seekOperation '${seek}'.`);
    // Seek paging (docs/upstream.md §1.6): the next page must carry the MS-ContinuationToken header
    // from links.next.headers; the query alone is not enough.
    const token = req.headers['ms-continuationtoken'];
    if (token === undefined || token === '') {
      return partnerCenterError(400, 3000, 'The MS-ContinuationToken header is required for seekOperation=Next.');
    }
    const state = store.unseal(SEEK_TOKEN_PURPOSE, token) as SeekState | undefined;
    if (!state || state.p !== caller.tid || state.c !== customer.id || typeof state.a !== 'string') {
      return partnerCenterError(400, 3000, 'The continuation token is invalid or does not belong to this collection.');
    }
    listed = state.s === 'inactive' ? 'inactive' : 'active';
    after = state.a;
  } else {
    const filter = req.query.get('filter');
    if (filter !== null) {
      const state = parseUserFilter(filter);
      if (state === undefined) return partnerCenterError(400, 3000, `The filter '${filter}' is not valid.`);
      listed = state;
    }
  }

  const { items, more } = pageAfter([...customer.users.values()], after, size, (user) => user.state === listed);

  const body: Record<string, unknown> = {
    totalCount: items.length,
    items: items.map((u) => userJson(customer, u)),
    links: { self: { uri: `/customers/${customer.id}/users?size=${size}`, method: 'GET', headers: [] } },
    attributes: { objectType: 'Collection' },
  };
  if (more) {
    const token = store.seal(SEEK_TOKEN_PURPOSE, { p: caller.tid, c: customer.id, a: items[items.length - 1]!.id, s: listed } satisfies SeekState);
    // The link's uri has no /v1 prefix, exactly like the real service's (docs/upstream.md §1.4).
    (body.links as Record<string, unknown>).next = {
      uri: `/customers/${customer.id}/users?size=${size}&seekOperation=Next`,
      method: 'GET',
      headers: [{ key: 'MS-ContinuationToken', value: token }],
    };
    body.continuationToken = token;
  }
  return { status: 200, headers: {}, body };
}

/** `{"Field":"UserState","Value":"Inactive","Operator":"equals"}` → which users to list. */
function parseUserFilter(filter: string): 'active' | 'inactive' | undefined {
  const parsed = parseJsonBody(filter);
  if (parsed.kind !== 'json' || !isPlainObject(parsed.value)) return undefined;
  const props = lowerKeys(parsed.value);
  const field = props.get('field');
  const value = props.get('value');
  const operator = props.get('operator');
  if (typeof field !== 'string' || field.toLowerCase() !== 'userstate') return undefined;
  if (typeof operator !== 'string' || operator.toLowerCase() !== 'equals') return undefined;
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  return v === 'active' || v === 'inactive' ? v : undefined;
}

const NAME_LIMITS: Record<string, number> = { firstName: 64, lastName: 64, displayName: 256, phoneNumber: 64, immutableId: 256 };

function patchUser(req: EmuRequest, customer: StoredCustomer, user: StoredCustomerUser): EmuResponse {
  const parsed = readJsonObject(req);
  if ('status' in parsed) return parsed;
  const body = parsed.props;
  const bad = (message: string): EmuResponse => partnerCenterError(400, 3000, message);
  // Validate everything first, then apply: a rejected PATCH changes nothing.
  const changes: Partial<StoredCustomerUser> = {};

  const id = body.get('id');
  if (id !== undefined && id !== null && (typeof id !== 'string' || id.toLowerCase() !== user.id)) {
    return bad("The property 'id' does not match the user in the request URI.");
  }

  const upn = body.get('userprincipalname');
  if (upn !== undefined) {
    if (typeof upn !== 'string') return bad("The property 'userPrincipalName' must be a non-null string.");
    const at = upn.lastIndexOf('@');
    const domain = upn.slice(at + 1).toLowerCase();
    if (at <= 0 || !/^[A-Za-z0-9._'+-]+$/.test(upn.slice(0, at)) || domain !== customer.domain) {
      return bad(`The userPrincipalName '${upn}' is not valid: it must be local@${customer.domain}.`);
    }
    const clash = [...customer.users.values()].some((u) => u.id !== user.id && u.userPrincipalName.toLowerCase() === upn.toLowerCase());
    if (clash) return bad(`Another object with the same value for property userPrincipalName already exists: '${upn}'.`);
    changes.userPrincipalName = upn;
  }

  for (const name of ['firstName', 'lastName', 'displayName', 'phoneNumber', 'immutableId'] as const) {
    const value = body.get(name.toLowerCase());
    if (value === undefined) continue;
    if (value === null) {
      if (name === 'displayName') return bad("The property 'displayName' cannot be cleared.");
      changes[name] = null;
      continue;
    }
    if (typeof value !== 'string') return bad(`The property '${name}' must be a string.`);
    if (value.length > NAME_LIMITS[name]!) return bad(`The property '${name}' exceeds ${NAME_LIMITS[name]} characters.`);
    if (name === 'displayName' && value.trim() === '') return bad("The property 'displayName' cannot be empty.");
    changes[name] = value;
  }

  const usageLocation = body.get('usagelocation');
  if (usageLocation !== undefined) {
    if (usageLocation === null) changes.usageLocation = null;
    else if (typeof usageLocation !== 'string' || !/^[A-Za-z]{2}$/.test(usageLocation)) {
      return bad("The property 'usageLocation' must be a two-letter country code.");
    } else changes.usageLocation = usageLocation.toUpperCase();
  }

  const state = body.get('state');
  if (state !== undefined) {
    if (typeof state !== 'string' || !['active', 'inactive'].includes(state.toLowerCase())) {
      return bad("The property 'state' must be 'active' or 'inactive'.");
    }
    if (state.toLowerCase() === 'active' && user.state === 'inactive') {
      // Restore (docs/upstream.md §1.6): the user becomes active again and leaves the purge window.
      changes.state = 'active';
      changes.softDeletionTime = null;
    } else if (state.toLowerCase() === 'inactive' && user.state === 'active') {
      return bad("A user cannot be deactivated with PATCH; use DELETE to soft-delete it.");
    }
  }

  const domainType = body.get('userdomaintype');
  if (domainType !== undefined && (typeof domainType !== 'string' || !['none', 'managed', 'federated'].includes(domainType.toLowerCase()))) {
    // Derived from the domain, so a valid value is accepted (the SDK sends the whole object) and ignored.
    return bad("The property 'userDomainType' must be 'none', 'managed' or 'federated'.");
  }

  const passwordProfile = body.get('passwordprofile');
  if (passwordProfile !== undefined && passwordProfile !== null) {
    if (!isPlainObject(passwordProfile)) return bad("The property 'passwordProfile' must be an object.");
    const pp = lowerKeys(passwordProfile);
    const password = pp.get('password');
    const force = pp.get('forcechangepassword');
    if (typeof password !== 'string') return bad("The property 'passwordProfile.password' must be a string.");
    if (!meetsPasswordComplexity(password)) {
      return bad('The password does not comply with password complexity requirements (8-256 characters, 3 of: upper case, lower case, digit, symbol).');
    }
    if (force !== undefined && force !== null && typeof force !== 'boolean') {
      return bad("The property 'passwordProfile.forceChangePassword' must be a boolean.");
    }
    changes.passwordProfile = { password, forceChangePassword: typeof force === 'boolean' ? force : true };
  }

  const attributes = body.get('attributes');
  if (attributes !== undefined && attributes !== null && !isPlainObject(attributes)) {
    return bad("The property 'attributes' must be an object.");
  }
  // links, lastDirectorySyncTime and softDeletionTime are read-only and ignored; unknown members
  // are ignored too, as the service's JSON deserializer does.

  Object.assign(user, changes);
  return { status: 200, headers: {}, body: userJson(customer, user) };
}

function deleteUser(customer: StoredCustomer, user: StoredCustomerUser): EmuResponse {
  if (user.state === 'inactive') {
    return partnerCenterError(404, 60002, `User object id ${user.id} not found in customer tenant ${customer.id}.`);
  }
  // Soft delete (docs/upstream.md §1.6): inactive for 30 days, restorable with PATCH state=active.
  user.state = 'inactive';
  user.softDeletionTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { status: 204, headers: {} };
}

function meetsPasswordComplexity(password: string): boolean {
  if (password.length < 8 || password.length > 256) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3;
}

// --- request body helpers ------------------------------------------------------------------------

/** Lower-cased property names: Partner Center reads request bodies case-insensitively (docs/upstream.md §1.4). */
function lowerKeys(obj: Record<string, unknown>): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) map.set(k.toLowerCase(), v);
  return map;
}

function readJsonObject(req: EmuRequest): { props: Map<string, unknown> } | EmuResponse {
  const parsed = parseJsonBody(req.bodyText);
  if (parsed.kind === 'none') return partnerCenterError(400, 3000, 'The request body is required.');
  if (parsed.kind === 'invalid') return partnerCenterError(400, 3000, 'The request body is not valid JSON.');
  if (!isPlainObject(parsed.value)) return partnerCenterError(400, 3000, 'The request body must be a JSON object.');
  return { props: lowerKeys(parsed.value) };
}
