import assert from 'node:assert/strict';
import { JwtConfigurationError, JwtManager, JwtUsageError, MemoryTokenStore } from '../../src';
import type { JwtOptions } from '../../src';
import { SECRET } from '../support/server';

function configureError(options: unknown): JwtConfigurationError {
  try {
    JwtManager.configure(options as JwtOptions);
  } catch (error) {
    assert.ok(error instanceof JwtConfigurationError, `expected a JwtConfigurationError, got ${error}`);
    return error;
  }
  assert.fail('configure() accepted bad options');
}

function assertListed(problems: string[], pattern: RegExp): void {
  assert.ok(problems.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n  ${problems.join('\n  ')}`);
}

/** configure(): bad options fail at start-up, all at once. */
describe('core: JwtManager.configure() options', () => {
  afterEach(() => JwtManager.reset());

  it('valid options: returns the manager, which is JwtManager.instance', () => {
    const manager = JwtManager.configure({ secret: SECRET });
    assert.equal(JwtManager.instance, manager);
    assert.equal(manager.config.algorithm, 'HS256');
    assert.equal(manager.config.headerName, 'Authorization');
    assert.equal(manager.config.headerType, 'Bearer');
    assert.equal(manager.config.accessTokenExpires, 15 * 60);
    assert.equal(manager.config.refreshTokenExpires, 30 * 86400);
    assert.equal(manager.config.identityClaim, 'sub');
    assert.equal(manager.config.errorMessageKey, 'msg');
    assert.equal(manager.config.leeway, 0);
    assert.equal(manager.config.revocation, undefined);
  });

  it('one JwtConfigurationError lists every problem at once', () => {
    const error = configureError({
      secret: 'short',
      algorithm: 'HS999',
      accessTokenExpires: '60',
      headerName: '',
      revocation: { store: new MemoryTokenStore(), checks: 'sometimes' },
      colour: 'blue',
    });
    const { problems } = error;
    assertListed(problems, /secret.*32 bytes/);
    assertListed(problems, /^algorithm/);
    assertListed(problems, /accessTokenExpires.*'60'/);
    assertListed(problems, /headerName/);
    assertListed(problems, /revocation\.checks.*'sometimes'/);
    assertListed(problems, /unknown option 'colour'/);
    assert.equal(error.code, 'ERR_JWT_CONFIGURATION');
    for (const problem of problems) assert.ok(error.message.includes(problem), `message lacks: ${problem}`);
  });

  it('a unitless duration string is refused, naming the option', () => {
    assertListed(configureError({ secret: SECRET, refreshTokenExpires: '3600' }).problems, /refreshTokenExpires.*unit/);
  });

  it("an unknown duration unit is refused ('5 fortnights')", () => {
    assertListed(configureError({ secret: SECRET, accessTokenExpires: '5 fortnights' }).problems, /accessTokenExpires/);
  });

  it('a zero or negative duration is refused', () => {
    const { problems } = configureError({ secret: SECRET, accessTokenExpires: 0, refreshTokenExpires: -5 });
    assertListed(problems, /accessTokenExpires/);
    assertListed(problems, /refreshTokenExpires/);
  });

  it('durations: a number is seconds, a string needs a unit, false is never', () => {
    const { config } = JwtManager.configure({ secret: SECRET, accessTokenExpires: 90, refreshTokenExpires: false });
    assert.equal(config.accessTokenExpires, 90);
    assert.equal(config.refreshTokenExpires, false);
    assert.equal(JwtManager.configure({ secret: SECRET, accessTokenExpires: '1h' }).config.accessTokenExpires, 3600);
  });

  for (const algorithm of ['none', 'None', 'NONE']) {
    it(`algorithm '${algorithm}' is refused`, () => {
      assertListed(configureError({ secret: SECRET, algorithm }).problems, /^algorithm/);
    });
  }

  it('a secret under 32 bytes is refused', () => {
    assertListed(configureError({ secret: 'x'.repeat(31) }).problems, /secret.*32 bytes/);
  });

  it('a secret of exactly 32 bytes is accepted', () => {
    assert.ok(JwtManager.configure({ secret: 'x'.repeat(32) }));
  });

  it('no secret for HS256 is refused', () => {
    assertListed(configureError({}).problems, /secret/);
  });

  it('a PEM key as an HMAC secret is refused (algorithm confusion)', () => {
    const pem = `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(64)}\n-----END PUBLIC KEY-----`;
    assertListed(configureError({ secret: pem }).problems, /PEM/);
  });

  it('revocation without a TokenStore is refused', () => {
    assertListed(configureError({ secret: SECRET, revocation: { store: {} } }).problems, /revocation\.store/);
  });

  it('a loader that is not a function is refused', () => {
    assertListed(configureError({ secret: SECRET, expiredTokenLoader: 'nope' }).problems, /expiredTokenLoader/);
  });

  it('a header type with a space is refused', () => {
    assertListed(configureError({ secret: SECRET, headerType: 'My Bearer' }).problems, /headerType/);
  });

  it('options that are not an object are refused', () => {
    configureError(null);
  });

  it('JwtManager.instance before configure(): a clear error', () => {
    assert.throws(() => JwtManager.instance, (error: unknown) => error instanceof JwtUsageError && /JwtManager\.configure/.test(error.message));
  });

  it('reset() drops the singleton', () => {
    JwtManager.configure({ secret: SECRET });
    assert.equal(JwtManager.isConfigured, true);
    JwtManager.reset();
    assert.equal(JwtManager.isConfigured, false);
    assert.throws(() => JwtManager.instance, JwtUsageError);
  });

  it('a failed configure() leaves the previous manager in place', () => {
    const manager = JwtManager.configure({ secret: SECRET });
    configureError({ secret: 'short' });
    assert.equal(JwtManager.instance, manager);
  });

  it('configure() again replaces the singleton', () => {
    const first = JwtManager.configure({ secret: SECRET });
    const second = JwtManager.configure({ secret: SECRET, headerName: 'X-Token' });
    assert.notEqual(first, second);
    assert.equal(JwtManager.instance.config.headerName, 'X-Token');
  });
});
