import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, ID, Info, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context.js';
import { fromCursor, pageInfo, pageSize } from '../shared/pagination.js';
import { requireSomeField } from '../shared/validate-input.js';
import { toExternalUserProfile, toExternalUserProfilePatch } from './mapping.js';
import { selectedProperties } from './selection.js';
import { ExternalUserProfile, ExternalUserProfileConnection, UpdateExternalUserProfileInput } from './types.js';

@Resolver(() => ExternalUserProfile)
export class ExternalUserProfileResolver {
  @Authorized()
  @Query(() => ExternalUserProfile, { nullable: true, description: 'One external user profile; null with NOT_FOUND when missing.' })
  async externalUserProfile(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<ExternalUserProfile> {
    // The Graph client refuses a bad id (BAD_USER_INPUT) or a cloud without profiles before any call.
    // Graph is asked only for the properties the selection reads (selection.ts).
    return toExternalUserProfile(await ctx.loaders.externalUserProfiles.load(id, selectedProperties(info)));
  }

  @Authorized()
  @Query(() => ExternalUserProfileConnection, { description: 'A page of external user profiles.' })
  async externalUserProfiles(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100. Default 25.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' }) after: string | null,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ExternalUserProfileConnection> {
    // `$select` from `nodes { … }`; a next page is read with the first page's (Graph's nextLink carries it).
    const select = selectedProperties(info, ['nodes']);
    const page = await fromCursor(() => ctx.graph.listExternalUserProfiles({ top: pageSize(first), cursor: after ?? undefined, select }));
    for (const item of page.items) ctx.loaders.externalUserProfiles.prime(item, select);
    return { nodes: page.items.map(toExternalUserProfile), pageInfo: pageInfo(page.nextCursor) };
  }

  @Authorized()
  @Mutation(() => ExternalUserProfile, { description: 'Partial update of the updatable properties; returns the profile as Graph now has it.' })
  async updateExternalUserProfile(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateExternalUserProfileInput) input: UpdateExternalUserProfileInput,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ExternalUserProfile> {
    requireSomeField('input', input);
    await ctx.graph.patchExternalUserProfile(id, toExternalUserProfilePatch(input));
    // Graph answers the PATCH with 204 and no body (docs/upstream.md §2.2). A follow-up read, rather than
    // merging the input into an earlier read, returns what Graph actually stored (normalised values,
    // the replaced address, server-side changes) and costs one call only on this rare path. Fresh: never
    // a cached answer nor a read that was already in flight before the PATCH.
    const select = selectedProperties(info);
    const profile = await ctx.graph.getExternalUserProfile(id, select, { fresh: true });
    const loader = ctx.loaders.externalUserProfiles;
    loader.clear(id);
    loader.prime(profile, select);
    return toExternalUserProfile(profile);
  }
}
