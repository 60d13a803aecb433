import { Field, ObjectType } from 'type-graphql';
import { BadUserInputError } from '../../errors.js';

@ObjectType({ description: 'Relay-style paging: pass `endCursor` as `after` for the next page.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Opaque; wraps the upstream continuation.' })
  endCursor!: string | null;
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** `first` defaults to 25 and must be 1..100. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError('first', `must be from 1 to ${MAX_PAGE_SIZE}`);
  }
  return first;
}

export function pageInfo(nextCursor: string | undefined): PageInfo {
  return { hasNextPage: nextCursor !== undefined, endCursor: nextCursor ?? null };
}
