/**
 * The published package, as a new user gets it: `npm pack`, installed into two fresh apps, compiled
 * in strict mode (`skipLibCheck: false`) against the published types under TypeScript 6 and 7, then
 * run over HTTP.
 * - the decorators app: the README's Install section (routing-controllers and its peers), its
 *   quickstart and the testing guide's example, and a validated route run directly with the
 *   README's TypeScript runner (no build);
 * - the plain Koa app: only koa, @koa/router and the package (`npm install --legacy-peer-deps`, as
 *   pnpm and Yarn install peers): spec/package/plain-koa-app.
 * `npm run test:pack` (about a minute with a warm npm cache: not in `npm test`).
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readmeExamples } from '../support/readme';

const ROOT = join(__dirname, '..', '..');
/** What the README's Install section tells a decorators user to install, at the versions this repo tests. */
const APP_PACKAGES = ['koa', '@koa/router', 'koa-bodyparser', 'routing-controllers', 'reflect-metadata', 'class-validator', 'class-transformer'];
const DEV_PACKAGES = ['typescript', '@types/koa', '@types/node', 'mocha', '@types/mocha', 'supertest', '@types/supertest'];
/** The runner the README names for running TypeScript directly (it emits decorator metadata, needs no `typescript`). */
const RUNNER = '@oxc-node/core@0.1.7';
/** What `npm install --save-dev typescript` installs today: TypeScript 7, whose package has no compiler API. */
const TYPESCRIPT_7 = 'typescript@7';
/** Packages a plain Koa app must not get: routing-controllers, its peers, and what it drags in. */
const NOT_IN_PLAIN_KOA = ['routing-controllers', 'class-transformer', 'koa-bodyparser', 'express', 'multer', 'reflect-metadata'];
const INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const DECORATORS_TSCONFIG = {
  compilerOptions: {
    experimentalDecorators: true, emitDecoratorMetadata: true, strict: true, target: 'ES2022', module: 'node16',
    esModuleInterop: true, outDir: 'out', skipLibCheck: false, types: ['node', 'mocha'],
  },
  include: ['*.ts'],
};
const PLAIN_TSCONFIG = {
  compilerOptions: { strict: true, target: 'ES2022', module: 'node16', esModuleInterop: true, outDir: 'out', skipLibCheck: false, types: ['node'] },
  include: ['*.ts'],
};

function pinned(name: string): string {
  return `${name}@${version(name)}`;
}

function version(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
    probe.on('error', reject);
  });
}

async function waitForServer(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${url}`);
}

/** Starts `node <script>` in `cwd` on a free port; resolves its base URL once it answers. */
async function startApp(cwd: string, script: string, probePath: string): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [script], { cwd, env: { ...process.env, PORT: String(port), JWT_SECRET: 'pack-secret-of-at-least-32-bytes!!' }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForServer(base + probePath, child);
  } catch (error) {
    child.kill();
    throw error;
  }
  return { base, child };
}

/**
 * The installed packages of an app, as npm's lockfile lists them (`node_modules/...` entries of
 * package-lock.json: every package on disk, nested copies included, the app itself not).
 */
function installedPackages(app: string): string[] {
  return Object.keys(lockEntries(app));
}

function lockEntries(app: string): Record<string, { link?: boolean; dev?: boolean }> {
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { link?: boolean; dev?: boolean }> };
  return Object.fromEntries(Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.link));
}

/** How many packages an app installed, and how many of them are not devDependencies (what it runs with). */
function packageCount(app: string): string {
  const entries = Object.values(lockEntries(app));
  const runtime = entries.filter((entry) => !entry.dev).length;
  return `${entries.length} packages installed (package-lock.json), ${runtime} of them not devDependencies; npm ls --all --parseable: ${npmLsCount(app)}`;
}

/** The package name a lockfile path stands for (`node_modules/a/node_modules/@s/b` → `@s/b`). */
function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** `npm ls --all --parseable`: one line per package folder (the app's own first). */
function npmLsCount(app: string): number {
  return run('npm', ['ls', '--all', '--parseable'], app).trim().split('\n').length - 1;
}

describe('package: npm pack, installed into fresh apps', function () {
  this.timeout(300_000);
  let work: string;
  let tarball: string;
  let tsc7: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'kje-pack-'));
    tarball = join(work, run('npm', ['pack', '--silent', '--pack-destination', work], ROOT).trim().split('\n').pop()!);
    // TypeScript 7 as a user gets it, in a folder of its own: its `tsc` checks each app's tsconfig
    const ts7 = join(work, 'typescript-7');
    mkdirSync(ts7);
    writeFileSync(join(ts7, 'package.json'), JSON.stringify({ name: 'typescript-7', private: true, version: '1.0.0' }));
    run('npm', [...INSTALL, '--save-dev', TYPESCRIPT_7], ts7);
    tsc7 = join(ts7, 'node_modules', '.bin', 'tsc');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("TypeScript 7's package gives a tsc binary and no compiler API (why ts-node and @swc-node/register stop there)", () => {
    assert.match(run(tsc7, ['--version'], work), /^Version 7\.\d+\.\d+/);
    const ts7 = join(work, 'typescript-7');
    const api = run(process.execPath, ['-e', "const ts = require('typescript'); console.log(typeof ts.transpileModule, typeof ts.Extension)"], ts7);
    assert.equal(api.trim(), 'undefined undefined');
  });

  describe('with routing-controllers: the README install, quickstart and testing example', () => {
    let app: string;

    before(() => {
      app = join(work, 'decorators-app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'decorators-app', private: true, version: '1.0.0' }));
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(DECORATORS_TSCONFIG, null, 2));
      for (const [name, text] of Object.entries(readmeExamples())) if (name !== 'plain-app.ts') writeFileSync(join(app, name), text);
      copyFileSync(join(__dirname, 'decorators-app', 'validation.ts'), join(app, 'validation.ts'));
      run('npm', [...INSTALL, tarball, ...APP_PACKAGES.map(pinned)], app);
      run('npm', [...INSTALL, '--save-dev', ...DEV_PACKAGES.map(pinned), RUNNER], app);
    });

    it("uses the app's own koa, routing-controllers and reflect-metadata (peers, no second copy)", () => {
      const nested = join(app, 'node_modules', 'koa-jwt-extended', 'node_modules');
      for (const peer of ['koa', 'routing-controllers', 'reflect-metadata']) {
        assert.equal(existsSync(join(nested, peer)), false, `${peer} installed twice`);
        assert.equal(existsSync(join(app, 'node_modules', peer)), true, `${peer} missing`);
      }
      console.log(`      decorators app: ${packageCount(app)}`);
    });

    it("compiles the README's quickstart, the testing example and the validated route in strict mode under TypeScript 6", () => {
      assert.match(run('npx', ['tsc', '--version'], app), new RegExp(`^Version ${version('typescript').replace(/\./g, '\\.')}\\n`));
      run('npx', ['tsc', '-p', '.'], app); // throws with tsc's diagnostics on any error
      assert.equal(existsSync(join(app, 'out', 'app.js')), true);
    });

    it('type-checks the same files under TypeScript 7', () => {
      run(tsc7, ['-p', '.', '--noEmit'], app);
    });

    it('runs the quickstart: /protected refuses without a token and answers with the one /login gave', async () => {
      const { base, child } = await startApp(app, 'out/app.js', '/protected');
      try {
        const refused = await fetch(`${base}/protected`);
        assert.deepEqual([refused.status, await refused.json()], [401, { msg: 'Missing Authorization Header' }]);
        const login = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'test', password: 'test' }) });
        const body = (await login.json()) as { access_token: string };
        assert.deepEqual([login.status, Object.keys(body)], [200, ['access_token']]);
        const allowed = await fetch(`${base}/protected`, { headers: { authorization: `Bearer ${body.access_token}` } });
        assert.deepEqual([allowed.status, await allowed.json()], [200, { hello: 'world' }]);
        const forged = await fetch(`${base}/protected`, { headers: { authorization: `Bearer ${body.access_token.slice(0, -4)}AAAA` } });
        assert.deepEqual([forged.status, await forged.json()], [422, { msg: 'Signature verification failed' }]);
      } finally {
        child.kill();
      }
    });

    it("runs the README's testing example with mocha", () => {
      const output = run('npx', ['mocha', '--exit', 'out/profile.spec.js'], app);
      assert.match(output, /3 passing/);
    });

    it('runs TypeScript directly with the README runner, no build: decorator metadata is emitted, so class-validator runs', () => {
      const runner = JSON.parse(readFileSync(join(app, 'node_modules', '@oxc-node', 'core', 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      assert.equal(runner.dependencies?.typescript ?? runner.peerDependencies?.typescript, undefined, 'the runner must not need the compiler API');
      const output = run(process.execPath, ['--import', '@oxc-node/core/register', 'validation.ts'], app);
      assert.deepEqual(JSON.parse(output), {
        valid: [200, { author: 'alice', text: 'hello', isNoteBody: true }],
        invalid: [400, "Invalid body, check 'errors' property for more info."],
        anonymous: [401, { msg: 'Missing Authorization Header' }],
      });
    });

    it("runs the README's testing example with mocha through the same runner, no build", () => {
      const output = run('npx', ['mocha', '--exit', '--node-option', 'import=@oxc-node/core/register', '--extension', 'ts', 'profile.spec.ts'], app);
      assert.match(output, /3 passing/);
    });

    it('ships the MIT LICENSE in the package', () => {
      assert.match(readFileSync(join(app, 'node_modules', 'koa-jwt-extended', 'LICENSE'), 'utf8'), /^MIT License\n/);
    });

    it('the installed CLI runs: npx koa-jwt-extended secret', () => {
      assert.match(run('npx', ['koa-jwt-extended', 'secret'], app), /^[A-Za-z0-9_-]{86}\n$/);
    });

    it('source maps point at sources shipped in the package', () => {
      const dist = join(app, 'node_modules', 'koa-jwt-extended', 'dist');
      const map = JSON.parse(readFileSync(join(dist, 'core', 'manager.js.map'), 'utf8')) as { sources: string[] };
      for (const source of map.sources) assert.equal(existsSync(resolve(join(dist, 'core'), source)), true, source);
      const trace = spawnStack(app);
      const frame = /\((\/[^():]+\.ts):\d+:\d+\)/.exec(trace);
      assert.ok(frame, trace);
      assert.equal(existsSync(frame[1]), true, frame[1]);
      assert.equal(dirname(frame[1]).includes(join('node_modules', 'koa-jwt-extended', 'src')), true, frame[1]);
    });
  });

  describe('plain Koa: only koa, @koa/router and the package, installed with --legacy-peer-deps', () => {
    let app: string;
    let base: string;
    let child: ChildProcess | undefined;

    before(() => {
      app = join(work, 'plain-koa-app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({
        name: 'plain-koa-app', private: true, version: '1.0.0',
        dependencies: { 'koa-jwt-extended': `file:${tarball}`, koa: version('koa'), '@koa/router': '^15.0.0' },
        devDependencies: { typescript: version('typescript'), '@types/koa': version('@types/koa'), '@types/node': version('@types/node') },
      }, null, 2));
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(PLAIN_TSCONFIG, null, 2));
      for (const file of readdirSync(join(__dirname, 'plain-koa-app'))) copyFileSync(join(__dirname, 'plain-koa-app', file), join(app, file));
      writeFileSync(join(app, 'plain-app.ts'), readmeExamples()['plain-app.ts']);
      run('npm', [...INSTALL, '--legacy-peer-deps'], app);
    });
    after(() => child?.kill());

    it('installs no routing-controllers, class-transformer, koa-bodyparser, reflect-metadata, express or multer', () => {
      const packages = installedPackages(app);
      const names = packages.map(nameOf);
      for (const name of ['koa', '@koa/router', 'koa-jwt-extended', 'typescript']) assert.ok(names.includes(name), `${name} missing`);
      assert.deepEqual(names.filter((name) => NOT_IN_PLAIN_KOA.includes(name)), []);
      for (const name of NOT_IN_PLAIN_KOA) assert.equal(existsSync(join(app, 'node_modules', name)), false, name);
      console.log(`      plain Koa app: ${packageCount(app)}`);
    });

    it('compiles in strict mode with skipLibCheck false under TypeScript 6', () => {
      assert.match(run('npx', ['tsc', '--version'], app), /^Version 6\./);
      run('npx', ['tsc', '-p', '.'], app);
      assert.equal(existsSync(join(app, 'out', 'server.js')), true);
    });

    it('type-checks the same files under TypeScript 7', () => {
      run(tsc7, ['-p', '.', '--noEmit'], app);
    });

    it("uses the README's one-line error middleware", () => {
      const line = /^app\.use\(\(ctx, next\) => next\(\)\.catch\(.*$/m.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
      assert.ok(line, 'the README shows no error middleware');
      assert.ok(readFileSync(join(app, 'server.ts'), 'utf8').split('\n').includes(line[0]), line[0]);
    });

    describe('over HTTP', () => {
      const missing = { msg: 'Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "access_token_cookie")' };
      let tokens: { access_token: string; refresh_token: string };

      before(async () => {
        ({ base, child } = await startApp(app, 'out/server.js', '/protected'));
        const login = await fetch(`${base}/login?user=alice`, { method: 'POST' });
        assert.equal(login.status, 200);
        tokens = (await login.json()) as typeof tokens;
      });

      async function call(method: string, path: string, headers: Record<string, string> = {}): Promise<[number, unknown]> {
        const response = await fetch(base + path, { method, headers });
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
        return [response.status, await response.json()];
      }
      const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

      it('jwtRequired(): no token 401, an access token 200, a forged one 422, a refresh token 422', async () => {
        assert.deepEqual(await call('GET', '/protected'), [401, missing]);
        assert.deepEqual(await call('GET', '/protected', bearer(tokens.access_token)), [200, { hello: 'alice' }]);
        assert.deepEqual(await call('GET', '/protected', bearer(`${tokens.access_token.slice(0, -4)}AAAA`)), [422, { msg: 'Signature verification failed' }]);
        assert.deepEqual(await call('GET', '/protected', bearer(tokens.refresh_token)), [422, { msg: 'Only non-refresh tokens are allowed' }]);
      });

      it("verifyJwtInRequest() behind the one-line error middleware: the same JSON refusals as jwtRequired()", async () => {
        assert.deepEqual(await call('GET', '/imperative'), [401, missing]);
        assert.deepEqual(await call('GET', '/imperative', bearer(tokens.access_token)), [200, { hello: 'alice', type: 'access' }]);
        assert.deepEqual(await call('GET', '/imperative', { authorization: 'Bearer' }), [422, { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" }]);
        assert.deepEqual(await call('GET', '/imperative', bearer(tokens.refresh_token)), [422, { msg: 'Only non-refresh tokens are allowed' }]);
      });

      it('refresh: an access token is refused, the refresh token gives a new access token that works', async () => {
        assert.deepEqual(await call('POST', '/refresh', bearer(tokens.access_token)), [422, { msg: 'Only refresh tokens are allowed' }]);
        const [status, body] = await call('POST', '/refresh', bearer(tokens.refresh_token));
        assert.equal(status, 200);
        assert.deepEqual(await call('GET', '/protected', bearer((body as { access_token: string }).access_token)), [200, { hello: 'alice' }]);
      });

      it('cookies with CSRF: a GET passes on the cookie alone, a POST needs the matching X-CSRF-TOKEN', async () => {
        const login = await fetch(`${base}/login/cookies`, { method: 'POST' });
        const cookies = new Map(login.headers.getSetCookie().map((line) => line.split(';')[0].split('=') as [string, string]));
        assert.deepEqual([...cookies.keys()].sort(), ['access_token_cookie', 'csrf_access_token', 'csrf_refresh_token', 'refresh_token_cookie']);
        const cookie = { cookie: `access_token_cookie=${cookies.get('access_token_cookie')}` };
        assert.deepEqual(await call('GET', '/protected', cookie), [200, { hello: 'alice' }]);
        assert.deepEqual(await call('POST', '/orders', cookie), [401, { msg: 'Missing CSRF token' }]);
        assert.deepEqual(await call('POST', '/orders', { ...cookie, 'x-csrf-token': 'not-the-value' }), [401, { msg: 'CSRF double submit tokens do not match' }]);
        assert.deepEqual(await call('POST', '/orders', { ...cookie, 'x-csrf-token': cookies.get('csrf_access_token')! }), [200, { ordered: 'alice' }]);
        const refresh = { cookie: `refresh_token_cookie=${cookies.get('refresh_token_cookie')}` };
        assert.deepEqual(await call('POST', '/refresh', refresh), [401, { msg: 'Missing CSRF token' }]);
        assert.equal((await call('POST', '/refresh', { ...refresh, 'x-csrf-token': cookies.get('csrf_refresh_token')! }))[0], 200);
      });

      it('MemoryTokenStore revocation: after /logout the same token is refused at both doors', async () => {
        const login = await fetch(`${base}/login?user=bob`, { method: 'POST' });
        const { access_token: access } = (await login.json()) as { access_token: string };
        assert.deepEqual(await call('GET', '/protected', bearer(access)), [200, { hello: 'bob' }]);
        assert.deepEqual(await call('POST', '/logout', bearer(access)), [200, { revoked: 'access' }]);
        assert.deepEqual(await call('GET', '/protected', bearer(access)), [401, { msg: 'Token has been revoked' }]);
        assert.deepEqual(await call('GET', '/imperative', bearer(access)), [401, { msg: 'Token has been revoked' }]);
        assert.deepEqual(await call('GET', '/protected', bearer(tokens.access_token)), [200, { hello: 'alice' }]); // another token of another user
      });
    });

    it("runs the README's plain Koa example: both doors refuse with JSON, then answer with the token /login gave", async () => {
      const readme = await startApp(app, 'out/plain-app.js', '/protected');
      try {
        const get = async (path: string, headers: Record<string, string> = {}) => {
          const response = await fetch(readme.base + path, { headers });
          return [response.status, await response.json()];
        };
        assert.deepEqual(await get('/protected'), [401, { msg: 'Missing Authorization Header' }]);
        assert.deepEqual(await get('/imperative'), [401, { msg: 'Missing Authorization Header' }]);
        const { access_token: token } = (await (await fetch(`${readme.base}/login`, { method: 'POST' })).json()) as { access_token: string };
        assert.deepEqual(await get('/protected', { authorization: `Bearer ${token}` }), [200, { hello: 'alice' }]);
        assert.deepEqual(await get('/imperative', { authorization: `Bearer ${token}` }), [200, { hello: 'alice' }]);
      } finally {
        readme.child.kill();
      }
    });

    it('the testing kit, with node:test (no mocha): fake, revoked, expired and tampered tokens', () => {
      const output = run(process.execPath, ['--test', '--test-reporter=tap', 'out/kit.test.js'], app);
      assert.match(output, /^# pass 2$/m, output);
      assert.match(output, /^# fail 0$/m, output);
    });
  });
});

/** The stack of a usage error thrown inside the package, with source maps on. */
function spawnStack(app: string): string {
  const script = "try { require('koa-jwt-extended').JwtManager.instance } catch (e) { console.log(e.stack) }";
  return run(process.execPath, ['--enable-source-maps', '-e', script], app);
}
