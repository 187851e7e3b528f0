/** The HS256 secret every bench server and client shares. */
export const BENCH_SECRET = 'bench-secret-of-at-least-thirty-two-bytes';
