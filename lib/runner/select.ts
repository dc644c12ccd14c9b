// Selecting selftests by name or glob (`make run_tests TESTS="vgic_group_*"`). A pattern that
// matches nothing is an error rather than an empty, green run: a typo in CI must not pass.
import { UsageError } from './usage-error.ts';

/** Shell-style glob (`*`, `?`, `[abc]`, `[!abc]`) to an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Accept `selftests/vgic_init.ts` as well as `vgic_init`, so shell completion just works. */
export function normalizePattern(pattern: string): string {
  return pattern.replace(/^.*\//, '').replace(/\.ts$/, '');
}

/**
 * The items whose name matches any pattern, in their original (sorted) order, each once.
 * No patterns selects everything.
 */
export function selectByName<T extends { name: string }>(all: readonly T[], patterns: readonly string[]): T[] {
  if (patterns.length === 0) return [...all];
  const chosen = new Set<T>();
  for (const raw of patterns) {
    const re = globToRegExp(normalizePattern(raw));
    const hits = all.filter((x) => re.test(x.name));
    if (hits.length === 0) {
      const known = all.map((x) => x.name).join(', ') || '(none)';
      throw new UsageError(`no selftest matches '${raw}'; known selftests: ${known}`);
    }
    for (const h of hits) chosen.add(h);
  }
  return all.filter((x) => chosen.has(x));
}
