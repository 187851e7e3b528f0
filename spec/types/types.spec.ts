/**
 * The public types under a user's strict tsconfig: spec/types/app.ts (with its
 * `@ts-expect-error` wrong uses) and the named example files of the README and docs/ must compile with
 * zero diagnostics. `koa-jwt-extended` resolves to src/ here; the pack spec does
 * the same against the published .d.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { docExamples } from '../support/readme';

const ROOT = join(__dirname, '..', '..');

/** What a user's tsconfig.json says (the README's Install section), plus mocha's types for the testing example. */
const USER_OPTIONS: ts.CompilerOptions = {
  strict: true, experimentalDecorators: true, emitDecoratorMetadata: true, target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, esModuleInterop: true,
  skipLibCheck: true, noEmit: true, types: ['node', 'mocha'],
  paths: { 'koa-jwt-extended': [join(ROOT, 'src/index.ts')], 'koa-jwt-extended/testing': [join(ROOT, 'src/testing/index.ts')],
    'koa-jwt-extended/opentelemetry': [join(ROOT, 'src/opentelemetry/index.ts')],
  },
};

let previous: ts.Program | undefined;

function diagnostics(files: string[]): string[] {
  const program = ts.createProgram(files, USER_OPTIONS, undefined, previous); // reuses the parsed libraries
  previous = program;
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('types: a strict-mode app against the public API', function () {
  this.timeout(120_000); // the compiler over src/ and its dependencies' types
  const dir = join(ROOT, 'node_modules', '.cache', 'koa-jwt-extended-types', String(process.pid));
  const files: Record<string, string> = {};

  before(() => {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries({ ...docExamples(), 'wrong.ts': "import { createAccessToken } from 'koa-jwt-extended';\nvoid createAccessToken(true);\n" })) {
      files[name] = join(dir, name);
      writeFileSync(files[name], text);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('spec/types/app.ts compiles, and each of its wrong uses is an error', () => {
    assert.deepEqual(diagnostics([join(__dirname, 'app.ts')]), []);
  });

  it("the README's quickstart and the guides' named examples compile", () => {
    const examples = Object.keys(files).filter((name) => name !== 'wrong.ts').sort();
    assert.deepEqual(examples, ['app.ts', 'dpop-app.ts', 'observability.ts', 'openapi.ts', 'plain-app.ts', 'plain-koa.ts', 'profile.controller.ts', 'profile.spec.ts', 'telemetry.ts']);
    assert.deepEqual(diagnostics(examples.map((name) => files[name])), []);
  });

  it('a wrong use without its directive is reported (the check can fail)', () => {
    const found = diagnostics([files['wrong.ts']]);
    assert.equal(found.length, 1);
    assert.match(found[0], /wrong\.ts:2 Argument of type 'boolean' is not assignable to parameter of type 'string \| number \| object'/);
  });
});
