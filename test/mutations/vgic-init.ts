// The userspace ABI rules vgic_init exercises, as mutations (run by test/mutation.test.ts): each
// changes one errno or one redistributor placement rule of the model, and selftests/vgic_init.ts
// must fail. Each entry names the kernel function whose rule it breaks.

import type { Mutation } from '../mutant.ts';

const m = (name: string, file: string, from: string, to: string, env?: Record<string, string>): Mutation => ({
  name,
  file,
  from,
  to,
  selftest: 'vgic_init',
  ...(env ? { env } : {}),
});

const ADDR = 'lib/vgic/addr.ts';
const INIT = 'lib/vgic/init.ts';
const DEV = 'lib/vgic/kvm-device.ts';
const V3 = 'lib/vgic/mmio-v3.ts';
const SYSREGS = 'lib/vgic/cpuif-regs.ts';

export const VGIC_INIT_MUTATIONS: Mutation[] = [
  // --- errnos: KVM_DEV_ARM_VGIC_GRP_ADDR (vgic-kvm-device.c, vgic-mmio-v3.c) -----------------
  m('vgic_check_iorange: an address set twice is EEXIST', ADDR,
    'if (current !== ADDR_UNDEF) return -EEXIST;', 'if (current !== ADDR_UNDEF) return -EINVAL;'),
  m('vgic_check_iorange: a misaligned base is EINVAL', ADDR,
    'if (addr % align !== 0n || size % align !== 0n) return -EINVAL;', 'if (addr % align !== 0n || size % align !== 0n) return -E2BIG;'),
  m('vgic_check_iorange: a base beyond the IPA size is E2BIG', ADDR,
    'if (addr & ~(physSize - 1n) || end > physSize) return -E2BIG;', 'if (addr & ~(physSize - 1n) || end > physSize) return -EINVAL;'),
  m('vgic_check_iorange: base + size beyond the IPA size is E2BIG', ADDR,
    '|| end > physSize)', ')'),
  m('vgic_v3_alloc_redist_region: the first region must have index 0', ADDR,
    'if (index !== 0) return -EINVAL;', ''),
  m('vgic_v3_alloc_redist_region: legacy and counted regions cannot be mixed', ADDR,
    "if (!count && last.count) return -EINVAL; // don't mix legacy and counted regions", ''),
  m('vgic_v3_alloc_redist_region: each index is the last one + 1', ADDR,
    'if (index !== last.index + 1) return -EINVAL;', ''),
  m('vgic_v3_alloc_redist_region: overlapping regions are EINVAL', ADDR,
    'if (rdistOverlap(dist, b, Number(size))) return -EINVAL;', ''),
  m('vgic_register_redist_iodev: a region colliding with the distributor is EINVAL', ADDR,
    'if (!v3CheckBase(dist)) return -EINVAL;', ''),
  m('kvm_vgic_addr: reading a missing redistributor region is ENOENT', ADDR,
    'if (!r) return done(-ENOENT);', 'if (!r) return done(-EINVAL);'),
  // --- placement rules ---------------------------------------------------------------------------
  m('vgic_v3_set_redist_base: redistributors are placed in vCPU creation order, not id order', ADDR,
    'for (const v of dist.vcpus) {\n    ret = registerRedist(dist, v);',
    'for (const v of [...dist.vcpus].sort((a, b) => a.vcpuId - b.vcpuId)) {\n    ret = registerRedist(dist, v);'),
  m('vgic_v3_rd_region_size: a legacy region grows with the vCPU count', ADDR,
    'return (r.count ? r.count : dist.vcpus.length) * KVM_VGIC_V3_REDIST_SIZE;', 'return (r.count ? r.count : 1) * KVM_VGIC_V3_REDIST_SIZE;'),
  m('vgic_v3_rdist_free_slot: a legacy region is never full', ADDR,
    '(r) => !r.count || r.freeIndex < r.count', '(r) => r.freeIndex < r.count'),
  m('vgic_mmio_vcpu_rdist_is_last: only the last filled slot is Last', V3,
    'if (vcpu.rdregIndex < rdreg.freeIndex - 1) return false;', ''),
  m('vgic_mmio_vcpu_rdist_is_last: a contiguous region in use clears Last', V3,
    'for (const r of dist.rdRegions) if (r.base === end && r.freeIndex > 0) return false;', ''),
  m('vgic_mmio_vcpu_rdist_is_last: no region yet, never Last', V3,
    'if (!rdreg) return false;', 'if (!rdreg) return true;'),
  m('vgic_mmio_read_v3r_typer: Processor_Number is the vcpu_id, not the creation index', V3,
    'let lo = (vcpu.vcpuId & 0xffff) << 8;', 'let lo = (vcpu.vcpuIdx & 0xffff) << 8;'),
  // --- device creation and first KVM_RUN (vgic-init.c) ------------------------------------------
  m('kvm_vgic_create: a second GIC is EEXIST', INIT,
    'if (dist.created) return -EEXIST;', 'if (dist.created) return -EINVAL;'),
  m('kvm_ioctl_create_device: an unknown device type is ENODEV', DEV,
    '  }\n  return -ENODEV;\n}', '  }\n  return -ENXIO;\n}'),
  m('vgic_v3_map_resources: a vCPU without a redistributor is ENXIO', INIT,
    'if (v.rdBase === ADDR_UNDEF) return -ENXIO;', 'if (v.rdBase === ADDR_UNDEF) return -EINVAL;'),
  m('vgic_v3_map_resources: dist/redist overlap is EINVAL', INIT,
    'if (!v3CheckBase(dist)) return -EINVAL;', 'if (!v3CheckBase(dist)) return -ENXIO;'),
  m('vgic_v3_map_resources: an uninitialised GICv3 is EBUSY', INIT,
    'if (!dist.initialized) return -EBUSY;', ''),
  m('vgic_v3_map_resources: ENXIO and EINVAL are checked before EBUSY', INIT,
    "  if (dist.model === 'v3') {\n    for (const v of dist.vcpus)",
    "  if (dist.model === 'v3') {\n    if (!dist.initialized) return -EBUSY;\n    for (const v of dist.vcpus)"),
  m('vgic_v2_map_resources: dist/cpu overlap is EINVAL', INIT,
    'if (!v2CheckBase(dist.distBase, dist.cpuBase)) return -EINVAL;', ''),
  // --- register and attribute access (vgic-kvm-device.c) ----------------------------------------
  m('vgic_v3_has_attr: an unknown ADDR attribute is ENXIO', DEV,
    '            case KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION:\n              return 0;\n          }\n          return -ENXIO;',
    '            case KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION:\n              return 0;\n          }\n          return 0;'),
  m('vgic_v3_parse_attr: an MPIDR with no vCPU is EINVAL', DEV,
    '  const vcpu = v3ParseAttr(dist, group, attr);\n  if (!vcpu) return -EINVAL;',
    '  const vcpu = v3ParseAttr(dist, group, attr);\n  if (!vcpu) return -EBUSY;'),
  m('vgic_v3_attr_regs_access: register access before CTRL_INIT is EBUSY', DEV,
    'if (!dist.initialized && !regAllowedPreInit(dist, group, attr)) return -EBUSY;', ''),
  m('vgic_v2_parse_attr: CPU_REGS of a missing vCPU is EINVAL', DEV,
    '  const vcpu = v2ParseAttr(dist, attr);\n  if (!vcpu) return -EINVAL;',
    '  const vcpu = v2ParseAttr(dist, attr);\n  if (!vcpu) return -ENXIO;'),
  m('vgic_v2_has_attr: CPU_REGS of a missing vCPU is EINVAL', DEV,
    'if (!v2ParseAttr(dist, attr)) return -EINVAL;', 'if (!v2ParseAttr(dist, attr)) return -ENXIO;'),
  m('get_user: a NULL value pointer is EFAULT', 'lib/vgic/user-buf.ts',
    'if (!buf || buf.width < width) return { ret: -EFAULT, value: 0n };', 'if (!buf || buf.width < width) return { ret: -22, value: 0n };'),
  m('vgic_its_set_attr: the ITS base must be 64K aligned', 'lib/vgic/its/device.ts',
    '0x10000n, BigInt(KVM_VGIC_V3_ITS_SIZE)', '0x1000n, BigInt(KVM_VGIC_V3_ITS_SIZE)'),
  m('vgic_its_set_attr: the IPA check covers the whole 128K ITS frame', 'lib/vgic/its/device.ts',
    '0x10000n, BigInt(KVM_VGIC_V3_ITS_SIZE)', '0x10000n, 0x10000n'),
  // --- GICD_TYPER2.nASSGIcap (vgic-mmio-v3.c: vgic_mmio_uaccess_write_v3_misc) -------------------
  m('nASSGIcap without GICv4.1 direct vSGIs is EINVAL', V3,
    'if (!hostDirectSgis(dist) && val & GICD_TYPER2_nASSGIcap) return -EINVAL;', ''),
  m('changing TYPER2 after vgic_init is EBUSY', V3,
    'if (dist.initialized) return -EBUSY;', ''),
  // --- CPU_SYSREGS (vgic-sys-reg-v3.c) ------------------------------------------------------------
  m('vgic_v3_max_apr_idx: 6 priority bits make AP*R1 accessible', SYSREGS,
    'if (numPriBits === 6) return 1;', 'if (numPriBits === 6) return 0;', { VGIC_PRI_BITS: '6' }),
  m('vgic_v3_has_cpu_sysregs_attr: every ICC_APnR is advertised', SYSREGS,
    '  apr(1, 3),\n', ''),
  m('set_gic_sre: writing back SRE=1 succeeds', SYSREGS,
    '=== 0n ? -EINVAL : 0', '=== 0n ? -EINVAL : -EINVAL'),
];
