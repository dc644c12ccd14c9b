// Which process runs each unit-test file. Every node-tap test file costs a process: about 0.9 s
// of CPU (node, the tsx loader hook, node-tap and the model's modules) before its first test,
// more than most files' tests take. So the small files run in suites: one process per suite,
// the files one after another, each under a subtest named after the file (test/suites/suite.ts).
// The files that mostly wait on child processes, or that spawn workers, keep a process of their
// own, so node-tap runs them beside the suites.
//
// `make check` and `npx tap` run what package.json's tap.include lists: test/suites/*.test.ts
// and OWN_PROCESS. Any one file still runs alone: `npx tap lib/vgic/cpuif.test.ts`.
// test/suites.test.ts checks that every test file is run exactly once, and that package.json
// agrees with this file.

/** Test files with a process of their own, in package.json's tap.include after the suites. */
export const OWN_PROCESS: readonly string[] = [
  'test/mutation.test.ts',
  'test/runner-cli.test.ts',
  'test/runner-formats.test.ts',
  'test/runner-processes.test.ts',
  'test/selftest-wrapper.test.ts',
];

/**
 * Suite name -> its files, in the order they run: an entry ending in '/' stands for every
 * `*.test.ts` below that directory (sorted), any other entry for one file. A file matched by
 * several entries belongs to the longest one, so a file named on its own can be moved behind
 * the rest of its directory. test/suites/<name>.test.ts runs the suite.
 *
 * testDisableDefaultVgic() lasts for the rest of the process, as in kvm_util, and every
 * selftest's main() calls it: a file that runs a selftest in this process, or calls it itself,
 * goes after the files that need the default vGIC (the suite checks, see DEFAULT_VGIC_NOT_NEEDED).
 */
export const SUITES: Readonly<Record<string, readonly string[]>> = {
  vgic: ['lib/vgic/'],
  // lib/host/threads.test.ts (testDisableDefaultVgic) sorts last.
  kvm: ['lib/guest/', 'lib/kvm/', 'lib/host/'],
  snapshot: ['lib/snapshot/'],
  // The three longest snapshot files, in a process of their own so that the two halves of
  // lib/snapshot run side by side; lifetime.test.ts ends with testDisableDefaultVgic().
  restore: ['lib/snapshot/roundtrip.test.ts', 'lib/snapshot/hardening.test.ts', 'lib/snapshot/lifetime.test.ts'],
  reports: [
    'lib/conformance/',
    'test/conformance-report.test.ts',
    'test/ktap-grammar.test.ts',
    'test/report.test.ts',
    'test/runner-units.test.ts',
    'test/suites.test.ts',
  ],
  selftests: [
    'test/kut-gic-its.test.ts',
    'test/vgic-irq-sites.test.ts',
    'test/vgic-lpi-stress.test.ts',
    // These run selftests in this process.
    'test/readme-example.test.ts',
    'test/vgic-init-counts.test.ts',
    'test/vgic-irq-determinism.test.ts',
  ],
};

/**
 * Files that may start with the default vGIC already off: they turn it off themselves (every
 * selftest's main() does) before they make a VM. Before any other file of a suite, the suite
 * checks that the default vGIC is still on.
 */
export const DEFAULT_VGIC_NOT_NEEDED: readonly string[] = [
  'lib/host/threads.test.ts',
  'test/readme-example.test.ts',
  'test/vgic-init-counts.test.ts',
  'test/vgic-irq-determinism.test.ts',
];
