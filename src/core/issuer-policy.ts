/**
 * What a token is verified against: the accepted algorithms, `typ`, issuer and audience,
 * and where its key comes from. One policy from the top-level options, or (with `issuers`)
 * one per issuer, picked by the token's unverified `iss` before any key is looked up, so a
 * token naming an unlisted issuer is refused without a fetch.
 */
import { DiscoveredKeySource } from './discovery';
import { InvalidTokenError } from './errors';
import { decodeJsonSegment, ParsedToken } from './jws';
import { KeySource, keySourceFor, RemoteKeySource, remoteTiming } from './key-source';
import type { JwtConfig } from './options';

/** The rules one token is checked by. */
export interface VerificationPolicy {
  /** The `iss` required, if any. */
  issuer: string | undefined;
  /** The audiences accepted, if checked. */
  audience: readonly string[] | undefined;
  /** The allow-list of `alg`. */
  algorithms: ReadonlySet<string>;
  /** The header `typ` values accepted (normalised), if checked. */
  typ: ReadonlySet<string> | undefined;
  keys: KeySource;
}

/** The policies of a configuration: the top-level one, and one per listed issuer. */
export interface Policies {
  main: VerificationPolicy;
  byIssuer: ReadonlyMap<string, VerificationPolicy> | undefined;
}

/**
 * Builds the policies of a configuration (once, with the verifier).
 *
 * @example const { main, byIssuer } = policiesFor(config)
 */
export function policiesFor(config: JwtConfig): Policies {
  const timing = remoteTiming(config);
  const keys = config.discovery !== undefined
    ? new DiscoveredKeySource(config.issuer!, config.discovery, timing)
    : keySourceFor(config);
  const main: VerificationPolicy = { issuer: config.issuer, audience: config.audience, algorithms: config.algorithms, typ: config.typ, keys };
  if (config.issuers === undefined) return { main, byIssuer: undefined };
  const byIssuer = new Map<string, VerificationPolicy>();
  for (const entry of config.issuers) {
    const own = entry.jwksUri !== undefined ? new RemoteKeySource(entry.jwksUri, timing)
      : entry.discovery ? new DiscoveredKeySource(entry.issuer, new URL(entry.issuer), timing) : keys;
    byIssuer.set(entry.issuer, {
      issuer: entry.issuer,
      audience: entry.audience ?? config.audience,
      algorithms: entry.algorithms ?? config.algorithms,
      typ: entry.typ ?? config.typ,
      keys: own,
    });
  }
  return { main, byIssuer };
}

/**
 * The policy of a token's issuer, read from its payload before the signature is checked:
 * only to choose, never to trust (the chosen policy then requires that very `iss`).
 *
 * @example const policy = policyOfIssuer(parsed, byIssuer)
 */
export function policyOfIssuer(parsed: ParsedToken, byIssuer: ReadonlyMap<string, VerificationPolicy>): VerificationPolicy {
  const { iss } = decodeJsonSegment(parsed.payloadSegment, 'payload');
  if (iss === undefined) throw new InvalidTokenError('Token is missing the "iss" claim', 'ERR_JWT_CLAIM_INVALID');
  const policy = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
  if (policy === undefined) throw new InvalidTokenError('Invalid issuer', 'ERR_JWT_CLAIM_INVALID');
  return policy;
}
