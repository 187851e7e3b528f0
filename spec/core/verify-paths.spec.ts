import assert from 'node:assert/strict';
import { decodeToken, JwtManager, JwtUsageError } from '../../src';
import { ACCESS } from '../../src/core/verify';
import { accessClaims, craftToken } from '../support/app';
import { JwksServer } from '../support/jwks-server';
import { testKey } from '../support/keys';
import { SECRET } from '../support/server';

const rsaToken = () => craftToken({ alg: 'RS256', kid: 'a' }, accessClaims(), testKey('rsaA').privateKey);

/** The request path stays synchronous with local keys; remote keys take a promise only when a key is needed. */
describe('core: sync and async verification paths', () => {
  afterEach(() => JwtManager.reset());

  it('local keys: authorizeNow answers the payload itself, not a promise', async () => {
    const manager = JwtManager.configure({ secret: SECRET });
    const token = await manager.createAccessToken('alice');
    const answer = manager.verifier.authorizeNow(token, ACCESS);
    assert.equal(answer instanceof Promise, false);
    assert.equal((answer as Record<string, unknown>).sub, 'alice');
  });

  describe('remote keys', () => {
    let jwks: JwksServer;
    beforeEach(async () => {
      jwks = await JwksServer.start();
      jwks.publish([{ kid: 'a', key: testKey('rsaA').publicKey }]);
    });
    afterEach(() => jwks.stop());

    it('authorizeNow answers a promise for a token not verified yet', async () => {
      const manager = JwtManager.configure({ algorithm: 'RS256', jwksUri: jwks.url });
      const answer = manager.verifier.authorizeNow(rsaToken(), ACCESS);
      assert.ok(answer instanceof Promise);
      assert.equal((await answer).sub, 'alice');
    });

    it('once verified with the current key set, the same token is answered synchronously', async () => {
      const manager = JwtManager.configure({ algorithm: 'RS256', jwksUri: jwks.url });
      const token = rsaToken();
      await manager.verifier.authorizeNow(token, ACCESS);
      const again = manager.verifier.authorizeNow(token, ACCESS);
      assert.equal(again instanceof Promise, false);
    });

    it('verify() (synchronous) refuses a token that needs a key fetch with a JwtUsageError', () => {
      const manager = JwtManager.configure({ algorithm: 'RS256', jwksUri: jwks.url });
      assert.throws(() => manager.verifier.verify(rsaToken()), (error: unknown) => error instanceof JwtUsageError && /use decodeToken/.test(error.message));
    });

    it('decodeToken verifies it, after which verify() answers from the cache', async () => {
      const manager = JwtManager.configure({ algorithm: 'RS256', jwksUri: jwks.url });
      const token = rsaToken();
      await decodeToken(token);
      assert.equal(manager.verifier.verify(token).sub, 'alice');
    });
  });
});
