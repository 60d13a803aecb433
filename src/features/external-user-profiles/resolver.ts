import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context.js';
import { fromCursor, pageInfo, pageSize } from '../shared/pagination.js';
import { requireSomeField } from '../shared/validate-input.js';
import { toExternalUserProfile, toExternalUserProfilePatch } from './mapping.js';
import { ExternalUserProfile, ExternalUserProfileConnection, UpdateExternalUserProfileInput } from './types.js';

@Resolver(() => ExternalUserProfile)
export class ExternalUserProfileResolver {
  @Authorized()
  @Query(() => ExternalUserProfile, { nullable: true, description: 'One external user profile; null with NOT_FOUND when missing.' })
  async externalUserProfile(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<ExternalUserProfile> {
    // The Graph client refuses a bad id (BAD_USER_INPUT) or a cloud without profiles before any call.
    return toExternalUserProfile(await ctx.loaders.externalUserProfiles.load(id));
  }

  @Authorized()
  @Query(() => ExternalUserProfileConnection, { description: 'A page of external user profiles.' })
  async externalUserProfiles(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100. Default 25.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<ExternalUserProfileConnection> {
    const page = await fromCursor(() => ctx.graph.listExternalUserProfiles({ top: pageSize(first), cursor: after ?? undefined }));
    for (const item of page.items) ctx.loaders.externalUserProfiles.prime(item.id, item);
    return { nodes: page.items.map(toExternalUserProfile), pageInfo: pageInfo(page.nextCursor) };
  }

  @Authorized()
  @Mutation(() => ExternalUserProfile, { description: 'Partial update of the updatable properties; returns the profile as Graph now has it.' })
  async updateExternalUserProfile(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateExternalUserProfileInput) input: UpdateExternalUserProfileInput,
    @Ctx() ctx: Context,
  ): Promise<ExternalUserProfile> {
    requireSomeField('input', input);
    await ctx.graph.patchExternalUserProfile(id, toExternalUserProfilePatch(input));
    // Graph answers the PATCH with 204 and no body (UPSTREAM.md §2.2). A follow-up read, rather than
    // merging the input into an earlier read, returns what Graph actually stored (normalised values,
    // the replaced address, server-side changes) and costs one call only on this rare path.
    const loader = ctx.loaders.externalUserProfiles;
    loader.clear(id);
    return toExternalUserProfile(await loader.load(id));
  }
}
