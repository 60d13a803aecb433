import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Info, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context.js';
import { requireSomeField } from '../shared/validate-input.js';
import { writePlace } from '../shared/write-place.js';
import { mergeSupportProfile, toSupportProfile } from './merge.js';
import { KeyedSerializer } from '../../state/keyed-serializer.js';
import { SupportProfile, UpdateSupportProfileInput } from './types.js';

/**
 * One serializer per process: read-merge-write of a partner's profile never interleaves with another
 * update of the same partner in this process. Across replicas see README ("Support profile updates").
 */
const updatesByPartner = new KeyedSerializer();

@Resolver(() => SupportProfile)
export class SupportProfileResolver {
  @Authorized()
  @Query(() => SupportProfile, { description: "The signed-in partner's support profile." })
  async supportProfile(@Ctx() ctx: Context): Promise<SupportProfile> {
    const resource = await ctx.partnerCenter.getSupportProfile();
    return toSupportProfile(resource, ctx.principal!.tenantId);
  }

  @Authorized()
  @Mutation(() => SupportProfile, { description: 'Partial update: fields left out are kept, null clears a field.' })
  async updateSupportProfile(
    @Arg('input', () => UpdateSupportProfileInput) input: UpdateSupportProfileInput,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<SupportProfile> {
    requireSomeField('input', input);
    const tenantId = ctx.principal!.tenantId;
    const saved = await updatesByPartner.run(tenantId, async () => {
      const current = await ctx.partnerCenter.getSupportProfile();
      return ctx.partnerCenter.putSupportProfile(mergeSupportProfile(current, input), writePlace(info));
    });
    return toSupportProfile(saved, tenantId);
  }
}
