// Host-kernel profiles: the vGIC behaviour switches that changed across kernel versions
// (reference vgic-kvm-semantics.md §3.3). Register rows read these switches; a profile is
// data, not a copy of the model.

/** How a userspace write to GICD_IIDR is treated (vgic_mmio_uaccess_write_v{2,3}_misc). */
export type IidrUserWrite =
  | 'wi' // no uaccess handler yet: the write falls through to the guest handler, WI, returns 0
  | 'exact' // 32f8777ed92d: value must equal the current IIDR, else EINVAL
  | 'noop' // 49a1a2c70a7f..a0e6ae45af17: revision taken from the current value, so nothing changes
  | 'rev2-3' // a0e6ae45af17: revisions 2 and 3 selectable
  | 'rev1-3'; // Woodhouse v3 patch 1: revision 1 too

export interface HostProfile {
  readonly name: string;
  readonly description: string;
  /** Commits that bound the era, for the reader. */
  readonly kernelRef: string;
  /** d53c2c29ae0d: IGROUPR writable at all (before it: read-only for guest and userspace). */
  readonly groupsConfigurable: boolean;
  /** KVM_VGIC_IMP_REV_LATEST of that kernel: the revision a VM gets by default. */
  readonly latestRev: number;
  readonly iidrUserWrite: IidrUserWrite;
  /** v2 userspace IGROUPR writes: gated by v2_groups_user_writable ('flag') or by rev >= 2 ('rev'). */
  readonly v2UserGroupGate: 'flag' | 'rev';
  /** Woodhouse patch 1: vgic_mmio_write_group() ignores writes while the revision is below this. */
  readonly groupWriteMinRev: number;
  /** f26e6af75782 (6.17): GICD_IIDR/GICD_TYPER2 uaccess allowed before vgic_init (reg_allowed_pre_init). */
  readonly v3PreInitRegs: boolean;
  /** 49a1a2c70a7f: GICR_CTLR advertises IR|CES at revision 3. */
  readonly ctlrIrCesAtRev3: boolean;
  /** ac6769c8 (Feb 2026): implementation_rev set by kvm_vgic_create() rather than by vgic_init(). */
  readonly revAtCreate: boolean;
  /**
   * Userspace GICD_TYPER2 writes (vgic_mmio_uaccess_write_v3_misc): 'exact' = any value other
   * than the current one is EINVAL, before and after init (6.1, 6.12); 'nassgicap' = only
   * nASSGIcap may change, and only before init (EBUSY after), as 7.2 does.
   */
  readonly typer2UserWrite: 'exact' | 'nassgicap';
  /** KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ exists (absent in 6.1 and 6.12: ENXIO). */
  readonly maintIrqAttr: boolean;
  /** vgic_v2_cpu_registers has GIC_CPU_DEACTIVATE (GICC_DIR) for userspace (absent in 6.1, 6.12). */
  readonly v2CpuDirUaccess: boolean;
  /**
   * KVM_IRQ_LINE's order of checks (arm.c: kvm_vm_ioctl_irq_line) for PPIs and SPIs: 'vcpu-first'
   * looks the vCPU and the INTID up first and leaves vgic_lazy_init to kvm_vgic_inject_irq (6.1,
   * 6.12: EINVAL before EBUSY on an uninitialised GICv3, and a refused line never initialises a
   * GICv2); 'init-first' calls vgic_lazy_init before anything else (7.2). Measured (scenarios
   * v3-irq-line-order-before-init, v2-irq-line-lazy-init-*); unmeasured era profiles keep
   * 'vcpu-first'.
   */
  readonly irqLineOrder: 'vcpu-first' | 'init-first';
  /**
   * What KVM_IRQ_LINE's vCPU field names: 'id' (kvm_get_vcpu_by_id: 6.12, 7.2) or 'index' (6.1 and
   * before: kvm_get_vcpu for CPU lines; for PPIs the vCPU at that index passes its vcpu_id to
   * kvm_vgic_inject_irq, which takes it as an index again). Differs only when ids are not indices
   * (scenario v3-irq-line-vcpu-id).
   */
  readonly irqLineVcpu: 'id' | 'index';
}

/** The switches added for real kernels, as the newest kernels have them. */
const CURRENT = { typer2UserWrite: 'nassgicap', maintIrqAttr: true, v2CpuDirUaccess: true } as const;
/** ... and as older kernels (6.1, 6.12 and before) have them. */
const OLDER = { typer2UserWrite: 'exact', maintIrqAttr: false, v2CpuDirUaccess: false } as const;

export const PROFILES: readonly HostProfile[] = [
  {
    name: 'pre-groups',
    description: 'before interrupt groups were configurable (<= 4.18): IGROUPR read-only',
    kernelRef: 'before d53c2c29ae0d',
    groupsConfigurable: false,
    latestRev: 1,
    iidrUserWrite: 'wi',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: false,
    ctlrIrCesAtRev3: false,
    revAtCreate: false,
    ...OLDER,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'index',
  },
  {
    name: 'v2-groups-flag',
    description: 'v2_groups_user_writable era (4.19-5.18): v2 userspace IGROUPR gated by an IIDR write',
    kernelRef: 'd53c2c29ae0d, 32f8777ed92d .. before 49a1a2c70a7f',
    groupsConfigurable: true,
    latestRev: 2,
    iidrUserWrite: 'exact',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: false,
    ctlrIrCesAtRev3: false,
    revAtCreate: false,
    ...OLDER,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'index',
  },
  {
    name: 'iidr-noop',
    description: 'IIDR revision write accepted but silently changes nothing (5.19 .. Apr 2026)',
    kernelRef: '49a1a2c70a7f .. before a0e6ae45af17',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'noop',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: true,
    ctlrIrCesAtRev3: true,
    revAtCreate: true,
    ...CURRENT,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'id',
  },
  {
    name: 'iidr-fix',
    description: 'after the Apr 2026 fix: IIDR revisions 2 and 3 selectable',
    kernelRef: 'a0e6ae45af17',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'rev2-3',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: true,
    ctlrIrCesAtRev3: true,
    revAtCreate: true,
    ...CURRENT,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'id',
  },
  {
    name: 'series-p1',
    description: 'Woodhouse v3 patch 1: revision 1 selectable, groups read-only below revision 2',
    kernelRef: '[PATCH v3 1/4] KVM: arm64: vgic: Allow userspace to set IIDR revision 1',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'rev1-3',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 2,
    v3PreInitRegs: true,
    ctlrIrCesAtRev3: true,
    revAtCreate: true,
    ...CURRENT,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'id',
  },
  {
    name: 'series-p3',
    description: 'Woodhouse v3 patch 3: v2_groups_user_writable removed, groups follow the revision',
    kernelRef: '[PATCH v3 3/4] KVM: arm64: vgic: Remove v2_groups_user_writable',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'rev1-3',
    v2UserGroupGate: 'rev',
    groupWriteMinRev: 2,
    v3PreInitRegs: true,
    ctlrIrCesAtRev3: true,
    revAtCreate: true,
    ...CURRENT,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'id',
  },
  // Profiles named after real kernels: every switch is what `vgic-harness conformance` observed
  // on that Debian arm64 kernel under QEMU (README, "Conformance against real KVM").
  {
    name: 'linux-6.1.164',
    description: 'Debian 6.1.164 (bookworm): IIDR writes accepted but change nothing, v3 registers EBUSY before INIT',
    kernelRef: 'linux-image-6.1.0-44-arm64 6.1.164-1, measured',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'noop',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: false,
    ctlrIrCesAtRev3: true,
    revAtCreate: false,
    ...OLDER,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'index',
  },
  {
    name: 'linux-6.12.43',
    description: 'Debian 6.12.43 (bookworm-backports): before the IIDR fix reached stable, writes accepted but change nothing',
    kernelRef: 'linux-image-6.12.43+deb12-arm64 6.12.43-1~bpo12+1, measured',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'noop',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: false,
    ctlrIrCesAtRev3: true,
    revAtCreate: false,
    ...OLDER,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'id',
  },
  {
    name: 'linux-6.12.117',
    description: 'Debian 6.12.117 (trixie): IIDR revisions 2 and 3 selectable (fix backported), v3 registers EBUSY before INIT',
    kernelRef: 'linux-image-6.12.117+deb13-arm64 6.12.117-1, measured',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'rev2-3',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: false,
    ctlrIrCesAtRev3: true,
    revAtCreate: false,
    ...OLDER,
    irqLineOrder: 'vcpu-first',
    irqLineVcpu: 'id',
  },
  {
    name: 'linux-7.2.13',
    description: 'Debian 7.2.13 (sid): IIDR revisions 2 and 3 selectable, IIDR/TYPER2 accessible before INIT',
    kernelRef: 'linux-binary-7.2.13+deb14-arm64 7.2.13-1, measured',
    groupsConfigurable: true,
    latestRev: 3,
    iidrUserWrite: 'rev2-3',
    v2UserGroupGate: 'flag',
    groupWriteMinRev: 0,
    v3PreInitRegs: true,
    ctlrIrCesAtRev3: true,
    revAtCreate: true,
    ...CURRENT,
    irqLineOrder: 'init-first',
    irqLineVcpu: 'id',
  },
];

export const DEFAULT_PROFILE_NAME = 'series-p3';

export function findProfile(name: string): HostProfile | undefined {
  return PROFILES.find((p) => p.name === name);
}

/** The profile for a new VM: explicit name, else $VGIC_PROFILE, else the default. */
export function resolveProfile(name?: string): HostProfile {
  const wanted = name ?? process.env.VGIC_PROFILE ?? DEFAULT_PROFILE_NAME;
  const p = findProfile(wanted);
  if (!p) {
    throw new RangeError(
      `unknown host-kernel profile '${wanted}' (known: ${PROFILES.map((x) => x.name).join(', ')})`,
    );
  }
  return p;
}
