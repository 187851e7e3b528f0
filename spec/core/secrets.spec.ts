/**
 * Key hygiene at configure() (DESIGN.md 0.2 A): HMAC secrets as long as the hash
 * (RFC 7518 §3.2), no private key accepted as `publicKey`, and nothing the
 * manager, its config, its key ring or its errors print ever shows a secret or a
 * private key.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, KeyObject, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
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

/** `bytes` as `xxd` prints them: offset, eight 16-bit groups, the ASCII column. */
function xxd(bytes: Buffer): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const groups = row.toString('hex').match(/.{1,4}/g)!.join(' ');
    lines.push(`${at.toString(16).padStart(8, '0')}: ${groups.padEnd(39)}  ${[...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `bytes` as `hexdump -C` prints them: offset, two halves of eight bytes, `|ASCII|`. */
function hexdumpC(bytes: Buffer): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = [...bytes.subarray(at, at + 16)].map((b) => b.toString(16).padStart(2, '0'));
    lines.push(`${at.toString(16).padStart(8, '0')}  ${row.slice(0, 8).join(' ')}  ${row.slice(8).join(' ')}  |${[...bytes.subarray(at, at + 16)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')}|`);
  }
  return `${lines.join('\n')}\n`;
}

/** `bytes` as `od -x` prints them on a little-endian machine: octal offset, 16-bit words byte-swapped. */
function odX(bytes: Buffer): string {
  const even = bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(1)]);
  const lines: string[] = [];
  for (let at = 0; at < even.length; at += 16) {
    const words = Buffer.from(even.subarray(at, at + 16)).swap16().toString('hex').match(/.{4}/g)!;
    lines.push(`${at.toString(8).padStart(7, '0')} ${words.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An EC public key as `openssl ec -text -pubout` prints it. */
function opensslText(point: Buffer, bits: number): string {
  const bytes = [...point].map((b) => b.toString(16).padStart(2, '0'));
  const rows = Array.from({ length: Math.ceil(bytes.length / 15) }, (_, i) => `    ${bytes.slice(i * 15, i * 15 + 15).join(':')}${i * 15 + 15 < bytes.length ? ':' : ''}`);
  return `Public-Key: (${bits} bit)\npub:\n${rows.join('\n')}\nASN1 OID: prime256v1\nNIST CURVE: P-256\n`;
}

/** One test per form: `keyFormOf` names it as `name` says, and `configure()` refuses it as a key. */
function itRefuses(forms: [string, () => string | Buffer, RegExp][]): void {
  for (const [form, secret, name] of forms) {
    it(`${form}: refused (${name.source})`, () => {
      assert.match(keyFormOf(Buffer.from(secret())) ?? 'accepted', name);
      const { problems } = configureError({ secret: secret() as string });
      assert.match(problems.join(' | '), /^secret: a .*key is never accepted as an HMAC secret \(algorithm confusion\)$/);
    });
  }
}

/** The verdict on `bytes` and the shortest of 3 rounds of finding it, in ms. */
function timedVerdict(bytes: Buffer): { verdict: string | undefined; shortest: number } {
  let shortest = Infinity;
  let verdict: string | undefined;
  for (let round = 0; round < 3; round += 1) {
    const start = process.hrtime.bigint();
    verdict = keyFormOf(bytes);
    shortest = Math.min(shortest, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { verdict, shortest };
}

describe('core: a key hidden inside other text is no HMAC secret (issue #20 F1, the re-attack of 0.3)', () => {
  afterEach(() => JwtManager.reset());
  const rsa = testKey('rsaA');
  const pem = rsa.publicPem;
  const der = rsa.publicKey.export({ format: 'der', type: 'spki' });
  const b64 = der.toString('base64');
  const body = pem.split('\n').slice(1, -2);
  const rsaJwk = rsa.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const ecJwk = testKey('p256').publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(ecJwk.x, 'base64url'), Buffer.from(ecJwk.y, 'base64url')]);
  const edX = (testKey('ed25519').publicKey.export({ format: 'jwk' }) as Record<string, string>).x;
  const hexOf = (value: string) => Buffer.from(value, 'base64url').toString('hex');
  let fiveDeep = pem;
  for (let i = 0; i < 5; i += 1) fiveDeep = Buffer.from(fiveDeep).toString('base64');
  const FORMS: [string, string, RegExp][] = [
    ['quoted base64 DER', `"${b64}"`, /base64 DER/], ['base64 DER with a trailing ;', `${b64};`, /base64 DER/],
    ['a .env line NAME=base64 DER', `JWT_PUBLIC_KEY=${b64}`, /base64 DER/], ['base64: prefix (Laravel style)', `base64:${b64}`, /base64 DER/],
    ['a data: URL', `data:application/octet-stream;base64,${b64}`, /base64 DER/], ['a word before the base64 (any alignment)', `key ${b64}`, /base64 DER/],
    ['letters glued before the base64', `secret${b64}`, /base64 DER/], ['a PEM body as JS string literals joined by +', body.map((line) => `"${line}"`).join(' +\n'), /base64 DER/],
    ['a PEM body with escaped line breaks', body.join('\\n'), /base64 DER/],
    ['PEM armour with a tab', pem.replace('BEGIN PUBLIC', 'BEGIN\tPUBLIC'), /^PEM$/], ['PEM armour with 4 dashes', pem.replace(/-----/g, '----'), /^PEM$/],
    ['PEM armour without dashes', pem.replace(/-----/g, ''), /^PEM$/],
    ['a JWK as a JS object literal', `{kty: 'RSA', n: '${rsaJwk.n}', e: 'AQAB'}`, /JWK/], ['a JWK with a trailing comma', JSON.stringify(rsaJwk).replace(/}$/, ',}'), /JWK/],
    ['a JWK with upper-case member names', JSON.stringify({ KTY: 'EC', CRV: 'P-256', X: ecJwk.x, Y: ecJwk.y }), /^JWK$/],
    ['an Ed25519 JWK reduced to x', JSON.stringify({ x: edX }), /^JWK$/], ['a JWK as YAML', `kty: EC\ncrv: P-256\nx: ${ecJwk.x}\ny: ${ecJwk.y}`, /JWK/],
    ['EC x - y', `${ecJwk.x} - ${ecJwk.y}`, /JWK x \+ y/], ['EC x=… y=… lines', `x=${ecJwk.x}\ny=${ecJwk.y}`, /JWK/],
    ['EC x and y as hex lines', `x: ${hexOf(ecJwk.x)}\ny: ${hexOf(ecJwk.y)}`, /JWK/],
    ["OpenSSL's text of an EC key", opensslText(point, 256), /hex raw EC public/], ["OpenSSL's pub: lines alone", opensslText(point, 256).slice(opensslText(point, 256).indexOf('pub:')), /hex raw EC public/],
    ['an xxd dump of the DER', xxd(der), /hex DER/], ['a hexdump -C dump of the DER', hexdumpC(der), /hex DER/], ['an od -x dump of the DER', odX(der), /hex DER/],
    ['DER as C escapes', [...der].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''), /(hex|escaped) DER/],
    ['DER as a 0x list', [...der].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', '), /hex DER/],
    ['PEM behind five layers of base64', fiveDeep, /^(base64 ){5}PEM$/],
    ['a PEM after 63 JSON fields', JSON.stringify(Object.fromEntries([...Array.from({ length: 63 }, (_, i) => [`f${i}`, `v${i}`]), ['key', pem]])), /PEM/],
    ['an OpenSSH line in capitals', 'SSH-ED25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxvb2tzIGxpa2UgYSBrZXk= user@host', /public SSH/],
  ];

  for (const [form, secret, name] of FORMS) {
    it(`${form}: refused at configure() (${name.source}), beside a random secret that is accepted`, () => {
      assert.match(keyFormOf(Buffer.from(secret)) ?? 'accepted', name);
      const { problems } = configureError({ secret });
      assert.equal(problems.length, 1, problems.join(' | '));
      assert.match(problems[0], /^secret: a .*key is never accepted as an HMAC secret \(algorithm confusion\)$/);
      assert.ok(JwtManager.configure({ secret: randomBytes(32).toString('base64') }));
    });
  }

  it("a random base64url secret holding KEY-- is not PEM armour (it failed once in 1.5 million before)", () => {
    assert.equal(keyFormOf(Buffer.from(JSON.stringify(['uFg9XcIaKjfaMht3uoWqHOgmKEY--yG99PQ5FLxSAT-yrftgQQbdR-4h6KezhSyv', 'lQozjSdTZniF_EvO51Bk-ouD19BYgoDzD4YH6ajR8yloRKbqc9LvwzyjxzW_NME9']))), undefined);
    assert.equal(keyFormOf(Buffer.from('uFg9XcIaKjfaMht3uoWqHOgmKEY--yG99PQ5FLxSAT-yrftgQQbdR-4h6KezhSyv')), undefined);
  });

  it('3 000 random secrets inside the same wrappings (.env lines, quotes, dumps, lists, JSON): none refused', () => {
    const b64 = () => randomBytes(32 + randomInt(100)).toString('base64');
    const wrappings: [string, () => string][] = [
      ['a .env line', () => `JWT_SECRET=${b64()}`], ['quoted with a ;', () => `"${b64()}";`], ['base64: prefix', () => `base64:${b64()}`],
      ['openssl rand -base64 512 (lines of 64)', () => randomBytes(512).toString('base64').match(/.{1,64}/g)!.join('\n')],
      ['an xxd dump of random bytes', () => xxd(randomBytes(64 + randomInt(200)))], ['a hexdump -C dump', () => hexdumpC(randomBytes(64 + randomInt(200)))],
      ['an od -x dump', () => odX(randomBytes(64 + randomInt(200)))], ['a 0x list', () => [...randomBytes(48)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')],
      ['two random coordinates with " - "', () => `${randomBytes(32).toString('base64url')} - ${randomBytes(32).toString('base64url')}`],
      ['two random base64url lines', () => `${randomBytes(32).toString('base64url')}\n${randomBytes(32).toString('base64url')}`],
      ['passphrases with key-- and -- begin', () => `staging-api-key--rotate-quarterly-${randomInt(1e6)} The master key -- do not share! -- begin ${randomInt(1e6)}`],
      ['a JSON object with a secret member', () => JSON.stringify({ secret: b64(), issuer: 'me', note: 'x y d n' })],
      ['UUIDs joined', () => Array.from({ length: 4 }, () => randomUUID()).join('')],
      ['a base64 passphrase', () => Buffer.from(Array.from({ length: 8 }, () => ['correct', 'horse', 'key', 'begin', 'x:', 'd='][randomInt(6)]).join(' ')).toString('base64')],
      ['hex with colons in lines', () => randomBytes(96).toString('hex').match(/../g)!.join(':').match(/.{1,45}/g)!.join('\n    ')],
      ['printable ASCII of 200', () => Array.from({ length: 200 }, () => String.fromCharCode(32 + randomInt(95))).join('')],
    ];
    const refused: string[] = [];
    for (const [name, make] of wrappings) {
      for (let i = 0; i < 200; i += 1) {
        const secret = make();
        const form = keyFormOf(Buffer.from(secret));
        if (form !== undefined) refused.push(`${name} as ${form}: ${secret.slice(0, 60)}`);
      }
    }
    assert.deepEqual(refused, []);
  });

  describe('the second outside attack on F1 (helper-33)', () => {
    const ec = testKey('p256');
    const ecDer = ec.publicKey.export({ format: 'der', type: 'spki' });
    const rsaN = Buffer.from(rsaJwk.n, 'base64url');
    const lines = (hex: string, width: number) => hex.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');
    const edSeedAscii = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from('an ascii seed of 32 bytes, yes!!')]);
    const ber = Buffer.concat([Buffer.from([0x30, 0x80]), ecDer.subarray(2), Buffer.from([0, 0])]);
    const REFUSED: [string, () => string | Buffer, RegExp][] = [
      ['xxd -p (60 hex digits a line)', () => `${lines(der.toString('hex'), 60)}\n`, /hex DER/],
      ['basenc --base16 (76 a line, upper case)', () => lines(ecDer.toString('hex').toUpperCase(), 76), /hex DER/],
      ['hex in 4-digit groups', () => ecDer.toString('hex').match(/.{1,4}/g)!.join(' '), /hex DER/],
      [".NET's RSA.ToXmlString(false)", () => `<RSAKeyValue><Modulus>${rsaN.toString('base64')}</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>`, /XML|JWK/],
      ['XMLDSig <ds:RSAKeyValue>', () => `<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>${rsaN.toString('base64')}</ds:Modulus></ds:RSAKeyValue></ds:KeyValue>`, /XML|JWK/],
      ['openssl rsa -modulus', () => `Modulus=${rsaN.toString('hex').toUpperCase()}\n`, /marked|hex/],
      ['n and e as YAML', () => `n: ${rsaJwk.n}\ne: AQAB\n`, /JWK/], ['n and e as TOML', () => `n = "${rsaJwk.n}"\ne = "AQAB"\n`, /JWK/],
      ['n and e as .env lines', () => `N=${rsaJwk.n}\nE=AQAB`, /JWK/],
      ['a PEM body joined by &#13; (XMLDSig)', () => body.join('&#13;\n'), /base64 DER/],
      ['a JSON list of the PEM body lines', () => JSON.stringify(body), /lines of .*DER/],
      ["Node's JSON.stringify(Buffer) of the DER", () => JSON.stringify(der), /Buffer JSON of DER/],
      ['DKIM k=ed25519', () => `v=DKIM1; k=ed25519; p=${edX}`, /marked/], ['a PASERK public key', () => `k4.public.${edX}`, /marked/],
      ['a did:key', () => 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', /marked/],
      ['a minisign public key', () => 'untrusted comment: minisign public key 1A2B3C4D5E6F7A8B\nRWQrPHGqS2gEl8eEj9rpvfJBqOb5nE0c1ScJS7eoK8Od7qrs8KJFrzbQ', /marked/],
      ['an Ed25519 PKCS#8 key whose seed is ASCII', () => edSeedAscii, /^DER$/],
      ['BER indefinite-length SPKI', () => ber, /^DER$/],
      ['UTF-16LE without a BOM, with one CJK character', () => Buffer.from(`${pem}鍵`, 'utf16le'), /UTF-16LE PEM/],
      ['UTF-16LE of odd length', () => Buffer.concat([Buffer.from(pem, 'utf16le'), Buffer.from([0x0a])]), /UTF-16LE PEM/],
      ['a PEM with every character \\u-escaped, unquoted', () => [...pem].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''), /escaped PEM/],
      ['a PEM as HTML decimal entities', () => [...pem].map((c) => `&#${c.charCodeAt(0)};`).join(''), /escaped PEM/],
      ["Python's repr(bytes) of the DER", () => `b'${[...der].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('')}'`, /escaped DER/],
      ["Java's signed byte[] initializer", () => `{${[...der].map((b) => (b << 24) >> 24).join(', ')}}`, /bytes of DER/],
      ['gzip of the PEM, and its base64', () => gzipSync(pem).toString('base64'), /base64 gzip of PEM/],
      ['base64 lines joined by , ; | and no-break spaces', () => `${body.slice(0, 2).join(',')};${body.slice(2, 4).join('|')}\u00a0${body.slice(4).join('\u00a0')}`, /base64 DER/],
      ['.env lines JWT_N= and JWT_E=', () => `JWT_N=${rsaJwk.n}\nJWT_E=AQAB`, /JWK/],
      ['JSON {modulus, exponent}', () => JSON.stringify({ modulus: rsaJwk.n, exponent: 'AQAB' }), /JWK/],
      ["Java's ECPublicKey.toString()", () => 'Sun EC public key, 256 bits\n  public x coord: 1234\n  public y coord: 5678\n  parameters: secp256r1', /marked/],
    ];
    itRefuses(REFUSED);

    it('EC x= / y= lines in hex as BigInt writes them (a leading zero dropped): refused', () => {
      let jwk: Record<string, string>;
      do jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, string>;
      while (!Buffer.from(jwk.x, 'base64url').toString('hex').startsWith('0'));
      const bigHex = (value: string) => BigInt(`0x${Buffer.from(value, 'base64url').toString('hex')}`).toString(16);
      assert.match(keyFormOf(Buffer.from(`x=${bigHex(jwk.x)}\ny=${bigHex(jwk.y)}`)) ?? 'accepted', /JWK/);
    });

    it('a PKCS#12 file (openssl pkcs12 -export) and its base64: refused', function () {
      const dir = mkdtempSync(join(tmpdir(), 'kje-p12-'));
      try {
        writeFileSync(join(dir, 'key.pem'), ec.privatePem);
        execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-subj', '/CN=t', '-days', '1', '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
        execFileSync('openssl', ['pkcs12', '-export', '-inkey', join(dir, 'key.pem'), '-in', join(dir, 'cert.pem'), '-passout', 'pass:changeit', '-out', join(dir, 'a.p12')], { stdio: 'ignore' });
      } catch {
        rmSync(dir, { recursive: true, force: true });
        this.skip(); // no openssl CLI here
      }
      const p12 = readFileSync(join(dir, 'a.p12'));
      rmSync(dir, { recursive: true, force: true });
      assert.match(keyFormOf(p12) ?? 'accepted', /PKCS#12/);
      assert.match(keyFormOf(Buffer.from(p12.toString('base64'))) ?? 'accepted', /base64 PKCS#12/);
    });

    it('500 off-curve P-256 SPKIs (45 KB) cost a bounded time: refused as unchecked, in under 250 ms (they took 400-570 ms and were accepted)', () => {
      const broken = Buffer.from(ecDer);
      broken[broken.length - 1] ^= 0x01; // the point is off the curve: every reader fails
      const { verdict, shortest } = timedVerdict(Buffer.concat(Array.from({ length: 500 }, () => broken)));
      assert.equal(verdict, 'unchecked');
      assert.ok(shortest < 250, `${shortest.toFixed(0)} ms`);
    });
  });

  describe('the third outside attack on F1 (helper-36): forms a key plausibly travels in', () => {
    const ed = testKey('ed25519');
    const edJwk = ed.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    const edSeed = Buffer.from((ed.privateKey.export({ format: 'jwk' }) as Record<string, string>).d, 'base64url');
    const smart = (text: string) => text.replace(/"([^"]*)"/g, '\u201c$1\u201d');
    const ecPkcs8 = testKey('p256').privateKey.export({ format: 'der', type: 'pkcs8' });
    const encrypted = testKey('p256').privateKey.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'changeit' });
    const javaDump = (bytes: Buffer) => Array.from({ length: Math.ceil(bytes.length / 16) }, (_, i) =>
      `${(i * 16).toString(16).padStart(4, '0').toUpperCase()}: ${[...bytes.subarray(i * 16, i * 16 + 16)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ')}  ................`).join('\n');
    const REFUSED: [string, () => string | Buffer, RegExp][] = [
      ['a JWK with smart quotes (a word processor)', () => smart(JSON.stringify(rsaJwk, null, 2)), /JWK/],
      ['an Ed25519 JWK with smart quotes, as Windows-1252 bytes', () => Buffer.from(JSON.stringify(edJwk).replace(/"/g, '\u0093'), 'latin1'), /JWK/],
      ["Ruby's Hash#inspect", () => `{:kty=>"RSA", :n=>"${rsaJwk.n}", :e=>"AQAB"}`, /JWK/],
      ['Spring dotted properties', () => `jwt.key.kty=RSA\njwt.key.n=${rsaJwk.n}\njwt.key.e=AQAB`, /JWK/],
      ['TOML dotted keys', () => `[jwt]\nkey.kty = "RSA"\nkey.n = "${rsaJwk.n}"\nkey.e = "AQAB"`, /JWK/],
      ['gcloud --format=flattened', () => `keys[0].kty: RSA\nkeys[0].n: ${rsaJwk.n}\nkeys[0].e: AQAB`, /JWK/],
      ['EDN', () => `{:kty "RSA" :n "${rsaJwk.n}" :e "AQAB"}`, /JWK/],
      ['an Erlang map', () => `#{<<"kty">> => <<"OKP">>,<<"crv">> => <<"Ed25519">>,<<"x">> => <<"${edJwk.x}">>}`, /JWK/],
      ['a query string', () => `alg=RS256&kty=RSA&n=${rsaJwk.n}&e=AQAB`, /JWK/],
      ['CSV', () => `kty,n,e\nRSA,${rsaJwk.n},AQAB`, /JWK/],
      ['Java XML properties', () => `<properties><entry key="kty">RSA</entry><entry key="n">${rsaJwk.n}</entry></properties>`, /JWK/],
      ['a Markdown table', () => `| member | value |\n|---|---|\n| kty | OKP |\n| x | ${edJwk.x} |`, /JWK/],
      ['an HTML table', () => `<table><tr><td>kty</td><td>RSA</td></tr><tr><td>n</td><td>${rsaJwk.n}</td></tr></table>`, /JWK/],
      ["Java's Ed25519 PublicKey.toString()", () => `Sun EdDSA public key\nalgorithm = Ed25519, unparsed keybits = \n${javaDump(ed.publicKey.export({ format: 'der', type: 'spki' }))}`, /marked|hex/],
      ['a hex dump with a 4-digit offset column (Java HexDumpEncoder)', () => javaDump(der), /hex DER/],
      ['od -x of the DER with CRLF lines', () => odX(der).replace(/\n/g, '\r\n'), /hex DER/],
      ['a PEM body quoted in an e-mail', () => body.map((line) => `> ${line}`).join('\n'), /line-prefixed base64 DER/],
      ['a PEM body commented out', () => body.map((line) => `# ${line}`).join('\n'), /line-prefixed base64 DER/],
      ["a PEM body as a diff's added lines", () => body.map((line) => `+${line}`).join('\n'), /line-prefixed base64 DER/],
      ['a PEM body joined by <br>', () => body.join('<br>'), /line-prefixed base64 DER/],
      ['a PKCS#8 v2 (OneAsymmetricKey) Ed25519 key and its base64', () => Buffer.concat([Buffer.from('3053020101300506032b657004220420', 'hex'), edSeed, Buffer.from('a123032100', 'hex'), Buffer.from(edJwk.x, 'base64url')]), /^DER$/],
      ['an encrypted PKCS#8 key without its armour (DER)', () => encrypted, /^DER$/],
      ['an encrypted PKCS#8 key without its armour (base64)', () => encrypted.toString('base64'), /base64 DER/],
      ['zlib of the PEM, and its base64', () => deflateSync(pem).toString('base64'), /base64 zlib of PEM/],
      ['zlib of a PKCS#8 key', () => deflateSync(ecPkcs8), /DER/], // a short input deflates to a stored block: the DER is there as it is
    ];
    itRefuses(REFUSED);

    it('the symmetric secrets beside them pass: a PASERK local key, a Fernet key (random base64url), random text with "kty" or "RSA" alone in it', () => {
      const ACCEPTED = [
        `k4.local.${randomBytes(32).toString('base64url')}`, randomBytes(32).toString('base64url'),
        `kty-${randomBytes(32).toString('hex')}`, `${randomBytes(32).toString('hex')}-RSA`, `kty ${randomBytes(48).toString('base64')} rotation`,
      ];
      for (const secret of ACCEPTED) assert.equal(keyFormOf(Buffer.from(secret)), undefined, secret);
    });

    it('127 gzip runs of 64 KiB each cost a bounded time (the inflated bytes have a budget): refused as unchecked in under 400 ms (they took 1.4 s and were accepted)', () => {
      const run = gzipSync(Buffer.from('3:'.repeat(32 * 1024))).toString('base64');
      const { verdict, shortest } = timedVerdict(Buffer.from(Array.from({ length: 127 }, () => run).join(',')));
      assert.equal(verdict, 'unchecked');
      assert.ok(shortest < 400, `${shortest.toFixed(0)} ms`);
    });
  });

  describe('the re-attack of those fixes (helper-38)', () => {
    const zlibBad = () => { const z = deflateSync(pem); z[z.length - 1] ^= 1; return z; };
    const gzipBad = () => { const g = gzipSync(pem); g[g.length - 5] ^= 1; return g; };
    itRefuses([
      ['zlib of the PEM with a damaged checksum', () => zlibBad().toString('base64'), /zlib of PEM/],
      ['gzip of the PEM with a damaged CRC, then trailing bytes', () => Buffer.concat([gzipBad(), Buffer.from('trailing')]).toString('base64'), /gzip of PEM/],
      ['zlib with a 512-byte window (header 18 95)', () => deflateSync(pem, { windowBits: 9 }).toString('base64'), /zlib of PEM/],
      ['a PEM body as a YAML list', () => body.map((line) => `  - ${line}`).join('\n'), /line-prefixed base64 DER/],
      ["a PEM body as a diff's removed lines", () => body.map((line) => `-${line}`).join('\n'), /line-prefixed base64 DER/],
      ['a PEM body in <p> paragraphs', () => body.map((line) => `<p class="x">${line}</p>`).join(''), /line-prefixed base64 DER/],
      ['a PEM body quoted in HTML (&gt; and <br>)', () => body.map((line) => `&gt; ${line}`).join('<br>'), /line-prefixed base64 DER/],
      ['a PEM body quoted after a UTF-8 no-break space', () => Buffer.from(body.map((line) => `\u00a0> ${line}`).join('\n')), /line-prefixed base64 DER/],
      ['two PEM body halves joined by one <br>', () => `${body.slice(0, 3).join('')}<br>${body.slice(3).join('')}`, /base64 DER/],
      ['a PEM body joined by U+2028', () => body.join('\u2028'), /base64 DER/],
    ]);

    it('a compressed layer inflating past 64 KiB cannot be checked: refused as unchecked (it was accepted)', () => {
      for (const compressed of [deflateSync(`${pem}${' '.repeat(70_000)}`), gzipSync(`${pem}${' '.repeat(70_000)}`)]) {
        assert.equal(keyFormOf(Buffer.from(compressed.toString('base64'))), 'unchecked');
      }
    });

    it('every byte read counts against one budget: layers of a 64 KiB value cost under 400 ms (one took 9 s)', () => {
      const worst = `# # a\n# # b\n%252541 %252541 \\\\n\\\\n\\\\n\\\\n\n${'kty '.repeat(16 * 1024)}`.slice(0, 64 * 1024);
      const { verdict, shortest } = timedVerdict(Buffer.from(worst));
      assert.equal(verdict, 'unchecked');
      assert.ok(shortest < 400, `${shortest.toFixed(0)} ms`);
      const tiny = [1, 2].map(() => deflateSync('kty '.repeat(16 * 1024)).toString('base64')).join(',');
      assert.ok(timedVerdict(Buffer.from(tiny)).shortest < 400);
    });

    it('the texts beside them pass: a kty with no key material, passphrases with # and > lines, <br> and &nbsp;', () => {
      const ACCEPTED = ['my-kty-EC-secret-2024!', 'sensor KTY-81 in EC cabinet', '# rotate quarterly\n# owner: ops\nS3cr3t-p4ss-phrase-correct-horse', '> first line\n> second line of my passphrase', 'line one<br>line two<br>line three', '&nbsp;&nbsp;hunter2&nbsp;secret-long-enough-here'];
      for (const secret of ACCEPTED) assert.equal(keyFormOf(Buffer.from(secret)), undefined, secret);
    });
  });

  it('a value that costs more than its budget is refused as unchecked, naming why (fails closed)', () => {
    const UNCHECKED: [string, string | Buffer, RegExp][] = [
      ['longer than 64 KiB', randomBytes(64 * 1024 + 1), /longer than 64 KiB/],
      ['nine layers of percent-encoding', Array.from({ length: 9 }).reduce<string>((text) => encodeURIComponent(text), `%${'k'.repeat(40)}`), /more than 8 layers/],
      ['2 500 base64 runs', Array.from({ length: 2500 }, (_, i) => `${i}`.padStart(22, 'A')).join(';'), /more than 2048 runs/],
      ['a JSON list of 5 000 strings', JSON.stringify(Array.from({ length: 5000 }, (_, i) => `s${i}`)), /more than 256 candidates/],
    ];
    for (const [what, secret, why] of UNCHECKED) {
      const { problems } = configureError({ secret: secret as string });
      assert.equal(problems.length, 1, `${what}: ${problems.join(' | ')}`);
      assert.match(problems[0], /^secret cannot be checked for a key in disguise \(.+\): an HMAC secret is random bytes/, what);
      assert.match(problems[0], why, what);
    }
  });

  it('a secret that throws when read (a revoked Proxy) is a configure() problem, not an uncaught TypeError; a Proxy whose methods fail too', () => {
    const revoked = Proxy.revocable(randomBytes(32), {});
    revoked.revoke();
    const { problems } = configureError({ secret: revoked.proxy as Buffer });
    assert.deepEqual(problems, ['secret could not be read as a string or Buffer (TypeError)']);
    assert.deepEqual(configureError({ secret: new Proxy(randomBytes(32), {}) }).problems, ['secret could not be read as a string or Buffer (TypeError)']);
  });

  it('the worst inputs of 64 KiB cost a bounded time (shortest of 3 rounds under 250 ms each; 100 000 spaces took 6.2 s in 0.3-rc)', () => {
    const K = 64 * 1024;
    const WORST: [string, string][] = [
      ['spaces', ' '.repeat(K)], ['dashes', '-'.repeat(K)], ['one base64 run', 'a'.repeat(K)], ['"a " repeated', 'a '.repeat(K / 2)],
      ['zeros', '0'.repeat(K)], ['"30" (DER SEQUENCE bytes)', '30'.repeat(K / 2)], ['"30 " pairs', '30 '.repeat(Math.floor(K / 3))],
      ['"%25" repeated', '%25'.repeat(Math.floor(K / 3))], ['"x:" repeated', 'x:'.repeat(K / 2)], ['"{" repeated', '{'.repeat(K)], ['"[" repeated', '['.repeat(K)],
      ['"--" repeated', '--'.repeat(K / 2)], ['"ssh-" repeated', 'ssh-'.repeat(K / 4)], ['"Modulus:" repeated', 'Modulus:'.repeat(K / 8)],
      ['xxd lines', '00000000: 3082 0122\n'.repeat(Math.floor(K / 20))], ['"\\x30" repeated', '\\x30'.repeat(K / 4)],
      ['random hex', randomBytes(K / 2).toString('hex')], ['base64 lines', Array.from({ length: 1300 }, () => randomBytes(36).toString('base64')).join('\n')],
      ['DER-like binary', Buffer.alloc(K, Buffer.from([0x30, 0x82, 0x00, 0x20, 0x30])).toString('latin1')],
      ['"> " quoted lines', '> ab\n'.repeat(K / 5)], ['"#" lines', '#\n'.repeat(K / 2)], ['"<br>" repeated', '<br>'.repeat(K / 4)],
      ['quoted base64 lines', Array.from({ length: 1300 }, () => `> ${randomBytes(36).toString('base64')}`).join('\n')],
      ['"kty " repeated', 'kty '.repeat(K / 4)], ['zlib headers (x 0x9c)', 'x\u009c'.repeat(K / 2)],
    ];
    const slow: string[] = [];
    for (const [what, text] of WORST) {
      const { shortest } = timedVerdict(Buffer.from(text, 'latin1').subarray(0, K));
      if (shortest > 250) slow.push(`${what}: ${shortest.toFixed(0)} ms`);
    }
    assert.deepEqual(slow, []);
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
