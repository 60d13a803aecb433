import { Equals, IsEmail, IsISO31661Alpha2, Length, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { DateTimeScalar } from '../shared/date-time.js';
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../shared/pagination.js';
import { IsPhoneNumber } from '../shared/validators.js';

/** Partner Center sends these lower snake_case (docs/upstream.md §1.4, §1.6); the enum values are the wire values. */
export enum CustomerUserState {
  ACTIVE = 'active',
  INACTIVE = 'inactive',
}
registerEnumType(CustomerUserState, {
  name: 'CustomerUserState',
  description: 'INACTIVE is a soft-deleted user (purged after 30 days); setting ACTIVE restores it.',
});

export enum UserDomainType {
  NONE = 'none',
  MANAGED = 'managed',
  FEDERATED = 'federated',
}
registerEnumType(UserDomainType, { name: 'UserDomainType' });

@ObjectType({ description: "A user in a customer's tenant, as Partner Center manages it." })
export class CustomerUser {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String, { nullable: true })
  userPrincipalName!: string | null;

  @Field(() => String, { nullable: true })
  firstName!: string | null;

  @Field(() => String, { nullable: true })
  lastName!: string | null;

  @Field(() => String, { nullable: true })
  displayName!: string | null;

  @Field(() => String, { nullable: true })
  phoneNumber!: string | null;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2 country code.' })
  usageLocation!: string | null;

  @Field(() => String, { nullable: true })
  immutableId!: string | null;

  @Field(() => CustomerUserState, { nullable: true })
  state!: CustomerUserState | null;

  @Field(() => UserDomainType, { nullable: true })
  userDomainType!: UserDomainType | null;

  @Field(() => DateTimeScalar, { nullable: true })
  lastDirectorySyncTime!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  softDeletionTime!: Date | null;
}

@ObjectType()
export class CustomerUserConnection {
  @Field(() => [CustomerUser])
  nodes!: CustomerUser[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@InputType()
export class PasswordProfileInput {
  /** Entra ID accepts 8 to 256 characters. Never logged, never echoed. */
  @Field(() => String)
  @Length(8, 256, { message: 'must be 8 to 256 characters' })
  password!: string;

  @Field(() => Boolean, { defaultValue: true })
  forceChangePassword!: boolean;
}

@InputType({ description: 'Fields left out stay as they are; an explicit null clears one where Partner Center allows.' })
export class UpdateCustomerUserInput {
  @Field(() => String, { nullable: true })
  @MaxLength(113, { message: 'must be at most 113 characters' })
  @IsEmail({ allow_ip_domain: false }, { message: 'must be a user principal name such as user@contoso.onmicrosoft.com' })
  userPrincipalName?: string | null;

  @Field(() => String, { nullable: true })
  @MinLength(1)
  @MaxLength(64)
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  @MinLength(1)
  @MaxLength(64)
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  @MinLength(1)
  @MaxLength(256)
  displayName?: string | null;

  @Field(() => String, { nullable: true })
  @IsPhoneNumber()
  phoneNumber?: string | null;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2 country code, e.g. US.' })
  @IsISO31661Alpha2({ message: 'must be a two-letter ISO 3166-1 country code such as US' })
  usageLocation?: string | null;

  @Field(() => PasswordProfileInput, { nullable: true })
  @ValidateNested()
  passwordProfile?: PasswordProfileInput | null;

  /**
   * Partner Center restores a soft-deleted user with a PATCH of `state: active` (docs/upstream.md §1.6);
   * soft deletion is a DELETE, not a PATCH to `inactive`, so INACTIVE is refused here.
   */
  @Field(() => CustomerUserState, { nullable: true, description: 'ACTIVE restores a soft-deleted user; INACTIVE cannot be set.' })
  @Equals(CustomerUserState.ACTIVE, { message: 'can only be ACTIVE (restores a soft-deleted user); deleting a user is not an update' })
  state?: CustomerUserState | null;
}
