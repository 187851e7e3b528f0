import assert from 'node:assert/strict';
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { JwtConfigurationError, JwtManager, JwtOptions, JwtUsageError } from '../../src';
import { loadJose } from '../support/app';
import { keyFor, TEST_SECRET, testKey } from '../support/keys';

/** configure() must refuse with a JwtConfigurationError listing a problem that matches `pattern`. */
function assertRefused(options: JwtOptions, pattern: RegExp): void {
  assert.throws(() => JwtManager.configure(options), (error: unknown) => {
    assert.ok(error instanceof JwtConfigurationError, `expected a JwtConfigurationError, got ${String(error)}`);
    assert.ok(error.problems.some((p) => pattern.test(p)), `no problem matches ${pattern}: ${error.problems.join(' | ')}`);
    return true;
  });
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;

describe('core: key ring at configure()', () => {
  afterEach(() => JwtManager.reset());

  describe('accepted keys', () => {
    for (const algorithm of ASYMMETRIC) {
      it(`${algorithm}: accepts a PEM private/public pair`, () => {
        const { privatePem, publicPem } = keyFor(algorithm);
        const manager = JwtManager.configure({ algorithm, privateKey: privatePem, publicKey: publicPem });
        assert.equal(manager.config.keys.signing.algorithm, algorithm);
      });
    }

    it('accepts KeyObjects', () => {
      const { privateKey, publicKey } = testKey('p256');
      assert.ok(JwtManager.configure({ algorithm: 'ES256', privateKey, publicKey }));
    });

    it('accepts a secret KeyObject of 32+ bytes for HS256', () => {
      assert.ok(JwtManager.configure({ secret: createSecretKey(Buffer.from(TEST_SECRET)) }));
    });
  });

  describe('refused keys', () => {
    it('a PEM public key given as an HMAC secret', () => {
      assertRefused({ algorithm: 'HS256', secret: testKey('rsaA').publicPem }, /PEM key is never accepted as an HMAC secret/);
    });

    it('a PEM wrapped in a secret KeyObject', () => {
      assertRefused({ secret: createSecretKey(Buffer.from(testKey('rsaA').publicPem)) }, /PEM key is never accepted/);
    });

    it('an asymmetric KeyObject given as an HMAC secret', () => {
      assertRefused({ algorithm: 'HS256', secret: testKey('rsaA').publicKey as never }, /asymmetric key is never accepted as an HMAC secret/);
    });

    it('a secret for an asymmetric algorithm', () => {
      assertRefused({ algorithm: 'RS256', secret: TEST_SECRET, privateKey: testKey('rsaA').privatePem }, /secret is never used for the asymmetric algorithm RS256/);
    });

    it('a privateKey for an HMAC algorithm', () => {
      assertRefused({ algorithm: 'HS256', secret: TEST_SECRET, privateKey: testKey('rsaA').privatePem }, /privateKey is for RS\/PS\/ES\/EdDSA algorithms/);
    });

    it('an RSA key of 1024 bits', () => {
      assertRefused({ algorithm: 'RS256', privateKey: testKey('rsa1024').privatePem }, /at least 2048 bits \(got 1024\)/);
    });

    it('an EC P-384 key for ES256', () => {
      assertRefused({ algorithm: 'ES256', privateKey: testKey('p384').privatePem }, /curve prime256v1 for ES256 \(got ec secp384r1\)/);
    });

    it('an RSA key for ES256', () => {
      assertRefused({ algorithm: 'ES256', privateKey: testKey('rsaA').privatePem }, /EC key on curve prime256v1 for ES256 \(got rsa\)/);
    });

    it('an EC key for RS256', () => {
      assertRefused({ algorithm: 'RS256', privateKey: testKey('p256').privatePem }, /RSA key for RS256 \(got ec\)/);
    });

    it('an EC public key for PS256 in verificationKeys', () => {
      assertRefused(
        { algorithm: 'PS256', privateKey: testKey('rsaA').privatePem, verificationKeys: [{ kid: 'old', publicKey: testKey('p256').publicPem }] },
        /verificationKeys\[0\]\.publicKey must be an RSA key for PS256/,
      );
    });

    it('an rsa-pss key (no JWK form) is listed as a problem, not thrown raw', () => {
      const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
      assertRefused({ algorithm: 'PS256', privateKey: pss.privateKey }, /RSA key for PS256 \(got rsa-pss\)/);
    });

    it('a publicKey that does not match the privateKey', () => {
      assertRefused({ algorithm: 'RS256', privateKey: testKey('rsaA').privatePem, publicKey: testKey('rsaB').publicPem }, /publicKey does not match privateKey/);
    });

    it('an asymmetric algorithm with no key at all', () => {
      assertRefused({ algorithm: 'ES256' }, /ES256 needs a privateKey/);
    });

    it('a garbage PEM', () => {
      assertRefused({ algorithm: 'RS256', privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' }, /privateKey is not a usable private key/);
    });

    it('a kid used twice in verificationKeys', () => {
      assertRefused(
        { algorithm: 'RS256', kid: 'a', privateKey: testKey('rsaA').privatePem, verificationKeys: [{ kid: 'a', publicKey: testKey('rsaB').publicPem }] },
        /kid 'a' is used twice/,
      );
    });

    it('an empty audience', () => {
      assertRefused({ secret: TEST_SECRET, audience: [] }, /audience must be a non-empty/);
    });
  });

  describe('verify-only and key export', () => {
    it('a publicKey-only config cannot create tokens, with a clear error', async () => {
      JwtManager.configure({ algorithm: 'RS256', publicKey: testKey('rsaA').publicPem });
      await assert.rejects(JwtManager.instance.createAccessToken('alice'), (error: unknown) => {
        assert.ok(error instanceof JwtUsageError);
        assert.match(error.message, /publicKey only: it verifies tokens but cannot create them \(give privateKey\)/);
        return true;
      });
    });

    it('the default kid of an asymmetric key is its RFC 7638 thumbprint', async () => {
      const jose = await loadJose();
      const manager = JwtManager.configure({ algorithm: 'ES256', privateKey: testKey('p256').privatePem });
      const expected = await jose.calculateJwkThumbprint(await jose.exportJWK(testKey('p256').publicKey));
      assert.equal(manager.config.keys.signing.kid, expected);
    });

    it('jwks() lists public members only', () => {
      const manager = JwtManager.configure({ algorithm: 'RS256', kid: 'a', privateKey: testKey('rsaA').privatePem });
      const [jwk] = manager.jwks().keys;
      assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
      assert.equal(jwk.kid, 'a');
    });

    it('jwks() never exports an HMAC secret', () => {
      const manager = JwtManager.configure({ secret: TEST_SECRET, kid: 'h' });
      assert.deepEqual(manager.jwks(), { keys: [] });
    });
  });
});
