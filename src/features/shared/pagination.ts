import { Field, ObjectType } from 'type-graphql';
import { BadUserInputError, InvalidCursorError } from '../../errors.js';

@ObjectType({ description: 'Relay-style paging: pass `endCursor` as `after` for the next page.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Opaque; wraps the upstream continuation.' })
  endCursor!: string | null;
}

/** Page size when a list query gives no `first`. */
export const DEFAULT_PAGE_SIZE = 25;
/**
 * The GraphQL page-size limit: the largest `first` a client may ask for. Each upstream's own largest
 * page (Partner Center 500, Graph 999) is above it, so a valid `first` is always a valid upstream size.
 */
export const GRAPHQL_MAX_PAGE_SIZE = 100;

/** `first` defaults to 25 and must be 1..100: the GraphQL paging argument is validated here, in the features. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > GRAPHQL_MAX_PAGE_SIZE) {
    throw new BadUserInputError('first', `must be from 1 to ${GRAPHQL_MAX_PAGE_SIZE}`);
  }
  return first;
}

/**
 * Reads one page from `after` on: the REST clients refuse a cursor they cannot verify with their own
 * `InvalidCursorError`, which names no argument; the client is told it was `after`.
 */
export async function fromCursor<T>(readPage: () => Promise<T>): Promise<T> {
  try {
    return await readPage();
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new BadUserInputError('after', error.message);
    throw error;
  }
}

export function pageInfo(nextCursor: string | undefined): PageInfo {
  return { hasNextPage: nextCursor !== undefined, endCursor: nextCursor ?? null };
}
