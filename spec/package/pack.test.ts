/**
 * The published package, as a new user gets it: `npm pack`, installed with its peers
 * into a fresh app, the README's quickstart and testing example compiled in strict mode
 * against the published types, then run. `npm run test:pack` (about a minute: not in `npm test`).
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { readmeExamples } from '../support/readme';

const ROOT = join(__dirname, '..', '..');
/** What the README's Install section tells a user to install, at the versions this repo tests. */
const APP_PACKAGES = ['koa', '@koa/router', 'koa-bodyparser', 'routing-controllers', 'reflect-metadata', 'class-validator', 'class-transformer'];
const DEV_PACKAGES = ['typescript', '@types/koa', '@types/node', 'mocha', '@types/mocha', 'supertest', '@types/supertest'];
const TSCONFIG = {
  compilerOptions: {
    experimentalDecorators: true, emitDecoratorMetadata: true, strict: true, target: 'ES2022', module: 'node16',
    esModuleInterop: true, outDir: 'out', skipLibCheck: false, types: ['node', 'mocha'],
  },
  include: ['*.ts'],
};

function pinned(name: string): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
  return `${name}@${version}`;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    if (child.exitCode !== null) throw new Error(`the quickstart exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${url}`);
}

describe('package: npm pack, installed into a fresh app', function () {
  this.timeout(300_000);
  let app: string;

  before(() => {
    app = mkdtempSync(join(tmpdir(), 'kje-pack-'));
    const tarball = run('npm', ['pack', '--silent', '--pack-destination', app], ROOT).trim().split('\n').pop()!;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-app', private: true, version: '1.0.0' }));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    for (const [name, text] of Object.entries(readmeExamples())) writeFileSync(join(app, name), text);
    const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
    run('npm', [...install, join(app, tarball), ...APP_PACKAGES.map(pinned)], app);
    run('npm', [...install, '--save-dev', ...DEV_PACKAGES.map(pinned)], app);
  });
  after(() => rmSync(app, { recursive: true, force: true }));

  it('uses the app\'s own koa, routing-controllers and reflect-metadata (peers, no second copy)', () => {
    const nested = join(app, 'node_modules', 'koa-jwt-extended', 'node_modules');
    for (const peer of ['koa', 'routing-controllers', 'reflect-metadata']) {
      assert.equal(existsSync(join(nested, peer)), false, `${peer} installed twice`);
      assert.equal(existsSync(join(app, 'node_modules', peer)), true, `${peer} missing`);
    }
  });

  it("compiles the README's quickstart and testing example in strict mode against the published types", () => {
    run('npx', ['tsc', '-p', '.'], app); // throws with tsc's diagnostics on any error
    assert.equal(existsSync(join(app, 'out', 'app.js')), true);
  });

  it('runs the quickstart: /protected refuses without a token and answers with the one /login gave', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['out/app.js'], { cwd: app, env: { ...process.env, PORT: String(port), JWT_SECRET: 'pack-secret-of-at-least-32-bytes!!' }, stdio: 'ignore' });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitForServer(`${base}/protected`, child);
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

/** The stack of a usage error thrown inside the package, with source maps on. */
function spawnStack(app: string): string {
  const script = "try { require('koa-jwt-extended').JwtManager.instance } catch (e) { console.log(e.stack) }";
  return run(process.execPath, ['--enable-source-maps', '-e', script], app);
}
