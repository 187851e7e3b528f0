/**
 * Whether bytes meant as an HMAC secret are really a key in disguise. A public key is public:
 * used as an HMAC secret (algorithm confusion), anyone holding it can forge tokens. So every
 * form a key travels in is refused as a secret, however it is wrapped: PEM, DER (SPKI,
 * PKCS#1, PKCS#8, SEC1, X.509), a JWK as JSON, and base64 / base64url / hex of any of them.
 * Runs at `configure()` and once per distinct `decodeKeyLoader` value, never per request.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** A DER SEQUENCE that node:crypto reads as a key or a certificate. */
function isDerKey(bytes: Buffer): boolean {
  if (bytes.length < 16 || bytes[0] !== 0x30) return false; // every DER key form is a SEQUENCE
  const attempts = [
    () => createPublicKey({ key: bytes, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: bytes, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: bytes, format: 'der', type: 'sec1' }),
    () => new X509Certificate(bytes),
  ];
  return attempts.some((attempt) => {
    try {
      attempt();
      return true;
    } catch {
      return false;
    }
  });
}

/** A JSON object with a string `kty` (a JWK), or a JWK Set. */
function isJwkJson(text: string): boolean {
  if (!text.startsWith('{')) return false;
  try {
    const parsed = JSON.parse(text) as { kty?: unknown; keys?: unknown };
    return typeof parsed === 'object' && parsed !== null && (typeof parsed.kty === 'string' || Array.isArray(parsed.keys));
  } catch {
    return false;
  }
}

/** The key form `bytes` hold directly (no decoding), or `undefined`. */
function directForm(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  if (PEM.test(text)) return 'PEM';
  if (isJwkJson(text.trim())) return 'JWK';
  if (isDerKey(bytes)) return 'DER';
  return undefined;
}

/**
 * The key form hidden in would-be HMAC secret bytes (`'PEM'`, `'DER'`, `'JWK'`,
 * `'base64 DER'`, `'hex DER'`...), or `undefined` for a plain secret.
 *
 * @example keyFormOf(createPublicKey(pem).export({ format: 'der', type: 'spki' })) // 'DER'
 */
export function keyFormOf(bytes: Buffer): string | undefined {
  const direct = directForm(bytes);
  if (direct !== undefined) return direct;
  const text = bytes.toString('latin1').replace(/\s+/g, '');
  if (HEX.test(text)) {
    const form = directForm(Buffer.from(text, 'hex'));
    if (form !== undefined) return `hex ${form}`;
  }
  if (BASE64.test(text)) {
    const form = directForm(Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'));
    if (form !== undefined) return `base64 ${form}`;
  }
  return undefined;
}
