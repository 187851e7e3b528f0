/**
 * The API reference is generated from the TSDoc (`npm run docs`), so every public export
 * must carry its own: a summary on every export, and an `@example` on every function and
 * class (STYLE.md). Read with the compiler from the package's entry points.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const ENTRY_POINTS = ['src/index.ts', 'src/testing/index.ts', 'src/opentelemetry/index.ts'];

/** Every export of the entry points whose TSDoc lacks a summary, or an example where one is due. */
function undocumented(): string[] {
  const program = ts.createProgram(ENTRY_POINTS.map((file) => join(ROOT, file)), {
    strict: true, experimentalDecorators: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  for (const entry of ENTRY_POINTS) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, entry))!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = `${entry}: ${exported.name}`;
      if (symbol.getDocumentationComment(checker).length === 0) missing.push(`${name} has no TSDoc summary`);
      const needsExample = symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class);
      const tags = [...symbol.getJsDocTags(checker), ...(symbol.declarations ?? []).flatMap((d) => ts.getJSDocTags(d).map((t) => ({ name: t.tagName.text })))];
      if (needsExample && !tags.some((tag) => tag.name === 'example')) missing.push(`${name} has no @example`);
    }
  }
  return missing;
}

describe('docs: TSDoc on every public export', function () {
  this.timeout(60_000);

  it('has a summary on every export and an @example on every function and class', () => {
    assert.deepEqual(undocumented(), []);
  });
});
