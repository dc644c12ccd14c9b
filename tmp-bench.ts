import { benchLpiStress } from './bench/lpi-stress.bench.ts';
const l = benchLpiStress();
for (const f of l.figures) console.log(f.args, 'wall', f.median, f.min, f.max, 'cpu', f.cpuMedian, f.cpuMin, f.cpuMax, f.takenFraction);
console.log('ratio cpu', l.worstRatio, l.worstArgs, 'wall', l.wallRatio);
