import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

/** How the caller signed in: App+User (delegated, `scp`) or app-only (`roles`). */
export enum PrincipalKindEnum {
  DELEGATED = 'delegated',
  APPLICATION = 'application',
}
registerEnumType(PrincipalKindEnum, { name: 'PrincipalKind', description: 'How the caller signed in.' });

@ObjectType({ description: 'Who the gateway thinks the caller is. Never contains the token.' })
export class Viewer {
  @Field(() => Boolean)
  authenticated!: boolean;

  @Field(() => PrincipalKindEnum, { nullable: true })
  kind!: PrincipalKindEnum | null;

  @Field(() => ID, { nullable: true })
  tenantId!: string | null;

  @Field(() => ID, { nullable: true })
  objectId!: string | null;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => [String], { description: 'Permissions the caller holds, implied Read permissions included.' })
  permissions!: string[];

  @Field(() => Boolean, { description: 'True for personal Microsoft accounts, which most operations refuse.' })
  personalAccount!: boolean;
}
