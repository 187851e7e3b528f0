/**
 * DPoP (RFC 9449) in a browser: GET /dpop serves a page whose script makes a non-extractable
 * ECDSA P-256 key with WebCrypto, logs in with a proof (the tokens are bound to that key), and
 * calls a protected route with a fresh proof each time. A token copied out of the page is
 * worthless without the key, which the page itself cannot export.
 */
import type { Context } from 'koa';
import { Body, ContentType, Controller, Ctx, Get, JsonController, Post } from 'routing-controllers';
import { createAccessToken, createRefreshToken, getDpopThumbprint, Identity, JwtRequired, verifyDpopProof } from 'koa-jwt-extended';
import { checkPassword, DemoError, LoginBody } from './controllers';

@JsonController('/dpop')
export class DpopAuthController {
  /** Password plus a DPoP proof: tokens bound to the proof's key (`token_type: DPoP`, RFC 9449 §5). */
  @Post('/login')
  async login(@Body() body: LoginBody, @Ctx() ctx: Context) {
    checkPassword(body);
    const dpopJkt = await verifyDpopProof(ctx);
    if (dpopJkt === undefined) throw new DemoError(400, 'This login needs a DPoP header');
    return {
      access_token: await createAccessToken(body.username, { fresh: true, dpopJkt }),
      refresh_token: await createRefreshToken(body.username, { dpopJkt }),
      token_type: 'DPoP',
    };
  }

  /** Needs `Authorization: DPoP <token>` and a proof by the token's key. */
  @Get('/protected')
  @JwtRequired()
  protected(@Identity() username: string) {
    return { hello: `from ${username}`, jkt: getDpopThumbprint() };
  }
}

@Controller()
export class DpopPageController {
  @Get('/dpop')
  @ContentType('text/html; charset=utf-8')
  page() {
    return PAGE;
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>koa-jwt-extended: DPoP</title></head>
<body>
<h1>DPoP: tokens bound to a key</h1>
<p>Log in as test/test. The page makes an ECDSA P-256 key it cannot export, and signs a proof for every request.</p>
<input id="username" value="test"> <input id="password" type="password" value="test">
<p>
  <button id="login">Log in with DPoP</button>
  <button id="protected">GET /dpop/protected</button>
  <button id="protected-bearer">GET as Bearer (no proof)</button>
</p>
<pre id="result" data-seq="0"></pre>
<script>
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const text = (value) => new TextEncoder().encode(value);
let keys;
let publicJwk;
let accessToken;
async function key() {
  if (!keys) {
    keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keys.publicKey);
    publicJwk = { kty, crv, x, y };
  }
  return keys;
}
async function proof(htm, path, token) {
  const { privateKey } = await key();
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk };
  const claims = { jti: crypto.randomUUID(), htm, htu: location.origin + path, iat: Math.floor(Date.now() / 1000) };
  if (token) claims.ath = b64url(await crypto.subtle.digest('SHA-256', text(token)));
  const input = b64url(text(JSON.stringify(header))) + '.' + b64url(text(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, text(input));
  return input + '.' + b64url(signature);
}
async function call(method, path, headers, body) {
  const res = await fetch(path, { method, headers, body });
  const json = await res.json();
  const result = document.getElementById('result');
  result.textContent = JSON.stringify({ path, status: res.status, body: json });
  result.dataset.seq = String(Number(result.dataset.seq) + 1);
  return json;
}
const actions = {
  login: async () => {
    const body = JSON.stringify({ username: document.getElementById('username').value, password: document.getElementById('password').value });
    const json = await call('POST', '/dpop/login', { 'Content-Type': 'application/json', DPoP: await proof('POST', '/dpop/login') }, body);
    accessToken = json.access_token;
  },
  protected: async () => call('GET', '/dpop/protected', { Authorization: 'DPoP ' + accessToken, DPoP: await proof('GET', '/dpop/protected', accessToken) }),
  'protected-bearer': async () => call('GET', '/dpop/protected', { Authorization: 'Bearer ' + accessToken }),
};
for (const [id, action] of Object.entries(actions)) document.getElementById(id).addEventListener('click', action);
</script>
</body>
</html>
`;
