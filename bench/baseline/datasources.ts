/**
 * The baseline's data sources, written the way Apollo's "Fetching from REST" docs show
 * (https://www.apollographql.com/docs/apollo-server/data/fetching-rest): one `RESTDataSource` subclass
 * per REST API, created per request with the server's cache and the caller's token, which
 * `willSendRequest` forwards upstream (auth passthrough).
 *
 * No batching (one GET per profile), no retries, no token exchange: what a minimal idiomatic BFF does out
 * of the box (the caller's token is verified once, in server.ts, with jose).
 */
import { RESTDataSource, type AugmentedRequest, type DataSourceConfig } from '@apollo/datasource-rest';

export interface DataSourceOptions {
  baseURL: string;
  token: string;
  cache: DataSourceConfig['cache'];
}

export interface SupportProfileResource {
  email?: string | null;
  telephone?: string | null;
  website?: string | null;
}

export interface CustomerUserResource {
  id: string;
  displayName?: string | null;
  usageLocation?: string | null;
  [field: string]: unknown;
}

export interface ExternalUserProfileResource {
  id: string;
  [field: string]: unknown;
}

export class PartnerCenterAPI extends RESTDataSource {
  private readonly token: string;

  constructor(options: DataSourceOptions) {
    super(options); // the cache
    this.baseURL = options.baseURL;
    this.token = options.token;
  }

  override willSendRequest(_path: string, request: AugmentedRequest) {
    request.headers['authorization'] = this.token;
  }

  async getSupportProfile(): Promise<SupportProfileResource> {
    return this.get<SupportProfileResource>('v1/profiles/support');
  }

  async updateCustomerUser(customerId: string, userId: string, input: Record<string, unknown>): Promise<CustomerUserResource> {
    return this.patch<CustomerUserResource>(`v1/customers/${encodeURIComponent(customerId)}/users/${encodeURIComponent(userId)}`, {
      body: { ...input, attributes: { objectType: 'CustomerUser' } },
    });
  }
}

export class GraphAPI extends RESTDataSource {
  private readonly token: string;

  constructor(options: DataSourceOptions) {
    super(options);
    this.baseURL = options.baseURL;
    this.token = options.token;
  }

  override willSendRequest(_path: string, request: AugmentedRequest) {
    request.headers['authorization'] = this.token;
  }

  async getExternalUserProfile(id: string): Promise<ExternalUserProfileResource> {
    return this.get<ExternalUserProfileResource>(`beta/directory/externalUserProfiles/${encodeURIComponent(id)}`);
  }
}
