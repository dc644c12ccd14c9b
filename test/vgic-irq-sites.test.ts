// Every check site of the kernel's arm64/vgic_irq.c (mainline 7.2) must exist in the port, in
// the function of the same name: GUEST_ASSERT* in guest code (GUEST_ASSERT_IAR_EMPTY counted
// where it is used, plus once for the macro itself), and TEST_ASSERT / assert() / TEST_FAIL /
// REPORT_GUEST_ASSERT on the host. The kernel column was counted in the C source; the port's is
// counted here from selftests/vgic_irq.ts, so removing a check fails this test.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from './tap.ts';

/** function -> check sites in vgic_irq.c (7.2). */
const KERNEL: Record<string, number> = {
  // guest: 30 sites, 35 counting each use of GUEST_ASSERT_IAR_EMPTY
  guest_irq_generic_handler: 6,
  GUEST_ASSERT_IAR_EMPTY: 1,
  test_inject_fail: 1 + 1,
  guest_inject: 2 + 1,
  guest_restore_active: 3 + 1,
  test_inject_preemption: 4 + 1,
  guest_code_asym_dir: 2,
  guest_code_group_en: 5 + 1,
  guest_code_timer_spi: 6,
  // host: 15 sites; test_vgic_two_cpus's two pthread_create TEST_FAILs have no counterpart
  kvm_irq_line_check: 1,
  kvm_irq_set_level_info_check: 2,
  kvm_set_gsi_routing_irqchip_check: 3,
  kvm_routing_and_irqfd_check: 2,
  run_guest_cmd: 1,
  test_vgic: 2,
  test_vcpu_run: 2,
};

const CHECK = /\bg\.assert(Eq|Ne)?\(|\bGUEST_ASSERT_IAR_EMPTY\(g\)|\btestAssert\(|\btestFail\(|\breportGuestAssert\(/g;

function portSites(): Record<string, number> {
  const src = readFileSync(resolve(import.meta.dirname, '../selftests/vgic_irq.ts'), 'utf8');
  const out: Record<string, number> = {};
  let fn = '';
  for (const line of src.split('\n')) {
    const def = /^function\*? ([A-Za-z_]+)\(/.exec(line);
    if (def) fn = def[1]!;
    const n = line.match(CHECK)?.length ?? 0;
    if (n && fn) out[fn] = (out[fn] ?? 0) + n;
  }
  return out;
}

t.test('every check site of vgic_irq.c is in the port, function by function', (tt) => {
  const port = portSites();
  tt.same(port, KERNEL, 'same functions, same number of checks');
  const guest = Object.entries(KERNEL).filter(([f]) => /^(guest_|test_inject|GUEST_)/.test(f)).reduce((n, [, c]) => n + c, 0);
  tt.equal(guest, 35, '30 guest sites, 35 with each use of GUEST_ASSERT_IAR_EMPTY');
  tt.end();
});
