import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { usablePermissions } from '../../auth/permissions.js';
import type { Context } from '../../context.js';
import { PrincipalKindEnum, Viewer } from './types.js';

@Resolver(() => Viewer)
export class ViewerResolver {
  /** Public: without a token it answers `authenticated: false` (an invalid token fails earlier, in the context). */
  @Authorized() // public in the permission table: checked like every root field
  @Query(() => Viewer, { description: 'Who the gateway thinks the caller is (tenant, kind, permissions).' })
  viewer(@Ctx() { principal }: Context): Viewer {
    if (!principal) {
      return { authenticated: false, kind: null, tenantId: null, objectId: null, name: null, permissions: [], personalAccount: false };
    }
    return {
      authenticated: true,
      kind: principal.kind === 'delegated' ? PrincipalKindEnum.DELEGATED : PrincipalKindEnum.APPLICATION,
      tenantId: principal.tenantId,
      objectId: principal.objectId,
      name: principal.name ?? principal.username ?? null,
      // What it holds and can use: a personal account, which every field refuses, lists none.
      permissions: usablePermissions(principal),
      personalAccount: principal.personalAccount,
    };
  }
}
