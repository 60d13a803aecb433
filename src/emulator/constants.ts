/** The audience of tokens minted for the gateway itself (the gateway's App ID URI in the emulator). */
export const EMULATOR_GATEWAY_AUDIENCE = 'api://partner-bff-gateway';

/** Partner Center's resource (token `aud`), docs/upstream.md §1.2. */
export const PARTNER_CENTER_RESOURCE = 'https://api.partnercenter.microsoft.com';

/** Microsoft Graph's resource (token `aud`), docs/upstream.md §2.4. */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

/** The `tid` of every personal Microsoft account (docs/permissions.md). */
export const PERSONAL_ACCOUNT_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** Every delegated permission of the gateway: what a token minted with no options carries. */
export const ALL_GATEWAY_SCOPES = 'SupportProfile.ReadWrite CustomerUser.ReadWrite.All ExternalUserProfile.ReadWrite.All';

/** The only delegated permission Partner Center defines (docs/upstream.md §1.2). */
export const PARTNER_CENTER_DELEGATED_SCOPE = 'user_impersonation';
