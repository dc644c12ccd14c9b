// Which reporter prints which --format, in one place for the CLI and its tests.
import { HumanReporter } from './human.ts';
import { JsonReporter } from './json.ts';
import { JunitReporter } from './junit.ts';
import { KtapReporter } from './ktap.ts';
import type { Naming, Reporter } from './model.ts';
import { TapReporter } from './tap.ts';

export type ReportFormat = 'tap' | 'tap13' | 'ktap' | 'junit' | 'human' | 'json';

export function reporterFor(format: ReportFormat, naming: Naming = 'plain'): Reporter {
  switch (format) {
    case 'tap':
      return new TapReporter(14, naming);
    case 'tap13':
      return new TapReporter(13, naming);
    case 'ktap':
      return new KtapReporter(naming);
    case 'junit':
      return new JunitReporter();
    case 'human':
      return new HumanReporter(naming);
    case 'json':
      return new JsonReporter();
  }
}
