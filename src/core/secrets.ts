/**
 * Whether bytes meant as an HMAC secret are really a key in disguise. A public key is public:
 * used as an HMAC secret (algorithm confusion), anyone holding it can forge tokens. So every
 * form a key travels in is refused as a secret, however it is wrapped: PEM, DER (SPKI,
 * PKCS#1, PKCS#8, SEC1, X.509), a JWK, a JWK Set or a list of JWKs as JSON, an OpenSSH public
 * key, a raw EC point on P-256/384/521 (also as `x.y` or `[x, y]`), JWK-like JSON with no or a
 * non-string `kty`, behind up to `MAX_LAYERS` encodings (UTF-16LE/BE with or without a byte
 * order mark, percent-encoding, a JSON string, base64 / base64url, hex with `0x` or separators),
 * a UTF-8 byte order mark and surrounding white space. Runs at `configure()` and once per
 * distinct `decodeKeyLoader` value, never per request; the work per value is bounded
 * (`MAX_CANDIDATES`, `MAX_DECODED_BYTES`).
 *
 * What cannot be told from a random secret is not guessed at: a bare RSA modulus (`n`), an
 * Ed25519 `x`, an EC `x` alone or a compressed point are random-looking bytes (half of all
 * 32-byte strings are valid Ed25519 points), so refusing them would refuse real secrets.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { isOnCurve } from './key-strength';

/** PEM armour of any label, in any case, also with `+` for its spaces (form encoding), and the RFC 4716 block. */
const PEM = /-----\s?BEGIN[ +][A-Z0-9 +]+-----|---- BEGIN SSH2 PUBLIC KEY ----/i;
/** An OpenSSH public key line (`ssh-ed25519 AAAA... user@host`, also behind authorized_keys options). */
const OPENSSH_LINE = /(?:^|\s)(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)\s+AAAA[A-Za-z0-9+/]{8,}/;
/** The UTF-8 byte order mark as `latin1` reads it, white space and NULs, around a key. */
const BOM_AND_SPACE = /^(?:\u00ef\u00bb\u00bf|\ufeff|[\s\0])+|[\s\0]+$/g;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** Hex, also with a `0x` or `\x` before it or each byte and `:`, `-`, `,` or white space between bytes. */
const HEX_WITH_SEPARATORS = /^(?:(?:0x|\\x)?[0-9a-f]{2}[\s:,-]*)+$/i;
const PERCENT = /%[0-9a-f]{2}/i;
/** How many encodings deep a key is looked for (UTF-16, percent, JSON string, base64, hex), and the largest candidate decoded. */
const MAX_LAYERS = 4;
const MAX_DECODED_BYTES = 1 << 20;
/** How many candidates one secret may cost, at most: a bound on the work, whatever the input. */
const MAX_CANDIDATES = 64;
/** How many JSON objects and lists one secret may have looked into (deep nesting stays off the stack). */
const MAX_JSON_NODES = 256;

/** A DER SEQUENCE that node:crypto reads as a key or a certificate, also followed by stray bytes (a newline, a NUL). */
function isDerKey(bytes: Buffer): boolean {
  if (bytes.length < 16 || bytes[0] !== 0x30) return false; // every DER key form is a SEQUENCE
  const attempts = (der: Buffer) => [
    () => createPublicKey({ key: der, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
    () => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: der, format: 'der', type: 'sec1' }),
    () => new X509Certificate(der),
  ];
  const parses = (der: Buffer) => attempts(der).some((attempt) => {
    try {
      attempt();
      return true;
    } catch {
      return false;
    }
  });
  if (parses(bytes)) return true;
  const length = derLength(bytes);
  return length !== undefined && length < bytes.length && parses(bytes.subarray(0, length));
}

/** The length of the DER element `bytes` start with (tag, length, content), or `undefined`. */
function derLength(bytes: Buffer): number | undefined {
  const first = bytes[1];
  if (first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i += 1) length = length * 256 + bytes[2 + i];
  return 2 + octets + length;
}

/** The coordinate size of P-256, P-384 and P-521, by curve. */
const POINT_BYTES: Record<number, string> = { 32: 'P-256', 48: 'P-384', 66: 'P-521' };

/** Two equal-length coordinates that are a point on P-256/384/521 (a random pair is one with probability about 2^-256). */
function isPoint(x: Buffer, y: Buffer): boolean {
  const curve = POINT_BYTES[x.length];
  return curve !== undefined && x.length === y.length && isOnCurve(curve, x.toString('base64url'), y.toString('base64url'));
}

/**
 * A raw EC public point on P-256/384/521: `04 || x || y` (65, 97, 133 bytes) or `x || y`.
 * A random secret of that length is on the curve with probability about 2^-256.
 */
function isEcPoint(bytes: Buffer): boolean {
  const coordinates = bytes.length % 2 === 1 && bytes[0] === 0x04 ? bytes.subarray(1) : bytes;
  const half = coordinates.length / 2;
  return POINT_BYTES[half] !== undefined && isPoint(coordinates.subarray(0, half), coordinates.subarray(half));
}

/** One coordinate as its text (base64url, base64 or hex) gives it, or `undefined`. */
function coordinate(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (/^(?:0x)?[0-9a-f]+$/i.test(trimmed) && [64, 96, 132].includes(trimmed.replace(/^0x/i, '').length)) return Buffer.from(trimmed.replace(/^0x/i, ''), 'hex');
  return BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
}

/** A JWK's `x` and `y` as text: `x.y` (or another one-character separator), `x` then `y`, `[x, y]` as JSON. */
function isCoordinatePair(text: string): boolean {
  const parts = text.split(/[.,:;|\s]+/).filter((part) => part !== '');
  if (parts.length === 2) {
    const [x, y] = parts.map(coordinate);
    if (x && y && isPoint(x, y)) return true;
  }
  const half = text.length / 2;
  if ([43, 64, 88].includes(half) && BASE64.test(text)) {
    return isPoint(Buffer.from(text.slice(0, half), 'base64url'), Buffer.from(text.slice(half), 'base64url'));
  }
  return false;
}

/** Members only a key has: RSA `n` + `e`, EC/OKP `x` + `y` or `crv`, a private `d`; or a string `kty`, or a JWK Set's `keys`. */
function isJwkLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const has = (name: string) => (value as Record<string, unknown>)[name] !== undefined && (value as Record<string, unknown>)[name] !== null;
  return typeof (value as { kty?: unknown }).kty === 'string' || (has('n') && has('e')) || (has('x') && (has('y') || has('crv'))) || has('d')
    || Array.isArray((value as { keys?: unknown }).keys);
}

/**
 * Parsed JSON that holds a key: a JWK-like object (with or without `kty`), a list holding one,
 * an `[x, y]` pair of coordinates, or (within the layer bound) a string member that is a key
 * in another form.
 */
function jsonForm(value: unknown, search: Search, depth: number): string | undefined {
  search.jsonNodes += 1;
  if (search.jsonNodes > MAX_JSON_NODES) return undefined;
  if (isJwkLike(value)) return 'JWK';
  if (Array.isArray(value)) {
    if (value.length === 2 && value.every((part) => typeof part === 'string')) {
      const [x, y] = value.map(coordinate);
      if (x && y && isPoint(x, y)) return 'JWK x + y';
    }
    for (const item of value) {
      const form = memberForm(item, search, depth);
      if (form !== undefined) return form;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) {
      const form = memberForm(item, search, depth);
      if (form !== undefined) return form;
    }
  }
  return undefined;
}

/** A member of parsed JSON: an object or list is looked into, a string is decoded as one more layer. */
function memberForm(item: unknown, search: Search, depth: number): string | undefined {
  if (typeof item === 'string') return depth < MAX_LAYERS ? formOf(Buffer.from(item), search, depth + 1) : undefined;
  if (typeof item === 'object' && item !== null) return jsonForm(item, search, depth);
  return undefined;
}

/** An SSH wire-format public key (RFC 4253 §6.6: a length-prefixed algorithm name first), as in an OpenSSH line's base64. */
function isSshWireKey(bytes: Buffer): boolean {
  if (bytes.length < 20) return false;
  const nameLength = bytes.readUInt32BE(0);
  if (nameLength < 7 || nameLength > 64 || bytes.length < 4 + nameLength) return false;
  return /^(?:ssh-|ecdsa-sha2-|sk-)[a-z0-9@.-]+$/.test(bytes.toString('latin1', 4, 4 + nameLength));
}

/** The work one `keyFormOf` may do: every candidate it looked at, so a crafted input costs a bounded amount. */
interface Search {
  candidates: number;
  jsonNodes: number;
}

/** The key form `bytes` hold directly (no decoding), or `undefined`. */
function directForm(bytes: Buffer, text: string, search: Search, depth: number): string | undefined {
  if (PEM.test(text)) return 'PEM';
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      const form = jsonForm(JSON.parse(text), search, depth);
      if (form !== undefined) return form;
    } catch {
      // no JSON
    }
  }
  if (OPENSSH_LINE.test(text)) return 'public SSH';
  if (isSshWireKey(bytes)) return 'public SSH';
  if (isDerKey(bytes)) return 'DER';
  if (isEcPoint(bytes)) return 'raw EC public';
  if (isCoordinatePair(text)) return 'JWK x + y';
  return undefined;
}

/** Whether every other byte, from `first`, is 0: ASCII text as UTF-16 (a random secret of 32 bytes: 2^-128). */
function zeroEveryOther(bytes: Buffer, first: number): boolean {
  for (let i = first; i < bytes.length; i += 2) if (bytes[i] !== 0) return false;
  return true;
}

/** `bytes` as UTF-16 text, when they are (a byte order mark, or ASCII with a 0 beside each character), else `undefined`. */
function utf16(bytes: Buffer): { name: string; bytes: Buffer } | undefined {
  if (bytes.length < 4 || bytes.length % 2 !== 0) return undefined;
  const swapped = () => Buffer.from(bytes).swap16();
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { name: 'UTF-16LE', bytes: Buffer.from(bytes.subarray(2).toString('utf16le')) };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { name: 'UTF-16BE', bytes: Buffer.from(swapped().subarray(2).toString('utf16le')) };
  if (zeroEveryOther(bytes, 1)) return { name: 'UTF-16LE', bytes: Buffer.from(bytes.toString('utf16le')) };
  if (zeroEveryOther(bytes, 0)) return { name: 'UTF-16BE', bytes: Buffer.from(swapped().toString('utf16le')) };
  return undefined;
}

/** `%XX` decoded to its byte (and `+` kept: the PEM armour test reads it as a space). */
function percentDecoded(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '%' && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** What `text` may be an encoding of, one layer down: each a name and the decoded bytes. */
function decodings(bytes: Buffer, text: string): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  const wide = utf16(bytes);
  if (wide) out.push(wide);
  if (PERCENT.test(text)) out.push({ name: 'URL-encoded', bytes: percentDecoded(text) });
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') out.push({ name: 'JSON string of', bytes: Buffer.from(parsed) });
    } catch {
      // no JSON string
    }
  }
  // white space and escaped line breaks (`\n` in an environment variable) inside base64 and hex
  const compact = text.replace(/\\[nrt]|\s+/g, '');
  if (HEX_WITH_SEPARATORS.test(text.replace(/\\[nrt]/g, ' '))) {
    const hex = compact.replace(/0x|\\x|[:,-]/gi, '');
    if (hex.length % 2 === 0) out.push({ name: 'hex', bytes: Buffer.from(hex, 'hex') });
  }
  if (BASE64.test(compact) && compact.length % 4 !== 1) out.push({ name: 'base64', bytes: Buffer.from(compact, 'base64') });
  return out;
}

/** The key form in `bytes`, looking through up to `MAX_LAYERS - depth` more encodings. */
function formOf(bytes: Buffer, search: Search, depth: number): string | undefined {
  search.candidates += 1;
  if (search.candidates > MAX_CANDIDATES) return undefined;
  const text = bytes.toString('latin1').replace(BOM_AND_SPACE, '');
  const direct = directForm(bytes, text, search, depth);
  if (direct !== undefined) return direct;
  if (depth >= MAX_LAYERS || bytes.length > MAX_DECODED_BYTES) return undefined;
  for (const layer of decodings(bytes, text)) {
    if (layer.bytes.length === 0) continue;
    const form = formOf(layer.bytes, search, depth + 1);
    if (form !== undefined) return `${layer.name} ${form}`;
  }
  return undefined;
}

/**
 * The key form hidden in would-be HMAC secret bytes (`'PEM'`, `'DER'`, `'JWK'`,
 * `'base64 DER'`, `'hex DER'`, `'UTF-16LE PEM'`, `'base64 base64 DER'`...), or `undefined`
 * for a plain secret. Each layer (UTF-16 with or without a byte order mark, percent-encoding,
 * a JSON string, base64/base64url, hex with `0x` or separators) is decoded, up to
 * `MAX_LAYERS` deep, and every layer is tested for a key form.
 *
 * @example keyFormOf(createPublicKey(pem).export({ format: 'der', type: 'spki' })) // 'DER'
 */
export function keyFormOf(bytes: Buffer): string | undefined {
  return formOf(bytes, { candidates: 0, jsonNodes: 0 }, 0);
}
