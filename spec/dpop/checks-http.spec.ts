/**
 * DPoP (DESIGN 0.3 K, RFC 9449 §4.3) over HTTP on plain Koa: every check with the refused
 * proof beside the accepted one, the refusals' exact bodies and headers.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { generateKeyPairSync, KeyObject, webcrypto } from 'node:crypto';
import request, { type Response } from 'supertest';
import { decodeToken, JwtManager, REFUSED_CHANNEL, type RefusedMessage } from '../../src';
import { DpopError } from '../../src/core/dpop/errors';
import { accessTokenHash } from '../../src/core/dpop/checks';
import { dpopProof, dpopThumbprint, fakeAccessToken } from '../../src/testing';
import { craftProof, ecKey, INVALID_PROOF_CHALLENGE, publicJwk, Started, startDpopApp } from './support';

/** The `detail` of every DPoP refusal published meanwhile: which check refused. */
function refusalDetails(): { details: string[]; stop(): void } {
  const details: string[] = [];
  const listener = (message: unknown) => {
    const { error } = message as RefusedMessage;
    if (error instanceof DpopError) details.push(error.detail);
  };
  diagnostics.subscribe(REFUSED_CHANNEL, listener);
  return { details, stop: () => diagnostics.unsubscribe(REFUSED_CHANNEL, listener) };
}

function assertInvalidProof(res: Response): void {
  assert.equal(res.status, 401);
  assert.deepEqual(res.body, { msg: 'Invalid DPoP proof' });
  assert.equal(res.headers['www-authenticate'], INVALID_PROOF_CHALLENGE);
}

describe('DPoP: the proof checks over HTTP (RFC 9449 §4.3)', () => {
  let app: Started;
  let key: ReturnType<typeof ecKey>;
  let token: string;
  let watch: ReturnType<typeof refusalDetails>;
  const htu = (path = '/me') => `${app.origin}${path}`;
  const get = (proof: string | undefined, path = '/me', scheme = 'DPoP', bearer = token) => {
    const req = request(app.server).get(path).set('Authorization', `${scheme} ${bearer}`);
    return proof === undefined ? req : req.set('DPoP', proof);
  };
  /** The refusal of `res` is for the check named by `detail`. */
  const refusedFor = (res: Response, detail: string) => {
    assertInvalidProof(res);
    assert.equal(watch.details.at(-1), detail);
  };

  beforeEach(async () => {
    app = await startDpopApp();
    key = ecKey();
    token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
    watch = refusalDetails();
  });
  afterEach(() => {
    watch.stop();
    app.server.close();
    JwtManager.reset();
  });

  it('login: verifyDpopProof resolves the thumbprint, and the token carries it as cnf.jkt', async () => {
    const proof = await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/login') });
    const res = await request(app.server).post('/login').set('DPoP', proof);
    assert.equal(res.status, 200);
    const jkt = await dpopThumbprint(key.privateKey);
    assert.equal(res.body.jkt, jkt);
    assert.equal(res.body.seen, jkt, 'getDpopThumbprint() after verifyDpopProof(ctx)');
    assert.deepEqual((await decodeToken(res.body.access)).cnf, { jkt });
    assert.deepEqual((await decodeToken(res.body.refresh)).cnf, { jkt });
  });

  it('login without a DPoP header: undefined, and unbound tokens', async () => {
    const res = await request(app.server).post('/login');
    assert.equal(res.status, 200);
    assert.equal(res.body.jkt, null);
    assert.equal((await decodeToken(res.body.access)).cnf, undefined);
  });

  it('login with a bad proof: 401 Invalid DPoP proof with the challenge, no token', async () => {
    const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: htu('/login') });
    const res = await request(app.server).post('/login').set('DPoP', proof);
    refusedFor(res, 'htm does not match the request method');
    assert.equal(res.body.access, undefined);
  });

  it('accepted: a bound token with the DPoP scheme and a good proof', async () => {
    const res = await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { sub: 'alice', jkt: await dpopThumbprint(key.privateKey) });
  });

  it('the scheme is matched case-insensitively', async () => {
    const res = await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }), '/me', 'dpop');
    assert.equal(res.status, 200);
  });

  it('htm (step 8): a proof for POST is refused on GET', async () => {
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'POST', htu: htu(), token })), 'htm does not match the request method');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'get', htu: htu(), token })), 'htm does not match the request method');
  });

  it('htu (step 9): another path or host is refused; query, fragment, case, default port and dot segments are not', async () => {
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu('/other'), token })), 'htu does not match the request URI');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: 'http://evil.example/me', token })), 'htu does not match the request URI');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu().replace('http:', 'https:'), token })), 'htu does not match the request URI');
    for (const variant of [`${htu()}?a=1#f`, htu().replace('http://127.0.0.1', 'HTTP://127.0.0.1'), htu('/x/../me'), htu('/%6De')]) {
      const res = await get(await dpopProof(key.privateKey, { htm: 'GET', htu: variant, token }));
      assert.equal(res.status, 200, variant);
    }
  });

  it('htu: a Host that smuggles a path, query or fragment is refused; the honest Host passes', async () => {
    const host = new URL(app.origin).host;
    // a proof made for another path of the same method: the Host moves /me out of what htu is compared with
    const forReport = () => dpopProof(key.privateKey, { htm: 'GET', htu: htu('/public-report'), token });
    const forRoot = () => dpopProof(key.privateKey, { htm: 'GET', htu: htu('/'), token });
    refusedFor(await get(await forReport()).set('Host', `${host}/public-report?`), 'the request Host is not a plain host[:port]');
    refusedFor(await get(await forRoot()).set('Host', `${host}#`), 'the request Host is not a plain host[:port]');
    refusedFor(await get(await forRoot()).set('Host', `${host}\\`), 'the request Host is not a plain host[:port]');
    refusedFor(await get(await forRoot()).set('Host', ''), 'the request Host is not a plain host[:port]');
    refusedFor(await get(await forReport()), 'htu does not match the request URI');
    assert.equal((await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token })).set('Host', host)).status, 200);
  });

  it("htu: the request's query is never part of it", async () => {
    const res = await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }), '/me?page=2');
    assert.equal(res.status, 200);
  });

  it('htu: the Origin request header is never used', async () => {
    const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: 'https://evil.example/me', token });
    refusedFor(await get(proof).set('Origin', 'https://evil.example'), 'htu does not match the request URI');
  });

  it('iat (step 11): 61 s old or 5 s ahead is refused, 58 s old is accepted', async () => {
    // the clock read for each proof: on a loaded machine the requests before the last may take a second
    const now = () => Math.floor(Date.now() / 1000);
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token, iat: now() - 61 })), 'the proof is too old (iat)');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token, iat: now() + 5 })), 'the proof iat is in the future');
    assert.equal((await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token, iat: now() - 58 }))).status, 200);
  });

  it('replay (§11.1): the same proof twice is refused the second time', async () => {
    const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token });
    assert.equal((await get(proof)).status, 200);
    refusedFor(await get(proof), 'the proof was used before (jti replay)');
    // a new proof (new jti) by the same key passes
    assert.equal((await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }))).status, 200);
  });

  it('replay: concurrent requests with one proof, exactly one passes', async () => {
    const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token });
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => get(proof)))).map((r) => r.status);
    assert.deepEqual(statuses.sort(), [200, ...Array(9).fill(401)]);
  });

  it('ath (step 12): a proof for another token is refused, and one without ath', async () => {
    const other = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token: other })), 'ath does not match the token');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu() })), 'ath does not match the token');
  });

  it('key (step 12): a proof by another key is refused (the token holder without the key)', async () => {
    const thief = ecKey();
    refusedFor(await get(await dpopProof(thief.privateKey, { htm: 'GET', htu: htu(), token })), 'the proof key is not the key the token is bound to');
  });

  it('jwk (step 7): a jwk with its private part is refused', async () => {
    const withPrivate = key.privateKey.export({ format: 'jwk' });
    const ath = accessTokenHash(token);
    const claims = { htm: 'GET', htu: htu(), ath };
    refusedFor(await get(craftProof(key.privateKey, claims, { jwk: withPrivate })), 'the jwk holds a private key');
    assert.equal((await get(craftProof(key.privateKey, claims))).status, 200, 'the same proof with the public jwk');
  });

  it('typ (step 4): anything but dpop+jwt is refused', async () => {
    const ath = accessTokenHash(token);
    const claims = { htm: 'GET', htu: htu(), ath };
    for (const typ of ['JWT', 'at+jwt', undefined, 7]) {
      refusedFor(await get(craftProof(key.privateKey, claims, { typ })), typ === undefined ? 'the proof header has no typ' : 'the proof typ is not dpop+jwt');
    }
    assert.equal((await get(craftProof(key.privateKey, claims, { typ: 'application/dpop+jwt' }))).status, 200);
  });

  it('alg (step 5): none, HS256 and an algorithm not allowed are refused', async () => {
    const ath = accessTokenHash(token);
    const claims = { htm: 'GET', htu: htu(), ath };
    for (const alg of ['none', 'HS256', 'ES384']) refusedFor(await get(craftProof(key.privateKey, claims, { alg })), 'the proof alg is not allowed');
  });

  it('signature (step 6): a proof whose payload was changed is refused', async () => {
    const proof = await dpopProof(key.privateKey, { htm: 'POST', htu: htu(), token });
    const [header, payload, signature] = proof.split('.');
    const changed = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), htm: 'GET' };
    refusedFor(await get(`${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`), 'the proof signature does not verify with its jwk');
  });

  it('two DPoP headers (step 1) are refused, each alone passes', async () => {
    const first = await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token });
    const second = await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token });
    refusedFor(await get(undefined).set('DPoP', [first, second] as unknown as string), 'more than one DPoP header');
    assert.equal((await get(first)).status, 200);
  });

  it('downgrade: a bound token sent as Bearer is refused, with or without a proof', async () => {
    refusedFor(await get(undefined, '/me', 'Bearer'), 'a DPoP-bound token was sent without the DPoP scheme (downgrade)');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token }), '/me', 'Bearer'),
      'a DPoP-bound token was sent without the DPoP scheme (downgrade)');
  });

  it('missing proof: a bound token with the DPoP scheme and no DPoP header is 401 DPoP proof required', async () => {
    const res = await get(undefined);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'DPoP proof required' });
    assert.equal(res.headers['www-authenticate'], INVALID_PROOF_CHALLENGE);
  });

  it('an unbound token sent with the DPoP scheme is refused; as Bearer it passes', async () => {
    const unbound = await fakeAccessToken('alice');
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token: unbound }), '/me', 'DPoP', unbound),
      'an unbound token was sent with the DPoP scheme');
    const res = await get(undefined, '/me', 'Bearer', unbound);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { sub: 'alice', jkt: null });
  });

  it('the DPoP step runs before roles: a bad proof on a roles route is 401, not 403', async () => {
    refusedFor(await get(await dpopProof(key.privateKey, { htm: 'POST', htu: htu('/admin'), token }), '/admin'), 'htm does not match the request method');
    const res = await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu('/admin'), token }), '/admin');
    assert.equal(res.status, 403, 'a good proof reaches the roles check');
  });

  it('the token is checked first: an expired bound token is 401 Token has expired, its proof not consumed', async () => {
    const expired = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey), expiresIn: -60 });
    const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: htu(), token: expired });
    const res = await get(proof, '/me', 'DPoP', expired);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Token has expired' });
    assert.equal(watch.details.length, 0);
  });

  it('the imperative door (verifyJwtInRequest) checks the proof too', async () => {
    refusedFor(await get(undefined, '/imperative', 'Bearer'), 'a DPoP-bound token was sent without the DPoP scheme (downgrade)');
    const res = await get(await dpopProof(key.privateKey, { htm: 'GET', htu: htu('/imperative'), token }), '/imperative');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { sub: 'alice', jkt: await dpopThumbprint(key.privateKey) });
  });

  it('OPTIONS: a bound token with a bad proof does not run the handler (204 from the guard)', async () => {
    const res = await request(app.server).options('/me').set('Authorization', `DPoP ${token}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
  });

  describe('other key types', () => {
    const cases: [string, () => KeyObject][] = [
      ['EdDSA (Ed25519)', () => generateKeyPairSync('ed25519').privateKey],
      ['RS256 (RSA)', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
      ['PS256 (RSA-PSS)', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey],
    ];
    for (const [name, make] of cases) {
      it(`${name}: accepted with its key, refused with another`, async () => {
        const privateKey = make();
        const bound = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(privateKey) });
        const res = await get(await dpopProof(privateKey, { htm: 'GET', htu: htu(), token: bound }), '/me', 'DPoP', bound);
        assert.equal(res.status, 200);
        refusedFor(await get(await dpopProof(make(), { htm: 'GET', htu: htu(), token: bound }), '/me', 'DPoP', bound),
          'the proof key is not the key the token is bound to');
      });
    }

    it('a WebCrypto CryptoKeyPair (non-extractable P-256), as a browser holds it', async () => {
      const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
      const bound = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(pair) });
      const res = await get(await dpopProof(pair, { htm: 'GET', htu: htu(), token: bound }), '/me', 'DPoP', bound);
      assert.equal(res.status, 200);
    });

    it('an RSA key with public exponent 3 (a weak key: NIST SP 800-56B) is refused; the same size with 65537 passes above', async () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
      const bound = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(weak) });
      refusedFor(await get(await dpopProof(weak, { htm: 'GET', htu: htu(), token: bound }), '/me', 'DPoP', bound), 'the jwk is not a valid public key');
    });

    it('an RSA key under 2048 bits is refused', async () => {
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
      const bound = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(small) });
      refusedFor(await get(await dpopProof(small, { htm: 'GET', htu: htu(), token: bound }), '/me', 'DPoP', bound), 'the jwk is not a valid public key');
    });
  });

  describe('hostile DPoP headers: 401, never 500', () => {
    const ath = async () => accessTokenHash(token);
    it('garbage, huge, and malformed values', async () => {
      const a = await ath();
      const junk = [
        '', 'x', 'a.b', 'a.b.c', '...', 'a.b.c.d', 'x'.repeat(10_000), `${'A'.repeat(4000)}.${'B'.repeat(4000)}.C`,
        `${Buffer.from('[1,2]').toString('base64url')}.e30.AA`, `${Buffer.from('null').toString('base64url')}.e30.AA`,
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath }, { jwk: 'not-an-object' }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath }, { jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath }, { jwk: { ...publicJwk(key.privateKey), x: '!!' } }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath: a, iat: '1' }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath: a, jti: '' }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath: a, jti: 'j'.repeat(300) }),
        craftProof(key.privateKey, { htm: ['GET'], htu: htu(), ath: a }),
        craftProof(key.privateKey, { htm: 'GET', htu: 'not a url', ath: a }),
        craftProof(key.privateKey, { htm: 'GET', htu: 'javascript:alert(1)', ath: a }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu().replace('http://', 'http://user:pw@'), ath: a }),
        craftProof(key.privateKey, { htm: 'GET', htu: htu(), ath: a }, { crit: ['exp'] }),
        `${'W'.repeat(2000)}.${'['.repeat(10)}.x`,
      ];
      for (const value of junk) {
        const res = await get(value);
        assert.equal(res.status, 401, `${value.slice(0, 60)} → ${res.status} ${res.text}`);
        assert.deepEqual(res.body, { msg: 'Invalid DPoP proof' });
      }
    });

    it('a nested JSON bomb in the proof payload', async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const proof = `${Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk(key.privateKey) })).toString('base64url')}.${Buffer.from(deep).toString('base64url')}.AA`;
      const res = await get(proof.slice(0, 12_000));
      assert.equal(res.status, 401);
    });

    it('a bad Authorization value with the DPoP scheme is the 422 of a bad header', async () => {
      const res = await request(app.server).get('/me').set('Authorization', `DPoP ${token} extra`);
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: "Bad Authorization header. Expected 'Authorization: DPoP <JWT>'" });
      const twice = await request(app.server).get('/me').set('Authorization', `DPoP ${token}, DPoP ${token}`);
      assert.equal(twice.status, 422);
    });
  });
});
