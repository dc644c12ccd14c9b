// The KVM rules vgic_irq relies on, as mutations (run by test/mutation.test.ts): each breaks one
// rule of the model, and selftests/vgic_irq.ts must fail at a check of the kernel test. Each entry names the
// kernel function whose rule it breaks.

import type { Mutation } from '../mutant.ts';

const m = (name: string, file: string, from: string, to: string): Mutation => ({ name, file, from, to, selftest: 'vgic_irq' });

export const VGIC_IRQ_MUTATIONS: Mutation[] = [
  m('kvm_timer_enable -> timer_irqs_are_valid: the timers own their PPIs (kvm_vgic_set_owner)', 'lib/vgic/arch-timer.ts',
    '      if (setOwner(dist, vcpu, irq, ctx.owner)) break;', '      void setOwner;'),
  m('EOImode 1: ICC_EOIR1_EL1 still drops the running priority (ICV EOI, priority drop without deactivation)', 'lib/vgic/cpuif.ts',
    '  if (bit >= 0) {', '  if (bit >= 0 && !c.eoimode) {'),
  m('vgic_v3_fold_lr_state: a level IRQ\'s pending latch goes when it is deactivated', 'lib/vgic/cpuif.ts',
    '    irq.pendingLatch = false;\n    // vgic_v3_fold_lr()', '    // vgic_v3_fold_lr()'),
  m('vgic_irqfd_set_irq: an irqchip pin routes to SPI pin + 32', 'lib/kvm/irq-routing.ts',
    '  const spi = pin + VGIC_NR_PRIVATE_IRQS;', '  const spi = pin + VGIC_NR_PRIVATE_IRQS + 1;'),
  m('kvm_set_routing_entry: pin >= KVM_IRQCHIP_NUM_PINS (988) is EINVAL', 'lib/kvm/irq-routing.ts',
    'if (pin >= KVM_IRQCHIP_NUM_PINS || irqchip >= KVM_NR_IRQCHIPS) return -EINVAL;', 'if (irqchip >= KVM_NR_IRQCHIPS) return -EINVAL;'),
];
