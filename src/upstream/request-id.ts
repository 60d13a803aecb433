/**
 * `MS-RequestId` for Partner Center writes: Partner Center's idempotency key (docs/upstream.md §1.3). One GUID
 * per logical write, reused by every retry of it (the .NET SDK does the same, §3.2). When the client sent
 * an `Idempotency-Key` with the mutation, the GUID is derived from it (README, Idempotent retries), so
 * a mobile client that resends a mutation after losing the answer gets Partner Center's replay of the
 * first answer instead of a second write. The write's place in the client's request (the GraphQL root
 * field's response name) is part of the derivation: two aliased mutations under one key are two writes,
 * and a resend of the same document replays each of them.
 */
import { createHash, randomUUID } from 'node:crypto';

/**
 * Namespace of the gateway's name-based request ids. Fixed forever: changing it changes every derived
 * id, so a resend that straddles a deployment would be applied twice.
 */
export const REQUEST_ID_NAMESPACE = 'e5b28afd-7756-4496-b91b-b1dfc1b42ad1';

/** Who asked, with which key, for which write. */
export interface RequestIdInput {
  /** The caller's tenant (`tid`). */
  readonly tenantId: string;
  /** The caller's object id (`oid`), or the application's id for app-only callers. */
  readonly objectId: string;
  /** The client's `Idempotency-Key` (validated with `isValidIdempotencyKey`). */
  readonly idempotencyKey: string;
  /** The write's identity, `METHOD /path` (e.g. `PATCH /v1/customers/{cid}/users/{uid}`). */
  readonly operation: string;
  /**
   * Where the write sits in the client's request (the GraphQL root field's response name, e.g. the alias
   * `b`). Without it two aliased writes of one path under one key would share an id, and Partner Center
   * would replay the first answer for the second write, silently dropping it.
   */
  readonly place?: string;
}

/**
 * A name-based (version 5, SHA-1) UUID over tenant, object id, key, the write's identity and its place
 * (RFC 9562 §5.5). Same inputs → same id; any other key, caller, write or place → another id, so two
 * different writes of one mutation never share an id. GUIDs and the operation are compared
 * case-insensitively, as Partner Center treats them; the key and the place (a GraphQL name) are
 * case-sensitive.
 */
export function deriveRequestId(input: RequestIdInput): string {
  // JSON array: unambiguous field boundaries (no "a|b" + "c" == "a" + "b|c" collisions).
  const name = JSON.stringify([
    input.tenantId.toLowerCase(),
    input.objectId.toLowerCase(),
    input.idempotencyKey,
    input.operation.toLowerCase(),
    // Appended only when given, so ids derived without a place keep their value.
    ...(input.place === undefined ? [] : [input.place]),
  ]);
  return uuidV5(name, REQUEST_ID_NAMESPACE);
}

/** RFC 9562 version-5 UUID of `name` (UTF-8) in `namespace`. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError('namespace must be a UUID');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122/9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** 1–255 printable ASCII characters (space allowed inside), not only spaces (README, Idempotent retries). */
export function isValidIdempotencyKey(key: unknown): key is string {
  return typeof key === 'string' && /^[\x20-\x7e]{1,255}$/.test(key) && key.trim() !== '';
}

/** The idempotency facts a caller carries when the client sent an `Idempotency-Key`. */
export interface IdempotencyContext {
  readonly tenantId: string;
  readonly objectId: string;
  /** Already validated with `isValidIdempotencyKey` (a malformed key is `BAD_USER_INPUT` in the context). */
  readonly key: string;
}

/**
 * The `MS-RequestId` of one logical Partner Center write: derived when the client sent a key, otherwise
 * a fresh random GUID. Call it ONCE per logical write and pass the result to every try. `place` is the
 * write's place in the client's request (see `RequestIdInput.place`).
 */
export function requestIdForWrite(idempotency: IdempotencyContext | undefined, operation: string, place?: string): string {
  if (!idempotency) return randomUUID();
  return deriveRequestId({
    tenantId: idempotency.tenantId,
    objectId: idempotency.objectId,
    idempotencyKey: idempotency.key,
    operation,
    place,
  });
}
