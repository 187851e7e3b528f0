import assert from 'node:assert/strict';
import * as api from '../src';

/** The public names of DESIGN.md's import line. */
const PRESENT = [
  'JwtManager', 'JwtRequired', 'FreshJwtRequired', 'RefreshRequired', 'JwtOptional', 'Identity', 'Claims',
  'createAccessToken', 'createRefreshToken', 'decodeToken', 'getJwtIdentity', 'getJwtClaims', 'revokeToken',
  'unrevokeToken', 'getStoredToken', 'getStoredTokens', 'getAllStoredTokens', 'MemoryTokenStore', 'TokenNotFoundError',
];

describe('the public API (package entry point)', () => {
  for (const name of PRESENT) {
    it(`exports ${name}`, () => {
      assert.equal(typeof (api as Record<string, unknown>)[name], 'function');
    });
  }

  // BUG: DESIGN.md's public import line names RedisTokenStore and TieredTokenStore; src/index.ts exports neither (no src/store/redis.ts or tiered.ts yet).
  it.skip('exports RedisTokenStore and TieredTokenStore', () => {
    assert.equal(typeof (api as Record<string, unknown>).RedisTokenStore, 'function');
    assert.equal(typeof (api as Record<string, unknown>).TieredTokenStore, 'function');
  });

  // BUG: DESIGN.md's testing kit 'koa-jwt-extended/testing' (fakeAccessToken, fakeRefreshToken, withToken) does not exist: no src/testing/, yet package.json exports ./testing.
  it.skip('the testing kit exports fakeAccessToken, fakeRefreshToken and withToken', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kit = require('../src/testing') as Record<string, unknown>;
    for (const name of ['fakeAccessToken', 'fakeRefreshToken', 'withToken']) assert.equal(typeof kit[name], 'function');
  });
});
