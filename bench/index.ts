// `make bench`: absolute figures with their spread and the machine's load, ratios against a
// baseline measured in the same process (these alone set the exit status), and a JSON document
// as the last block of stdout. See bench/run.ts.

// lib/snapshot reaches lib/host/index.ts, which loads node-tap; its root test would time out a
// run longer than 30 s. Set before the benchmarks are imported (hence the dynamic import).
process.env.TAP_TIMEOUT ??= '0';
const { runBenchmarks } = await import('./run.ts');
process.exitCode = await runBenchmarks();
