/**
 * routing-controllers is an optional peer: only src/decorators loads it, and only on first use.
 * Statically, no module of the Koa door, the core, the stores or the testing kit imports the
 * decorators or routing-controllers. At run time, an app where routing-controllers,
 * class-transformer and koa-bodyparser cannot be found imports the package, runs
 * jwtRequired() / verifyJwtInRequest() / the testing kit over HTTP, and a decorator throws the
 * JwtUsageError that says to install routing-controllers. (The packed package in a real plain
 * Koa app, under TypeScript 6 and 7: spec/package/pack.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { compileSources } from '../support/compile';

const SRC = join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

/** Every module specifier a file imports or re-exports at run time (`import type` left out). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)) if (!match[1]) found.push(match[2]);
  for (const match of text.matchAll(/require\('([^']+)'\)/g)) found.push(match[1]);
  return found;
}

const HIDE_PEERS = `
const Module = require('node:module');
const hidden = new Set(['routing-controllers', 'class-transformer', 'koa-bodyparser']);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden.has(request.split('/')[0])) {
    const error = new Error("Cannot find module '" + request + "'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};`;

const PLAIN_KOA_APP = (dist: string) => `
const Koa = require('koa');
const Router = require('@koa/router');
const kje = require(${JSON.stringify(dist)});
const testing = require(${JSON.stringify(join(dist, 'testing'))});
kje.JwtManager.configure({ secret: 'layering-secret-of-at-least-32-bytes!', tokenLocation: ['headers', 'cookies'], revocation: { store: new kje.MemoryTokenStore(), checks: 'all' } });
const app = new Koa();
const router = new Router();
app.use(kje.jwtContext());
app.use(async (ctx, next) => { try { await next(); } catch (e) { if (!(e instanceof kje.JwtError)) throw e; ctx.status = e.status; ctx.body = e.toJSON(); } });
router.get('/mw', kje.jwtRequired(), (ctx) => { ctx.body = { who: kje.getJwtIdentity() }; });
router.get('/imperative', async (ctx) => { await kje.verifyJwtInRequest(ctx); ctx.body = { who: kje.getJwtIdentity() }; });
router.post('/login', async (ctx) => { const token = await kje.createAccessToken('alice'); kje.setAccessCookies(ctx, token); ctx.body = { token }; });
app.use(router.routes());
const server = app.listen(0, async () => {
  const base = 'http://127.0.0.1:' + server.address().port;
  const out = {};
  const get = async (path, headers) => { const r = await fetch(base + path, { headers }); return [r.status, await r.json()]; };
  out.refused = [await get('/mw'), await get('/imperative')];
  const login = await fetch(base + '/login', { method: 'POST' });
  const { token } = await login.json();
  out.cookie = login.headers.get('set-cookie').startsWith('access_token_cookie=');
  out.allowed = [await get('/mw', { authorization: 'Bearer ' + token }), await get('/imperative', { authorization: 'Bearer ' + token })];
  out.fake = await get('/mw', testing.authHeader(await testing.fakeAccessToken('bob')));
  out.revoked = await get('/mw', testing.authHeader(await testing.revokedAccessToken('carol')));
  out.withToken = await testing.withToken(token, () => 'ran');
  for (const [name, use] of [['JwtRequired', () => kje.JwtRequired()(class C {})], ['Identity', () => kje.Identity()(class D {}.prototype, 'm', 0)],
    ['checker', () => kje.jwtAuthorizationChecker({ context: {} }, [])]]) {
    try { await use(); out[name] = 'no error'; } catch (e) { out[name] = [e.name, e.message]; }
  }
  const sep = require('node:path').sep;
  out.loaded = Object.keys(require.cache).filter((p) => ['routing-controllers', 'class-transformer', 'koa-bodyparser'].some((m) => p.includes('node_modules' + sep + m + sep)));
  console.log(JSON.stringify(out));
  server.close();
});`;

describe('package layering: routing-controllers only in src/decorators', function () {
  this.timeout(60_000);

  it('no module outside src/decorators (and the root and OpenAPI entries) imports the decorators or routing-controllers', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC)) {
      const name = relative(SRC, file);
      if (name.startsWith('decorators/') || name === 'index.ts' || name === 'openapi.ts') continue;
      for (const specifier of runtimeImports(file)) {
        if (/(^|\/)decorators(\/|$)/.test(specifier) || /^(routing-controllers|class-transformer|koa-bodyparser)/.test(specifier)) offenders.push(`${name} -> ${specifier}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('only src/decorators/routing-controllers.ts loads routing-controllers at run time', () => {
    const loaders = sources(SRC).filter((file) => runtimeImports(file).some((s) => s === 'routing-controllers')).map((file) => relative(SRC, file));
    assert.deepEqual(loaders, ['decorators/routing-controllers.ts']);
  });

  it('runs a plain Koa app without routing-controllers, class-transformer and koa-bodyparser; a decorator says to install it', () => {
    const { outDir, cleanup } = compileSources();
    const dir = mkdtempSync(join(tmpdir(), 'kje-layering-'));
    try {
      writeFileSync(join(dir, 'hide-peers.js'), HIDE_PEERS);
      const output = execFileSync(process.execPath, ['-r', join(dir, 'hide-peers.js'), '-e', PLAIN_KOA_APP(outDir)], { encoding: 'utf8', cwd: join(__dirname, '..', '..') });
      const out = JSON.parse(output);
      const missing = { msg: 'Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "access_token_cookie")' };
      assert.deepEqual(out.refused, [[401, missing], [401, missing]]);
      assert.deepEqual(out.allowed, [[200, { who: 'alice' }], [200, { who: 'alice' }]]);
      assert.equal(out.cookie, true);
      assert.deepEqual(out.fake, [200, { who: 'bob' }]);
      assert.deepEqual(out.revoked, [401, { msg: 'Token has been revoked' }]);
      assert.equal(out.withToken, 'ran');
      const install = /needs routing-controllers, which is not installed \(routing-controllers is missing\): run `npm install routing-controllers class-transformer reflect-metadata`/;
      for (const name of ['JwtRequired', 'Identity', 'checker']) {
        assert.equal(out[name][0], 'JwtUsageError', `${name}: ${out[name]}`);
        assert.match(out[name][1], install);
      }
      assert.deepEqual(out.loaded, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      cleanup();
    }
  });
});
