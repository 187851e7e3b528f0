/**
 * Public keys that verify forged signatures, whoever holds them. An RSA key whose public
 * exponent is 1 accepts the padded hash itself as its signature; an Ed25519 key of small
 * order accepts `R = identity, S = 0` for every message (or one in 2, 4, 8). Such keys are
 * published by mistake (placeholders, test fixtures) or on purpose (a tenant registering
 * one), and no private key is needed to use them: they are refused wherever a key is
 * parsed (`configure()`, a `decodeKeyLoader` answer, a member of a JWK Set), once per key,
 * never per request. The checks read the JWK members, so every key form is checked alike.
 */

/** Reads a base64url member as an unsigned big-endian integer. */
function integerOf(base64url: string): bigint {
  const hex = Buffer.from(base64url, 'base64url').toString('hex');
  return hex === '' ? 0n : BigInt(`0x${hex}`);
}

/** NIST SP 800-56B Rev. 2 §6.2.1: the public exponent is odd, 2^16 < e < 2^256. */
const MIN_RSA_EXPONENT = 65537n;
const MAX_RSA_EXPONENT = 2n ** 256n;

/** Why an RSA public key (`n`, `e` as in its JWK) forges, or `undefined`. */
function rsaProblem(n: string, e: string): string | undefined {
  const exponent = e === 'AQAB' ? MIN_RSA_EXPONENT : integerOf(e); // 65537, nearly every key
  if (exponent % 2n === 0n || exponent < MIN_RSA_EXPONENT || exponent >= MAX_RSA_EXPONENT) {
    const shown = exponent < 2n ** 64n ? String(exponent) : `a ${exponent.toString(2).length}-bit number`;
    return `its RSA public exponent is ${shown}: it must be odd, at least 65537 and below 2^256 (NIST SP 800-56B), or forged signatures may verify`;
  }
  const modulus = Buffer.from(n, 'base64url');
  if (modulus.length === 0 || (modulus[modulus.length - 1] & 1) === 0) return 'its RSA modulus is even (no product of two large primes)';
  return undefined;
}

const little = (value: bigint, bytes: number): Buffer => {
  const out = Buffer.alloc(bytes);
  for (let index = 0; index < bytes; index += 1, value >>= 8n) out[index] = Number(value & 0xffn);
  return out;
};

const ED25519_P = 2n ** 255n - 19n;
const ED448_P = 2n ** 448n - 2n ** 224n - 1n;

/**
 * The encodings of the points of small order (the torsion subgroup: 8 points on
 * edwards25519, 4 on edwards448), with the sign bit cleared: y = 0, 1, -1, the two y of
 * order 8 (edwards25519), and the non-canonical y = p and p + 1 (libsodium's list).
 */
const SMALL_ORDER: Record<string, { bytes: number; encodings: Set<string> }> = {
  Ed25519: {
    bytes: 32,
    encodings: new Set([
      little(0n, 32).toString('hex'), little(1n, 32).toString('hex'),
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      little(ED25519_P - 1n, 32).toString('hex'), little(ED25519_P, 32).toString('hex'), little(ED25519_P + 1n, 32).toString('hex'),
    ]),
  },
  Ed448: {
    bytes: 57,
    encodings: new Set([0n, 1n, ED448_P - 1n, ED448_P, ED448_P + 1n].map((y) => little(y, 57).toString('hex'))),
  },
};

/** Why an Edwards-curve public key (`x` as in its JWK) forges, or `undefined`. */
function edwardsProblem(crv: string, x: string): string | undefined {
  const curve = SMALL_ORDER[crv];
  if (curve === undefined) return undefined;
  const point = Buffer.from(x, 'base64url');
  if (point.length !== curve.bytes) return undefined; // node refuses it on import
  point[curve.bytes - 1] &= 0x7f; // the sign of x: both signs of a small-order y are small-order
  return curve.encodings.has(point.toString('hex')) ? `its ${crv} public key is a point of small order: it verifies forged signatures` : undefined;
}

/** The NIST curves: y^2 = x^3 - 3x + b (mod p). */
const NIST_CURVES: Record<string, { p: bigint; b: bigint; bytes: number }> = {
  'P-256': { p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n, b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn, bytes: 32 },
  'P-384': {
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    bytes: 48,
  },
  'P-521': {
    p: 2n ** 521n - 1n,
    b: 0x51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    bytes: 66,
  },
};

/**
 * Whether `x`, `y` (base64url, as in a JWK) is a point on the NIST curve `crv`: a few BigInt
 * multiplications, where importing a P-521 key costs node close to a millisecond.
 *
 * @example isOnCurve('P-256', jwk.x, jwk.y) // false for an off-curve point
 */
export function isOnCurve(crv: string, x: string, y: string): boolean {
  const curve = NIST_CURVES[crv];
  if (curve === undefined) return false;
  const [bx, by] = [Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')];
  if (bx.length !== curve.bytes || by.length !== curve.bytes) return false;
  const { p, b } = curve;
  const [px, py] = [BigInt(`0x${bx.toString('hex')}`), BigInt(`0x${by.toString('hex')}`)];
  return px < p && py < p && (py * py - (px * px * px - 3n * px + b)) % p === 0n;
}

/**
 * Why a public key, given by the members of its JWK, verifies forged signatures (RSA `e`
 * even or below 65537, an even modulus, an Ed25519/Ed448 point of small order), or
 * `undefined` for a key with no such weakness.
 *
 * @example weakKeyProblem({ kty: 'RSA', n, e: 'AQ' }) // 'its RSA public exponent is 1: it must be odd, at least 65537 ...'
 */
export function weakKeyProblem(jwk: { kty?: unknown; n?: unknown; e?: unknown; crv?: unknown; x?: unknown }): string | undefined {
  if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && typeof jwk.e === 'string') return rsaProblem(jwk.n, jwk.e);
  if (jwk.kty === 'OKP' && typeof jwk.crv === 'string' && typeof jwk.x === 'string') return edwardsProblem(jwk.crv, jwk.x);
  return undefined;
}
