/** configure() problems in the specs: the list a bad option set yields, and a check that one is listed. */
import assert from 'node:assert/strict';
import { JwtConfigurationError, JwtManager, type JwtOptions } from '../../src';

/** The problems `configure(options)` lists; fails when it accepts them. */
export function problemsOf(options: unknown): string[] {
  try {
    JwtManager.configure(options as JwtOptions);
  } catch (error) {
    assert.ok(error instanceof JwtConfigurationError, `expected a JwtConfigurationError, got ${error}`);
    return error.problems;
  }
  assert.fail('configure() accepted bad options');
}

/** Fails unless one of `problems` matches `pattern`. */
export function assertListed(problems: string[], pattern: RegExp): void {
  assert.ok(problems.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n  ${problems.join('\n  ')}`);
}
