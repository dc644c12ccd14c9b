// The one-line progress display on stderr: only for a person watching a terminal. When stderr
// is a file or a pipe (CI logs) it prints nothing, so logs hold only the report itself.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export class Progress {
  readonly #out: ProgressStream;
  readonly #total: number;
  readonly #started = Date.now();
  readonly #running = new Set<string>();
  #done = 0;
  #timer: NodeJS.Timeout | null = null;
  #shown = false;

  constructor(out: ProgressStream, total: number) {
    this.#out = out;
    this.#total = total;
    if (out.isTTY === true && total > 0) {
      // Refresh the elapsed time even while nothing finishes; unref so it never keeps Node alive.
      this.#timer = setInterval(() => this.#render(), 250);
      this.#timer.unref();
    }
  }

  get enabled(): boolean {
    return this.#timer !== null;
  }

  started(name: string): void {
    this.#running.add(name);
    this.#render();
  }

  finished(name: string): void {
    this.#running.delete(name);
    this.#done++;
    this.#render();
  }

  /** Erase the line; call before anything else is printed to the same terminal. */
  clear(): void {
    if (this.#shown) this.#out.write('\r\x1b[K');
    this.#shown = false;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.clear();
  }

  #render(): void {
    if (this.#timer === null) return;
    const secs = ((Date.now() - this.#started) / 1000).toFixed(1);
    const names = [...this.#running].join(', ');
    let line = `[${this.#done}/${this.#total}] ${secs} s${names === '' ? '' : `  running: ${names}`}`;
    // columns is 0 or missing when the size is unknown (a pseudo-terminal without one).
    const width = Math.max(20, (this.#out.columns || 80) - 1);
    if (line.length > width) line = `${line.slice(0, width - 1)}…`;
    this.#out.write(`\r\x1b[K${line}`);
    this.#shown = true;
  }
}
