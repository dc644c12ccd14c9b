// The 'restore' suite's test files in one process (test/suites/index.ts).
import { runSuite } from './suite.ts';

await runSuite('restore');
