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

  it('exports RedisTokenStore and TieredTokenStore', () => {
    assert.equal(typeof (api as Record<string, unknown>).RedisTokenStore, 'function');
    assert.equal(typeof (api as Record<string, unknown>).TieredTokenStore, 'function');
  });

  it('the testing kit exports fakeAccessToken, fakeRefreshToken and withToken', () => {
    const kit = require('../src/testing') as Record<string, unknown>;
    for (const name of ['fakeAccessToken', 'fakeRefreshToken', 'withToken', 'authHeader']) assert.equal(typeof kit[name], 'function');
  });
});
