/**
 * `npm run demo`'s entry point, run as a process: it binds HOST (default 127.0.0.1, not every
 * interface) and keeps its Redis keys under REDIS_KEY_PREFIX.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, requireRedis, startStandalone, StandaloneRedis } from '../support/redis';

const ROOT = join(__dirname, '..', '..');

interface Demo {
  child: ChildProcess;
  /** What the demo printed when it started listening. */
  banner: string;
}

/** Starts demo/server.ts as `npm run demo` does (only `env` of the demo's variables set), resolving once it listens. */
function startDemo(env: Record<string, string>): Promise<Demo> {
  const inherited = { ...process.env };
  for (const name of ['HOST', 'PORT', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'JWT_SECRET']) delete inherited[name];
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'demo/server.ts'], {
    cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('koa-jwt-extended demo on') && output.includes('signing with')) resolve({ child, banner: output });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the demo exited with ${code}: ${output}`)));
  });
}

function stopDemo(demo: Demo | undefined): void {
  demo?.child.kill();
}

/** A GET to `host:port`; resolves with the status, or the connection error's code. */
function probe(host: string, port: number, path = '/'): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

async function postJson(port: number, path: string, body: unknown): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

function externalAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
}

describe('demo: the server process', function () {
  this.timeout(60_000);
  let demo: Demo | undefined;
  afterEach(() => stopDemo(demo));

  describe('without HOST', () => {
    let port: number;
    let plain: Demo | undefined;
    before(async () => {
      port = await freePort();
      plain = await startDemo({ PORT: String(port) });
    });
    after(() => stopDemo(plain));

    it('listens on 127.0.0.1', async () => {
      assert.match(plain!.banner, new RegExp(`on http://127\\.0\\.0\\.1:${port} \\(memory store`));
      assert.equal(await probe('127.0.0.1', port), 200);
    });

    it('is not reachable on another interface', async function () {
      const address = externalAddress();
      if (!address) this.skip(); // a machine with loopback only has nothing to prove here
      assert.equal(await probe(address!, port), 'ECONNREFUSED');
    });
  });

  it('HOST=0.0.0.0 listens on every interface', async function () {
    const address = externalAddress();
    if (!address) this.skip();
    const port = await freePort();
    demo = await startDemo({ PORT: String(port), HOST: '0.0.0.0' });
    assert.equal(await probe(address!, port), 200);
  });

  describe('its secret', () => {
    async function tokenOf(port: number): Promise<string> {
      const login = await postJson(port, '/login', { username: 'test', password: 'test' });
      assert.equal(login.status, 200);
      return login.body.access_token;
    }
    async function statusWith(port: number, token: string): Promise<number> {
      return (await fetch(`http://127.0.0.1:${port}/protected`, { headers: { authorization: `Bearer ${token}` } })).status;
    }
    let other: Demo | undefined;
    afterEach(() => stopDemo(other));

    it('without JWT_SECRET: a random one per run, said at start-up; another run refuses its tokens', async () => {
      const [first, second] = [await freePort(), await freePort()];
      demo = await startDemo({ PORT: String(first) });
      other = await startDemo({ PORT: String(second) });
      assert.match(demo.banner, /JWT_SECRET is not set: signing with a random secret made for this run/);
      const token = await tokenOf(first);
      assert.equal(await statusWith(first, token), 200);
      assert.equal(await statusWith(second, token), 422); // signed with the first run's secret
    });

    it('with JWT_SECRET: signs with it, and two runs accept each other\'s tokens', async () => {
      const secret = 'a-secret-for-this-test-only-0123456789abcdef';
      const [first, second] = [await freePort(), await freePort()];
      demo = await startDemo({ PORT: String(first), JWT_SECRET: secret });
      other = await startDemo({ PORT: String(second), JWT_SECRET: secret });
      assert.match(demo.banner, /signing with JWT_SECRET/);
      assert.doesNotMatch(demo.banner, new RegExp(secret));
      assert.equal(await statusWith(second, await tokenOf(first)), 200);
    });

    it('no file of demo/ holds a fixed secret', () => {
      const dir = join(ROOT, 'demo');
      for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
        const text = readFileSync(join(dir, file), 'utf8');
        assert.doesNotMatch(text, /secret\w*\s*(=|:|\?\?|\|\|)\s*['"`][^'"`\n]{16,}['"`]/i, file);
        assert.doesNotMatch(text, /super-secret/i, file);
      }
    });
  });

  describe('with REDIS_URL', () => {
    let redis: StandaloneRedis;
    let admin: Redis;

    before(async function () {
      requireRedis(this);
      redis = await startStandalone();
      admin = new Redis(redis.url);
    });
    after(async () => {
      admin?.disconnect();
      await redis?.server?.stop();
    });

    it('keeps its token records under REDIS_KEY_PREFIX, none under the default jwt:', async () => {
      const port = await freePort();
      const prefix = `kje-demo-${process.pid}:`;
      demo = await startDemo({ PORT: String(port), REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
      assert.match(demo.banner, new RegExp(`keys under ${prefix}`));
      const login = await postJson(port, '/login', { username: 'test', password: 'test' });
      assert.equal(login.status, 200);
      const { jti } = JSON.parse(Buffer.from(login.body.refresh_token.split('.')[1], 'base64url').toString()) as { jti: string };
      assert.deepEqual([await admin.exists(`${prefix}t:{${jti}}`), await admin.exists(`jwt:t:{${jti}}`)], [1, 0]);
    });
  });
});
