// Where in guest or test source a failure happened, from a JS stack (tsx maps it to .ts lines).

import { readFileSync } from 'node:fs';

export interface SourceLocation {
  file: string;
  line: number;
  /** The trimmed source line, used as the assertion's expression text. */
  text: string;
}

const FRAME = /\(?((?:file:\/\/)?[^\s()]+\.[cm]?[tj]s):(\d+):(\d+)\)?\s*$/;

function relativePath(file: string): string {
  const f = file.replace(/^file:\/\//, '');
  const cwd = process.cwd() + '/';
  return f.startsWith(cwd) ? f.slice(cwd.length) : f;
}

const sourceCache = new Map<string, string[]>();

function sourceLine(file: string, line: number): string {
  let lines = sourceCache.get(file);
  if (!lines) {
    try {
      lines = readFileSync(file.replace(/^file:\/\//, ''), 'utf8').split('\n');
    } catch {
      lines = [];
    }
    sourceCache.set(file, lines);
  }
  return (lines[line - 1] ?? '').trim();
}

/** The location of a source line (file as a path or file:// URL, 1-based line), relative to cwd. */
export function locationAt(file: string, line: number): SourceLocation {
  return { file: relativePath(file), line, text: sourceLine(file, line) };
}

/**
 * The first stack frame outside the harness library (lib/) and Node internals: for a guest
 * assertion that is the guest's own file:line.
 */
export function callerLocation(stack: string | undefined): SourceLocation | undefined {
  if (!stack) return undefined;
  for (const raw of stack.split('\n').slice(1)) {
    const m = FRAME.exec(raw.trim());
    if (!m) continue;
    const file = m[1]!;
    if (file.startsWith('node:') || file.includes('/node_modules/')) continue;
    // Harness code is skipped, but a unit test living beside it (lib/**/*.test.ts) is guest/test code.
    if (/\/lib\/(kvm|vgic|guest|host|uapi)\//.test(file) && !/\.test\.[cm]?[tj]s$/.test(file)) continue;
    return locationAt(file, Number(m[2]));
  }
  return undefined;
}
