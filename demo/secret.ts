/**
 * The demo's HS256 secret: `JWT_SECRET` when set, else 48 random bytes made once for this
 * process. There is no fixed fallback: a secret written in a public repository signs
 * tokens anyone can forge.
 */
import { randomBytes } from 'node:crypto';

let generated: string | undefined;

/** Where this run's secret came from, for the start-up line. */
export type DemoSecretSource = 'JWT_SECRET' | 'random';

/**
 * The secret of this run and where it came from.
 *
 * @example const { secret, source } = demoSecret(); if (source === 'random') console.warn('random secret')
 */
export function demoSecret(): { secret: string; source: DemoSecretSource } {
  const fromEnvironment = process.env.JWT_SECRET;
  if (fromEnvironment !== undefined && fromEnvironment !== '') return { secret: fromEnvironment, source: 'JWT_SECRET' };
  generated ??= randomBytes(48).toString('base64url');
  return { secret: generated, source: 'random' };
}

/**
 * The start-up line saying where the secret came from (never the secret itself).
 *
 * @example console.log(describeDemoSecret())
 */
export function describeDemoSecret(): string {
  return demoSecret().source === 'JWT_SECRET'
    ? 'signing with JWT_SECRET'
    : 'JWT_SECRET is not set: signing with a random secret made for this run (tokens stop working on restart)';
}
