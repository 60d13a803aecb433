/**
 * Partner Center client: one typed method per REST call the features need (docs/upstream.md §1.5, §1.6),
 * bound to one caller (token source, correlation id, idempotency key). Wire resources are typed as
 * Partner Center answers them (camelCase, §1.4). Every failure is an `UpstreamError` from the transport
 * or a `BadUserInputError` or `InvalidCursorError` raised before anything is sent.
 *
 * Path safety: ids reach a path only after `assertGuid` and through `encodeURIComponent`, so an id such
 * as `../profiles/support` or one holding `/ ? # %2f` is refused and never changes the path.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BadUserInputError, InvalidCursorError } from '../errors.js';
import { createCursorCodec, type CursorCodec } from './cursor.js';
import { upstreamRoot } from './root-url.js';
import type { Page } from './cursor.js';
import { parsePartnerCenterErrorBody, unexpectedAnswer } from './error-dialect.js';
import type { UpstreamDescriptor } from './descriptor.js';
import type { UpstreamCaller, UpstreamRequest, UpstreamResponse, UpstreamTransport } from './transport.js';
import type { UpstreamReads } from './read-through.js';
import { requestIdForWrite } from './request-id.js';
import { assertGuid } from '../guid.js';

export type { Page } from './cursor.js';

/**
 * Partner Center, as the gateway knows it. Its API root is the same in the global and US Government
 * clouds (docs/upstream.md §1.1); its scope is `user_impersonation`, and every operation in scope is "App+User
 * credentials only" (§1.2). How the transport talks to it (§1.3, §3.2): every try carries the caller's
 * `MS-CorrelationId`, `MS-CV` (the correlation vector, `.<try>` appended), `X-Locale`,
 * `MS-PartnerCenter-Application`, and `MS-RequestId`: ONE value per logical call, identical on every
 * retry, which is what makes retrying a write safe (a random one when the call is not a write with
 * its own id: the .NET SDK sends one on every call). Answers name their request id in `MS-RequestId`.
 */
export const PARTNER_CENTER: UpstreamDescriptor<'partner-center', 'partnerCenter', PartnerCenterClient> = {
  service: 'partner-center',
  name: 'Partner Center',
  urlVariable: 'PARTNER_CENTER_URL',
  clouds: {
    global: { url: 'https://api.partnercenter.microsoft.com', tokenResource: 'https://api.partnercenter.microsoft.com', available: true },
    usgov: { url: 'https://api.partnercenter.microsoft.com', tokenResource: 'https://api.partnercenter.microsoft.com', available: true },
    'usgov-dod': { url: 'https://api.partnercenter.microsoft.com', tokenResource: 'https://api.partnercenter.microsoft.com', available: true },
    china: { url: 'https://partner.partnercenterapi.microsoftonline.cn', tokenResource: 'https://partner.partnercenterapi.microsoftonline.cn', available: true },
  },
  tokenScope: (resource) => `${resource}/user_impersonation`,
  delegatedOnly: true,
  readinessPath: '/',
  contextKey: 'partnerCenter',
  createClient: ({ transport, reads, baseUrl, caller, cursorKey }) => createPartnerCenterClient({ transport, reads, baseUrl, caller, cursorKey }),
  requestIdHeader: 'ms-requestid',
  parseErrorBody: parsePartnerCenterErrorBody,
  // docs/upstream.md §1.7 "relevant error codes".
  errorMessages: {
    '1000': 'Partner Center could not find the resource',
    '2055': 'The resource changed in Partner Center since it was read; read it again',
    '3000': 'Partner Center refused a property value of the request',
    '20002': 'The partner has no relationship with this customer in Partner Center',
    '60002': 'Partner Center could not find this user',
    '60003': 'Partner Center could not find this customer tenant',
    '900150': "The signed-in user's Partner Center role does not allow this operation",
    '600002': 'Partner Center refused the address or registration details',
    '600049': 'Partner Center refused the address or registration details',
    '600050': 'Partner Center refused the address or registration details',
    '600051': 'Partner Center refused the address or registration details',
  },
  ownHeaders: ['ms-correlationid', 'ms-requestid', 'ms-cv', 'x-locale', 'ms-partnercenter-application'],
  callHeaders({ correlationId, requestId = randomUUID(), applicationName }) {
    const cvBase = correlationVectorBase(correlationId);
    return (attempt) => ({
      'ms-correlationid': correlationId,
      'ms-requestid': requestId,
      'ms-cv': `${cvBase}.${attempt + 1}`,
      'x-locale': 'en-US',
      'ms-partnercenter-application': applicationName,
    });
  },
};

/**
 * Base of the Partner Center correlation vector (`MS-CV`, docs/upstream.md §1.3): 22 base64 characters of
 * 128 bits (the CV v2 base length), taken from the correlation id so one request's vectors are
 * recognisable; each try appends `.<try>`.
 */
export function correlationVectorBase(correlationId: string): string {
  const hex = correlationId.replace(/-/g, '');
  const bytes = /^[0-9a-f]{32}$/i.test(hex) ? Buffer.from(hex, 'hex') : createHash('sha256').update(correlationId).digest().subarray(0, 16);
  return bytes.toString('base64').replace(/=+$/, '');
}

/** `GET` path of the support profile (docs/upstream.md §1.5). */
export const SUPPORT_PROFILE_GET_PATH = '/v1/profiles/support';

/**
 * `PUT` path of the support profile. The sources disagree (docs/upstream.md §1.5): Microsoft's "Update support
 * profile" page says `/v1/profiles/supportprofile`; the .NET SDK and the REST reference use
 * `/v1/profiles/support`. The gateway follows the page; switching is this one line (the emulator accepts both).
 */
export const SUPPORT_PROFILE_PUT_PATH = '/v1/profiles/supportprofile';

/**
 * Largest page Partner Center documents for user lists (docs/upstream.md §1.6: examples use 500). Callers
 * ask for less: the GraphQL page-size limit (features/shared/pagination.ts) is far below it.
 */
export const PARTNER_CENTER_MAX_PAGE_SIZE = 500;

/** A link of a Partner Center resource (docs/upstream.md §1.4). */
export interface ResourceLink {
  readonly uri: string;
  readonly method?: string;
  readonly headers?: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** `links` of a Partner Center resource. */
export interface ResourceLinks {
  readonly self?: ResourceLink;
  readonly next?: ResourceLink;
  readonly previous?: ResourceLink;
}

/** `attributes` of a Partner Center resource. */
export interface ResourceAttributes {
  readonly etag?: string;
  readonly objectType?: string;
}

/** The partner's support profile (docs/upstream.md §1.5). `null` clears a field in a PUT. */
export interface SupportProfileResource {
  email?: string | null;
  telephone?: string | null;
  website?: string | null;
  profileType?: string;
  links?: ResourceLinks;
  attributes?: ResourceAttributes;
  /** Properties this gateway does not know are kept, so the full-resource PUT does not drop them. */
  [extra: string]: unknown;
}

/** A customer tenant's user (docs/upstream.md §1.6). */
export interface CustomerUserResource {
  readonly id: string;
  readonly userPrincipalName?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly displayName?: string;
  readonly phoneNumber?: string;
  readonly usageLocation?: string;
  readonly immutableId?: string;
  /** `active` | `inactive` (soft-deleted); other strings may appear. */
  readonly state?: string;
  /** `none` | `managed` | `federated`. */
  readonly userDomainType?: string;
  readonly lastDirectorySyncTime?: string | null;
  readonly softDeletionTime?: string | null;
  readonly links?: ResourceLinks;
  readonly attributes?: ResourceAttributes;
}

/**
 * A customer user PATCH: exactly the keys to change (`null` clears), e.g. `displayName`, `usageLocation`,
 * `state`, `passwordProfile: { password, forceChangePassword }`. The client adds `attributes`.
 */
export type CustomerUserPatch = Readonly<Record<string, unknown>>;

/** Options of a read that must see every write that ended before it (read-through.ts). */
export interface FreshRead {
  /** @default false */
  readonly fresh?: boolean;
}

/**
 * What each Partner Center read depends on and each write changes, within the caller's partner tenant
 * (read-through.ts: a write outdates the cached reads of every caller of the tenant). Ids are lower-cased,
 * as Partner Center treats GUIDs.
 */
export const partnerCenterScopes = {
  supportProfile: 'partner-center/support-profile',
  customerUser: (customerId: string, userId: string): string => `partner-center/customer-user/${customerId.toLowerCase()}/${userId.toLowerCase()}`,
  customerUsers: (customerId: string): string => `partner-center/customer-users/${customerId.toLowerCase()}`,
} as const;

/** Options of `listCustomerUsers`. */
export interface ListCustomerUsersOptions {
  /** Page size, 1 to `PARTNER_CENTER_MAX_PAGE_SIZE` (ignored with a cursor: the continuation keeps the first page's size). */
  readonly size: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** The Partner Center operations of one caller. */
export interface PartnerCenterClient {
  /**
   * `GET /v1/profiles/support`. `fresh`: the answer must reflect every write that ended before the call
   * (the read of a read-merge-PUT): never from the response cache, never joining a read in flight.
   */
  getSupportProfile(options?: FreshRead): Promise<SupportProfileResource>;
  /**
   * `PUT` of the FULL resource (read, merge, put back: docs/upstream.md §1.5). Carries `MS-RequestId`;
   * `place` is where the write sits in the client's request (see request-id.ts); `beforeTry` runs before
   * every try, with its timeout (the caller's lock lease check and write-try record).
   */
  putSupportProfile(
    resource: SupportProfileResource,
    options?: { readonly place?: string; readonly beforeTry?: UpstreamRequest['beforeTry'] },
  ): Promise<SupportProfileResource>;
  /** `GET /v1/customers/{customerId}/users/{userId}`. */
  getCustomerUser(customerId: string, userId: string): Promise<CustomerUserResource>;
  /** `PATCH /v1/customers/{customerId}/users/{userId}` with the given keys. Carries `MS-RequestId` (`place`: as above). */
  patchCustomerUser(customerId: string, userId: string, patch: CustomerUserPatch, place?: string): Promise<CustomerUserResource>;
  /** One page of `GET /v1/customers/{customerId}/users`. */
  listCustomerUsers(customerId: string, options: ListCustomerUsersOptions): Promise<Page<CustomerUserResource>>;
}

/** Options of `createPartnerCenterClient`. */
export interface PartnerCenterClientOptions {
  readonly transport: UpstreamTransport;
  /** The read-through layer (coalescing, response cache) GETs and writes go through. @default straight to the transport */
  readonly reads?: UpstreamReads;
  /** Partner Center root without `/v1` (`config.upstreams['partner-center'].url`). */
  readonly baseUrl: string;
  readonly caller: UpstreamCaller;
  /** Key protecting paging cursors (see cursor.ts). @default a random key per process */
  readonly cursorKey?: string | Uint8Array;
}

/**
 * The continuation of a user list in a cursor (docs/upstream.md §1.6, `links.next`): the query of its uri (the
 * path is this customer's user list, rebuilt from the route; the customer binds the cursor without being
 * carried), then its headers as name, value, name, value… with `MS-ContinuationToken`, the one Partner
 * Center sends, written as the empty name (no header name is empty).
 */
const CONTINUATION_HEADER = 'MS-ContinuationToken';
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const HEADER_VALUE = /^[\x20-\x7e\t]{0,8192}$/;
/** A query as `URL.search` writes it: empty, or `?` and no fragment or whitespace. */
const QUERY = /^(\?[^#\s]{0,4095})?$/;
const MAX_NEXT_HEADERS = 10;

function continuationFields(query: string, headers: ReadonlyArray<readonly [string, string]>): string[] | undefined {
  if (!QUERY.test(query) || headers.length > MAX_NEXT_HEADERS) return undefined;
  const fields = [query];
  for (const [name, value] of headers) {
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) return undefined;
    fields.push(name.toLowerCase() === CONTINUATION_HEADER.toLowerCase() ? '' : name, value);
  }
  return fields;
}

function continuationOf(fields: readonly string[]): { query: string; headers: Array<[string, string]> } | undefined {
  const [query, ...pairs] = fields;
  if (query === undefined || !QUERY.test(query) || pairs.length % 2 !== 0 || pairs.length > 2 * MAX_NEXT_HEADERS) return undefined;
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] === '' ? CONTINUATION_HEADER : pairs[i]!;
    const value = pairs[i + 1]!;
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) return undefined;
    headers.push([name, value]);
  }
  return { query, headers };
}

/** Creates the client bound to one caller. Cheap: create one per request. */
export function createPartnerCenterClient(options: PartnerCenterClientOptions): PartnerCenterClient {
  const { transport, caller } = options;
  const root = upstreamRoot(options.baseUrl);
  const rootPath = root.path;
  const base = `${root.origin}${rootPath}`;
  // Made on first use: most requests page through nothing.
  let codec: CursorCodec | undefined;
  const cursors = (): CursorCodec => (codec ??= createCursorCodec('partner-center/users', options.cursorKey));

  const reads = options.reads;
  /** A GET depending on `scopes`. */
  const read = <T>(req: Omit<UpstreamRequest, 'upstream' | 'caller' | 'method'>, scopes: readonly string[], fresh = false): Promise<UpstreamResponse<T>> => {
    const full: UpstreamRequest = { ...req, method: 'GET', upstream: PARTNER_CENTER, caller };
    return reads ? reads.read<T>(full, { scopes, fresh }) : transport.request<T>(full);
  };
  /** A write changing `scopes`. */
  const write = <T>(req: Omit<UpstreamRequest, 'upstream' | 'caller'>, scopes: readonly string[]): Promise<UpstreamResponse<T>> => {
    const full: UpstreamRequest = { ...req, upstream: PARTNER_CENTER, caller };
    return reads ? reads.write<T>(full, scopes) : transport.request<T>(full);
  };

  /** The body as an object (and with a string `id` when `withId`), else UPSTREAM_ERROR. */
  function objectBody<T>(res: UpstreamResponse<unknown>, withId: boolean): T {
    const body = res.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || (withId && typeof (body as { id?: unknown }).id !== 'string')) {
      throw unexpectedAnswer(PARTNER_CENTER, res, caller.correlationId, 'a body that is not the expected resource');
    }
    return body as T;
  }

  /**
   * Partner Center throttles per partner, or per partner and customer (docs/upstream.md §1.7): a customer's
   * routes have a throttle window of their own, so one customer's 429 does not hold the partner's others.
   */
  const customerScope = (customerId: string): string => `customer:${customerId.toLowerCase()}`;
  const userPath = (customerId: string, userId: string): string => {
    assertGuid('customerId', customerId);
    assertGuid('userId', userId);
    return `/v1/customers/${encodeURIComponent(customerId)}/users/${encodeURIComponent(userId)}`;
  };

  /**
   * The absolute URL of `links.next.uri` when it stays on this customer's user list, else undefined.
   * The uri comes relative and usually WITHOUT `/v1` (docs/upstream.md §1.4), so `/v1` is added unless
   * present. Checked on the parsed URL, after dot-segment and `%2e` normalisation, so no spelling of
   * `..` or an encoded slash can move it elsewhere; a uri that would change host (`//…`) is refused.
   */
  function usersNextUrl(uri: unknown, customerId: string): string | undefined {
    if (typeof uri !== 'string' || uri.length > 4096 || !uri.startsWith('/') || uri.startsWith('//') || /[\\\s#]/.test(uri)) return undefined;
    const versioned = /^\/v1\//i.test(uri) ? uri : `/v1${uri}`;
    let url: URL;
    try {
      url = new URL(`${base}${versioned}`);
    } catch {
      return undefined;
    }
    const expected = `${rootPath}/v1/customers/${customerId}/users`.toLowerCase();
    if (url.origin !== root.origin || url.username || url.password || url.pathname.toLowerCase() !== expected) return undefined;
    return url.href;
  }

  return {
    async getSupportProfile(options) {
      const res = await read<unknown>({ url: `${base}${SUPPORT_PROFILE_GET_PATH}` }, [partnerCenterScopes.supportProfile], options?.fresh);
      return objectBody<SupportProfileResource>(res, false);
    },

    async putSupportProfile(resource, options) {
      const operation = `PUT ${SUPPORT_PROFILE_PUT_PATH}`;
      const res = await write<unknown>(
        {
          method: 'PUT',
          url: `${base}${SUPPORT_PROFILE_PUT_PATH}`,
          json: resource,
          // One id for the whole logical write, reused by every retry (docs/upstream.md §1.3).
          requestId: requestIdForWrite(caller.idempotency, operation, options?.place),
          beforeTry: options?.beforeTry,
        },
        [partnerCenterScopes.supportProfile],
      );
      return objectBody<SupportProfileResource>(res, false);
    },

    async getCustomerUser(customerId, userId) {
      const res = await read<unknown>(
        { url: `${base}${userPath(customerId, userId)}`, throttleScope: customerScope(customerId) },
        [partnerCenterScopes.customerUser(customerId, userId)],
      );
      return objectBody<CustomerUserResource>(res, true);
    },

    async patchCustomerUser(customerId, userId, patch, place) {
      const path = userPath(customerId, userId);
      const body: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(patch)) if (value !== undefined) body[key] = value;
      // Partner Center wants the object type on every user write (docs/upstream.md §1.6 examples).
      body.attributes = { objectType: 'CustomerUser' };
      // The identity uses the lower-cased path so a resend with differently cased GUIDs is the same write.
      const res = await write<unknown>(
        {
          method: 'PATCH',
          url: `${base}${path}`,
          json: body,
          requestId: requestIdForWrite(caller.idempotency, `PATCH ${path.toLowerCase()}`, place),
          throttleScope: customerScope(customerId),
        },
        // The user, and every page of the customer's users (the user is on one of them).
        [partnerCenterScopes.customerUser(customerId, userId), partnerCenterScopes.customerUsers(customerId)],
      );
      return objectBody<CustomerUserResource>(res, true);
    },

    async listCustomerUsers(customerId, { size, cursor }) {
      assertGuid('customerId', customerId);
      const customer = customerId.toLowerCase();
      let url: string;
      let headers: Record<string, string> | undefined;
      if (cursor !== undefined) {
        const next = continuationOf(cursors().decode(cursor, customer));
        const checked = next ? usersNextUrl(`/customers/${customer}/users${next.query}`, customer) : undefined;
        if (!next || !checked) throw new InvalidCursorError();
        url = checked;
        headers = Object.fromEntries(next.headers);
      } else {
        // The REST client's own guard, in its own terms (the GraphQL `first` is checked in the features).
        if (!Number.isInteger(size) || size < 1 || size > PARTNER_CENTER_MAX_PAGE_SIZE) {
          throw new BadUserInputError('size', `must be from 1 to ${PARTNER_CENTER_MAX_PAGE_SIZE}`);
        }
        url = `${base}/v1/customers/${encodeURIComponent(customer)}/users?size=${size}`;
      }

      // A later page is cached by its continuation (URL and headers) too.
      const res = await read<unknown>({ url, headers, throttleScope: customerScope(customer) }, [partnerCenterScopes.customerUsers(customer)]);
      const collection = objectBody<{ items?: unknown; links?: ResourceLinks }>(res, false);
      if (!Array.isArray(collection.items)) throw unexpectedAnswer(PARTNER_CENTER, res, caller.correlationId, 'a collection without items');
      const items = collection.items as CustomerUserResource[];

      const next = collection.links?.next;
      if (!next) return { items };
      // Follow links.next with its query and every header it lists as given (docs/upstream.md §1.6, the SDK's
      // enumerator); its path, checked to be this customer's user list, is rebuilt when the cursor comes back.
      const nextUri = usersNextUrl(next.uri, customer);
      const nextHeaders = (Array.isArray(next.headers) ? next.headers : []).map((h): [string, string] => [String(h?.key), String(h?.value)]);
      const fields = nextUri ? continuationFields(new URL(nextUri).search, nextHeaders) : undefined;
      if (!fields) {
        throw unexpectedAnswer(PARTNER_CENTER, res, caller.correlationId, 'a next-page link outside this customer\'s users');
      }
      return { items, nextCursor: cursors().encode(fields, customer) };
    },
  };
}
