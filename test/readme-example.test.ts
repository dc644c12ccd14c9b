// The README's guest/host example must keep working: extract the first ```ts block, run it as a
// selftest one directory below the project root (its imports are '../lib/...'), and require TAP
// with a passing case.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from './tap.ts';
import { collectSelftests } from '../lib/host/selftest.ts';

const ROOT = resolve(import.meta.dirname, '..');

t.setTimeout(60_000);
t.test('the README example runs and passes', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  t.ok(m, 'README has a ```ts block');
  const dir = mkdtempSync(join(ROOT, '.readme-example-'));
  try {
    const file = join(dir, 'example.ts');
    writeFileSync(file, m![1]!);
    // Collected and run in this process: the same cases and TAP as `node --import=tsx file`.
    const [example] = await collectSelftests(() => import(pathToFileURL(file).href));
    t.ok(example, 'the example declares a selftest');
    process.env.VGIC_PROFILE = 'series-p3';
    let stdout = '';
    const exitCode = await example!.run((text) => (stdout += text));
    t.equal(exitCode, 0, 'exit status 0');
    t.match(stdout, /^ok 1 - IIDR revision 1/m, 'its case passes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
