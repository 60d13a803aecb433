import { IsEmail, MaxLength } from 'class-validator';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { IsPhoneNumber, IsWebsite } from '../shared/validators.js';

@ObjectType({ description: "The signed-in partner's support contact details (Partner Center)." })
export class SupportProfile {
  @Field(() => ID, { description: 'The partner tenant id: one support profile per partner.' })
  id!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => String, { nullable: true })
  telephone!: string | null;

  @Field(() => String, { nullable: true })
  website!: string | null;
}

@InputType({ description: 'Fields left out stay as they are; an explicit null clears one.' })
export class UpdateSupportProfileInput {
  @Field(() => String, { nullable: true })
  @MaxLength(254)
  @IsEmail({}, { message: 'must be an e-mail address' })
  email?: string | null;

  @Field(() => String, { nullable: true })
  @IsPhoneNumber()
  telephone?: string | null;

  @Field(() => String, { nullable: true, description: 'A host name, with or without http(s)://.' })
  @IsWebsite()
  website?: string | null;
}
