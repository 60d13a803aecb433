import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Info, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../context.js';
import { requireSomeField } from '../shared/validate-input.js';
import { writePlace } from '../shared/write-place.js';
import { mergeSupportProfile, toSupportProfile } from './mapping.js';
import { SupportProfile, UpdateSupportProfileInput } from './types.js';

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
    // Read-merge-PUT under the partner's lock (in-process, or shared by every replica with REDIS_URL):
    // a concurrent update can never read the state this one is about to overwrite. Before each PUT try the
    // lease is checked (a write whose lock was lost is abandoned, not sent) and the try recorded, so a
    // replica taking the lock over after this one died waits for it to time out (state/lock.ts).
    const saved = await ctx.keyedLock.withLock(`support-profile:${tenantId}`, async (lease) => {
      // Fresh: never a cached answer nor a read already in flight, which could predate the previous
      // writer's PUT and merge its fields away (a lost update).
      const current = await ctx.partnerCenter.getSupportProfile({ fresh: true });
      return ctx.partnerCenter.putSupportProfile(mergeSupportProfile(current, input), {
        place: writePlace(info),
        beforeTry: (tryTimeoutMs) => lease.beforeWrite(tryTimeoutMs),
      });
    });
    return toSupportProfile(saved, tenantId);
  }
}
