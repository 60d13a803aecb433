/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query Users($customerId: ID!, $after: String) {\n  customerUsers(customerId: $customerId, first: 20, after: $after) {\n    nodes {\n      id\n      displayName\n      userPrincipalName\n      state\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.UsersDocument,
    "query Profile($id: ID!) {\n  externalUserProfile(id: $id) {\n    id\n    displayName\n    jobTitle\n    address {\n      city\n    }\n  }\n}": typeof types.ProfileDocument,
    "query Profiles {\n  externalUserProfiles(first: 10) {\n    nodes {\n      id\n      displayName\n      companyName\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.ProfilesDocument,
    "mutation MoveProfile($id: ID!) {\n  updateExternalUserProfile(\n    id: $id\n    input: {jobTitle: \"Architect\", address: {city: \"Oslo\"}}\n  ) {\n    id\n    jobTitle\n    address {\n      city\n    }\n  }\n}": typeof types.MoveProfileDocument,
    "mutation RenameUser($customerId: ID!, $userId: ID!) {\n  updateCustomerUser(\n    customerId: $customerId\n    userId: $userId\n    input: {displayName: \"New Name\", usageLocation: \"DE\"}\n  ) {\n    id\n    displayName\n    usageLocation\n  }\n}": typeof types.RenameUserDocument,
    "mutation SetSupportEmail {\n  updateSupportProfile(input: {email: \"help@contoso.example\"}) {\n    id\n    email\n    telephone\n    website\n  }\n}": typeof types.SetSupportEmailDocument,
    "query Support {\n  supportProfile {\n    id\n    email\n    telephone\n    website\n  }\n}": typeof types.SupportDocument,
    "query Me {\n  viewer {\n    authenticated\n    kind\n    tenantId\n    permissions\n  }\n}": typeof types.MeDocument,
};
const documents: Documents = {
    "query Users($customerId: ID!, $after: String) {\n  customerUsers(customerId: $customerId, first: 20, after: $after) {\n    nodes {\n      id\n      displayName\n      userPrincipalName\n      state\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.UsersDocument,
    "query Profile($id: ID!) {\n  externalUserProfile(id: $id) {\n    id\n    displayName\n    jobTitle\n    address {\n      city\n    }\n  }\n}": types.ProfileDocument,
    "query Profiles {\n  externalUserProfiles(first: 10) {\n    nodes {\n      id\n      displayName\n      companyName\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.ProfilesDocument,
    "mutation MoveProfile($id: ID!) {\n  updateExternalUserProfile(\n    id: $id\n    input: {jobTitle: \"Architect\", address: {city: \"Oslo\"}}\n  ) {\n    id\n    jobTitle\n    address {\n      city\n    }\n  }\n}": types.MoveProfileDocument,
    "mutation RenameUser($customerId: ID!, $userId: ID!) {\n  updateCustomerUser(\n    customerId: $customerId\n    userId: $userId\n    input: {displayName: \"New Name\", usageLocation: \"DE\"}\n  ) {\n    id\n    displayName\n    usageLocation\n  }\n}": types.RenameUserDocument,
    "mutation SetSupportEmail {\n  updateSupportProfile(input: {email: \"help@contoso.example\"}) {\n    id\n    email\n    telephone\n    website\n  }\n}": types.SetSupportEmailDocument,
    "query Support {\n  supportProfile {\n    id\n    email\n    telephone\n    website\n  }\n}": types.SupportDocument,
    "query Me {\n  viewer {\n    authenticated\n    kind\n    tenantId\n    permissions\n  }\n}": types.MeDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Users($customerId: ID!, $after: String) {\n  customerUsers(customerId: $customerId, first: 20, after: $after) {\n    nodes {\n      id\n      displayName\n      userPrincipalName\n      state\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Users($customerId: ID!, $after: String) {\n  customerUsers(customerId: $customerId, first: 20, after: $after) {\n    nodes {\n      id\n      displayName\n      userPrincipalName\n      state\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Profile($id: ID!) {\n  externalUserProfile(id: $id) {\n    id\n    displayName\n    jobTitle\n    address {\n      city\n    }\n  }\n}"): (typeof documents)["query Profile($id: ID!) {\n  externalUserProfile(id: $id) {\n    id\n    displayName\n    jobTitle\n    address {\n      city\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Profiles {\n  externalUserProfiles(first: 10) {\n    nodes {\n      id\n      displayName\n      companyName\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Profiles {\n  externalUserProfiles(first: 10) {\n    nodes {\n      id\n      displayName\n      companyName\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation MoveProfile($id: ID!) {\n  updateExternalUserProfile(\n    id: $id\n    input: {jobTitle: \"Architect\", address: {city: \"Oslo\"}}\n  ) {\n    id\n    jobTitle\n    address {\n      city\n    }\n  }\n}"): (typeof documents)["mutation MoveProfile($id: ID!) {\n  updateExternalUserProfile(\n    id: $id\n    input: {jobTitle: \"Architect\", address: {city: \"Oslo\"}}\n  ) {\n    id\n    jobTitle\n    address {\n      city\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RenameUser($customerId: ID!, $userId: ID!) {\n  updateCustomerUser(\n    customerId: $customerId\n    userId: $userId\n    input: {displayName: \"New Name\", usageLocation: \"DE\"}\n  ) {\n    id\n    displayName\n    usageLocation\n  }\n}"): (typeof documents)["mutation RenameUser($customerId: ID!, $userId: ID!) {\n  updateCustomerUser(\n    customerId: $customerId\n    userId: $userId\n    input: {displayName: \"New Name\", usageLocation: \"DE\"}\n  ) {\n    id\n    displayName\n    usageLocation\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetSupportEmail {\n  updateSupportProfile(input: {email: \"help@contoso.example\"}) {\n    id\n    email\n    telephone\n    website\n  }\n}"): (typeof documents)["mutation SetSupportEmail {\n  updateSupportProfile(input: {email: \"help@contoso.example\"}) {\n    id\n    email\n    telephone\n    website\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Support {\n  supportProfile {\n    id\n    email\n    telephone\n    website\n  }\n}"): (typeof documents)["query Support {\n  supportProfile {\n    id\n    email\n    telephone\n    website\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  viewer {\n    authenticated\n    kind\n    tenantId\n    permissions\n  }\n}"): (typeof documents)["query Me {\n  viewer {\n    authenticated\n    kind\n    tenantId\n    permissions\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;