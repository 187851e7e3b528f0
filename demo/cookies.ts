/**
 * Flask-JWT-Extended's "JWT in cookies" example: a browser logs in, and its
 * tokens travel in HttpOnly cookies. State-changing requests echo the CSRF
 * cookie in the X-CSRF-TOKEN header (double submit). GET /cookie-demo serves a
 * page that walks through login, a protected POST, refresh and logout.
 */
import type { Context } from 'koa';
import { Body, ContentType, Controller, Ctx, Get, JsonController, Post } from 'routing-controllers';
import {
  Claims, createAccessToken, createRefreshToken, Identity, JwtManager, JwtOptional, JwtPayload, JwtRequired, RefreshRequired,
  revokeToken, setAccessCookies, setRefreshCookies, unsetJwtCookies,
} from 'koa-jwt-extended';
import { checkPassword, LoginBody } from './controllers';

@JsonController('/cookie')
export class CookieAuthController {
  /** Checks the password, then sets the access and refresh cookies (and their CSRF cookies). */
  @Post('/login')
  async login(@Body() body: LoginBody, @Ctx() ctx: Context) {
    checkPassword(body);
    setAccessCookies(ctx, await createAccessToken(body.username, { fresh: true, csrf: true }));
    setRefreshCookies(ctx, await createRefreshToken(body.username, { csrf: true }));
    return { login: true };
  }

  /** The refresh cookie (with the csrf_refresh_token value in X-CSRF-TOKEN) buys a new access cookie. */
  @Post('/refresh')
  @RefreshRequired({ locations: ['cookies'] })
  async refresh(@Identity() username: string, @Ctx() ctx: Context) {
    setAccessCookies(ctx, await createAccessToken(username, { fresh: false, csrf: true }));
    return { refresh: true };
  }

  /**
   * Revokes the refresh token (so a copy of the cookie stops working), then clears the cookies.
   * Without a refresh cookie it only clears them; with one, its CSRF header is needed.
   */
  @Post('/logout')
  @RefreshRequired({ optional: true, locations: ['cookies'], skipRevocationCheck: true })
  async logout(@Ctx() ctx: Context, @Claims() refresh?: JwtPayload) {
    if (refresh) await revokeToken(refresh);
    unsetJwtCookies(ctx);
    return { logout: true };
  }

  /** A state-changing route: the access cookie plus the CSRF header. */
  @Post('/protected')
  @JwtRequired({ locations: ['cookies'] })
  protected(@Identity() username: string) {
    return { hello: `from ${username}` };
  }

  /** Who the cookies say you are, or null: a GET needs no CSRF header. */
  @Get('/whoami')
  @JwtOptional({ locations: ['cookies'] })
  whoami(@Identity() username?: string) {
    return { identity: username ?? null };
  }
}

@Controller()
export class CookiePageController {
  @Get('/cookie-demo')
  @ContentType('text/html; charset=utf-8')
  page() {
    const { accessCsrfCookieName, refreshCsrfCookieName, accessCsrfHeaderName, refreshCsrfHeaderName } = JwtManager.instance.config;
    const names = { accessCsrfCookieName, refreshCsrfCookieName, accessCsrfHeaderName, refreshCsrfHeaderName };
    // names are validated cookie and header tokens, so they are safe inside a script
    return PAGE.replace('__NAMES__', JSON.stringify(names));
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>koa-jwt-extended: JWT in cookies</title></head>
<body>
<h1>JWT in cookies</h1>
<p>Log in as test/test. The tokens sit in HttpOnly cookies this script cannot read; the CSRF cookies it can.</p>
<input id="username" value="test"> <input id="password" type="password" value="test">
<p>
  <button id="login">Log in</button>
  <button id="protected">POST /cookie/protected</button>
  <button id="protected-no-csrf">POST without CSRF header</button>
  <button id="refresh">Refresh</button>
  <button id="whoami">Who am I</button>
  <button id="logout">Log out</button>
</p>
<pre id="result" data-seq="0"></pre>
<script>
const NAMES = __NAMES__;
function readCookie(name) {
  const found = document.cookie.split('; ').find((c) => c.startsWith(name + '='));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
}
async function call(method, path, headers, body) {
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  const result = document.getElementById('result');
  result.textContent = JSON.stringify({ path, status: res.status, body: await res.json() });
  result.dataset.seq = String(Number(result.dataset.seq) + 1);
}
const actions = {
  login: () => call('POST', '/cookie/login', { 'Content-Type': 'application/json' },
    JSON.stringify({ username: document.getElementById('username').value, password: document.getElementById('password').value })),
  protected: () => call('POST', '/cookie/protected', { [NAMES.accessCsrfHeaderName]: readCookie(NAMES.accessCsrfCookieName) }),
  'protected-no-csrf': () => call('POST', '/cookie/protected', {}),
  refresh: () => call('POST', '/cookie/refresh', { [NAMES.refreshCsrfHeaderName]: readCookie(NAMES.refreshCsrfCookieName) }),
  whoami: () => call('GET', '/cookie/whoami', {}),
  logout: () => call('POST', '/cookie/logout', { [NAMES.refreshCsrfHeaderName]: readCookie(NAMES.refreshCsrfCookieName) }),
};
for (const [id, action] of Object.entries(actions)) document.getElementById(id).addEventListener('click', action);
</script>
</body>
</html>
`;
