/**
 * `htu` comparison (RFC 9449 §4.3 step 9): both URIs normalised as RFC 3986 §6.2.2
 * (case, percent-encoding, dot segments) and §6.2.3 (default port, empty path) say, the
 * query and fragment left out. The WHATWG URL parser does the case, dot-segment, port and
 * empty-path parts; percent-encodings are then spelled one way (unreserved characters
 * decoded, hex digits upper-case).
 */

import { BoundedMap } from '../bounded-map';

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const PERCENT_ENCODED = /%([0-9a-fA-F]{2})/g;

function normalisePercentEncoding(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(PERCENT_ENCODED, (_, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`;
  });
}

function parseHttpUrl(value: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '' || url.host === '') return undefined; // userinfo never belongs in an htu
  return url;
}

/**
 * `uri` normalised for comparison, without its query and fragment; `undefined` when it is
 * not an absolute http(s) URI.
 *
 * @example normaliseHtu('HTTPS://Api.Example.com:443/a/../%7euser?q=1') // 'https://api.example.com/~user'
 */
export function normaliseHtu(uri: string): string | undefined {
  const url = parseHttpUrl(uri);
  return url === undefined ? undefined : `${url.protocol}//${url.host}${normalisePercentEncoding(url.pathname)}`;
}

/**
 * An origin option (`https://host[:port]`, nothing after it but an optional `/`), normalised;
 * `undefined` when it is not one.
 *
 * @example normaliseOrigin('https://API.example.com:443/') // 'https://api.example.com'
 */
export function normaliseOrigin(origin: string): string | undefined {
  const url = parseHttpUrl(origin);
  if (url === undefined || url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(origin)) return undefined;
  return `${url.protocol}//${url.host}`;
}

/**
 * Whether a proof's `htu` names the request's URI (`origin + path`, as the server sees it).
 *
 * @example htuMatches('https://api.example.com/me?x=1', 'https://api.example.com:443/me') // true
 */
export function htuMatches(htu: string, requestUri: string): boolean {
  const presented = normalisedOnce(htu);
  return presented !== undefined && presented === normalisedOnce(requestUri);
}

/**
 * Normalised URIs by their spelling: an app has few routes and a client spells its htu as the
 * request's, so a request costs two Map lookups instead of two URL parses. Recomputable: a bound
 * that drops entries costs only time.
 */
const NORMALISED = new BoundedMap<string | null>(2000);
const MAX_MEMO_LENGTH = 2048;

function normalisedOnce(uri: string): string | undefined {
  if (uri.length > MAX_MEMO_LENGTH) return normaliseHtu(uri);
  const known = NORMALISED.get(uri);
  if (known !== undefined) return known ?? undefined;
  const normalised = normaliseHtu(uri);
  NORMALISED.set(uri, normalised ?? null);
  return normalised;
}
