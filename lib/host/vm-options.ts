// The VM options a port passes to vm_create*() (and to `new KvmVm()`), checked at lib/host's
// boundary: a wrong option is a port bug (TestAssertionFailure), never a JS error from deep inside
// the model.

import type { VmOptions } from '../kvm/vm.ts';
import { findProfile, PROFILES } from '../vgic/profiles.ts';
import { type Gicv5HostOptions, resolveGicv5Host } from '../vgic/v5/host.ts';
import { badArg, objectArg, readProps } from './args.ts';

/**
 * The VM options, checked: a wrong option is a port bug (TestAssertionFailure), never a JS error
 * from deep inside the model. Only the known keys are copied, each read once.
 */
export function vmOptions(opts: unknown, fn: string): VmOptions {
  if (opts === undefined || opts === null) return {};
  const o = readProps(objectArg(opts, fn, 'opts'), ['ipaBits', 'priBits', 'idBits', 'profile', 'gicv2Compat', 'directSgis', 'vhe', 'accessBudget', 'gicv5'], fn, 'opts');
  const out: VmOptions = {};
  const ipaBits = o.ipaBits;
  if (ipaBits !== undefined) {
    // KVM_CREATE_VM's IPA size: kvm_init_stage2_mmu() accepts 32 bits up to the host's limit (52).
    if (typeof ipaBits !== 'number' || !Number.isInteger(ipaBits) || ipaBits < 32 || ipaBits > 52) badArg(fn, 'opts.ipaBits', ipaBits, 'an integer from 32 to 52');
    out.ipaBits = ipaBits;
  }
  const priBits = o.priBits;
  if (priBits !== undefined) {
    if (priBits !== 5 && priBits !== 6 && priBits !== 7) badArg(fn, 'opts.priBits', priBits, '5, 6 or 7');
    out.priBits = priBits;
  }
  const idBits = o.idBits;
  if (idBits !== undefined) {
    if (idBits !== 16 && idBits !== 24) badArg(fn, 'opts.idBits', idBits, '16 or 24');
    out.idBits = idBits;
  }
  const profile = o.profile;
  if (profile !== undefined) {
    if (typeof profile !== 'string' || !findProfile(profile)) badArg(fn, 'opts.profile', profile, `a host-kernel profile (${PROFILES.map((p) => p.name).join(', ')})`);
    out.profile = profile;
  }
  for (const key of ['gicv2Compat', 'directSgis', 'vhe'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') badArg(fn, `opts.${key}`, v, 'a boolean');
    out[key] = v;
  }
  const gicv5 = o.gicv5;
  if (gicv5 !== undefined) {
    // A GICv5 host (lib/vgic/v5/host.ts): its own checks, reported like every other bad option.
    if (typeof gicv5 !== 'object' || gicv5 === null) badArg(fn, 'opts.gicv5', gicv5, 'GICv5 host options (an object)');
    try {
      resolveGicv5Host(gicv5 as Gicv5HostOptions);
    } catch (e) {
      badArg(fn, 'opts.gicv5', gicv5, `valid GICv5 host options (${e instanceof Error ? e.message : String(e)})`);
    }
    out.gicv5 = gicv5 as Gicv5HostOptions;
  }
  const budget = o.accessBudget;
  if (budget !== undefined) {
    if (typeof budget !== 'number' || !(budget >= 1) || !Number.isInteger(budget)) badArg(fn, 'opts.accessBudget', budget, 'a positive integer');
    out.accessBudget = budget;
  }
  return out;
}
