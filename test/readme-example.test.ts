// The README's guest/host example must keep working: extract the first ```ts block, run it as a
// selftest one directory below the project root (its imports are '../lib/...'), and require TAP
// with a passing case.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import t from 'tap';

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
    const r = await execa('node', ['--import=tsx', file], { cwd: ROOT, reject: false, env: { VGIC_PROFILE: 'series-p3' } });
    t.equal(r.exitCode, 0, 'exit status 0');
    t.match(r.stdout, /^ok 1 - IIDR revision 1/m, 'its case passes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
