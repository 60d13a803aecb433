import type { GraphQLResolveInfo } from 'graphql';

/**
 * Where a write sits in the client's request: the response name (alias, else field name) of the root
 * field being resolved. It goes into the derived `MS-RequestId` (src/upstream/request-id.ts): a resend of
 * the same document gives every write its old id again (Partner Center replays), while two aliased
 * mutations under one `Idempotency-Key` (`a: update…  b: update…`) get two ids, so `b` is not replayed as `a`.
 */
export function writePlace(info: GraphQLResolveInfo): string {
  let path = info.path;
  while (path.prev) path = path.prev;
  return String(path.key);
}
