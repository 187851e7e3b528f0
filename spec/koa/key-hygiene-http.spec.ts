/**
 * DESIGN 0.3 G "Key hygiene": a public or private key in any form is never an HMAC secret, at
 * configure() and from a decodeKeyLoader; a loader's key is parsed once per distinct value.
 */
import assert from 'node:assert/strict';
import crypto, { createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { JwtConfigurationError, JwtManager, JwtOptions } from '../../src';
import { accessClaims, craftToken } from '../support/app';
import { expectResponse } from '../support/assert-response';
import { testKey } from '../support/keys';
import { serve, stop } from '../support/server';
import { InteropController } from './interop-routes';

type Pair = ReturnType<typeof testKey>;

/** RFC 4253 §6.6: the SSH wire format of a public key (what the base64 of an OpenSSH line holds). */
function sshWire(pair: Pair, type: 'rsa' | 'ec' | 'ed'): { name: string; blob: Buffer } {
  const field = (value: Buffer | string) => {
    const bytes = Buffer.from(value);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const raw = (member: string) => Buffer.from(jwk[member], 'base64url');
  const mpint = (value: Buffer) => field(value[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), value]) : value);
  if (type === 'rsa') return { name: 'ssh-rsa', blob: Buffer.concat([field('ssh-rsa'), mpint(raw('e')), mpint(raw('n'))]) };
  if (type === 'ed') return { name: 'ssh-ed25519', blob: Buffer.concat([field('ssh-ed25519'), field(raw('x'))]) };
  const point = Buffer.concat([Buffer.from([4]), raw('x'), raw('y')]);
  return { name: 'ecdsa-sha2-nistp256', blob: Buffer.concat([field('ecdsa-sha2-nistp256'), field('nistp256'), field(point)]) };
}

const BOM = '\ufeff';
testKey('rsaB'); // generated now, so the parse counts below see only the library's parses

/** Every form `pair`'s keys travel in, as the bytes (or text) someone might paste as a secret. */
function keyForms(pair: Pair, type: 'rsa' | 'ec' | 'ed'): Record<string, string | Buffer> {
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  const forms: Record<string, string | Buffer> = {
    'public PEM': pair.publicPem, 'private PEM': pair.privatePem,
    'DER SPKI': spki, 'DER PKCS#8': pkcs8,
    'public JWK as JSON': JSON.stringify(pair.publicKey.export({ format: 'jwk' })),
    'private JWK as JSON': JSON.stringify(pair.privateKey.export({ format: 'jwk' }), null, 2),
    'JWK Set as JSON': JSON.stringify({ keys: [pair.publicKey.export({ format: 'jwk' })] }),
    'base64 of DER SPKI': spki.toString('base64'), 'base64url of DER SPKI': spki.toString('base64url'),
    'base64 of DER SPKI with line breaks': spki.toString('base64').replace(/(.{64})/g, '$1\n'),
    'base64 of DER PKCS#8': pkcs8.toString('base64'), 'hex of DER SPKI': spki.toString('hex'),
    'base64 of the public JWK': Buffer.from(JSON.stringify(pair.publicKey.export({ format: 'jwk' }))).toString('base64'),
  };
  if (type === 'rsa') {
    forms['DER PKCS#1 public'] = pair.publicKey.export({ format: 'der', type: 'pkcs1' });
    forms['DER PKCS#1 private'] = pair.privateKey.export({ format: 'der', type: 'pkcs1' });
    forms['base64 of DER PKCS#1 public'] = (pair.publicKey.export({ format: 'der', type: 'pkcs1' })).toString('base64');
  }
  if (type === 'ec') forms['DER SEC1 private'] = pair.privateKey.export({ format: 'der', type: 'sec1' });
  // the same forms behind a UTF-8 byte order mark and white space, or inside a list
  const jwkJson = JSON.stringify(pair.publicKey.export({ format: 'jwk' }));
  Object.assign(forms, {
    'public JWK as JSON after a UTF-8 BOM': BOM + jwkJson, 'JWK Set as JSON after a UTF-8 BOM and a newline': `${BOM}\n${forms['JWK Set as JSON']}`,
    'public PEM after a UTF-8 BOM': BOM + pair.publicPem, 'public JWK as JSON inside white space': `\r\n\t ${jwkJson} \n`,
    'a JSON list holding the public JWK': `[${jwkJson}]`, 'a JSON list holding the public JWK, after a BOM': `${BOM} [ ${jwkJson} ]`,
    'base64 of the public JWK after a BOM': BOM + Buffer.from(jwkJson).toString('base64'),
  });
  // issue #20: the same keys behind the layers they pick up on their way to a secret store
  const pem = pair.publicPem;
  const utf16le = Buffer.from(pem, 'utf16le');
  const publicJwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const privateJwk = pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const withoutKty = (value: Record<string, unknown>) => Object.fromEntries(Object.entries(value).filter(([name]) => name !== 'kty'));
  const spkiHex = spki.toString('hex');
  Object.assign(forms, {
    'UTF-16LE public PEM (no BOM)': utf16le, 'UTF-16LE public PEM with a BOM (PowerShell >)': Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le]),
    'UTF-16BE public PEM with a BOM': Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(utf16le).swap16()]),
    'base64 of the PEM body without its armour lines (a doubly encoded Kubernetes Secret)': Buffer.from(pem.split('\n').slice(1, -2).join('\n')).toString('base64'),
    'base64 of the whole PEM': Buffer.from(pem).toString('base64'),
    'the public JWK stringified twice (a JSON string of JSON)': JSON.stringify(JSON.stringify(publicJwk)),
    'URL-encoded public PEM': encodeURIComponent(pem), 'form-encoded public PEM (+ for spaces)': encodeURIComponent(pem).replace(/%20/g, '+'),
    'hex of DER SPKI with colons': spkiHex.match(/../g)!.join(':'), 'hex of DER SPKI with a 0x prefix': `0x${spkiHex}`,
    'upper-case hex of DER SPKI with spaces': spkiHex.toUpperCase().match(/../g)!.join(' '), 'hex of DER SPKI with dashes': spkiHex.match(/../g)!.join('-'),
    'public PEM with lower-case armour lines': pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, (_, what: string) => `-----${what.toLowerCase()} public key-----`),
    'public JWK as JSON without kty': JSON.stringify(withoutKty(publicJwk)), 'public JWK as JSON with a numeric kty': JSON.stringify({ ...publicJwk, kty: 1 }),
    'private JWK as JSON without kty': JSON.stringify(withoutKty(privateJwk)),
    'a JSON list of JWKs without kty': JSON.stringify([withoutKty(publicJwk)]),
    'base64 of base64 of DER SPKI': Buffer.from(spki.toString('base64')).toString('base64'),
    'DER SPKI and a trailing newline': Buffer.concat([spki, Buffer.from('\n')]),
  });
  const { name, blob } = sshWire(pair, type);
  Object.assign(forms, {
    'OpenSSH public key line': `${name} ${blob.toString('base64')} alice@laptop`,
    'OpenSSH line with authorized_keys options': `no-pty,command="/bin/true" ${name} ${blob.toString('base64')}`,
    'base64 of the SSH wire-format key': blob.toString('base64'), 'SSH wire-format key': blob,
    'RFC 4716 SSH2 public key': `---- BEGIN SSH2 PUBLIC KEY ----\n${blob.toString('base64').replace(/(.{70})/g, '$1\n')}\n---- END SSH2 PUBLIC KEY ----\n`,
  });
  if (type === 'ec') {
    const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    const xy = Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    const point = Buffer.concat([Buffer.from([4]), xy]);
    Object.assign(forms, {
      'raw uncompressed EC point (65 bytes)': point, 'raw x || y (64 bytes)': xy, 'base64 of the raw EC point': point.toString('base64'),
      'hex of the raw EC point': point.toString('hex'), 'JWK x and y written one after the other': jwk.x + jwk.y,
      'JWK x.y (two base64url coordinates joined by a dot)': `${jwk.x}.${jwk.y}`, 'JWK [x, y] as JSON': JSON.stringify([jwk.x, jwk.y]),
      'JWK x and y as JSON without kty or crv': JSON.stringify({ x: jwk.x, y: jwk.y }),
    });
  }
  return forms;
}

const PAIRS: [string, Pair, 'rsa' | 'ec' | 'ed'][] = [['RSA', testKey('rsaA'), 'rsa'], ['P-256', testKey('p256'), 'ec'], ['Ed25519', testKey('ed25519'), 'ed']];

describe('key hygiene: no key in disguise is an HMAC secret (0.3 G)', () => {
  afterEach(() => JwtManager.reset());

  describe('at configure()', () => {
    for (const [name, pair, type] of PAIRS) {
      for (const [form, value] of Object.entries(keyForms(pair, type))) {
        const asBuffer = Buffer.from(value);
        for (const [given, secret] of [['string', value.toString()], ['Buffer', asBuffer], ['secret KeyObject', createSecretKey(asBuffer)]] as const) {
          if (given === 'string' && Buffer.isBuffer(value)) continue; // raw DER is no text
          it(`${name} ${form} as a ${given} secret: a configuration error, listed with the others`, () => {
            const error = (() => {
              try {
                JwtManager.configure({ secret: secret as string, accessTokenExpires: 'soon' as never, algorithm: 'HS256' });
              } catch (e) {
                return e;
              }
              assert.fail('accepted');
            })();
            assert.ok(error instanceof JwtConfigurationError);
            assert.ok(error.problems.some((p) => /secret: a .*key is never accepted as an HMAC secret \(algorithm confusion\)/.test(p)), error.message);
            assert.ok(error.problems.some((p) => /accessTokenExpires/.test(p)), error.message);
          });
        }
      }
    }

    it('a verificationKeys entry holding a DER public key is refused too', () => {
      const der = testKey('rsaA').publicKey.export({ format: 'der', type: 'spki' });
      assert.throws(() => JwtManager.configure({ secret: randomBytes(32).toString('hex'), verificationKeys: [{ kid: 'old', secret: der }] }),
        /verificationKeys\[0\]\.secret: a DER key is never accepted as an HMAC secret/);
    });

    for (const [name, secret] of [
      ['64 random bytes', randomBytes(64)], ['their base64url', randomBytes(64).toString('base64url')],
      ['their hex', randomBytes(48).toString('hex')], ['a passphrase', 'correct horse battery staple, and then some more words'],
      ['random bytes starting with a DER SEQUENCE byte', Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x22]), randomBytes(60)])],
      ['JSON that is no JWK', '{"purpose":"just a long secret string, not a key at all"}'],
      ['a JSON list that holds no JWK', '["not", "a", "key", "but a long enough secret"]'],
      ['a passphrase after a UTF-8 BOM', `${BOM}correct horse battery staple, and then some more words`],
      ['a passphrase that starts like an OpenSSH line', 'ssh-rsa is what I use at home; this is a long passphrase'],
      ['65 random bytes starting with 0x04', Buffer.concat([Buffer.from([4]), randomBytes(64)])],
      ['a random 86-character base64url secret', randomBytes(64).toString('base64url').slice(0, 86)],
      ['random hex with colons', randomBytes(48).toString('hex').match(/../g)!.join(':')], ['random hex with a 0x prefix', `0x${randomBytes(48).toString('hex')}`],
      ['a random base64 secret as UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(randomBytes(48).toString('base64'), 'utf16le')])],
      ['a URL-encoded random base64 secret', encodeURIComponent(randomBytes(48).toString('base64'))],
      ['a random secret as a JSON string', JSON.stringify(randomBytes(48).toString('base64url'))],
      ['base64 of a random base64 secret', Buffer.from(randomBytes(48).toString('base64')).toString('base64')],
      ['two random 43-character base64url strings joined by a dot (no curve point)', `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`],
      ['a JSON list of two random coordinates (no curve point)', JSON.stringify([randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')])],
      ['a passphrase that mentions a begin public key line', 'my begin public key passphrase, long enough to be a secret'],
      ['JSON with an n but no e', '{"n":"just a long secret string, not a key at all"}'],
    ] as const) {
      it(`a real secret (${name}) is accepted`, () => {
        assert.doesNotThrow(() => JwtManager.configure({ secret: secret as string }));
      });
    }
  });

  describe('over HTTP', () => {
    let server: Server | undefined;
    afterEach(() => stop(server));
    const me = (token: string) => request(server!).get('/interop/me').set('Authorization', `Bearer ${token}`);
    const start = (options: Partial<JwtOptions>) => (server = serve([InteropController], { secret: undefined, ...options }));

    for (const [, pair, type, alg] of [['RSA', testKey('rsaA'), 'rsa', 'RS256'], ['P-256', testKey('p256'), 'ec', 'ES256']] as const) {
      it(`${alg}: the legit token passes; HS256 tokens forged with the public key's forms are refused (configured key)`, async () => {
        start({ algorithm: alg, publicKey: pair.publicPem, privateKey: pair.privatePem });
        expectResponse(await me(craftToken({ alg, typ: 'JWT' }, accessClaims('alice'), pair.privateKey)), 200, { identity: 'alice' });
        for (const [form, value] of Object.entries(keyForms(pair, type))) {
          const forged = craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('mallory'), Buffer.from(value));
          const res = await me(forged);
          assert.deepEqual([res.status, res.body], [422, { msg: 'The specified alg value is not allowed' }], form);
        }
      });

      it(`${alg} and HS256 tenants from one decodeKeyLoader: a loader answering a key form for HS256 is 422 alg not allowed`, async () => {
        const forms = keyForms(pair, type);
        // a careless loader: it answers the tenant's key for whatever alg the token names
        start({ algorithms: [alg, 'HS256'], decodeKeyLoader: (header) => (header.alg === alg ? pair.publicPem : forms[header.kid as string]) });
        expectResponse(await me(craftToken({ alg, typ: 'JWT' }, accessClaims('alice'), pair.privateKey)), 200, { identity: 'alice' });
        for (const [form, value] of Object.entries(forms)) {
          const forged = craftToken({ alg: 'HS256', typ: 'JWT', kid: form }, accessClaims('mallory'), Buffer.from(value));
          const res = await me(forged);
          assert.deepEqual([res.status, res.body], [422, { msg: 'The specified alg value is not allowed' }], form);
        }
      });
    }

    it('an HS256 tenant with a real secret from the same loader passes', async () => {
      const secret = randomBytes(32).toString('base64url');
      start({ algorithms: ['RS256', 'HS256'], decodeKeyLoader: () => secret });
      expectResponse(await me(craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('alice'), Buffer.from(secret))), 200, { identity: 'alice' });
    });
  });

  describe("a loader's key is parsed once per distinct value", () => {
    let server: Server | undefined;
    const original = { createPublicKey: crypto.createPublicKey, createSecretKey: crypto.createSecretKey };
    const calls = { createPublicKey: 0, createSecretKey: 0 };
    beforeEach(() => {
      calls.createPublicKey = calls.createSecretKey = 0;
      (crypto as { createPublicKey: unknown }).createPublicKey = (...args: Parameters<typeof crypto.createPublicKey>) => {
        calls.createPublicKey += 1;
        return original.createPublicKey(...args);
      };
      (crypto as { createSecretKey: unknown }).createSecretKey = (...args: [Buffer]) => {
        calls.createSecretKey += 1;
        return original.createSecretKey(...args);
      };
    });
    afterEach(() => {
      Object.assign(crypto, original);
      stop(server);
    });
    const me = (token: string) => request(server!).get('/interop/me').set('Authorization', `Bearer ${token}`);

    for (const [form, answer] of [
      ['PEM', () => testKey('rsaA').publicPem], ['a JWK object', () => testKey('rsaA').publicKey.export({ format: 'jwk' })],
      ['a fresh copy of the same JWK each time', () => ({ ...testKey('rsaA').publicKey.export({ format: 'jwk' }) })],
    ] as const) {
      it(`${form}: 20 requests, one parse (the loader still asked each time)`, async () => {
        let asked = 0;
        server = serve([InteropController], { secret: undefined, algorithm: 'RS256', decodeKeyLoader: () => ((asked += 1), answer()) });
        const key = testKey('rsaA').privateKey;
        for (let i = 0; i < 20; i += 1) expectResponse(await me(craftToken({ alg: 'RS256', typ: 'JWT' }, accessClaims('alice'), key)), 200, { identity: 'alice' });
        assert.deepEqual([asked, calls.createPublicKey], [20, 1]);
      });
    }

    it('two keys: two parses; a key the loader stops answering stops verifying at once', async () => {
      let current: KeyObject | string = testKey('rsaA').publicPem;
      server = serve([InteropController], { secret: undefined, algorithm: 'RS256', decodeKeyLoader: () => current });
      const tokenA = craftToken({ alg: 'RS256', typ: 'JWT' }, accessClaims('alice'), testKey('rsaA').privateKey);
      const tokenB = craftToken({ alg: 'RS256', typ: 'JWT' }, accessClaims('alice'), testKey('rsaB').privateKey);
      for (let i = 0; i < 5; i += 1) expectResponse(await me(tokenA), 200, { identity: 'alice' });
      current = testKey('rsaB').publicPem;
      expectResponse(await me(tokenA), 422, { msg: 'Signature verification failed' });
      for (let i = 0; i < 5; i += 1) expectResponse(await me(tokenB), 200, { identity: 'alice' });
      assert.equal(calls.createPublicKey, 2);
    });

    it('a key form refused for HS256 (hex DER with colons): looked through once for 20 requests, 422 each time', async () => {
      const hexDer = testKey('rsaA').publicKey.export({ format: 'der', type: 'spki' }).toString('hex').match(/../g)!.join(':');
      server = serve([InteropController], { secret: undefined, algorithm: 'HS256', decodeKeyLoader: () => hexDer });
      const forged = craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('mallory'), Buffer.from(hexDer));
      calls.createPublicKey = 0;
      expectResponse(await me(forged), 422, { msg: 'The specified alg value is not allowed' });
      const once = calls.createPublicKey;
      for (let i = 0; i < 19; i += 1) expectResponse(await me(forged), 422, { msg: 'The specified alg value is not allowed' });
      assert.ok(once > 0, 'the DER parse is what refuses it');
      assert.equal(calls.createPublicKey, once);
    });

    it('an HS256 secret: one createSecretKey for 20 requests', async () => {
      const secret = randomBytes(32).toString('base64url');
      server = serve([InteropController], { secret: undefined, algorithm: 'HS256', decodeKeyLoader: () => secret });
      calls.createSecretKey = 0;
      for (let i = 0; i < 20; i += 1) expectResponse(await me(craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('alice'), Buffer.from(secret))), 200, { identity: 'alice' });
      assert.equal(calls.createSecretKey, 1);
    });
  });
});
