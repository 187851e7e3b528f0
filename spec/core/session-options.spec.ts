import assert from 'node:assert/strict';
import {
  createAccessToken, createRefreshToken, JwtConfigurationError, JwtManager, JwtUsageError, MemoryTokenStore, revokeAllTokens,
  revokeToken, rotateRefreshToken,
} from '../../src';
import { CountingStore } from '../support/store';
import { SECRET } from '../support/server';

/** Issue 13's options, checked at configure(), and the usage errors of its functions. */
describe('core: session options and usage', () => {
  afterEach(() => JwtManager.reset());
  const problemsOf = (revocation: Record<string, unknown>) => {
    try {
      JwtManager.configure({ secret: SECRET, revocation: revocation as never });
    } catch (error) {
      assert.ok(error instanceof JwtConfigurationError);
      return error.problems;
    }
    assert.fail('configure() accepted the options');
  };

  it('lists every bad session option at once', () => {
    assert.deepEqual(problemsOf({ store: new MemoryTokenStore(), mode: 'denylist', refreshRotation: 'yes', reuseIntervalSeconds: 1.5 }), [
      "revocation.mode must be 'allowlist' or 'blocklist', got 'denylist'",
      "revocation.refreshRotation must be true or false, got 'yes'",
      'revocation.reuseIntervalSeconds must be a whole number of seconds from 0 to 300, got 1.5',
    ]);
  });

  it('reuseIntervalSeconds defaults to 10, maxSessionLifetime to no bound', () => {
    const { revocation } = JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore() } }).config;
    assert.equal(revocation!.reuseIntervalSeconds, 10);
    assert.equal(revocation!.maxSessionLifetime, undefined);
  });

  it('maxSessionLifetime takes a duration, and refuses a bad one at configure()', () => {
    const { revocation } = JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), maxSessionLifetime: '90d' } }).config;
    assert.equal(revocation!.maxSessionLifetime, 90 * 24 * 3600);
    assert.deepEqual(problemsOf({ store: new MemoryTokenStore(), maxSessionLifetime: '90' }), [
      "revocation.maxSessionLifetime must be seconds or a string with a unit like '15m' or '30d', got '90' (a unitless string is ambiguous: use a number of seconds or add a unit)",
    ]);
    assert.deepEqual(problemsOf({ store: new MemoryTokenStore(), maxSessionLifetime: 0 }), [
      'revocation.maxSessionLifetime must be a positive duration (leave it unset for no bound)',
    ]);
  });

  it('clockMarginSeconds defaults to 300, takes 0 to 3600 whole seconds, and refuses anything else at configure()', () => {
    assert.equal(JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore() } }).config.revocation!.clockMarginSeconds, 300);
    for (const ok of [0, 60, 3600]) {
      assert.equal(JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), clockMarginSeconds: ok } }).config.revocation!.clockMarginSeconds, ok);
    }
    for (const [bad, shown] of [[-1, '-1'], [1.5, '1.5'], [3601, '3601'], ['300', "'300'"], [null, 'null'], [Number.NaN, 'NaN']] as const) {
      assert.deepEqual(problemsOf({ store: new MemoryTokenStore(), clockMarginSeconds: bad }), [
        `revocation.clockMarginSeconds must be a whole number of seconds from 0 to 3600, got ${shown}`,
      ]);
    }
  });

  it('refreshRotation on a 0.1 custom store names the methods it lacks', () => {
    assert.deepEqual(problemsOf({ store: new CountingStore(), refreshRotation: true }), [
      'revocation.refreshRotation needs a store with inspect, useRefreshToken, revokeFamily (this store lacks them; MemoryTokenStore, RedisTokenStore and TieredTokenStore have them)',
    ]);
  });

  it('a 0.1 custom store still works without the session options', async () => {
    const store = new CountingStore();
    JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist' } });
    await createRefreshToken('alice');
    assert.equal(store.adds, 0);
  });

  it('revokeAllTokens on a 0.1 custom store names the methods it lacks', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new CountingStore() } });
    await assert.rejects(revokeAllTokens('alice'), new JwtUsageError('revokeAllTokens() needs a store with inspect, cutoff, revokeAll; this store lacks them'));
  });

  it('rotateRefreshToken without refreshRotation is a usage error', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore() } });
    await assert.rejects(rotateRefreshToken({ token: await createRefreshToken('alice') }), JwtUsageError);
  });

  it('rotateRefreshToken outside a request and without a token is a usage error', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), refreshRotation: true } });
    await assert.rejects(rotateRefreshToken(), /found no refresh token/);
  });

  it('rotateRefreshToken refuses an access token: 422 Only refresh tokens are allowed', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), refreshRotation: true } });
    await assert.rejects(rotateRefreshToken({ token: await createAccessToken('alice') }), { status: 422, message: 'Only refresh tokens are allowed' });
  });

  it('the family and cut-off claims cannot be set as custom claims', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), refreshRotation: true } });
    await assert.rejects(createRefreshToken('alice', { claims: { fam: 'victims-family' } }), /the claim 'fam' is reserved/);
    await assert.rejects(createAccessToken('alice', { claims: { gen: 9e15 } }), /the claim 'gen' is reserved/);
  });
});

describe('core: rotateRefreshToken outside a guarded route', () => {
  afterEach(() => JwtManager.reset());
  beforeEach(() => JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), refreshRotation: true } }));

  it('refuses a token passed by hand that was revoked: 401, nothing minted', async () => {
    const token = await createRefreshToken('alice');
    await revokeToken(token);
    await assert.rejects(rotateRefreshToken({ token }), { status: 401, message: 'Token has been revoked' });
  });

  it('refuses a token passed by hand from before a log out everywhere: 401', async () => {
    const token = await createRefreshToken('alice');
    await revokeAllTokens('alice');
    await assert.rejects(rotateRefreshToken({ token }), { status: 401, message: 'Token has been revoked' });
  });

  it('rotates a valid token passed by hand', async () => {
    const { refreshToken } = await rotateRefreshToken({ token: await createRefreshToken('alice') });
    assert.equal(typeof refreshToken, 'string');
  });
});
