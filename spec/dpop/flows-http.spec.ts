/**
 * DPoP flows (DESIGN 0.3 K): nonces, the origin option, required mode, bound refresh rotation,
 * loaders, configuration errors, and every door (decorators, direct calls, the testing kit).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createKoaServer, Ctx, Get, JsonController, Post } from 'routing-controllers';
import type { Context } from 'koa';
import {
  createAccessToken, decodeToken, getDpopThumbprint, Identity, JwtConfigurationError, JwtManager, JwtRequired, MemoryTokenStore,
  verifyDpopProof,
} from '../../src';
import { dpopProof, dpopThumbprint, fakeAccessToken, withToken } from '../../src/testing';
import { ALGS, dpopApp, ecKey, INVALID_PROOF_CHALLENGE, SECRET, Started, startDpopApp } from './support';

describe('DPoP: flows', () => {
  let app: Started;
  let key: ReturnType<typeof ecKey>;
  const htu = (path = '/me') => `${app.origin}${path}`;
  beforeEach(() => {
    key = ecKey();
  });
  afterEach(() => {
    app?.server.close();
    JwtManager.reset();
  });

  describe('nonces (nonce: true, RFC 9449 §8–9)', () => {
    const realNow = Date.now;
    afterEach(() => {
      Date.now = realNow;
    });

    it('a proof without the nonce gets 401 DPoP nonce required, use_dpop_nonce and a DPoP-Nonce; the retry with it passes', async () => {
      app = await startDpopApp({ dpop: { nonce: true } });
      const first = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login') }));
      assert.equal(first.status, 401);
      assert.deepEqual(first.body, { msg: 'DPoP nonce required' });
      assert.equal(first.headers['www-authenticate'], 'DPoP error="use_dpop_nonce"');
      const nonce = first.headers['dpop-nonce'];
      assert.match(nonce, /^[A-Za-z0-9_-]{20,}$/);
      const login = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login'), nonce }));
      assert.equal(login.status, 200);
      const token = login.body.access;
      const me = await request(app.server).get('/me').set('Authorization', `DPoP ${token}`)
        .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token, nonce }));
      assert.equal(me.status, 200);
      assert.equal(me.headers['dpop-nonce'], undefined, 'a current nonce needs no refresh');
      const wrong = await request(app.server).get('/me').set('Authorization', `DPoP ${token}`)
        .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token, nonce: `${nonce.slice(0, -2)}AA` }));
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, { msg: 'DPoP nonce required' });
      assert.equal(wrong.headers['dpop-nonce'], nonce);
    });

    it('another instance sharing the secret accepts the nonce (stateless); one with another secret does not', async () => {
      app = await startDpopApp({ dpop: { nonce: true } });
      const first = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login') }));
      const nonce = first.headers['dpop-nonce'];
      JwtManager.configure({ secret: SECRET, dpop: { nonce: true } }); // a new manager: nothing shared in memory
      const ok = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login'), nonce }));
      assert.equal(ok.status, 200);
      JwtManager.configure({ secret: `${SECRET}-other`, dpop: { nonce: true } });
      const refused = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login'), nonce }));
      assert.equal(refused.status, 401);
      assert.deepEqual(refused.body, { msg: 'DPoP nonce required' });
    });

    it('a nonce about to age out passes and the response carries a fresh one; an aged-out one is refused', async () => {
      app = await startDpopApp({ dpop: { nonce: true, proofMaxAge: 60 } });
      const start = realNow();
      const first = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login') }));
      const nonce = first.headers['dpop-nonce'];
      Date.now = () => start + 60_000; // the next window: the nonce is the previous one
      const iat = Math.floor(Date.now() / 1000);
      const aging = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login'), nonce, iat }));
      assert.equal(aging.status, 200);
      const fresh = aging.headers['dpop-nonce'];
      assert.ok(fresh !== undefined && fresh !== nonce, 'a fresh DPoP-Nonce on the response');
      Date.now = () => start + 120_000; // two windows on: aged out
      const old = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login'), nonce, iat: iat + 60 }));
      assert.equal(old.status, 401);
      assert.deepEqual(old.body, { msg: 'DPoP nonce required' });
      assert.ok(![nonce, fresh, undefined].includes(old.headers['dpop-nonce']), 'the nonce of the window now');
    });

    it('nonce: true needs a key to derive nonces from', () => {
      assert.throws(
        () => JwtManager.configure({ algorithm: 'RS256', jwksUri: 'https://idp.example/jwks', dpop: { nonce: true } }),
        (error: JwtConfigurationError) => error.problems.includes('dpop.nonce needs a secret or privateKey: nonces are derived from the signing key'),
      );
    });
  });

  describe('origin', () => {
    it("dpop.origin replaces the request's scheme and host (behind a proxy)", async () => {
      app = await startDpopApp({ dpop: { origin: 'https://api.example.com' } });
      const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
      const send = async (proofHtu: string) => request(app.server).get('/me').set('Authorization', `DPoP ${token}`)
        .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: proofHtu, token }));
      assert.equal((await send('https://api.example.com/me')).status, 200);
      assert.equal((await send('https://API.example.com:443/me')).status, 200);
      const own = await send(htu());
      assert.equal(own.status, 401, "the request's own origin no longer counts");
      assert.equal((await send('http://api.example.com/me')).status, 401);
    });

    it('app.proxy: X-Forwarded-Proto and X-Forwarded-Host make the origin', async () => {
      const koa = dpopApp();
      koa.proxy = true;
      app = await startDpopApp({}, koa);
      const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
      const res = await request(app.server).get('/me').set('X-Forwarded-Proto', 'https').set('X-Forwarded-Host', 'api.example.com')
        .set('Authorization', `DPoP ${token}`).set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: 'https://api.example.com/me', token }));
      assert.equal(res.status, 200);
    });

    it('a bad origin is a configuration error, listed with the other dpop problems', () => {
      assert.throws(
        () => JwtManager.configure({ secret: SECRET, dpop: { origin: 'https://api.example.com/base?x', algorithms: ['HS256' as never], proofMaxAge: '60', required: 'yes' as never, extra: 1 } as never }),
        (error: JwtConfigurationError) => {
          const text = error.problems.join('\n');
          return ['dpop.origin must be', 'dpop.algorithms entries must be among', 'dpop.proofMaxAge must be seconds', 'dpop.required must be true or false', "unknown option 'dpop.extra'"]
            .every((part) => text.includes(part));
        },
      );
      assert.throws(() => JwtManager.configure({ secret: SECRET, dpop: { algorithms: [] } }), /dpop.algorithms must name at least one algorithm/);
      assert.throws(() => JwtManager.configure({ secret: SECRET, dpop: { algorithms: ['none' as never] } }), /never none or HS/);
    });
  });

  describe('required: true', () => {
    it('an unbound token is 401 DPoP-bound token required with the invalid_token challenge; a bound one passes', async () => {
      app = await startDpopApp({ dpop: { required: true } });
      const unbound = await fakeAccessToken('alice');
      const res = await request(app.server).get('/me').set('Authorization', `Bearer ${unbound}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'DPoP-bound token required' });
      assert.equal(res.headers['www-authenticate'], `DPoP error="invalid_token", algs="${ALGS}"`);
      const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
      const ok = await request(app.server).get('/me').set('Authorization', `DPoP ${token}`)
        .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }));
      assert.equal(ok.status, 200);
    });

    it('the challenge names the configured algorithms', async () => {
      app = await startDpopApp({ dpop: { required: true, algorithms: ['ES256', 'EdDSA'] } });
      const res = await request(app.server).get('/me').set('Authorization', `Bearer ${await fakeAccessToken('alice')}`);
      assert.equal(res.headers['www-authenticate'], 'DPoP error="invalid_token", algs="ES256 EdDSA"');
    });
  });

  describe('bound refresh rotation', () => {
    beforeEach(async () => {
      app = await startDpopApp({ revocation: { store: new MemoryTokenStore(), refreshRotation: true } });
    });

    async function login(): Promise<{ access: string; refresh: string }> {
      const res = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login') }));
      assert.equal(res.status, 200);
      return res.body;
    }

    it('the new pair is bound to the same key; without a proof, or with another key, the refresh token is refused', async () => {
      const { refresh } = await login();
      const bare = await request(app.server).post('/refresh').set('Authorization', `DPoP ${refresh}`);
      assert.equal(bare.status, 401);
      assert.deepEqual(bare.body, { msg: 'DPoP proof required' });
      const stolen = await request(app.server).post('/refresh').set('Authorization', `DPoP ${refresh}`)
        .set('DPoP', await dpopProof(ecKey().privateKey, { htm: 'POST', htu: htu('/refresh'), token: refresh }));
      assert.equal(stolen.status, 401);
      assert.deepEqual(stolen.body, { msg: 'Invalid DPoP proof' });
      const downgrade = await request(app.server).post('/refresh').set('Authorization', `Bearer ${refresh}`);
      assert.equal(downgrade.status, 401);
      const res = await request(app.server).post('/refresh').set('Authorization', `DPoP ${refresh}`)
        .set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/refresh'), token: refresh }));
      assert.equal(res.status, 200);
      const jkt = await dpopThumbprint(key.privateKey);
      assert.deepEqual((await decodeToken(res.body.accessToken)).cnf, { jkt });
      assert.deepEqual((await decodeToken(res.body.refreshToken)).cnf, { jkt });
    });
  });

  describe('a custom store with rememberOnce', () => {
    const misbehaviours: [string, () => unknown][] = [
      ['answers something else', () => Promise.resolve('maybe')],
      ['rejects', () => Promise.reject(new Error('down'))],
      ['throws synchronously', () => { throw new Error('broken'); }],
      ['returns a non-promise junk value', () => 42],
    ];
    for (const [name, rememberOnce] of misbehaviours) {
      it(`that ${name}: 503, never accepted`, async () => {
        const store = Object.assign(new MemoryTokenStore(), { rememberOnce }) as unknown as MemoryTokenStore; // misbehaving on purpose
        app = await startDpopApp({ revocation: { store, checks: 'refresh' } });
        const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
        const res = await request(app.server).get('/me').set('Authorization', `DPoP ${token}`)
          .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }));
        assert.equal(res.status, 503);
        assert.deepEqual(res.body, { msg: 'Token revocation store unavailable' });
      });
    }
    it("that answers 'seen': the proof is a replay", async () => {
      const store = Object.assign(new MemoryTokenStore(), { rememberOnce: async () => 'seen' as const });
      app = await startDpopApp({ revocation: { store, checks: 'refresh' } });
      const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
      const res = await request(app.server).get('/me').set('Authorization', `DPoP ${token}`)
        .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }));
      assert.equal(res.status, 401);
    });
  });

  describe('loaders', () => {
    it('unauthorizedLoader(reason, ctx) answers a DPoP refusal; the challenge is set anyway', async () => {
      const seen: string[] = [];
      app = await startDpopApp({
        unauthorizedLoader: (reason, ctx) => {
          seen.push(`${reason} ${(ctx as Context).path}`);
          return { status: 401, body: { error: 'nope' } };
        },
      });
      const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
      const res = await request(app.server).get('/me').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { error: 'nope' });
      assert.equal(res.headers['www-authenticate'], INVALID_PROOF_CHALLENGE);
      assert.deepEqual(seen, ['Invalid DPoP proof /me']);
    });

    it('dpopJkt must be a thumbprint', async () => {
      JwtManager.configure({ secret: SECRET });
      await assert.rejects(createAccessToken('alice', { dpopJkt: 'short' }), /dpopJkt must be a JWK SHA-256 thumbprint/);
      await assert.rejects(createAccessToken('alice', { claims: { cnf: { jkt: 'x' } } }), /the claim 'cnf' is reserved/);
    });
  });
});

@JsonController('/rc')
class DpopController {
  @Post('/login')
  async login(@Ctx() ctx: Context) {
    const dpopJkt = await verifyDpopProof(ctx);
    return { access: await createAccessToken('alice', { dpopJkt }), seen: getDpopThumbprint() ?? null };
  }

  @Get('/me')
  @JwtRequired()
  me(@Identity() identity: string) {
    return { identity, jkt: getDpopThumbprint() ?? null };
  }

  @Get('/calls-me')
  async callsMe() {
    return this.me(undefined as never); // a guarded method called directly from an open route
  }
}

describe('DPoP: the decorator doors', () => {
  let server: ReturnType<ReturnType<typeof createKoaServer>['listen']>;
  let origin: string;
  const key = ecKey();
  beforeEach(async () => {
    JwtManager.configure({ secret: SECRET });
    const koa = createKoaServer({ controllers: [DpopController] });
    koa.silent = true;
    server = koa.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('@JwtRequired(): a bound token passes with a proof, is refused as Bearer', async () => {
    const login = await request(server).post('/rc/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: `${origin}/rc/login` }));
    assert.equal(login.status, 200);
    assert.equal(login.body.seen, await dpopThumbprint(key.privateKey), 'getDpopThumbprint() in an open decorated route');
    const token = login.body.access;
    const ok = await request(server).get('/rc/me').set('Authorization', `DPoP ${token}`)
      .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: `${origin}/rc/me`, token }));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { identity: 'alice', jkt: await dpopThumbprint(key.privateKey) });
    const bearer = await request(server).get('/rc/me').set('Authorization', `Bearer ${token}`);
    assert.equal(bearer.status, 401);
    assert.deepEqual(bearer.body, { msg: 'Invalid DPoP proof' });
    assert.equal(bearer.headers['www-authenticate'], INVALID_PROOF_CHALLENGE);
  });

  it('a bad proof escaping verifyDpopProof in an action answers 401 with its challenge', async () => {
    const res = await request(server).post('/rc/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: `${origin}/rc/login` }));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Invalid DPoP proof' });
    assert.equal(res.headers['www-authenticate'], INVALID_PROOF_CHALLENGE);
  });

  it('a guarded method called directly from an open route checks the proof against that request', async () => {
    const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
    const ok = await request(server).get('/rc/calls-me').set('Authorization', `DPoP ${token}`)
      .set('DPoP', await dpopProof(key.privateKey, { htm: 'GET', htu: `${origin}/rc/calls-me`, token }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.identity, 'alice');
    const refused = await request(server).get('/rc/calls-me').set('Authorization', `Bearer ${token}`);
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, { msg: 'Invalid DPoP proof' });
  });

  it('the testing kit: withToken with the request and its proof passes; without the proof it is refused', async () => {
    const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
    const controller = new DpopController();
    const url = 'https://api.example.com/rc/me';
    const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: url, token });
    const result = await withToken(token, () => controller.me(undefined as never), { method: 'GET', url, dpop: proof });
    assert.deepEqual(result, { identity: 'alice', jkt: await dpopThumbprint(key.privateKey) });
    await assert.rejects(withToken(token, () => controller.me(undefined as never)), (error: { status: number; body: unknown }) =>
      error.status === 401 && JSON.stringify(error.body) === JSON.stringify({ msg: 'Invalid DPoP proof' }));
    await assert.rejects(withToken(token, () => controller.me(undefined as never), { method: 'GET', url }), (error: { status: number; body: unknown }) =>
      error.status === 401 && JSON.stringify(error.body) === JSON.stringify({ msg: 'DPoP proof required' }));
    await assert.rejects(withToken(token, () => controller.me(undefined as never), { method: 'POST', url, dpop: await dpopProof(key.privateKey, { htm: 'GET', htu: url, token }) }),
      (error: { status: number }) => error.status === 401);
  });
});
