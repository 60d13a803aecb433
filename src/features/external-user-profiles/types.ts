import { IsBoolean, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { DateTimeScalar } from '../shared/date-time.js';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { PageInfo } from '../shared/pagination.js';
import { IsDirectoryObjectId } from '../shared/validators.js';

@ObjectType({ description: 'Graph physicalOfficeAddress.' })
export class PhysicalOfficeAddress {
  @Field(() => String, { nullable: true }) city!: string | null;
  @Field(() => String, { nullable: true }) countryOrRegion!: string | null;
  @Field(() => String, { nullable: true }) officeLocation!: string | null;
  @Field(() => String, { nullable: true }) postalCode!: string | null;
  @Field(() => String, { nullable: true }) state!: string | null;
  @Field(() => String, { nullable: true }) street!: string | null;
}

@InputType({ description: 'Replaces the whole stored address (Graph complex-property semantics).' })
export class PhysicalOfficeAddressInput {
  @Field(() => String, { nullable: true }) @MaxLength(128) city?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(128) countryOrRegion?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(128) officeLocation?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(40) postalCode?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(128) state?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(1024) street?: string | null;
}

@ObjectType({ description: 'Microsoft Graph (beta) externalUserProfile: an external user known to the directory.' })
export class ExternalUserProfile {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) displayName!: string | null;
  @Field(() => String, { nullable: true }) companyName!: string | null;
  @Field(() => String, { nullable: true }) department!: string | null;
  @Field(() => String, { nullable: true }) jobTitle!: string | null;
  @Field(() => String, { nullable: true, description: 'E.164. Not updatable after redemption.' }) phoneNumber!: string | null;
  @Field(() => PhysicalOfficeAddress, { nullable: true }) address!: PhysicalOfficeAddress | null;
  @Field(() => Boolean, { nullable: true, description: 'True: shows up in Teams search.' }) isDiscoverable!: boolean | null;
  @Field(() => Boolean, { nullable: true }) isEnabled!: boolean | null;
  @Field(() => String, { nullable: true }) supervisorId!: string | null;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) createdDateTime!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) deletedDateTime!: Date | null;
}

@ObjectType()
export class ExternalUserProfileConnection {
  @Field(() => [ExternalUserProfile]) nodes!: ExternalUserProfile[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

/**
 * Only the 8 properties Graph lets a caller update after redemption (docs/upstream.md §2.2); `phoneNumber`
 * is deliberately absent, so it cannot be sent.
 */
@InputType({ description: 'Fields left out stay as they are; an explicit null clears one.' })
export class UpdateExternalUserProfileInput {
  @Field(() => String, { nullable: true }) @MinLength(1) @MaxLength(256) displayName?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(256) companyName?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(256) department?: string | null;
  @Field(() => String, { nullable: true }) @MaxLength(256) jobTitle?: string | null;
  @Field(() => PhysicalOfficeAddressInput, { nullable: true }) @ValidateNested() address?: PhysicalOfficeAddressInput | null;
  @Field(() => Boolean, { nullable: true }) @IsBoolean() isDiscoverable?: boolean | null;
  @Field(() => Boolean, { nullable: true }) @IsBoolean() isEnabled?: boolean | null;
  @Field(() => String, { nullable: true, description: "The supervisor's directory object id (a GUID)." })
  @IsDirectoryObjectId()
  supervisorId?: string | null;
}
