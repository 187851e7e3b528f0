/**
 * A plain Koa + @koa/router app, as a user without routing-controllers writes it. The pack test
 * installs the packed package into a fresh app that has only koa and @koa/router, compiles this
 * file in strict mode (TypeScript 6 and 7, `skipLibCheck: false`) and requests its routes over
 * HTTP; kit.test.ts tests it with the testing kit.
 */
import Koa from 'koa';
import Router from '@koa/router';
import {
  createAccessToken, createRefreshToken, getJwtClaims, getJwtIdentity, jwtContext, JwtError, JwtManager, jwtRequired,
  MemoryTokenStore, revokeToken, setAccessCookies, setRefreshCookies, verifyJwtInRequest,
} from 'koa-jwt-extended';

JwtManager.configure({
  secret: process.env.JWT_SECRET ?? 'plain-koa-secret-of-at-least-32-bytes',
  tokenLocation: ['headers', 'cookies'],
  revocation: { store: new MemoryTokenStore(), checks: 'all' },
});

export const app = new Koa();
app.use((ctx, next) => next().catch((error) => { if (!(error instanceof JwtError)) throw error; ctx.status = error.status; ctx.body = error.toJSON(); }));
app.use(jwtContext()); // the getters after verifyJwtInRequest()

const router = new Router();
router.post('/login', async (ctx) => {
  const user = String(ctx.query.user ?? 'alice');
  ctx.body = { access_token: await createAccessToken(user), refresh_token: await createRefreshToken(user) };
});
router.post('/login/cookies', async (ctx) => {
  setAccessCookies(ctx, await createAccessToken('alice'));
  setRefreshCookies(ctx, await createRefreshToken('alice'));
  ctx.body = { login: true };
});
router.get('/protected', jwtRequired(), (ctx) => {
  ctx.body = { hello: getJwtIdentity() };
});
router.post('/orders', jwtRequired(), (ctx) => { // a cookie token needs the CSRF header here (POST)
  ctx.body = { ordered: getJwtIdentity() };
});
router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => {
  ctx.body = { access_token: await createAccessToken(getJwtIdentity()!) };
});
router.get('/imperative', async (ctx) => {
  const payload = await verifyJwtInRequest(ctx); // a refusal rejects; the error middleware above answers it
  ctx.body = { hello: getJwtIdentity(), type: payload?.type };
});
router.post('/logout', jwtRequired({ verifyType: false }), async (ctx) => {
  await revokeToken(getJwtClaims());
  ctx.body = { revoked: getJwtClaims().type };
});
app.use(router.routes()).use(router.allowedMethods());

if (require.main === module) app.listen(Number(process.env.PORT ?? 5000), '127.0.0.1');
