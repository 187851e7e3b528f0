/**
 * A JWK's `alg`, `use` and `key_ops` (RFC 7517 §4.2-4.4) bind outside a key set as jose
 * makes them bind inside one: a `configure()` problem for `publicKey` / `privateKey` /
 * `verificationKeys`, a 422 for a `decodeKeyLoader` answer. Each refused key beside the
 * same key without the restriction (or with a fitting one), which passes.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { JwtManager } from '../../src';
import { expectResponse } from '../support/assert-response';
import { idpToken, serveIdpApp } from '../support/idp-app';
import { testKey } from '../support/keys';
import { problemsOf } from '../support/config-problems';


const rsa = testKey('rsaA');
const publicJwk = (extra: Record<string, unknown>) => ({ ...rsa.publicKey.export({ format: 'jwk' }), ...extra });
const privateJwk = (extra: Record<string, unknown>) => ({ ...rsa.privateKey.export({ format: 'jwk' }), ...extra });

describe("idp: a JWK's alg, use and key_ops bind outside a key set", () => {
  afterEach(() => JwtManager.reset());

  describe('configure()', () => {
    for (const [restriction, extra, pattern] of [
      ["alg 'RS256' for PS512", { alg: 'RS256' }, /^publicKey is a JWK for alg 'RS256', not PS512$/],
      ["use 'enc'", { use: 'enc' }, /^publicKey is a JWK for use 'enc', not 'sig' \(signatures\)$/],
      ["key_ops ['encrypt']", { key_ops: ['encrypt'] }, /^publicKey is a JWK whose key_ops do not include 'verify'$/],
      ['key_ops that is no list', { key_ops: 'verify' }, /^publicKey is a JWK whose key_ops do not include 'verify'$/],
    ] as const) {
      it(`publicKey with ${restriction}: a problem listed with the others`, () => {
        const problems = problemsOf({ algorithm: 'PS512', publicKey: publicJwk(extra), accessTokenExpires: 'soon' });
        assert.ok(problems.some((p) => pattern.test(p)), problems.join('\n'));
        assert.ok(problems.some((p) => /accessTokenExpires/.test(p)), problems.join('\n'));
      });
    }

    it("the PoC's key (alg RS256, use enc, key_ops [encrypt]) for PS512: all three listed", () => {
      const problems = problemsOf({ algorithm: 'PS512', publicKey: publicJwk({ alg: 'RS256', use: 'enc', key_ops: ['encrypt'] }) });
      assert.equal(problems.filter((p) => /^publicKey is a JWK/.test(p)).length, 3, problems.join('\n'));
    });

    it("fitting restrictions are accepted: alg PS512, use 'sig', key_ops ['verify']", () => {
      assert.doesNotThrow(() => JwtManager.configure({ algorithm: 'PS512', publicKey: publicJwk({ alg: 'PS512', use: 'sig', key_ops: ['verify'] }) as never }));
    });

    it("privateKey: alg must be the algorithm and key_ops hold 'sign'", () => {
      const problems = problemsOf({ algorithm: 'RS256', privateKey: privateJwk({ alg: 'RS512', key_ops: ['verify'] }) });
      assert.ok(problems.includes("privateKey is a JWK for alg 'RS512', not RS256"), problems.join('\n'));
      assert.ok(problems.includes("privateKey is a JWK whose key_ops do not include 'sign'"), problems.join('\n'));
      assert.doesNotThrow(() => JwtManager.configure({ algorithm: 'RS256', privateKey: privateJwk({ alg: 'RS256', use: 'sig', key_ops: ['sign'] }) as never }));
    });

    it('a verificationKeys entry: checked against its own algorithm', () => {
      const problems = problemsOf({ algorithm: 'ES256', privateKey: testKey('p256').privateKey, verificationKeys: [{ kid: 'old', algorithm: 'RS256', publicKey: publicJwk({ alg: 'PS256' }) }] });
      assert.ok(problems.includes("verificationKeys[0].publicKey is a JWK for alg 'PS256', not RS256"), problems.join('\n'));
    });
  });

  describe('decodeKeyLoader, over HTTP', () => {
    let server: Server | undefined;
    afterEach(() => server?.close());
    const me = (token: string) => request(server!).get('/me').set('Authorization', `Bearer ${token}`);
    const start = (answer: () => unknown) =>
      (server = serveIdpApp({ algorithm: 'RS256', algorithms: ['RS256', 'PS512'], decodeKeyLoader: answer as never, acceptUntypedTokens: true }));

    it("a JWK with alg 'RS256': verifies RS256 tokens, a PS512 token signed by the same key is 422", async () => {
      start(() => publicJwk({ alg: 'RS256' }));
      expectResponse(await me(idpToken('RS256', rsa.privateKey)), 200, { identity: 'alice' });
      expectResponse(await me(idpToken('PS512', rsa.privateKey)), 422, { msg: 'The specified alg value is not allowed' });
    });

    it("the PoC's JWK (alg RS256, use enc, key_ops [encrypt]): its PS512 token and its RS256 token are 422; without the restrictions both pass", async () => {
      start(() => publicJwk({ alg: 'RS256', use: 'enc', key_ops: ['encrypt'] }));
      expectResponse(await me(idpToken('PS512', rsa.privateKey)), 422, { msg: 'The specified alg value is not allowed' });
      expectResponse(await me(idpToken('RS256', rsa.privateKey)), 422, { msg: 'The specified alg value is not allowed' });
      server!.close();
      start(() => publicJwk({}));
      expectResponse(await me(idpToken('PS512', rsa.privateKey)), 200, { identity: 'alice' });
      expectResponse(await me(idpToken('RS256', rsa.privateKey)), 200, { identity: 'alice' });
    });

    for (const [restriction, extra] of [["use 'enc'", { use: 'enc' }], ["key_ops ['encrypt']", { key_ops: ['encrypt'] }]] as const) {
      it(`a JWK with ${restriction}: 422; with use 'sig' / key_ops ['verify']: 200`, async () => {
        start(() => publicJwk(extra));
        expectResponse(await me(idpToken('RS256', rsa.privateKey)), 422, { msg: 'The specified alg value is not allowed' });
        server!.close();
        start(() => publicJwk({ use: 'sig', key_ops: ['verify'] }));
        expectResponse(await me(idpToken('RS256', rsa.privateKey)), 200, { identity: 'alice' });
      });
    }
  });
});
