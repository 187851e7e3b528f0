/**
 * `issuerDiscovery`: the JWK Set URL read from the issuer's metadata, OpenID Connect
 * Discovery 1.0 (`<issuer>/.well-known/openid-configuration`) or, when that is not there,
 * RFC 8414 (`/.well-known/oauth-authorization-server` before the issuer's path). The
 * document's `issuer` must be exactly the configured one (OIDC Discovery §4.3, RFC 8414
 * §3.3), its `jwks_uri` https. Fetched on first need, re-read after `jwksCacheMaxAge`
 * (the known set keeps serving meanwhile), with the same backoff and bounds as a key set.
 */
import { KeySetUnavailableError, RemoteKeySet, RemoteKeySetTiming } from './jwks';
import { secureUrl } from './idp-options';
import type { ParsedToken } from './jws';
import type { ChosenKey, KeySource } from './key-source';
import type { Algorithm } from './keys';
import { FetchBackoff, fetchJson, RemoteFetchError } from './remote-fetch';

/**
 * The metadata URLs of an issuer, in the order they are tried.
 *
 * @example discoveryUrls(new URL('https://idp.example/realms/main'))
 * // ['https://idp.example/realms/main/.well-known/openid-configuration',
 * //  'https://idp.example/.well-known/oauth-authorization-server/realms/main']
 */
export function discoveryUrls(issuer: URL): string[] {
  const path = issuer.pathname.replace(/\/+$/, '');
  return [`${issuer.origin}${path}/.well-known/openid-configuration`, `${issuer.origin}/.well-known/oauth-authorization-server${path}`];
}

/** Whether a failed metadata fetch means "not at this URL" (try the next), rather than "the server is failing". */
function isAbsent(error: unknown): boolean {
  const status = error instanceof RemoteFetchError ? error.status : undefined;
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}

/** The JWK Set URL from a metadata document, after checking it speaks for `issuer`. */
function jwksUriOf(metadata: unknown, issuer: string, from: string): URL {
  const document = metadata as { issuer?: unknown; jwks_uri?: unknown } | null;
  if (typeof document !== 'object' || document === null) throw new RemoteFetchError(`${from} is not a metadata document`);
  if (document.issuer !== issuer) throw new RemoteFetchError(`${from} names issuer ${JSON.stringify(document.issuer)}, not ${JSON.stringify(issuer)}`);
  const uri = secureUrl(document.jwks_uri);
  if (uri === undefined) throw new RemoteFetchError(`${from} has no https jwks_uri`);
  return uri;
}

/** The key source of a discovered issuer: its metadata, then the JWK Set it names. */
export class DiscoveredKeySource implements KeySource {
  private keySet: RemoteKeySet | undefined;
  private discoveredAt = 0;
  private pending: Promise<RemoteKeySet> | undefined;
  private readonly backoff: FetchBackoff;

  /** `issuer` exactly as configured (the metadata must repeat it), `url` the same as a URL. */
  constructor(private readonly issuer: string, private readonly url: URL, private readonly timing: RemoteKeySetTiming) {
    this.backoff = new FetchBackoff(timing.cooldownMs);
  }

  async keyFor(parsed: ParsedToken, algorithm: Algorithm): Promise<ChosenKey> {
    const keySet = await this.currentSet();
    return keySet.keyFor(parsed.header, algorithm);
  }

  isCurrent(generation: object | undefined): boolean {
    return this.keySet?.isCurrent(generation) ?? false;
  }

  /** The known set while its metadata is fresh, or while re-reading it; else the discovery's outcome. */
  private currentSet(): RemoteKeySet | Promise<RemoteKeySet> {
    const known = this.keySet;
    if (known !== undefined && Date.now() < this.discoveredAt + this.timing.cacheMaxAgeMs) return known;
    const waiting = this.backoff.waiting();
    if (waiting === undefined) this.pending ??= this.discover().finally(() => (this.pending = undefined));
    // stale metadata is no risk (the set's own max age bounds its keys): keep serving it while re-reading
    if (known !== undefined) {
      this.pending?.catch(() => undefined);
      return known;
    }
    if (this.pending === undefined) throw new KeySetUnavailableError(waiting);
    return this.pending.catch((error: unknown) => {
      throw new KeySetUnavailableError(error);
    });
  }

  private async discover(): Promise<RemoteKeySet> {
    let uri: URL;
    try {
      uri = await this.readMetadata();
    } catch (error) {
      this.backoff.failed(error);
      throw error;
    }
    this.backoff.succeeded();
    this.discoveredAt = Date.now();
    // a new URL is a new set: verifications cached with the old one are no longer current
    if (this.keySet === undefined || this.keySet.uri.href !== uri.href) this.keySet = new RemoteKeySet(uri, this.timing);
    return this.keySet;
  }

  private async readMetadata(): Promise<URL> {
    const [openid, oauth] = discoveryUrls(this.url);
    try {
      return jwksUriOf(await fetchJson(openid), this.issuer, openid);
    } catch (error) {
      if (!isAbsent(error)) throw error;
    }
    return jwksUriOf(await fetchJson(oauth), this.issuer, oauth);
  }
}
