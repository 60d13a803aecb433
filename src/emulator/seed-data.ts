/**
 * Deterministic seed data for the emulator: one partner tenant with its support profile, two
 * customers with 50+ users each, and 30+ Graph external user profiles.
 *
 * Everything is derived from a fixed-seed PRNG, so ids, names and dates are identical on every run
 * and tests may hard-code nothing but still rely on `seedData`'s ids. `createSeedState()` returns a
 * fresh, mutable deep copy each time (the emulator's `reset()` uses it); `seedData` is the frozen
 * summary tests read.
 */

/** A Partner Center support profile as stored (absent fields are `undefined`, as PUT clears them). */
export interface StoredSupportProfile {
  email?: string;
  telephone?: string;
  website?: string;
}

/** A Partner Center customer user as stored (docs/upstream.md §1.6); `null` means cleared/absent. */
export interface StoredCustomerUser {
  id: string;
  userPrincipalName: string;
  firstName: string | null;
  lastName: string | null;
  displayName: string;
  phoneNumber: string | null;
  usageLocation: string | null;
  immutableId: string | null;
  state: 'active' | 'inactive';
  userDomainType: 'none' | 'managed' | 'federated';
  lastDirectorySyncTime: string | null;
  softDeletionTime: string | null;
  /** Write-only upstream: stored so tests can see it was applied, never returned. */
  passwordProfile: { password: string; forceChangePassword: boolean } | null;
}

/** A customer tenant of the partner, with its users in a stable listing order. */
export interface StoredCustomer {
  id: string;
  companyName: string;
  domain: string;
  /** The partner tenant that has the relationship with this customer. */
  partnerTenantId: string;
  users: Map<string, StoredCustomerUser>;
}

/** Graph `physicalOfficeAddress` (docs/upstream.md §2.1). */
export interface StoredAddress {
  city?: string | null;
  countryOrRegion?: string | null;
  officeLocation?: string | null;
  postalCode?: string | null;
  state?: string | null;
  street?: string | null;
}

/** Graph `externalUserProfile` (beta) as stored (docs/upstream.md §2.1). */
export interface StoredExternalUserProfile {
  id: string;
  address: StoredAddress | null;
  companyName: string | null;
  createdBy: string;
  createdDateTime: string;
  deletedDateTime: string | null;
  department: string | null;
  displayName: string;
  isDiscoverable: boolean;
  isEnabled: boolean;
  jobTitle: string | null;
  phoneNumber: string;
  supervisorId: string | null;
}

/** The emulator's whole mutable data set. */
export interface SeedState {
  /** Support profile per partner tenant id (token `tid`). */
  supportProfiles: Map<string, StoredSupportProfile>;
  customers: Map<string, StoredCustomer>;
  externalUserProfiles: Map<string, StoredExternalUserProfile>;
}

/** The frozen ids and values tests can rely on. */
export interface SeedData {
  readonly partnerTenantId: string;
  readonly partnerDomain: string;
  readonly partnerName: string;
  /** The dev user (default `oid` of minted tokens), a user of the partner tenant. */
  readonly devUserObjectId: string;
  readonly devUserName: string;
  readonly devUserPrincipalName: string;
  /** Object id of the gateway's service principal (the `oid` of app-only tokens). */
  readonly appObjectId: string;
  /** Default `azp` (the client app) of minted tokens. */
  readonly gatewayClientId: string;
  /** `oid` of personal-account (`msa`) tokens. */
  readonly msaUserObjectId: string;
  readonly supportProfile: Readonly<Required<StoredSupportProfile>>;
  readonly customers: ReadonlyArray<{
    readonly id: string;
    readonly companyName: string;
    readonly domain: string;
    /** Active users, in the order the list endpoint returns them. */
    readonly userIds: readonly string[];
    /** Soft-deleted users (`state: inactive`), not listed by default. */
    readonly deletedUserIds: readonly string[];
  }>;
  /** The one soft-deleted user, and the customer it belongs to. */
  readonly softDeletedUserId: string;
  readonly softDeletedUserCustomerId: string;
  /** Ids of the external user profiles, in listing order. */
  readonly externalUserProfileIds: readonly string[];
}

// --- deterministic PRNG --------------------------------------------------------------------------

/** mulberry32: tiny, fast, good enough for seed data and shuffles. Returns floats in [0, 1). */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function guidFrom(rand: () => number): string {
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) bytes.push(Math.floor(rand() * 256));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

const FIRST_NAMES = [
  'Adele', 'Alex', 'Allan', 'Amara', 'Ben', 'Camille', 'Chen', 'Christie', 'Daniel', 'Diego',
  'Emily', 'Enrico', 'Fatima', 'Grady', 'Hannah', 'Henrietta', 'Irvin', 'Isaiah', 'Johanna',
  'Joni', 'Kenji', 'Lee', 'Lidia', 'Lynne', 'Megan', 'Miriam', 'Nestor', 'Nia', 'Olga', 'Patti',
  'Pradeep', 'Priya', 'Raul', 'Sakura', 'Sofia', 'Tomasz', 'Yara', 'Zoe',
] as const;
const LAST_NAMES = [
  'Adams', 'Bowen', 'Cho', 'Diaz', 'Erikson', 'Fernandes', 'Gupta', 'Hansen', 'Ito', 'Jakobsen',
  'Kowalski', 'Lambert', 'Lopez', 'Mbeki', 'Nakamura', 'Novak', 'Okafor', 'Patel', 'Quinn',
  'Rossi', 'Schmidt', 'Sellers', 'Tanaka', 'Vance', 'Wilber', 'Xu', 'Young', 'Zeller',
] as const;
const USAGE_LOCATIONS = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'CA', 'JP', 'IN', 'BR', 'AU', 'NL'] as const;
const COMPANIES = [
  'Adatum Corporation', 'Alpine Ski House', 'Bellows College', 'Coho Winery', 'Fourth Coffee',
  'Litware, Inc.', 'Lucerne Publishing', 'Margie\'s Travel', 'Proseware, Inc.', 'Tailspin Toys',
  'Trey Research', 'Wingtip Toys', 'Woodgrove Bank',
] as const;
const DEPARTMENTS = ['Sales', 'Marketing', 'Engineering', 'Finance', 'Legal', 'Operations', 'Support', 'Research'] as const;
const JOB_TITLES = ['Consultant', 'Contractor', 'Account Manager', 'Engineer', 'Analyst', 'Designer', 'Project Lead', 'Advisor'] as const;
const CITIES = [
  { city: 'Redmond', state: 'WA', countryOrRegion: 'United States', postalCode: '98052' },
  { city: 'Seattle', state: 'WA', countryOrRegion: 'United States', postalCode: '98101' },
  { city: 'London', state: null, countryOrRegion: 'United Kingdom', postalCode: 'EC1A 1BB' },
  { city: 'Munich', state: 'BY', countryOrRegion: 'Germany', postalCode: '80331' },
  { city: 'Toronto', state: 'ON', countryOrRegion: 'Canada', postalCode: 'M5H 2N2' },
  { city: 'Tokyo', state: null, countryOrRegion: 'Japan', postalCode: '100-0005' },
] as const;
const STREETS = ['One Microsoft Way', '1 Main Street', '221B Baker Street', '42 Harbour Road', '7 Market Square', '500 Pine Avenue'] as const;

/** Fixed base instant, so seeded dates never depend on the clock. */
const BASE_TIME = Date.UTC(2024, 0, 15, 9, 0, 0);

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// --- generation ----------------------------------------------------------------------------------

interface Generated {
  summary: SeedData;
  build: () => SeedState;
}

function generate(): Generated {
  const rand = createPrng(0x5eed_2024);
  const partnerTenantId = guidFrom(rand);
  const partnerDomain = 'fabrikamcsp.onmicrosoft.com';
  const devUserObjectId = guidFrom(rand);
  const appObjectId = guidFrom(rand);
  const gatewayClientId = guidFrom(rand);
  const msaUserObjectId = `00000000-0000-0000-${guidFrom(rand).slice(19)}`;
  const supportProfile = {
    email: 'support@fabrikamcsp.com',
    telephone: '4255555555',
    website: 'www.fabrikamcsp.com',
  };

  const customerSpecs = [
    { companyName: 'Contoso Ltd', domain: 'contosoltd.onmicrosoft.com', count: 55, deleted: [7] },
    { companyName: 'Northwind Traders', domain: 'northwindtraders.onmicrosoft.com', count: 58, deleted: [] as number[] },
  ];

  const customers: Array<{ id: string; companyName: string; domain: string; users: StoredCustomerUser[] }> = [];
  for (const spec of customerSpecs) {
    const id = guidFrom(rand);
    const users: StoredCustomerUser[] = [];
    const usedUpns = new Set<string>();
    for (let i = 0; i < spec.count; i++) {
      const firstName = pick(rand, FIRST_NAMES);
      const lastName = pick(rand, LAST_NAMES);
      let local = `${firstName}.${lastName}`.toLowerCase();
      for (let n = 2; usedUpns.has(local); n++) local = `${firstName}.${lastName}${n}`.toLowerCase();
      usedUpns.add(local);
      const synced = i % 11 === 3;
      const deleted = spec.deleted.includes(i);
      users.push({
        id: guidFrom(rand),
        userPrincipalName: `${local}@${spec.domain}`,
        firstName,
        lastName,
        displayName: `${firstName} ${lastName}`,
        phoneNumber: rand() < 0.6 ? `+1 425 555 ${String(Math.floor(rand() * 10000)).padStart(4, '0')}` : null,
        usageLocation: pick(rand, USAGE_LOCATIONS),
        immutableId: synced ? Buffer.from(guidFrom(rand)).toString('base64').slice(0, 24) : null,
        state: deleted ? 'inactive' : 'active',
        userDomainType: 'managed',
        lastDirectorySyncTime: synced ? isoSeconds(BASE_TIME + Math.floor(rand() * 90) * 86_400_000) : null,
        softDeletionTime: deleted ? isoSeconds(BASE_TIME + 120 * 86_400_000) : null,
        passwordProfile: null,
      });
    }
    customers.push({ id, companyName: spec.companyName, domain: spec.domain, users });
  }

  const profiles: StoredExternalUserProfile[] = [];
  for (let i = 0; i < 32; i++) {
    const firstName = pick(rand, FIRST_NAMES);
    const lastName = pick(rand, LAST_NAMES);
    const place = pick(rand, CITIES);
    const hasAddress = i % 5 !== 4;
    profiles.push({
      id: guidFrom(rand),
      address: hasAddress
        ? {
            city: place.city,
            countryOrRegion: place.countryOrRegion,
            officeLocation: `Building ${1 + Math.floor(rand() * 40)}`,
            postalCode: place.postalCode,
            state: place.state,
            street: pick(rand, STREETS),
          }
        : null,
      companyName: pick(rand, COMPANIES),
      createdBy: devUserObjectId,
      createdDateTime: isoSeconds(BASE_TIME + Math.floor(rand() * 300) * 86_400_000 + Math.floor(rand() * 86_400) * 1000),
      deletedDateTime: null,
      department: rand() < 0.8 ? pick(rand, DEPARTMENTS) : null,
      displayName: `${firstName} ${lastName}`,
      isDiscoverable: rand() < 0.7,
      isEnabled: i % 9 !== 8,
      jobTitle: pick(rand, JOB_TITLES),
      // E.164, as Graph stores it (docs/upstream.md §2.1).
      phoneNumber: `+1425555${String(1000 + i * 37).padStart(4, '0')}`,
      supervisorId: rand() < 0.5 ? guidFrom(rand) : null,
    });
  }

  const softDeleted = customers[0]!.users.find((u) => u.state === 'inactive')!;
  const summary: SeedData = deepFreeze({
    partnerTenantId,
    partnerDomain,
    partnerName: 'Fabrikam Cloud Solutions',
    devUserObjectId,
    devUserName: 'Dev User',
    devUserPrincipalName: `dev.user@${partnerDomain}`,
    appObjectId,
    gatewayClientId,
    msaUserObjectId,
    supportProfile,
    customers: customers.map((c) => ({
      id: c.id,
      companyName: c.companyName,
      domain: c.domain,
      userIds: c.users.filter((u) => u.state === 'active').map((u) => u.id),
      deletedUserIds: c.users.filter((u) => u.state === 'inactive').map((u) => u.id),
    })),
    softDeletedUserId: softDeleted.id,
    softDeletedUserCustomerId: customers[0]!.id,
    externalUserProfileIds: profiles.map((p) => p.id),
  });

  const build = (): SeedState => ({
    supportProfiles: new Map([[partnerTenantId, { ...supportProfile }]]),
    customers: new Map(
      customers.map((c) => [
        c.id,
        {
          id: c.id,
          companyName: c.companyName,
          domain: c.domain,
          partnerTenantId,
          users: new Map(c.users.map((u) => [u.id, { ...u }])),
        },
      ]),
    ),
    externalUserProfiles: new Map(
      profiles.map((p) => [p.id, { ...p, address: p.address ? { ...p.address } : null }]),
    ),
  });

  return { summary, build };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const generated = generate();

/** Stable ids and values of the emulator's seed data (identical on every run). */
export const seedData: SeedData = generated.summary;

/** A fresh, mutable copy of the seed data (what the emulator starts with and `reset()` restores). */
export function createSeedState(): SeedState {
  return generated.build();
}
