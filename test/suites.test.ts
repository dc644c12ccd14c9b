// Every unit-test file runs exactly once in `make check`: in a process of its own (listed in
// package.json's tap.include) or in exactly one suite (test/suites/index.ts), and a suite's
// files take their `t` from test/tap.ts so that their tests are grouped under the file's name.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from './tap.ts';
import { DEFAULT_VGIC_NOT_NEEDED, OWN_PROCESS, SUITES } from './suites/index.ts';
import { ROOT, allTestFiles, ownerOf, suiteFiles } from './suites/suite.ts';

const files = allTestFiles();

t.test('each test file runs once: in its own process or in one suite', async (t) => {
  const unassigned = files.filter((f) => !OWN_PROCESS.includes(f) && ownerOf(f) === null);
  t.same(unassigned, [], 'no test file is left out (add it to a suite or OWN_PROCESS in test/suites/index.ts)');
  t.same(OWN_PROCESS.filter((f) => !files.includes(f)), [], 'every OWN_PROCESS file exists');
  const inSuites = Object.keys(SUITES).flatMap((s) => suiteFiles(s, files));
  t.same(inSuites.filter((f, i) => inSuites.indexOf(f) !== i), [], 'no file is in two suites');
  t.same([...inSuites, ...OWN_PROCESS].sort(), files, 'suites and OWN_PROCESS together are every test file');
  for (const [suite, entries] of Object.entries(SUITES)) {
    for (const e of entries) t.ok(suiteFiles(suite, files).some((f) => ownerOf(f)?.entry === e), `${suite}: '${e}' names test files`);
  }
  t.same(DEFAULT_VGIC_NOT_NEEDED.filter((f) => !inSuites.includes(f)), [], 'DEFAULT_VGIC_NOT_NEEDED names suite files only');
});

t.test('package.json runs the suites and the OWN_PROCESS files, nothing else', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { tap: { include: string[] } };
  t.same(pkg.tap.include, ['test/suites/*.test.ts', ...OWN_PROCESS]);
  const runners = readdirSync(join(ROOT, 'test', 'suites')).filter((f) => f.endsWith('.test.ts'));
  t.same(runners.sort(), Object.keys(SUITES).map((s) => `${s}.test.ts`).sort(), 'one test/suites/<name>.test.ts per suite');
  for (const r of runners) {
    const name = r.replace(/\.test\.ts$/, '');
    t.match(readFileSync(join(ROOT, 'test', 'suites', r), 'utf8'), new RegExp(`^await runSuite\\('${name}'\\);$`, 'm'), `${r} runs suite ${name}`);
  }
});

t.test("a suite's files take t from test/tap.ts, not from 'tap'", async (t) => {
  for (const f of Object.keys(SUITES).flatMap((s) => suiteFiles(s, files))) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    t.notMatch(src, /^import t\b[^;]*from 'tap';/m, `${f}: not node-tap's root test`);
    t.match(src, /^import t from '(\.\/|(\.\.\/)+test\/)tap\.ts';/m, `${f}: imports t from test/tap.ts`);
  }
});
