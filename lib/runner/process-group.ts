// The selftests running right now, so that they are killed however the runner ends: a timeout,
// an interrupt, or the runner's own exit. Each entry kills one test and everything it started
// (its process group, its cgroup or its tracked processes: see reaper.ts).

const live = new Map<number, () => void>();
let nextId = 1;
let exitHookInstalled = false;

/** Register a running test's kill function; returns the id to untrack it with. */
export function trackTest(kill: () => void): number {
  const id = nextId++;
  live.set(id, kill);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Synchronous by necessity: 'exit' listeners cannot wait. The kills are synchronous too.
    process.on('exit', () => killAllTests());
  }
  return id;
}

export function untrackTest(id: number): void {
  live.delete(id);
}

/** Kill every test still running (interrupt or runner exit). */
export function killAllTests(): void {
  for (const kill of live.values()) kill();
  live.clear();
}
