/**
 * Compiles src/ to JavaScript once per test run (transpile only, as mocha runs it), so
 * a spec can spawn a real `node` on the compiled CLI without paying ts-node per spawn.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const SOURCES = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * Writes src/ as CommonJS under the repo's node_modules/.cache (so the compiled files
 * resolve the repo's dependencies) and returns that folder; `cleanup()` removes it.
 *
 * @example const { outDir, cleanup } = compileSources(); spawn('node', [join(outDir, 'cli.js')])
 */
export function compileSources(): { outDir: string; cleanup: () => void } {
  const outDir = join(ROOT, 'node_modules', '.cache', 'koa-jwt-extended-spec', String(process.pid));
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true,
    experimentalDecorators: true, emitDecoratorMetadata: true,
  };
  for (const file of sourceFiles(SOURCES)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    const target = join(outDir, relative(SOURCES, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return { outDir, cleanup: () => rmSync(outDir, { recursive: true, force: true }) };
}
