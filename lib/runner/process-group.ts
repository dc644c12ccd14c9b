// Every selftest runs as the leader of its own process group, so one kill(-pgid) reaches the
// test and anything it started. This module remembers the live groups so that they are killed
// however the runner ends: a timeout, an interrupt, or the runner's own exit.

const live = new Set<number>();
let exitHookInstalled = false;

/** Send a signal to a whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: nothing left in the group. (EPERM would mean the id now belongs to someone
    // else's group; either way there is nothing of ours to signal, and this runs in timer
    // callbacks where a throw would crash the run.)
    return false;
  }
}

export function trackGroup(pgid: number): void {
  live.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Synchronous by necessity: 'exit' listeners cannot wait. kill(2) is synchronous anyway.
    process.on('exit', () => killAllGroups());
  }
}

export function untrackGroup(pgid: number): void {
  live.delete(pgid);
}

/** SIGKILL every group still running (interrupt or runner exit). */
export function killAllGroups(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
}
