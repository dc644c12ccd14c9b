// The `t` of a test file that runs inside a suite (test/suites/): instead of `import t from
// 'tap'`, such a file imports `t` from here. Run alone (`npx tap lib/vgic/cpuif.test.ts`, or
// `node --import=tsx lib/vgic/cpuif.test.ts`) it is node-tap's root test, exactly as before; when
// a suite imports the file, it is the suite's subtest for that file, so the file's top-level
// `t.test(...)`, `t.setTimeout(...)` and `t.teardown(...)` stay grouped under the file's name.
// This works because an exported `let` is a live binding: every importer sees the current value.
import root, { type Test } from 'tap';

let t: Test = root;
export { t as default };

/** The suite runner (test/suites/suite.ts) makes `sub` the `t` of the file it imports next;
 * `null` gives node-tap's root test back. */
export function setFileTest(sub: Test | null): void {
  t = sub ?? root;
}
