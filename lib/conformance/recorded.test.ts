// The model against real kernels without QEMU: every recording in scenarios/recorded/ (made by
// `vgic-harness conformance --record scenarios/recorded`) is replayed on the model with the
// profile named after its kernel, and every step must agree or be a known difference
// (scenarios/known-differences.yaml). A scenario edited since its recording fails with the
// command that re-records it.
import t from '../../test/tap.ts';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compareNormalised, describeDiff } from './compare.ts';
import { loadKnownDifferences } from './known.ts';
import { parseRecording, scenarioHash } from './record.ts';
import { profileForKernel, runModel } from './run.ts';
import { KNOWN_DIFFERENCES_FILE, SCENARIO_DIR, loadScenarios } from './scenarios.ts';

const dir = join(SCENARIO_DIR, 'recorded');
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
const known = loadKnownDifferences(KNOWN_DIFFERENCES_FILE);

t.ok(files.length >= 2, `at least one recording per GIC version (${files.join(', ')})`);

for (const f of files) {
  t.test(f, (t) => {
    const rec = parseRecording(readFileSync(join(dir, f), 'utf8'), f);
    const all = loadScenarios(rec.gic);
    const recorded = all.filter((s) => rec.scenarios.has(s.name));
    for (const name of rec.scenarios.keys()) {
      if (!all.some((s) => s.name === name)) t.fail(`${name} is recorded but no longer exists: re-record with vgic-harness conformance --kernel ${rec.kernel} --gic ${rec.gic} --record scenarios/recorded`);
    }
    const stale = recorded.filter((s) => rec.scenarios.get(s.name)!.hash !== scenarioHash(s));
    t.same(stale.map((s) => s.name), [], `no scenario changed since it was recorded (else: vgic-harness conformance --kernel ${rec.kernel} --gic ${rec.gic} --record scenarios/recorded)`);
    const profile = profileForKernel(rec.kernel, null);
    const model = runModel(recorded, profile, rec.gic, rec.kvmMode);
    let steps = 0;
    const unexplained: string[] = [];
    recorded.forEach((s, i) => {
      const c = compareNormalised(s, model[i]!, rec.scenarios.get(s.name)!.results, { gic: rec.gic, kernel: rec.kernel, known });
      steps += c.steps;
      unexplained.push(...c.diffs.filter((d) => d.known === null).map(describeDiff));
    });
    t.same(unexplained, [], `${steps} steps of real ${rec.release} (GICv${rec.gic}) (${rec.kvmMode}) on profile ${profile}: no unexplained difference`);
    t.ok(steps >= 1000, `${steps} steps compared (at least 1,000)`);
    t.end();
  });
}
