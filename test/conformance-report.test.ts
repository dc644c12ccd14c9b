// A conformance run's report in every format: KTAP checked by the independent grammar checker,
// TAP by node-tap's parser (through the runner's strict reading). No QEMU: the outcome is built
// from a scenario and made-up results, one of them a difference.
import t from './tap.ts';
import { compareNormalised } from '../lib/conformance/compare.ts';
import { parseKnownDifferences } from '../lib/conformance/known.ts';
import { parseScenarios } from '../lib/conformance/language.ts';
import { type PairOutcome, pairResult } from '../lib/conformance/run.ts';
import { reporterFor } from '../lib/report/formats.ts';
import { summarize } from '../lib/report/summary.ts';
import { parseChildTap } from '../lib/runner/child-tap.ts';
import { checkKtap } from './ktap-grammar.ts';

const [s] = parseScenarios('scenario demo\nvm\nvcpu 0\ndevice v3\nget dist GICD_IIDR\n', 'demo.scn', 'demo');
const known = parseKnownDifferences('[]', 'k.yaml');
const cmp = compareNormalised(s!, [{ k: 'ok' }, { k: 'ok' }, { k: 'ok' }, { k: 'val', v: 0x4b00343bn }], ['ok', 'ok', 'ok', 'EBUSY'], { gic: 3, kernel: '6.12.117', known });

function outcome(differences: number): PairOutcome {
  return {
    kernel: '6.12.117', gic: 3, profile: 'linux-6.12.117', release: '6.12.117+deb13-arm64', steps: 4, differences, known: 0,
    comparisons: [differences ? cmp : { ...cmp, diffs: [] }], bootMs: 3000, runMs: 100, modelMs: 5, problem: null,
  };
}

t.test('a difference is a failing case naming the step; KTAP and TAP are well formed', async (t) => {
  t.equal(cmp.diffs.length, 1);
  t.match(cmp.diffs[0]!, { index: 3, model: '0x4b00343b', kvm: 'EBUSY' });
  for (const diff of [1, 0]) {
    const r = pairResult(outcome(diff), 'vhe', false);
    t.equal(r.status, diff ? 'fail' : 'pass');
    for (const format of ['ktap', 'tap'] as const) {
      const rep = reporterFor(format);
      const text = rep.begin({ seed: 0, total: 1, shard: null, profile: null, timeoutOverrideSec: null, startedAt: new Date(0) }) + rep.result(r, 1) + rep.end(summarize([r], 1));
      if (diff) t.match(text, /step 4 \(demo\.scn:5\) get dist GICD_IIDR: model 0x4b00343b, kvm EBUSY/, `${format}: the difference is named`);
      t.match(text, /4 steps, \d differences \(0 known\)/, `${format}: the summary line`);
      if (format === 'ktap') t.same(checkKtap(text).errors, [], 'KTAP grammar');
      else t.ok((await parseChildTap(text)).valid, 'valid TAP');
    }
  }
  t.end();
});
