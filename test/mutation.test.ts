// Mutation checks: break one KVM rule in a copy of the model and require that a selftest
// notices. A mutation whose text no longer matches the source fails loudly, so this list is
// kept in step with the code.

import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import t from 'tap';

const root = resolve(import.meta.dirname, '..');

export interface Mutation {
  name: string;
  file: string;
  from: string;
  to: string;
  /** Selftest that must fail once the rule is broken. */
  selftest: string;
  env?: Record<string, string>;
}

export const MUTATIONS: Mutation[] = [
  {
    name: 'revision 1 may write IGROUPR (vgic_mmio_write_group gate removed)',
    file: 'lib/vgic/mmio.ts',
    from: 'if (dist.implementationRev < dist.profile.groupWriteMinRev) return;',
    to: '',
    selftest: 'vgic_group_iidr',
  },
  {
    name: 'v2 userspace IGROUPR gate inverted',
    file: 'lib/vgic/mmio-v2.ts',
    from: ": dist.implementationRev >= 2;",
    to: ': dist.implementationRev < 2;',
    selftest: 'vgic_group_v2',
  },
  {
    name: 'GICR_CTLR shows IR|CES below revision 3',
    file: 'lib/vgic/mmio-v3.ts',
    from: 'dist.implementationRev >= KVM_VGIC_IMP_REV_3',
    to: 'dist.implementationRev >= 1',
    selftest: 'vgic_group_iidr',
  },
  {
    name: 'userspace IIDR write ignores the written revision',
    file: 'lib/vgic/iidr.ts',
    from: "p.iidrUserWrite === 'noop' ? current : val",
    to: 'current',
    selftest: 'vgic_group_iidr',
  },
];

function mutatedCopy(m: Mutation): string {
  const dir = mkdtempSync(join(tmpdir(), 'vgic-mutant-'));
  cpSync(root, dir, {
    recursive: true,
    filter: (src) => !/\/(node_modules|\.git|\.tap)(\/|$)/.test(src.slice(root.length)),
  });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const path = join(dir, m.file);
  const text = readFileSync(path, 'utf8');
  const hits = text.split(m.from).length - 1;
  if (hits !== 1) throw new Error(`mutation '${m.name}': expected exactly one match of ${JSON.stringify(m.from)} in ${m.file}, found ${hits}`);
  writeFileSync(path, text.replace(m.from, m.to));
  return dir;
}

export async function runMutant(m: Mutation): Promise<{ exitCode: number; output: string }> {
  const dir = mutatedCopy(m);
  try {
    const r = await execa('node', ['--import=tsx', `selftests/${m.selftest}.ts`], {
      cwd: dir,
      reject: false,
      all: true,
      timeout: 60_000,
      env: { VGIC_PROFILE: 'series-p3', ...m.env },
    });
    return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.setTimeout(300_000);
for (const m of MUTATIONS) {
  t.test(m.name, async (tt) => {
    const r = await runMutant(m);
    tt.not(r.exitCode, 0, `${m.selftest} fails when the model is mutated (exit ${r.exitCode})`);
    tt.match(r.output, /not ok/, 'the failure is reported in TAP');
  });
}
