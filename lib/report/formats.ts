// Which reporter prints which --format, in one place for the CLI and its tests.
import { HumanReporter } from './human.ts';
import { JunitReporter } from './junit.ts';
import { KtapReporter } from './ktap.ts';
import type { Reporter } from './model.ts';
import { TapReporter } from './tap.ts';

export type ReportFormat = 'tap' | 'ktap' | 'junit' | 'human';

export function reporterFor(format: ReportFormat): Reporter {
  switch (format) {
    case 'tap':
      return new TapReporter();
    case 'ktap':
      return new KtapReporter();
    case 'junit':
      return new JunitReporter();
    case 'human':
      return new HumanReporter();
  }
}
