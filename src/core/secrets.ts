/**
 * Whether bytes meant as an HMAC secret are really a key in disguise. A public key is public:
 * used as an HMAC secret (algorithm confusion), anyone holding it can forge tokens. So every
 * form a key travels in is refused as a secret, however it is wrapped or wherever in the
 * bytes it sits: PEM (any armour: dashes, case, tabs), DER (SPKI, PKCS#1, PKCS#8, SEC1, X.509,
 * BER's indefinite length) at any offset, PKCS#12, a JWK (any member-name case, as JSON, a JS
 * object literal, YAML, TOML, `.env` lines or XML), `<RSAKeyValue>`, a JWK Set, an OpenSSH
 * public key (line, RFC 4716 block or wire blob), a raw EC point on P-256/384/521 or its two
 * coordinates written one after the other, OpenSSL's `-text` and `-modulus` output, keys behind
 * markers only keys carry (DKIM, PASERK, did:key, minisign); behind up to `MAX_LAYERS` encodings
 * (UTF-16LE/BE, percent-encoding, a JSON string, a JSON list of lines, a Buffer's JSON, base64 /
 * base64url runs inside other text, hex with any separators or wrapped over lines, `xxd`,
 * `hexdump` and `od` dumps).
 *
 * The search fails closed: a value too long (`MAX_SECRET_BYTES`), nested too deep, or costing
 * more than its budget (`MAX_CANDIDATES`, `MAX_RUNS`, `MAX_DER_PARSES`, `MAX_JSON_NODES`) is
 * not guessed at but reported `unchecked`, and refused: an HMAC secret is random bytes, never
 * a document. Every scan here is linear in its input (no backtracking regular expression runs
 * over a repeated character), so the work per value is bounded. It runs at `configure()` and
 * once per distinct `decodeKeyLoader` value, never per request.
 *
 * What cannot be told from a random secret is not guessed at: a bare RSA modulus (`n`), an
 * Ed25519 `x`, an EC `x` alone or a compressed point are random-looking bytes (half of all
 * 32-byte strings are valid Ed25519 points), so refusing them would refuse real secrets.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { isOnCurve } from './key-strength';

/** What a would-be secret was found to be: a key in some form, or too costly to tell. */
export type SecretVerdict = { key: string } | { unchecked: string } | undefined;

/** The longest value looked into: an HMAC secret is 32 to 64 random bytes, 64 KiB is a document. */
const MAX_SECRET_BYTES = 64 * 1024;
/** How many encodings deep a key is looked for. */
const MAX_LAYERS = 8;
/** Bounds on the work one value may cost; past any of them it is `unchecked`. */
const MAX_CANDIDATES = 256;
const MAX_RUNS = 2048;
const MAX_DER_PARSES = 160;
const MAX_JSON_NODES = 1024;
/** The most bytes gzip and zlib layers may inflate to in one search, all layers together (each scanned again). */
const MAX_INFLATED_BYTES = 128 * 1024;
/** The most bytes one search reads, all candidates together (the value itself, each layer, each decoded run read as text). */
const MAX_SCANNED_BYTES = 192 * 1024;
/** The shortest base64 or hex run decoded: 16 bytes (no key form is shorter). */
const MIN_BASE64_RUN = 22;
const MIN_HEX_BYTES = 16;

/**
 * PEM armour: three or more dashes, then `BEGIN` (white space, `+` or `_` around it), or a label
 * ending in `PUBLIC KEY`, `PRIVATE KEY` or `CERTIFICATE` before three dashes (`KEY--` alone is in
 * one random base64url string of about 1.5 million, and in passphrases: `api-key--rotate`).
 */
const PEM_BEGIN = /---[\s+_]*BEGIN[\s+_]/i;
const PEM_LABEL_END = /(?:(?:PUBLIC|PRIVATE)[\s+_]+KEY|CERTIFICATE)[\s+_]*---/i;
/** Armour with its dashes lost, in capitals as every tool writes it. */
const BARE_ARMOUR = /\b(?:BEGIN|END)[\s+_]+(?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|SSH2)[\s+_]+)?(?:(?:PUBLIC|PRIVATE)[\s+_]+KEY|CERTIFICATE)\b/;
/** An OpenSSH public key line (`ssh-ed25519 AAAA... user@host`, also behind authorized_keys options). */
const OPENSSH_LINE = /(?:^|[\s"'=:,])(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)[ \t]+AAAA[A-Za-z0-9+/]{8,}/i;
/** A JWK member only keys have (`kty`, `crv`, `x5c`) followed by `:` or `=`, quoted or not, in any case, after a separator no base64 holds (`…+kty=` ends one secret in a million). */
const JWK_MEMBER = /(?:^|[\s{,;"'\\])(?:kty|crv|x5c)["'\\]*[ \t]*[:=]/i;
/**
 * A JWK coordinate or private member (`x`, `y`, `n`, `d`) named at the start of a line or after
 * `{`, `,`, `;`, `_` (`JWT_N=`) or white space, then `:` or `=`, whose value is 32 bytes or more of base64url: a
 * JS object literal, broken JSON, YAML, TOML, `.env` lines (no base64 holds those separators).
 */
const JWK_VALUE = /(?:^|[{,;\s_])["'\\]*[xynd]["'\\]*[ \t]*[:=][ \t]*["'\\]*[A-Za-z0-9_-]{43}/im;
/**
 * A JWK's `kty` with its value (`RSA`, `EC`, `OKP`) within 200 characters after it, both standing
 * alone (no letter or digit next to them), whatever the syntax between: smart quotes, Ruby's `=>`,
 * EDN, Erlang binaries, dotted properties, query strings, CSV, Markdown and HTML tables.
 */
const JWK_KTY = /(?<![A-Za-z0-9])[Kk][Tt][Yy](?![A-Za-z0-9])[\s\S]{0,200}?(?<![A-Za-z0-9])(?:RSA|EC|OKP)(?![A-Za-z0-9])/;
/** Key material beside a `kty`: a base64url run of 32 bytes or more (an RSA `n`, an EC or OKP `x`, a private `d`). */
const KEY_MATERIAL = /[A-Za-z0-9_-]{43}/;
/** A key in XML: .NET's `RSA.ToXmlString()`, XMLDSig's `<ds:RSAKeyValue>`, a JWK written as elements. */
const XML_KEY = /<(?:[\w-]+:)?(?:RSAKeyValue|DSAKeyValue|ECDSAKeyValue|ECKeyValue)\b|<(?:[\w-]+:)?(?:kty|crv|x5c)>/i;
/** A public key behind a marker only keys carry: `openssl -modulus`, DKIM `k=ed25519`, PASERK (`public`, `secret`: `local` is a symmetric key), `did:key`, minisign, Java's `unparsed keybits`. */
const KEY_MARKER = /\bModulus=[0-9A-F]{64}|\bk=ed25519\b|\bk[1-4]\.(?:public|secret)\.|\bdid:key:z[1-9A-HJ-NP-Za-km-z]{40}|\bminisign (?:public|secret) key\b|\bpublic [xy] coord:|\bunparsed keybits\b|\bDNSKEY\s+\d+\s+3\s+\d+\s/i;
/** OpenSSL's `-text` dump of a key. */
const OPENSSL_TEXT = /(?:Public|Private)-Key:[ \t]*\(\d+ bit|\bpriv:\s+[0-9a-f]{2}:|\bpub:\s+0[234]:/i;
const OPENSSL_MODULUS = /\bModulus\s*[:>]/i;
const OPENSSL_EXPONENT = /Exponent\s*[:>]/i;

const isBase64Char = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f || c === 0x5f || c === 0x2d;
const isHexChar = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** Characters that join base64 lines into one run: quotes, `,`, `;`, `|`, a no-break space (latin1 0xA0). */
const isSoftSeparator = (c: number) => c === 0x22 || c === 0x27 || c === 0x2c || c === 0x3b || c === 0x7c || c === 0xa0;
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c || c === 0x00;

/** The work one value may do: past any bound the search stops and the value is `unchecked`. */
interface Search {
  candidates: number;
  runs: number;
  derParses: number;
  jsonNodes: number;
  inflated: number;
  scanned: number;
  exhausted: string | undefined;
}

/** What each budget counts, as a refusal names it. */
const BUDGET_NAMES = { candidates: 'candidates', runs: 'runs', derParses: 'DER readers tried', jsonNodes: 'JSON values', inflated: 'bytes inflated', scanned: 'bytes read' } as const;

/** Counts `amount` (one unit by default) of `kind` against its bound; false (and the search exhausted) past it. */
function spend(search: Search, kind: 'candidates' | 'runs' | 'derParses' | 'jsonNodes' | 'inflated' | 'scanned', bound: number, amount = 1): boolean {
  if (search.exhausted !== undefined) return false;
  search[kind] += amount;
  if (search[kind] > bound) search.exhausted = `more than ${bound} ${BUDGET_NAMES[kind]} to look at`;
  return search.exhausted === undefined;
}

/** `text` without a UTF-8 byte order mark (as `latin1` reads it), white space and NULs around it; linear. */
function trimmed(text: string): string {
  let start = 0;
  let end = text.length;
  for (;;) {
    if (text.startsWith('\u00ef\u00bb\u00bf', start)) start += 3;
    else if (start < end && (text.charCodeAt(start) === 0xfeff || isSpace(text.charCodeAt(start)))) start += 1;
    else break;
  }
  while (end > start && isSpace(text.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** The length of the DER element at `offset` (tag, length, content), or `undefined`. */
function derLength(bytes: Buffer, offset = 0): number | undefined {
  const first = bytes[offset + 1];
  if (first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < offset + 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i += 1) length = length * 256 + bytes[offset + 2 + i];
  return 2 + octets + length;
}

/**
 * The node:crypto readers a SEQUENCE's shape allows: a first element that is a SEQUENCE is SPKI
 * (an algorithm) or X.509 (a TBS certificate); an INTEGER first is PKCS#1 public (two INTEGERs),
 * or version 0 (PKCS#8, PKCS#1 private) or 1 (SEC1). One or two readers, never six.
 */
function readersFor(der: Buffer): Array<() => unknown> {
  const first = der[headerLength(der, 0)];
  if (first === 0x30) return [() => createPublicKey({ key: der, format: 'der', type: 'spki' }), () => new X509Certificate(der)];
  const version = der[headerLength(der, 0) + 2];
  const privateReaders = version === 1
    ? [() => createPrivateKey({ key: der, format: 'der', type: 'sec1' })]
    : [() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), () => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' })];
  return [() => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }), ...privateReaders];
}

/** The algorithm OIDs of key forms node:crypto cannot read itself: rsaEncryption, id-ecPublicKey, id-Ed25519/448, id-X25519/448. */
const KEY_ALGORITHM_OIDS = ['2a864886f70d010101', '2a8648ce3d0201', '2b6570', '2b6571', '2b656e', '2b656f'].map((hex) => Buffer.from(hex, 'hex'));
/** The password-based encryption arcs of an `EncryptedPrivateKeyInfo`: PKCS#5 (PBES1, PBES2) and PKCS#12 (pbeWithSHAAnd...). */
const PBE_OID_PREFIXES = ['2a864886f70d0105', '2a864886f70d010c01'].map((hex) => Buffer.from(hex, 'hex'));

/** The OID content of the AlgorithmIdentifier SEQUENCE at `offset`, or `undefined`. */
function algorithmOid(der: Buffer, offset: number): Buffer | undefined {
  if (der[offset] !== 0x30) return undefined;
  const oid = offset + headerLength(der, offset);
  if (der[oid] !== 0x06 || der[oid + 1] === undefined || der[oid + 1] >= 0x80) return undefined;
  return der.subarray(oid + 2, oid + 2 + der[oid + 1]);
}

/**
 * Key forms found by their shape alone: a PKCS#8 v2 `OneAsymmetricKey` (version 1, as
 * BouncyCastle writes Ed25519 keys with their public key) of a key algorithm, and an
 * `EncryptedPrivateKeyInfo` (an encrypted PKCS#8 key without its armour: an encryption
 * algorithm, then an OCTET STRING).
 */
function isKeyByShape(der: Buffer): boolean {
  const first = headerLength(der, 0);
  if (der[first] === 0x02 && der[first + 1] === 0x01 && der[first + 2] === 0x01) {
    const oid = algorithmOid(der, first + 3);
    return oid !== undefined && KEY_ALGORITHM_OIDS.some((known) => known.equals(oid));
  }
  const oid = algorithmOid(der, first);
  const algorithmLength = oid === undefined ? undefined : derLength(der, first);
  if (oid === undefined || algorithmLength === undefined || der[first + algorithmLength] !== 0x04) return false;
  return PBE_OID_PREFIXES.some((prefix) => oid.length > prefix.length && oid.subarray(0, prefix.length).equals(prefix));
}

/** Whether node:crypto reads `der` as a key or a certificate (or its shape is one, see `isKeyByShape`); each reader tried counts against the budget. */
function parsesAsKey(der: Buffer, search: Search): boolean {
  if (isKeyByShape(der)) return true;
  for (const read of readersFor(der)) {
    if (!spend(search, 'derParses', MAX_DER_PARSES)) return false;
    try {
      read();
      return true;
    } catch {
      // not this form
    }
  }
  return false;
}

/** The length of the DER header at `offset` (tag and length octets). */
const headerLength = (bytes: Buffer, offset: number) => (bytes[offset + 1] < 0x80 ? 2 : 2 + (bytes[offset + 1] & 0x7f));

/** The most elements a key's outer SEQUENCE holds (a PKCS#1 private key: 9). */
const MAX_DER_CHILDREN = 16;

/** Whether the SEQUENCE at `offset` (of `length` bytes) is tiled exactly by at most `MAX_DER_CHILDREN` elements, the first a SEQUENCE or an INTEGER. */
function isPlausibleSequence(bytes: Buffer, offset: number, length: number): boolean {
  const end = offset + length;
  let child = offset + headerLength(bytes, offset);
  if (bytes[child] !== 0x30 && bytes[child] !== 0x02) return false;
  for (let children = 0; child < end; children += 1) {
    const childLength = derLength(bytes, child);
    if (children === MAX_DER_CHILDREN || childLength === undefined || child + childLength > end) return false;
    child += childLength;
  }
  return child === end;
}

/**
 * A DER key or certificate anywhere in `bytes`: at each offset holding a SEQUENCE whose length
 * fits, tiled exactly by its elements, the first a SEQUENCE or an INTEGER (every key form
 * starts so), the element is handed to node:crypto. Stray bytes before or after (a prefix, a
 * newline) change nothing. Pure ASCII holds no DER key (key material is random bytes), unless
 * it names an Edwards-curve OID (an Ed25519 PKCS#8 key whose 32-byte seed is ASCII).
 */
function containsDerKey(bytes: Buffer, search: Search): boolean {
  if (isAscii(bytes) && !bytes.includes(EDWARDS_OID_PREFIX)) return false;
  for (let offset = bytes.indexOf(0x30); offset !== -1 && offset + 16 <= bytes.length; offset = bytes.indexOf(0x30, offset + 1)) {
    if (bytes[offset + 1] === 0x80) {
      // BER's indefinite length (node:crypto reads it): the element runs to its end-of-contents, so the rest is handed over
      const inner = bytes[offset + 2];
      if ((inner === 0x30 || inner === 0x02) && parsesAsKey(bytes.subarray(offset), search)) return true;
      if (search.exhausted !== undefined) return false;
      continue;
    }
    const length = derLength(bytes, offset);
    if (length === undefined || length < 16 || offset + length > bytes.length || !isPlausibleSequence(bytes, offset, length)) continue;
    if (parsesAsKey(bytes.subarray(offset, offset + length), search)) return true;
    if (search.exhausted !== undefined) return false;
  }
  return false;
}

/** The PKCS#12 OID arc (1.2.840.113549.1.12): a PFX / .p12 file, a certificate and key in one. */
const PKCS12_OID = Buffer.from('2a864886f70d010c', 'hex');

/** PFX's start: version 3, then a ContentInfo of type data (1.2.840.113549.1.7.1); a certificate-only truststore names no other OID in the clear. */
const PFX_VERSION = Buffer.from('020103', 'hex');
const PKCS7_DATA_OID = Buffer.from('06092a864886f70d010701', 'hex');

/** A PKCS#12 file: its OID arc in the clear, or a PFX's version 3 followed by its data ContentInfo. */
function isPkcs12(bytes: Buffer): boolean {
  if (bytes.includes(PKCS12_OID)) return true;
  for (let at = bytes.indexOf(PFX_VERSION); at !== -1; at = bytes.indexOf(PFX_VERSION, at + 1)) {
    const window = bytes.subarray(at + 3, at + 3 + 6 + PKCS7_DATA_OID.length);
    if (window.includes(PKCS7_DATA_OID)) return true;
  }
  return false;
}

/** `06 03 2B 65`: the OID of Ed25519, Ed448, X25519 and X448 (1.3.101.x), all ASCII bytes: a PKCS#8 key with an ASCII seed is ASCII throughout. */
const EDWARDS_OID_PREFIX = Buffer.from([0x06, 0x03, 0x2b, 0x65]);

/** Whether every byte is below 0x80. */
function isAscii(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte >= 0x80) return false;
  return true;
}

/** The coordinate size of P-256, P-384 and P-521, by curve. */
const POINT_BYTES: Record<number, string> = { 32: 'P-256', 48: 'P-384', 66: 'P-521' };

/** Two equal-length coordinates that are a point on P-256/384/521 (a random pair is one with probability about 2^-256). */
function isPoint(x: Buffer, y: Buffer): boolean {
  const curve = POINT_BYTES[x.length];
  return curve !== undefined && x.length === y.length && isOnCurve(curve, x.toString('base64url'), y.toString('base64url'));
}

/** A raw EC public point on P-256/384/521: `04 || x || y` (65, 97, 133 bytes) or `x || y`. */
function isEcPoint(bytes: Buffer): boolean {
  const coordinates = bytes.length % 2 === 1 && bytes[0] === 0x04 ? bytes.subarray(1) : bytes;
  const half = coordinates.length / 2;
  return POINT_BYTES[half] !== undefined && isPoint(coordinates.subarray(0, half), coordinates.subarray(half));
}

/** One coordinate as its text (base64url, base64 or hex) gives it, or `undefined`. */
function coordinate(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const value = trimmed(text).replace(/^0x/i, '');
  if ([64, 96, 132].includes(value.length) && /^[0-9a-f]+$/i.test(value)) return Buffer.from(value, 'hex');
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined;
}

/** A JWK's `x` and `y` written as one run (`xy`, base64url), the halves being a point. */
function isJoinedCoordinates(text: string): boolean {
  const half = text.length / 2;
  return [43, 64, 88].includes(half) && /^[A-Za-z0-9_-]+$/.test(text)
    && isPoint(Buffer.from(text.slice(0, half), 'base64url'), Buffer.from(text.slice(half), 'base64url'));
}

/** An SSH wire-format public key (RFC 4253 §6.6: a length-prefixed algorithm name) anywhere in `bytes`. */
function containsSshWireKey(bytes: Buffer): boolean {
  for (const prefix of ['ssh-', 'ecdsa-sha2-', 'sk-']) {
    for (let at = bytes.indexOf(prefix, 4, 'latin1'); at !== -1; at = bytes.indexOf(prefix, at + 1, 'latin1')) {
      const nameLength = bytes.readUInt32BE(at - 4);
      if (nameLength < 7 || nameLength > 64 || at + nameLength > bytes.length) continue;
      if (/^(?:ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+$/.test(bytes.toString('latin1', at, at + nameLength)) && bytes.length >= at + nameLength + 8) return true;
    }
  }
  return false;
}

/** The members of a JSON object by lower-cased name. */
function membersOf(value: object): Map<string, unknown> {
  const members = new Map<string, unknown>();
  for (const [name, member] of Object.entries(value)) if (member !== undefined && member !== null) members.set(name.toLowerCase(), member);
  return members;
}

/** Members only a key has (names in any case): a `kty`, RSA `n` + `e`, EC `x` + `y` or `crv`, a private `d`, `x5c`, a JWK Set's `keys`, or an OKP `x` of 32 or 57 bytes alone. */
function isJwkLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const members = membersOf(value);
  const x = members.get('x');
  const okpX = typeof x === 'string' && [32, 57].includes(Buffer.from(x, 'base64url').length);
  return members.has('kty') || (members.has('n') && members.has('e')) || (members.has('x') && (members.has('y') || members.has('crv')))
    || members.has('d') || members.has('x5c') || Array.isArray(members.get('keys')) || okpX || (members.has('modulus') && members.has('exponent'));
}

/** Parsed JSON holding a key: a JWK-like object, a list holding one, an `[x, y]` pair, or a string member that is a key in another form. */
function jsonForm(value: unknown, search: Search, depth: number): string | undefined {
  if (!spend(search, 'jsonNodes', MAX_JSON_NODES)) return undefined;
  if (isJwkLike(value)) return 'JWK';
  if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string')) {
    const [x, y] = value.map(coordinate);
    if (x && y && isPoint(x, y)) return 'JWK x + y';
  }
  if (Array.isArray(value) && value.length >= 16 && value.every((byte) => Number.isInteger(byte) && byte >= -128 && byte <= 255)) {
    // bytes as a list of numbers (Java's signed byte[], a Uint8Array's JSON)
    const form = formOf(Buffer.from((value as number[]).map((byte) => byte & 0xff)), search, depth + 1);
    if (form !== undefined || search.exhausted !== undefined) return form === undefined ? undefined : `bytes of ${form}`;
  }
  const data = (value as { type?: unknown; data?: unknown } | null)?.data;
  if ((value as { type?: unknown } | null)?.type === 'Buffer' && Array.isArray(data) && data.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) {
    // a Buffer as JSON.stringify writes it
    const form = formOf(Buffer.from(data as number[]), search, depth + 1);
    if (form !== undefined || search.exhausted !== undefined) return form === undefined ? undefined : `Buffer JSON of ${form}`;
  }
  if (Array.isArray(value) && value.length > 1 && value.every((part) => typeof part === 'string')) {
    // a PEM, or its body, as a list of lines
    const form = formOf(Buffer.from(value.join('\n')), search, depth + 1);
    if (form !== undefined || search.exhausted !== undefined) return form === undefined ? undefined : `lines of ${form}`;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const form = typeof item === 'string' ? formOf(Buffer.from(item), search, depth + 1)
      : typeof item === 'object' && item !== null ? jsonForm(item, search, depth) : undefined;
    if (form !== undefined || search.exhausted !== undefined) return form;
  }
  return undefined;
}

/** A JWK's `x` and `y` as text: `x.y` (or another one-character separator), `x` then `y`, `[x, y]` as JSON. */
function isCoordinatePair(text: string): boolean {
  if (text.length > 600) return false;
  const parts = text.split(/[.,:;|\s]+/).filter((part) => part !== '');
  if (parts.length === 2) {
    const [x, y] = parts.map(coordinate);
    if (x && y && isPoint(x, y)) return true;
  }
  return isJoinedCoordinates(text);
}

/** `{48, -126, 1, 34}`: bytes as a C or Java array initializer. */
const SIGNED_BYTES = /^\{[\s\d,-]*\}$/;

/** The key form `bytes` hold as a whole (no decoding), or `undefined`. */
function directForm(bytes: Buffer, text: string, search: Search, depth: number): string | undefined {
  if (PEM_BEGIN.test(text) || PEM_LABEL_END.test(text) || BARE_ARMOUR.test(text)) return 'PEM';
  if (text.startsWith('{') || text.startsWith('[')) {
    let parsed: unknown;
    try {
      // a C or Java array initializer of numbers (`{48, -126, 1, ...}`) reads as the JSON list it is
      parsed = JSON.parse(text.startsWith('{') && SIGNED_BYTES.test(text) ? `[${text.slice(1, -1)}]` : text);
    } catch {
      // no JSON: the runs and markers below still look inside
    }
    if (parsed !== undefined) {
      const form = jsonForm(parsed, search, depth);
      if (form !== undefined || search.exhausted !== undefined) return form;
    }
  }
  if (OPENSSH_LINE.test(text)) return 'public SSH';
  if (containsSshWireKey(bytes)) return 'public SSH';
  if (isPkcs12(bytes)) return 'PKCS#12'; // before DER: its shrouded key bag is an encrypted PKCS#8 key
  if (containsDerKey(bytes, search)) return 'DER';
  if (isEcPoint(bytes)) return 'raw EC public';
  if (isCoordinatePair(text)) return 'JWK x + y';
  return undefined;
}

/**
 * Whether nine in ten of every other byte, from `first`, are 0: mostly-ASCII text as UTF-16 (a
 * CJK character or two among it; a random secret of 32 bytes: about 2^-110).
 */
function zeroEveryOther(bytes: Buffer, first: number): boolean {
  let zeros = 0;
  let count = 0;
  for (let i = first; i < bytes.length; i += 2, count += 1) if (bytes[i] === 0) zeros += 1;
  return count >= 8 && zeros >= count * 0.9;
}

/** `bytes` as UTF-16 text, when they are (a byte order mark, or ASCII with a 0 beside each character), else `undefined`. */
function utf16(whole: Buffer): [string, Buffer] | undefined {
  const bytes = whole.length % 2 === 0 ? whole : whole.subarray(0, whole.length - 1); // a stray last byte
  if (bytes.length < 4) return undefined;
  const swapped = () => Buffer.from(bytes).swap16();
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return ['UTF-16LE', Buffer.from(bytes.subarray(2).toString('utf16le'))];
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return ['UTF-16BE', Buffer.from(swapped().subarray(2).toString('utf16le'))];
  if (zeroEveryOther(bytes, 1)) return ['UTF-16LE', Buffer.from(bytes.toString('utf16le'))];
  if (zeroEveryOther(bytes, 0)) return ['UTF-16BE', Buffer.from(swapped().toString('utf16le'))];
  return undefined;
}

/** `%XX` decoded to its byte (`+` kept: the armour tests read it as a space), or `undefined` with no `%XX` in `text`. */
function percentDecoded(text: string): Buffer | undefined {
  const out = Buffer.alloc(text.length);
  let length = 0;
  let decoded = false;
  for (let i = 0; i < text.length; i += 1) {
    if (text.charCodeAt(i) === 0x25 && i + 2 < text.length && isHexChar(text.charCodeAt(i + 1)) && isHexChar(text.charCodeAt(i + 2))) {
      out[length++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
      decoded = true;
    } else {
      out[length++] = text.charCodeAt(i) & 0xff;
    }
  }
  return decoded ? out.subarray(0, length) : undefined;
}

/** The encodings `bytes` may be as a whole, one layer down. */
function layers(bytes: Buffer, text: string, search: Search): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const compressed = isGzip(bytes) ? 'gzip of' : isZlib(bytes) ? 'zlib of' : undefined;
  const inflated = compressed === undefined ? undefined : inflatedBody(compressed === 'gzip of' ? gzipBody(bytes) : bytes.subarray(2), search);
  if (inflated !== undefined) {
    // every inflated byte is scanned again: a few compressed runs of 64 KiB each would cost seconds
    if (spend(search, 'inflated', MAX_INFLATED_BYTES, inflated.length)) out.push([compressed!, inflated]);
    return out; // a compressed stream: binary, no text layer to look for besides
  }
  const wide = utf16(bytes);
  if (wide) out.push(wide);
  const percent = percentDecoded(text);
  if (percent) out.push(['URL-encoded', percent]);
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') out.push(['JSON string of', Buffer.from(parsed)]);
    } catch {
      // no JSON string
    }
  }
  const escaped = unescaped(text);
  if (escaped) out.push(['escaped', escaped]);
  const unquoted = withoutLinePrefixes(text);
  if (unquoted) out.push(['line-prefixed', Buffer.from(unquoted, 'latin1')]);
  return out;
}

/** What quotes or comments out a line (e-mail `>`, `#`, `//`, `;`, `*`, `--`, a diff's `+`) and HTML line breaks. */
const LINE_PREFIX = /^(?:[ \t\u00a0]|\u00c2\u00a0)*(?:>+|#+|\/\/|;|\*|-+|\+|%|!|REM\b)(?:[ \t\u00a0]|\u00c2\u00a0)*/gm;
const HTML_BREAK = /<\/?(?:br|wbr|p|div|span|li|tr|td)\b[^>]{0,200}>|&lt;br\s*\/?&gt;|&(?:nbsp|gt|lt|NewLine);|\u00c2?[\u0085\u2028\u2029]|\u00e2\u0080[\u00a8\u00a9]/gi;

/**
 * `text` with HTML line breaks and blocks made line breaks (`<br>`, `<p>`, `<div>`, U+2028...) and,
 * when two lines or more carry them, its lines' quoting, list or comment prefixes removed (a PEM
 * body quoted in an e-mail, commented out in a config, a YAML list, a diff, a web page);
 * `undefined` when nothing changed. Linear.
 */
function withoutLinePrefixes(text: string): string | undefined {
  const breaks = HTML_BREAK.test(text);
  HTML_BREAK.lastIndex = 0;
  const entity = { '&nbsp;': ' ', '&gt;': '>', '&lt;': '<' } as Record<string, string>;
  let out = breaks ? text.replace(HTML_BREAK, (match) => entity[match.toLowerCase()] ?? '\n') : text;
  const prefixed = out.match(LINE_PREFIX)?.length ?? 0;
  if (prefixed >= 2) out = out.replace(LINE_PREFIX, '');
  return out === text ? undefined : out;
}

/** A gzip member's magic (deflate). */
const isGzip = (bytes: Buffer) => bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;
/** A zlib stream's header (`zlib.deflateSync`, Java's `Deflater`, PHP's `gzcompress`): deflate, any window, no preset dictionary, header check a multiple of 31. */
const isZlib = (bytes: Buffer) => bytes.length > 2 && (bytes[0] & 0x0f) === 8 && bytes[0] >> 4 <= 7 && (bytes[1] & 0x20) === 0 && (bytes[0] * 256 + bytes[1]) % 31 === 0;

/** The deflate data of a gzip member: after its 10-byte header and the optional extra field, name, comment and header CRC. */
function gzipBody(bytes: Buffer): Buffer {
  const flags = bytes[3];
  let at = 10;
  if (flags & 0x04) at += 2 + (bytes[at] | (bytes[at + 1] << 8));
  for (const flag of [0x08, 0x10]) if (flags & flag) at = bytes.indexOf(0, at) + 1 || bytes.length;
  if (flags & 0x02) at += 2;
  return bytes.subarray(Math.min(at, bytes.length));
}

/**
 * What a deflate stream inflates to, its checksum and anything after it ignored (a damaged or
 * missing trailer, trailing bytes: the key is in the data either way); `undefined` for data that
 * is no deflate stream (random bytes almost never are). A stream inflating past 64 KiB cannot be
 * checked: the search is exhausted (fails closed).
 */
function inflatedBody(body: Buffer, search: Search): Buffer | undefined {
  try {
    return inflateRawSync(body, { maxOutputLength: MAX_SECRET_BYTES, finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' && search.exhausted === undefined) {
      search.exhausted = `a compressed layer inflating past ${MAX_SECRET_BYTES / 1024} KiB`;
    }
    return undefined;
  }
}

/** C, JSON, Python and HTML escapes (`\x30`, `\u002d`, `\n`, `&#45;`, `&#x2D;`) decoded, when `text` holds at least 4 of them. */
function unescaped(text: string): Buffer | undefined {
  let count = 0;
  const out = Buffer.alloc(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    let code: number | undefined;
    let width = 0;
    if (c === 0x5c) {
      const next = text[i + 1];
      if ((next === 'x' || next === 'u') && /^[0-9a-f]+$/i.test(text.slice(i + 2, i + (next === 'x' ? 4 : 6))) && i + (next === 'x' ? 4 : 6) <= text.length) {
        width = next === 'x' ? 4 : 6;
        code = parseInt(text.slice(i + 2, i + width), 16);
      } else if (next !== undefined && 'nrt0\\\'"/'.includes(next)) {
        width = 2;
        code = ({ n: 10, r: 13, t: 9, '0': 0 } as Record<string, number>)[next] ?? next.charCodeAt(0);
      }
    } else if (c === 0x26) {
      const entity = /^&#(?:x([0-9a-f]{1,6})|(\d{1,7}));/i.exec(text.slice(i, i + 11));
      if (entity) {
        width = entity[0].length;
        code = entity[1] !== undefined ? parseInt(entity[1], 16) : Number(entity[2]);
      }
    }
    if (code === undefined) {
      out[length++] = c & 0xff;
      continue;
    }
    count += 1;
    if (code > 0xff) { // a character beyond one byte: as UTF-8
      length += out.write(String.fromCodePoint(Math.min(code, 0x10ffff)), length);
      if (length >= out.length - 4) return undefined;
    } else {
      out[length++] = code;
    }
    i += width - 1;
  }
  return count >= 4 ? out.subarray(0, length) : undefined;
}

/** An XML character reference to a line break or a tab (`&#13;`, `&#xA;`...). */
const LINE_BREAK_ENTITY = /^&#(?:1[03]|9|x0*[aAdD9]);/;

/** A run of encoded bytes found inside text: its encoding's name and the text of the run. */
interface Run {
  name: 'base64' | 'hex';
  bytes: Buffer;
  /** Where the run ended in its text (consecutive runs are read as coordinate pairs). */
  end: number;
}

/**
 * The base64 runs in `text`: maximal sequences of base64 / base64url characters, `=` padding
 * ending one, `---` ending one hard. Runs joined only by white space, quotes (a PEM body as
 * concatenated string literals) or an escaped line break (`\n` as an environment variable holds
 * a PEM body) form a group, decoded whole too, from each
 * of its first four characters (so a word before it cannot shift the base64 alignment).
 */
function base64Runs(text: string, search: Search): Run[] {
  const runs: Run[] = [];
  let group = ''; // the group's base64 characters, joined
  let tokens = 0;
  let tokenStart = -1;
  const endToken = (at: number) => {
    if (tokenStart === -1) return;
    const token = text.slice(tokenStart, at);
    if (token.replace(/=+$/, '').length >= MIN_BASE64_RUN && spend(search, 'runs', MAX_RUNS)) runs.push({ name: 'base64', bytes: Buffer.from(token, 'base64'), end: at });
    if (token !== '+') { // a lone `+` between quoted lines is concatenation, not base64
      group += token;
      tokens += 1;
    }
    tokenStart = -1;
  };
  const endGroup = (at: number) => {
    endToken(at);
    if ((tokens > 1 && group.length >= MIN_BASE64_RUN) || group.length >= 60) {
      for (let shift = tokens > 1 ? 0 : 1; shift < 4 && group.length - shift >= MIN_BASE64_RUN; shift += 1) {
        if (spend(search, 'runs', MAX_RUNS)) runs.push({ name: 'base64', bytes: Buffer.from(group.slice(shift), 'base64'), end: at });
      }
    }
    group = '';
    tokens = 0;
  };
  for (let i = 0; i < text.length && search.exhausted === undefined; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x2d && text.charCodeAt(i + 1) === 0x2d && text.charCodeAt(i + 2) === 0x2d) {
      endGroup(i);
      while (text.charCodeAt(i + 1) === 0x2d) i += 1;
    } else if (isBase64Char(c)) {
      if (tokenStart === -1) tokenStart = i;
    } else if (c === 0x3d) { // '=': padding ends the token and its group
      if (tokenStart !== -1) {
        while (text.charCodeAt(i + 1) === 0x3d) i += 1;
        endGroup(i + 1);
      } else {
        endGroup(i);
      }
    } else if (isSpace(c) || isSoftSeparator(c)) { // white space, quotes (`"line" +\n"line"`), `,` `;` `|`, NBSP join
      endToken(i);
    } else if (c === 0x5c) { // an escaped line break (`\n`, `\\n`), a shell's backslash-newline join too
      endToken(i);
      while (text.charCodeAt(i + 1) === 0x5c) i += 1;
      if ('nrt'.includes(text[i + 1] ?? '-')) i += 1;
    } else if (c === 0xe2 && text.charCodeAt(i + 1) === 0x80 && text.charCodeAt(i + 2) === 0x8b) { // a zero-width space (UTF-8)
      endToken(i);
      i += 2;
    } else if (c === 0xc2 && text.charCodeAt(i + 1) === 0xa0) { // a no-break space (UTF-8)
      endToken(i);
      i += 1;
    } else if (c === 0x26 && LINE_BREAK_ENTITY.test(text.slice(i, i + 6))) { // `&#13;` between lines (XMLDSig output) joins too
      endToken(i);
      i = text.indexOf(';', i);
    } else {
      endGroup(i);
    }
  }
  endGroup(text.length);
  return runs;
}

/**
 * The hex runs in `text`: contiguous hex digits, and byte pairs with separators (`0x` or `\x`
 * before each, `:`, `,`, `;`, `-` or white space between, across lines as OpenSSL's text dump
 * writes them).
 */
function hexRuns(text: string, search: Search): Run[] {
  const runs: Run[] = [];
  const push = (hex: string, end: number) => {
    if (hex.length >= 2 * MIN_HEX_BYTES && spend(search, 'runs', MAX_RUNS)) runs.push({ name: 'hex', bytes: Buffer.from(hex, 'hex'), end });
  };
  // contiguous digits: each maximal run (odd: the last digit dropped, and a leading 0 restored as
  // BigInt's toString(16) drops it), and the runs joined by white space, quotes or escaped line
  // breaks (`xxd -p`, `basenc --base16`, a hex string split over lines), from either nibble
  let start = -1;
  let group = '';
  let pieces = 0;
  const endGroup = (at: number) => {
    if (pieces > 1) {
      push(group.slice(0, group.length - (group.length % 2)), at);
      push(group.slice(1, group.length - ((group.length - 1) % 2)), at);
    }
    group = '';
    pieces = 0;
  };
  for (let i = 0; i <= text.length && search.exhausted === undefined; i += 1) {
    const c = i < text.length ? text.charCodeAt(i) : -1;
    if (c !== -1 && isHexChar(c)) {
      if (start === -1) start = i;
      continue;
    }
    if (start !== -1) {
      const run = text.slice(start, i);
      push(run.slice(0, run.length - (run.length % 2)), i);
      if (run.length % 2 === 1) push(`0${run}`, i);
      group += run;
      pieces += 1;
      start = -1;
    }
    if (c === 0x5c && 'nrt'.includes(text[i + 1] ?? '')) i += 1; // an escaped line break joins
    else if (c === -1 || !(isSpace(c) || c === 0x22 || c === 0x27)) endGroup(i);
  }
  // pairs with separators: each token between separators, without a 0x / \x prefix, is exactly two digits
  let pairs = '';
  let i = 0;
  while (i < text.length && search.exhausted === undefined) {
    while (i < text.length && (isSpace(text.charCodeAt(i)) || ':,;-'.includes(text[i]))) i += 1;
    let tokenEnd = i;
    while (tokenEnd < text.length && !isSpace(text.charCodeAt(tokenEnd)) && !':,;-'.includes(text[tokenEnd])) tokenEnd += 1;
    if (tokenEnd === i) break;
    const token = text.slice(i, tokenEnd);
    const bytes = token.split(/\\x|0x/i).filter((part, index) => index > 0 || part !== '');
    if (bytes.length > 0 && bytes.every((part) => part.length === 2 && isHexChar(part.charCodeAt(0)) && isHexChar(part.charCodeAt(1)))) {
      pairs += bytes.join('');
    } else {
      push(pairs, i);
      pairs = '';
    }
    i = tokenEnd;
  }
  push(pairs, text.length);
  return [...runs, ...dumpRuns(text, search)];
}

/** A dump line's offset column: `xxd` (`00000000:`), `hexdump -C` and `od` (`0000000`), Java's `HexDumpEncoder` (`0000:`). */
const DUMP_OFFSET = /^[ \t]*(?:0x)?(?:[0-9a-f]{6,16}:?|[0-9a-f]{4,5}:)[ \t]/i;

/**
 * The bytes of a hex dump (`xxd`, `hexdump`, `hexdump -C`, `od -x`): offset column and ASCII
 * column dropped, the hex groups of consecutive lines joined; also byte-swapped in 16-bit
 * words, as `hexdump` and `od -x` print them on a little-endian machine.
 */
function dumpRuns(text: string, search: Search): Run[] {
  const runs: Run[] = [];
  let straight = '';
  let swapped = '';
  let lines = 0;
  const flush = (end: number) => {
    if (lines > 1 && straight.length >= 2 * MIN_HEX_BYTES) {
      for (const hex of swapped === straight ? [straight] : [straight, swapped]) {
        if (spend(search, 'runs', MAX_RUNS)) runs.push({ name: 'hex', bytes: Buffer.from(hex, 'hex'), end });
      }
    }
    straight = '';
    swapped = '';
    lines = 0;
  };
  let lineStart = 0;
  for (let at = 0; at <= text.length && search.exhausted === undefined; at += 1) {
    if (at < text.length && text.charCodeAt(at) !== 0x0a) continue;
    const line = text.slice(lineStart, at > lineStart && text.charCodeAt(at - 1) === 0x0d ? at - 1 : at); // CRLF lines too
    lineStart = at + 1;
    const offset = DUMP_OFFSET.exec(line);
    if (offset === null) {
      flush(at);
      continue;
    }
    let hex = '';
    let swap = '';
    for (const group of line.slice(offset[0].length).split(/[ \t]+/)) {
      if (group === '') continue;
      if (group.length > 8 || group.length % 2 !== 0 || ![...group].every((c) => isHexChar(c.charCodeAt(0)))) break;
      hex += group;
      swap += group.length === 4 ? group.slice(2) + group.slice(0, 2) : group;
    }
    if (hex === '') {
      flush(at);
      continue;
    }
    straight += hex;
    swapped += swap;
    lines += 1;
  }
  flush(text.length);
  return runs;
}

/** Printable text (at least 95 % of the bytes): a decoded run worth reading as text again. */
function isTextLike(bytes: Buffer): boolean {
  if (bytes.length < 16) return false;
  let printable = 0;
  let high = 0;
  for (const byte of bytes) {
    if ((byte >= 0x20 && byte < 0x7f) || byte === 0x0a || byte === 0x0d || byte === 0x09) printable += 1;
    else if (byte >= 0x80) high += 1;
  }
  if (printable >= bytes.length * 0.95) return true;
  // UTF-8 text in another script (a config with CJK comments): valid UTF-8, hardly a control character
  return printable + high >= bytes.length * 0.95 && UTF8.decode(bytes) !== undefined;
}

/** Strict UTF-8 (a random byte string is almost never valid). */
const UTF8 = {
  decoder: new TextDecoder('utf-8', { fatal: true }),
  decode(bytes: Buffer): string | undefined {
    try {
      return this.decoder.decode(bytes);
    } catch {
      return undefined;
    }
  },
};

/** The key form a decoded run holds, or `undefined`; text-like runs (UTF-16 too) are read as text one layer down. */
function runForm(run: Run, search: Search, depth: number): string | undefined {
  const { bytes } = run;
  if (isPkcs12(bytes)) return `${run.name} PKCS#12`;
  if (containsDerKey(bytes, search)) return `${run.name} DER`;
  if (containsSshWireKey(bytes)) return `${run.name} public SSH`;
  if (isEcPoint(bytes)) return `${run.name} raw EC public`;
  const wide = utf16(bytes);
  if (isTextLike(bytes) || (wide !== undefined && isTextLike(wide[1])) || isGzip(bytes) || isZlib(bytes)) { // compressed: its layer
    const form = formOf(bytes, search, depth + 1);
    if (form !== undefined) return `${run.name} ${form}`;
  }
  return undefined;
}

/** Two nearby runs of one encoding (within `PAIR_WINDOW`, so a joined group between them does not hide them), of coordinate size (32, 48 or 66 bytes), that are a point. */
const PAIR_WINDOW = 6;
function pairedCoordinates(runs: Run[]): boolean {
  for (const name of ['hex', 'base64']) {
    const coordinates = runs.filter((run) => run.name === name && POINT_BYTES[run.bytes.length] !== undefined).sort((a, b) => a.end - b.end);
    for (let i = 0; i + 1 < coordinates.length; i += 1) {
      for (let j = i + 1; j < coordinates.length && j <= i + PAIR_WINDOW; j += 1) if (isPoint(coordinates[i].bytes, coordinates[j].bytes)) return true;
    }
  }
  return false;
}

/** The key form in `bytes`, looking through up to `MAX_LAYERS - depth` more encodings. */
function formOf(bytes: Buffer, search: Search, depth: number): string | undefined {
  if (depth > MAX_LAYERS) {
    if (search.exhausted === undefined) search.exhausted = `more than ${MAX_LAYERS} layers of encoding`;
    return undefined;
  }
  if (!spend(search, 'candidates', MAX_CANDIDATES) || !spend(search, 'scanned', MAX_SCANNED_BYTES, bytes.length)) return undefined;
  const text = trimmed(bytes.toString('latin1'));
  const direct = directForm(bytes, text, search, depth);
  if (direct !== undefined || search.exhausted !== undefined) return direct;
  for (const [name, decoded] of layers(bytes, text, search)) {
    if (decoded.length === 0) continue;
    const form = formOf(decoded, search, depth + 1);
    if (form !== undefined || search.exhausted !== undefined) return form === undefined ? undefined : `${name} ${form}`;
  }
  const runs = [...hexRuns(text, search), ...base64Runs(text, search)];
  for (const run of runs) {
    const form = runForm(run, search, depth);
    if (form !== undefined || search.exhausted !== undefined) return form;
  }
  if (pairedCoordinates(runs)) return 'JWK x + y';
  if (JWK_MEMBER.test(text) || JWK_VALUE.test(text) || (JWK_KTY.test(text) && KEY_MATERIAL.test(text))) return 'JWK';
  if (XML_KEY.test(text)) return 'XML';
  if (OPENSSL_TEXT.test(text) || (OPENSSL_MODULUS.test(text) && OPENSSL_EXPONENT.test(text))) return 'OpenSSL text';
  if (KEY_MARKER.test(text)) return 'marked';
  return undefined;
}

/**
 * What would-be HMAC secret bytes were found to be: `{ key: form }` for a key in disguise
 * (`'PEM'`, `'DER'`, `'JWK'`, `'base64 DER'`, `'hex DER'`, `'UTF-16LE PEM'`...), `{ unchecked:
 * why }` for a value too long, too deep or too costly to search, or `undefined` for a plain secret.
 *
 * @example secretVerdict(createPublicKey(pem).export({ format: 'der', type: 'spki' })) // { key: 'DER' }
 */
export function secretVerdict(bytes: Buffer): SecretVerdict {
  if (bytes.length > MAX_SECRET_BYTES) return { unchecked: `longer than ${MAX_SECRET_BYTES / 1024} KiB` };
  const search: Search = { candidates: 0, runs: 0, derParses: 0, jsonNodes: 0, inflated: 0, scanned: 0, exhausted: undefined };
  const form = formOf(bytes, search, 0);
  if (form !== undefined) return { key: form };
  return search.exhausted === undefined ? undefined : { unchecked: search.exhausted };
}

/**
 * The key form hidden in would-be HMAC secret bytes, `'unchecked'` for one too costly to
 * search (refused as well), or `undefined` for a plain secret.
 *
 * @example keyFormOf(createPublicKey(pem).export({ format: 'der', type: 'spki' })) // 'DER'
 */
export function keyFormOf(bytes: Buffer): string | undefined {
  const verdict = secretVerdict(bytes);
  return verdict === undefined ? undefined : 'key' in verdict ? verdict.key : 'unchecked';
}
