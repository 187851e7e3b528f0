/**
 * The documentation's compiled examples: each ```ts block whose first line is `// <file>.ts`
 * is a whole file of an app, so specs can compile (and run) exactly what users copy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = /```ts\n\/\/ ([\w.-]+\.ts)\b[^\n]*\n([\s\S]*?)```/g;

/** The example files of one Markdown file (path from the repository root), by name. */
function examplesOf(file: string, into: Record<string, string>): Record<string, string> {
  for (const match of readFileSync(join(ROOT, file), 'utf8').matchAll(EXAMPLE)) {
    if (into[match[1]] !== undefined) throw new Error(`two examples are named ${match[1]} (the second in ${file})`);
    into[match[1]] = match[2];
  }
  return into;
}

/**
 * The examples a new user copies first, by name: the README's quickstart (`app.ts`) and the
 * testing guide's controller and spec. They need only what the README's Install section installs.
 *
 * @example const { 'app.ts': quickstart } = readmeExamples()
 */
export function readmeExamples(): Record<string, string> {
  return examplesOf(join('docs', 'testing.md'), examplesOf('README.md', {}));
}

/**
 * Every named example of the README and of `docs/*.md`, by name (names are unique across files).
 *
 * @example const { 'plain-koa.ts': plainKoa } = docExamples()
 */
export function docExamples(): Record<string, string> {
  const examples = readmeExamples();
  for (const file of readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).sort()) {
    if (file !== 'testing.md') examplesOf(join('docs', file), examples);
  }
  return examples;
}
