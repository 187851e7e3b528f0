/**
 * In its own process: code that wraps routing-controllers' `KoaDriver.prototype.registerAction`
 * before this library is loaded (an instrumentation started with `-r`), the way outside attack
 * helper-45 did: one wrapper answers GETs from a cache of the execute callback's results, another
 * adds a before-middleware to every action. The guard must still run first. Prints one JSON line.
 */
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as RoutingControllers from 'routing-controllers';

const seen: string[] = [];
const cache = new Map<string, unknown>();
type Register = (action: { uses: unknown[]; target: Function }, execute: (options: { context: { method: string; url: string } }) => unknown) => unknown;
const original = RoutingControllers.KoaDriver.prototype.registerAction as unknown as Register;
(RoutingControllers.KoaDriver.prototype as unknown as { registerAction: Register }).registerAction = function cachingRegister(action, execute) {
  action.uses.push({ target: action.target, middleware: (ctx: { state: { jwt?: { sub?: string } } }, next: () => unknown) => {
    seen.push(`audit ${ctx.state.jwt?.sub ?? '-'}`);
    return next();
  }, afterAction: false });
  return original.call(this, action, async (options) => {
    const key = `${options.context.method} ${options.context.url}`;
    if (!cache.has(key)) cache.set(key, await execute(options));
    return cache.get(key);
  });
};

async function main(): Promise<void> {
  // the library after the wrapper: its hooks wrap what they find
  const { Get, JsonController, createKoaServer } = RoutingControllers;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded after the wrapper on purpose */
  const { Identity, JwtManager, JwtRequired } = require('../../src') as typeof import('../../src');
  const { fakeAccessToken } = require('../../src/testing') as typeof import('../../src/testing');
  /* eslint-enable @typescript-eslint/no-require-imports */
  JwtManager.configure({ secret: 'driver-wrapper-secret-0123456789-abcd' });

  @JsonController('/payroll')
  class PayrollController {
    @Get('/alice')
    @JwtRequired()
    alice(@Identity() identity: string) {
      seen.push(`handler ${identity}`);
      return { salary: 123456 };
    }
  }

  const server = (createKoaServer({ controllers: [PayrollController] }) as { listen(port: number): http.Server }).listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const get = (authorization?: string) => new Promise<number>((resolve, reject) => {
    http.get({ port, path: '/payroll/alice', headers: authorization ? { authorization } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
  const statuses = [await get(`Bearer ${await fakeAccessToken('alice')}`), await get(), await get('Bearer x.y.z')];
  server.close();
  process.stdout.write(`${JSON.stringify({ statuses, seen })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
