/**
 * The part of autocannon's programmatic API the bench uses (autocannon ships no types and the bench
 * does not add `@types/autocannon`). See https://github.com/mcollina/autocannon#api.
 */
declare module 'autocannon' {
  export interface Options {
    url: string;
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    pipelining?: number;
    /** Seconds. */
    timeout?: number;
    overallRate?: number;
    connectionRate?: number;
    ignoreCoordinatedOmission?: boolean;
    expectBody?: string;
    /** Requests sent in turn by every connection; `setupRequest` rebuilds one each time it is sent. */
    requests?: Array<{ setupRequest?: (request: Record<string, unknown>, context: Record<string, unknown>) => Record<string, unknown> }>;
    verifyBody?: (body: string) => boolean;
    /** Record latencies of non-2xx answers too. */
    excludeErrorStats?: boolean;
  }

  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    sent?: number;
    p2_5: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    p99_9?: number;
    totalCount?: number;
  }

  export interface Result {
    url: string;
    connections: number;
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram;
    throughput: Histogram;
  }

  /** Without a callback, autocannon returns its event emitter made thenable. */
  function autocannon(options: Options): PromiseLike<Result>;
  export default autocannon;
}
