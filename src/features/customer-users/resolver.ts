import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, ID, Info, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context.js';
import { fromCursor, pageInfo, pageSize } from '../shared/pagination.js';
import { requireSomeField } from '../shared/validate-input.js';
import { writePlace } from '../shared/write-place.js';
import { assertGuid } from '../../guid.js';
import { customerUserKey } from './loaders.js';
import { toCustomerUser, toCustomerUserPatch } from './mapping.js';
import { CustomerUser, CustomerUserConnection, UpdateCustomerUserInput } from './types.js';

@Resolver(() => CustomerUser)
export class CustomerUserResolver {
  @Authorized()
  @Query(() => CustomerUser, { nullable: true, description: "One user of a customer's tenant; null with NOT_FOUND when missing." })
  async customerUser(
    @Arg('customerId', () => ID) customerId: string,
    @Arg('userId', () => ID) userId: string,
    @Ctx() ctx: Context,
  ): Promise<CustomerUser> {
    // Checked here too: the loader key joins both ids with `/`, which only validated GUIDs make safe.
    assertGuid('customerId', customerId);
    assertGuid('userId', userId);
    const resource = await ctx.loaders.customerUsers.load(customerUserKey(customerId, userId));
    return toCustomerUser(resource, customerId, ctx.log);
  }

  @Authorized()
  @Query(() => CustomerUserConnection, { description: "A page of a customer's users (soft-deleted users are not listed)." })
  async customerUsers(
    @Arg('customerId', () => ID) customerId: string,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100. Default 25.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<CustomerUserConnection> {
    const size = pageSize(first);
    // A continuation link carries the page size of the first call (docs/upstream.md §1.6): `first` on later pages is advisory.
    const page = await fromCursor(() => ctx.partnerCenter.listCustomerUsers(customerId, { size, cursor: after ?? undefined }));
    const loader = ctx.loaders.customerUsers;
    for (const item of page.items) loader.prime(customerUserKey(customerId, item.id), item);
    return { nodes: page.items.map((item) => toCustomerUser(item, customerId, ctx.log)), pageInfo: pageInfo(page.nextCursor) };
  }

  @Authorized()
  @Mutation(() => CustomerUser, { description: 'Partial update (PATCH with only the fields set). state: ACTIVE restores a soft-deleted user.' })
  async updateCustomerUser(
    @Arg('customerId', () => ID) customerId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('input', () => UpdateCustomerUserInput) input: UpdateCustomerUserInput,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<CustomerUser> {
    requireSomeField('input', input);
    const updated = await ctx.partnerCenter.patchCustomerUser(customerId, userId, toCustomerUserPatch(input), writePlace(info));
    const key = customerUserKey(customerId, userId);
    ctx.loaders.customerUsers.clear(key).prime(key, updated);
    return toCustomerUser(updated, customerId, ctx.log);
  }
}
