/**
 * Runs the Redis specs against ioredis 6 (the `ioredis6` alias devDependency) instead of the
 * locked ioredis 5: every `require('ioredis')`, the stores' and the specs' own, resolves to
 * ioredis 6. Loaded by `npm run test:ioredis6` (mocha `--require`), before any spec; plain
 * JavaScript because mocha loads a command-line `--require` before ts-node is registered.
 */
'use strict';
const Module = require('node:module');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const mapped = request === 'ioredis' || request.startsWith('ioredis/') ? `ioredis6${request.slice('ioredis'.length)}` : request;
  return resolveFilename.call(this, mapped, ...rest);
};

// fails the run at once if the switch did not take (a run "against 6" that used 5 proves nothing)
const { version } = require('ioredis/package.json');
if (!version.startsWith('6.')) throw new Error(`ioredis6 switch: ioredis resolves to ${version}, not 6`);
console.log(`  Redis specs on ioredis ${version}`);
