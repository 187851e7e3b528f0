/**
 * Key hygiene at configure() (DESIGN.md 0.2 A): HMAC secrets as long as the hash
 * (RFC 7518 §3.2), no private key accepted as `publicKey`, and nothing the
 * manager, its config, its key ring or its errors print ever shows a secret or a
 * private key.
 */
import assert from 'node:assert/strict';
import { createSecretKey, KeyObject, randomBytes, randomInt } from 'node:crypto';
import { format, inspect } from 'node:util';
import {
  CsrfError, JwtConfigurationError, JwtManager, JwtOptions, JwtUsageError, MemoryTokenStore, NoAuthorizationError,
  TokenStoreError,
} from '../../src';
import { FRESH_ACCESS } from '../../src/core/verify';
import { keyFormOf } from '../../src/core/secrets';
import { FailingFindStore } from '../support/store';
import { testKey } from '../support/keys';

function configureError(options: JwtOptions): JwtConfigurationError {
  try {
    JwtManager.configure(options);
  } catch (error) {
    assert.ok(error instanceof JwtConfigurationError, `expected a JwtConfigurationError, got ${String(error)}`);
    return error;
  }
  assert.fail('configure() accepted the options');
}

/** A secret of exactly `bytes` bytes. */
const secretOf = (bytes: number) => 'k'.repeat(bytes);

const MINIMUM: [string, number][] = [['HS256', 32], ['HS384', 48], ['HS512', 64]];

describe('core: HMAC secret lengths (RFC 7518 §3.2)', () => {
  afterEach(() => JwtManager.reset());

  for (const [algorithm, bytes] of MINIMUM) {
    it(`${algorithm}: a secret of ${bytes - 1} bytes is refused, naming the minimum`, () => {
      const { problems } = configureError({ algorithm: algorithm as 'HS256', secret: secretOf(bytes - 1) });
      assert.deepEqual(problems, [`secret must be at least ${bytes} bytes for ${algorithm}, the length of its hash (got ${bytes - 1})`]);
    });

    it(`${algorithm}: a secret of ${bytes} bytes is accepted`, () => {
      assert.equal(JwtManager.configure({ algorithm: algorithm as 'HS256', secret: secretOf(bytes) }).config.keys.signing.algorithm, algorithm);
    });
  }

  it('HS512: a secret KeyObject of 48 bytes is refused', () => {
    const { problems } = configureError({ algorithm: 'HS512', secret: createSecretKey(Buffer.from(secretOf(48))) });
    assert.deepEqual(problems, ['secret must be at least 64 bytes for HS512, the length of its hash (got 48)']);
  });

  it('HS512: a Buffer secret of 63 bytes is refused', () => {
    const { problems } = configureError({ algorithm: 'HS512', secret: Buffer.alloc(63, 1) });
    assert.deepEqual(problems, ['secret must be at least 64 bytes for HS512, the length of its hash (got 63)']);
  });

  it('a verificationKeys entry is measured against its own algorithm (HS512 entry under HS256)', () => {
    const { problems } = configureError({ secret: secretOf(32), verificationKeys: [{ kid: 'old', algorithm: 'HS512', secret: secretOf(48) }] });
    assert.deepEqual(problems, ['verificationKeys[0].secret must be at least 64 bytes for HS512, the length of its hash (got 48)']);
  });

  it('a verificationKeys entry of the right length for its algorithm is accepted', () => {
    const manager = JwtManager.configure({ secret: secretOf(32), verificationKeys: [{ kid: 'old', algorithm: 'HS384', secret: secretOf(48) }] });
    assert.deepEqual([...manager.config.keys.algorithms], ['HS256', 'HS384']);
  });
});

describe('core: a public key wrapped in layers is no HMAC secret (issue #20, DESIGN 0.3 G)', () => {
  afterEach(() => JwtManager.reset());
  const rsa = testKey('rsaA');
  const ec = testKey('p256');
  const pem = rsa.publicPem;
  const der = rsa.publicKey.export({ format: 'der', type: 'spki' });
  const jwk = rsa.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const ecJwk = ec.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const utf16le = Buffer.from(pem, 'utf16le');
  const FORMS: [string, string | Buffer][] = [
    ['UTF-16LE PEM', utf16le], ['UTF-16LE PEM with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le])],
    ['UTF-16BE PEM with a BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(utf16le).swap16()])],
    ['base64 of the PEM body without armour', Buffer.from(pem.split('\n').slice(1, -2).join('\n')).toString('base64')],
    ['a JWK stringified twice', JSON.stringify(JSON.stringify(jwk))],
    ['URL-encoded PEM', encodeURIComponent(pem)],
    ['hex DER with colons', der.toString('hex').match(/../g)!.join(':')], ['hex DER with a 0x prefix', `0x${der.toString('hex')}`],
    ['PEM with lower-case armour', pem.replace('BEGIN PUBLIC KEY', 'begin public key').replace('END PUBLIC KEY', 'end public key')],
    ['JWK JSON without kty', JSON.stringify({ n: jwk.n, e: jwk.e })], ['JWK JSON with a numeric kty', JSON.stringify({ ...jwk, kty: 1 })],
    ['EC JWK JSON without kty', JSON.stringify({ crv: 'P-256', x: ecJwk.x, y: ecJwk.y })], ['a private JWK reduced to d', JSON.stringify({ d: 'AQAB' })],
    ['EC x.y', `${ecJwk.x}.${ecJwk.y}`], ['EC [x, y] as JSON', JSON.stringify([ecJwk.x, ecJwk.y])],
    ['base64 of UTF-16LE of URL-encoded PEM (three layers)', Buffer.from(encodeURIComponent(pem), 'utf16le').toString('base64')],
  ];

  for (const [form, secret] of FORMS) {
    it(`${form}: refused at configure(), beside a random secret that is accepted`, () => {
      const { problems } = configureError({ secret: secret as string });
      assert.equal(problems.length, 1, problems.join(' | '));
      assert.match(problems[0], /^secret: a .*key is never accepted as an HMAC secret \(algorithm confusion\)$/);
      assert.ok(JwtManager.configure({ secret: typeof secret === 'string' ? randomBytes(32).toString('base64') : randomBytes(32) }));
    });
  }

  it('every form given at once (secret and verificationKeys) is listed, one problem each', () => {
    const [[, first], ...rest] = FORMS;
    const { problems } = configureError({ secret: first as string, verificationKeys: rest.map(([, secret], index) => ({ kid: `k${index}`, secret: secret as string })) });
    assert.deepEqual(problems.map((problem) => problem.replace(/: a .*key is never accepted.*$/, '')), ['secret', ...rest.map((_, index) => `verificationKeys[${index}].secret`)]);
  });

  it('the layers are named in the problem (UTF-16LE PEM, hex DER, JSON string of JWK)', () => {
    const formOf = (name: string) => keyFormOf(Buffer.from(FORMS.find(([form]) => form === name)![1]));
    assert.deepEqual(['UTF-16LE PEM with a BOM', 'hex DER with colons', 'a JWK stringified twice', 'EC x.y'].map(formOf), ['UTF-16LE PEM', 'hex DER', 'JSON string of JWK', 'JWK x + y']);
  });

  it('3 000 random secrets in 15 encodings: none refused', () => {
    const words = ['correct', 'horse', 'battery', 'staple', 'begin', 'key', 'public', 'ssh-rsa', 'AAAA', '0x', '%20', '{', '"', 'x', 'd'];
    const encodings: [string, () => Buffer | string][] = [
      ['raw bytes', () => randomBytes([32, 48, 64, 65, 66, 96, 97, 132, 133, 256][randomInt(10)])],
      ['raw bytes that start like a DER SEQUENCE', () => Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x22]), randomBytes(60)])],
      ['hex', () => randomBytes(32 + randomInt(100)).toString('hex')],
      ['upper-case hex with colons', () => randomBytes(32 + randomInt(100)).toString('hex').toUpperCase().match(/../g)!.join(':')],
      ['0x hex', () => `0x${randomBytes(32 + randomInt(100)).toString('hex')}`],
      ['base64', () => randomBytes(32 + randomInt(100)).toString('base64')], ['base64url', () => randomBytes(32 + randomInt(100)).toString('base64url')],
      ['base64 of base64', () => Buffer.from(randomBytes(48).toString('base64')).toString('base64')],
      ['UTF-16LE of base64', () => Buffer.from(randomBytes(48).toString('base64'), 'utf16le')],
      ['URL-encoded base64', () => encodeURIComponent(randomBytes(48).toString('base64'))],
      ['a JSON string', () => JSON.stringify(randomBytes(48).toString('base64url'))],
      ['x.y of random coordinates', () => `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`],
      ['[x, y] of random coordinates', () => JSON.stringify([randomBytes(48).toString('base64url'), randomBytes(48).toString('base64url')])],
      ['a passphrase', () => Array.from({ length: 8 }, () => words[randomInt(words.length)]).join(' ')],
      ['printable ASCII', () => Array.from({ length: 40 + randomInt(40) }, () => String.fromCharCode(32 + randomInt(95))).join('')],
    ];
    const refused: string[] = [];
    for (const [name, make] of encodings) {
      for (let i = 0; i < 200; i += 1) {
        const secret = make();
        const form = keyFormOf(Buffer.from(secret));
        if (form !== undefined) refused.push(`${name} as ${form}: ${String(secret).slice(0, 40)}`);
      }
    }
    assert.deepEqual(refused, []);
  });
});

describe('core: a private key given as publicKey', () => {
  afterEach(() => JwtManager.reset());
  const rsa = () => testKey('rsaA');
  const refusal = (option: string) => `${option} holds a private key: give the public key only (the private key signs, as privateKey)`;

  const INPUTS: [string, () => string | Buffer | KeyObject][] = [
    ['a PEM string', () => rsa().privatePem],
    ['a Buffer holding PEM', () => Buffer.from(rsa().privatePem)],
    ["a KeyObject of type 'private'", () => rsa().privateKey],
  ];

  for (const [what, input] of INPUTS) {
    it(`${what} as publicKey is refused, naming the option`, () => {
      const { problems } = configureError({ algorithm: 'RS256', publicKey: input() });
      assert.deepEqual(problems, [refusal('publicKey')]);
    });
  }

  it('a private PEM as a verificationKeys publicKey is refused, naming the entry', () => {
    const { problems } = configureError({ algorithm: 'RS256', privateKey: rsa().privatePem, verificationKeys: [{ kid: 'old', publicKey: testKey('rsaB').privatePem }] });
    assert.deepEqual(problems, [refusal('verificationKeys[0].publicKey')]);
  });

  it('the public half is accepted as publicKey (PEM and KeyObject)', () => {
    assert.ok(JwtManager.configure({ algorithm: 'RS256', publicKey: rsa().publicPem }));
    assert.ok(JwtManager.configure({ algorithm: 'RS256', privateKey: rsa().privateKey, publicKey: rsa().publicKey }));
  });

  it('every key problem is listed at once, with the other bad options', () => {
    const { problems } = configureError({
      algorithm: 'HS512',
      secret: secretOf(48),
      verificationKeys: [
        { kid: 'hs384', algorithm: 'HS384', secret: secretOf(40) },
        { kid: 'rsa', algorithm: 'RS256', publicKey: rsa().privatePem },
        { kid: 'ec', algorithm: 'ES256', publicKey: testKey('p256').privateKey },
      ],
      headerName: '',
      colour: 'blue',
    } as JwtOptions);
    const expected = [
      'secret must be at least 64 bytes for HS512, the length of its hash (got 48)',
      'verificationKeys[0].secret must be at least 48 bytes for HS384, the length of its hash (got 40)',
      refusal('verificationKeys[1].publicKey'),
      refusal('verificationKeys[2].publicKey'),
      "unknown option 'colour'",
    ];
    for (const problem of expected) assert.ok(problems.includes(problem), `missing: ${problem}\n  in: ${problems.join('\n  ')}`);
    assert.ok(problems.some((p) => p.startsWith('headerName')), problems.join(' | '));
  });
});

/** Every way a value reaches a log: inspect (shallow, deep, hidden, raw), console.log's format, JSON, String. */
function renderings(value: unknown): string[] {
  const plain = value as object;
  return [
    inspect(value), inspect(value, { depth: null, showHidden: true }), inspect(value, { depth: null, customInspect: false }),
    format('%o', value), format('%s', value), format('%j', value), format(value), JSON.stringify(value) ?? '', String(plain),
    JSON.stringify({ wrapped: value }), inspect({ wrapped: [value] }, { depth: null }),
  ];
}

/** Asserts no rendering of `value` holds any of `secrets`. */
function assertNothingShown(value: unknown, secrets: string[]): void {
  for (const text of renderings(value)) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `shown: ${secret.slice(0, 20)}... in ${text.slice(0, 200)}`);
  }
}

/** The distinctive parts of a key: its PEM body lines and, for a private key, its JWK private members. */
function materialOf(pem: string, key?: KeyObject): string[] {
  const body = pem.split('\n').filter((line) => line.length > 40 && !line.startsWith('-----'));
  const jwk = key ? (key.export({ format: 'jwk' }) as Record<string, string>) : {};
  return [...body, ...['d', 'p', 'q', 'dp', 'dq', 'qi'].map((name) => jwk[name]).filter(Boolean)];
}

describe('core: logging the manager, its config, its key ring and its errors never shows key material', () => {
  afterEach(() => JwtManager.reset());
  const SECRET = 'hmac-secret-that-must-never-be-logged-0123456789-abcdefghijklmnop';
  const secretMaterial = [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('base64url'), Buffer.from(SECRET).toString('hex')];

  describe('HMAC (the secret as a string, a Buffer and a KeyObject)', () => {
    const SECRETS: [string, () => JwtOptions['secret']][] = [
      ['string', () => SECRET], ['Buffer', () => Buffer.from(SECRET)], ['KeyObject', () => createSecretKey(Buffer.from(SECRET))],
    ];
    for (const [kind, secret] of SECRETS) {
      it(`${kind} secret: the manager, its config and its key ring show none of it`, () => {
        const manager = JwtManager.configure({
          algorithm: 'HS512', secret: secret(), verificationKeys: [{ kid: 'old', secret: `${SECRET}-old` }],
          revocation: { store: new MemoryTokenStore(), checks: 'all' },
        });
        for (const value of [manager, JwtManager.instance.config, manager.config.keys]) assertNothingShown(value, [...secretMaterial, `${SECRET}-old`]);
      });
    }

    it('the config keeps no key option at all (the key ring holds the keys)', () => {
      const { config } = JwtManager.configure({ secret: SECRET, verificationKeys: [{ kid: 'old', secret: `${SECRET}-old` }] });
      for (const name of ['secret', 'privateKey', 'publicKey', 'verificationKeys']) assert.equal(name in config, false, name);
    });

    it('what is shown still says how the manager is set up', () => {
      const manager = JwtManager.configure({ secret: SECRET, kid: 'k1', revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      assert.deepEqual(JSON.parse(JSON.stringify(manager.config)).keys, { algorithm: 'HS256', kid: 'k1', canSign: true, verificationKids: ['k1'], algorithms: ['HS256'] });
      assert.deepEqual(JSON.parse(JSON.stringify(manager)).config.revocation, { store: 'MemoryTokenStore', checks: 'all' });
      assert.match(inspect(manager), /^JwtManager \{\n {2}config: \{\n {4}algorithm: 'HS256'/);
    });
  });

  describe('asymmetric (PEM strings and KeyObjects)', () => {
    it('RS256 from PEM: the manager, its config and its key ring show no private key', () => {
      const { privatePem, privateKey } = testKey('rsaA');
      const manager = JwtManager.configure({ algorithm: 'RS256', privateKey: privatePem, verificationKeys: [{ kid: 'old', publicKey: testKey('rsaB').publicPem }] });
      for (const value of [manager, manager.config, manager.config.keys]) assertNothingShown(value, materialOf(privatePem, privateKey));
    });

    it('ES256 from KeyObjects: no private key shown either', () => {
      const { privatePem, privateKey, publicKey } = testKey('p256');
      const manager = JwtManager.configure({ algorithm: 'ES256', privateKey, publicKey });
      for (const value of [manager, manager.config, manager.config.keys]) assertNothingShown(value, materialOf(privatePem, privateKey));
    });
  });

  describe('errors', () => {
    it('the JwtConfigurationError of a short secret and a private publicKey shows neither', () => {
      const { privatePem, privateKey } = testKey('rsaA');
      const error = configureError({
        algorithm: 'HS512', secret: SECRET.slice(0, 50), verificationKeys: [{ kid: 'rsa', algorithm: 'RS256', publicKey: privatePem }],
      });
      assert.equal(error.problems.length, 2);
      assertNothingShown(error, [SECRET.slice(0, 50), ...materialOf(privatePem, privateKey)]);
    });

    it('every error a configured manager can throw shows no secret', async () => {
      const manager = JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      const errors: unknown[] = [new NoAuthorizationError('Missing Authorization Header'), new CsrfError('Missing CSRF token')];
      const caught = (promise: Promise<unknown>) => promise.then(() => assert.fail('resolved'), (error: unknown) => { errors.push(error); });
      const token = await manager.createAccessToken('alice');
      await caught(manager.decodeToken(`${token}x`)); // InvalidTokenError
      await caught(manager.decodeToken(await manager.createAccessToken('alice', { expiresIn: -60 }))); // ExpiredTokenError
      await caught(manager.verifier.authorize(token, FRESH_ACCESS)); // FreshTokenRequiredError
      await manager.revokeToken(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti);
      await caught(manager.verifier.authorize(token, { type: 'access', fresh: false })); // RevokedTokenError
      await caught(manager.revokeToken('unknown-jti')); // TokenNotFoundError
      await caught(JwtManager.configure({ secret: SECRET, revocation: { store: new FailingFindStore(), checks: 'all' } }).verifier.authorize(token, { type: 'access', fresh: false })); // StoreUnavailableError
      await caught(JwtManager.configure({ secret: SECRET }).revokeToken('x')); // JwtUsageError
      errors.push(new TokenStoreError('The revocation store failed to revoke the token', new Error('down')));
      const names = errors.map((error) => (error as Error).name);
      assert.deepEqual(names, [
        'NoAuthorizationError', 'CsrfError', 'InvalidTokenError', 'ExpiredTokenError', 'FreshTokenRequiredError', 'RevokedTokenError',
        'TokenNotFoundError', 'StoreUnavailableError', 'JwtUsageError', 'TokenStoreError',
      ]);
      for (const error of errors) assertNothingShown(error, secretMaterial);
      assert.ok(errors.some((error) => error instanceof JwtUsageError));
    });
  });
});
