// The VMM sequences by name and by (VMM, GIC model).

import type { GicModel, VmmStyle } from '../schema.ts';
import { FIRECRACKER_V2 } from './firecracker-v2.ts';
import { FIRECRACKER_V3 } from './firecracker-v3.ts';
import { QEMU_V2 } from './qemu-v2.ts';
import { QEMU_V3 } from './qemu-v3.ts';
import type { VmmSequence } from './types.ts';

export const SEQUENCES: readonly VmmSequence[] = [QEMU_V3, QEMU_V2, FIRECRACKER_V3, FIRECRACKER_V2];

export function sequenceFor(vmm: VmmStyle, model: GicModel): VmmSequence {
  const s = SEQUENCES.find((q) => q.vmm === vmm && q.model === model);
  if (!s) throw new RangeError(`no ${vmm} sequence for GIC ${model}`);
  return s;
}

export { QEMU_V3, QEMU_V2, FIRECRACKER_V3, FIRECRACKER_V2 };
