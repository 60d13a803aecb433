/**
 * The baseline's schema: the gateway's SDL subset the bench queries (`supportProfile`,
 * `externalUserProfile`, `updateCustomerUser`), as plain typeDefs + resolvers.
 */
import { DateTimeResolver } from 'graphql-scalars';
import type { GraphAPI, PartnerCenterAPI } from './datasources.js';

export interface ContextValue {
  token: string;
  dataSources: {
    partnerCenter: PartnerCenterAPI;
    graph: GraphAPI;
  };
}

export const typeDefs = `#graphql
  scalar DateTime

  type SupportProfile { id: ID!  email: String  telephone: String  website: String }

  type PhysicalOfficeAddress { city: String  countryOrRegion: String  officeLocation: String  postalCode: String  state: String  street: String }
  type ExternalUserProfile {
    id: ID!  displayName: String  companyName: String  department: String  jobTitle: String
    phoneNumber: String  address: PhysicalOfficeAddress  isDiscoverable: Boolean  isEnabled: Boolean
    supervisorId: String  createdBy: String  createdDateTime: DateTime  deletedDateTime: DateTime
  }

  type Query {
    supportProfile: SupportProfile!
    externalUserProfile(id: ID!): ExternalUserProfile
  }

  type CustomerUser { id: ID!  displayName: String  usageLocation: String }
  input UpdateCustomerUserInput { displayName: String  usageLocation: String }
  type Mutation {
    updateCustomerUser(customerId: ID!, userId: ID!, input: UpdateCustomerUserInput!): CustomerUser!
  }
`;

/** The partner tenant (`tid`) of the caller's token, for `SupportProfile.id` (decoded, not verified). */
function tenantOf(authorization: string): string {
  const payload = authorization.replace(/^Bearer\s+/i, '').split('.')[1] ?? '';
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof claims.tid === 'string' ? claims.tid : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const resolvers = {
  DateTime: DateTimeResolver,
  Query: {
    supportProfile: async (_parent: unknown, _args: unknown, { dataSources, token }: ContextValue) => {
      const profile = await dataSources.partnerCenter.getSupportProfile();
      return { id: tenantOf(token), email: profile.email ?? null, telephone: profile.telephone ?? null, website: profile.website ?? null };
    },
    externalUserProfile: (_parent: unknown, { id }: { id: string }, { dataSources }: ContextValue) =>
      dataSources.graph.getExternalUserProfile(id),
  },
  Mutation: {
    updateCustomerUser: (
      _parent: unknown,
      { customerId, userId, input }: { customerId: string; userId: string; input: Record<string, unknown> },
      { dataSources }: ContextValue,
    ) => dataSources.partnerCenter.updateCustomerUser(customerId, userId, { ...input }),
  },
};
