// The size limits of a snapshot document, derived from the schema: how many keys each mapping can
// hold (every register name of a section at most once, at the largest nr_irqs; one map per vCPU,
// at most 512 vCPUs) and how many scalars a whole document can hold. The YAML reader refuses a
// text that exceeds them while it reads, so the work per file is bounded by what a valid snapshot
// can contain, whatever the text says.

import {
  GIC_MODELS,
  MAX_FIXED_FIELDS,
  MAX_VCPUS,
  NR_IRQS_MAX,
  type RegisterSection,
  SNAPSHOT_FIELDS,
  maxRegisterCount,
} from './schema.ts';

export const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;

/**
 * Collections nested in a valid snapshot: root mapping > section > vCPU map (> register value).
 * The `vcpus` list nests root > list > vCPU mapping, also three.
 */
export const MAX_NESTING = 3;

const maxOver = (f: (m: (typeof GIC_MODELS)[number]) => number): number => Math.max(...GIC_MODELS.map(f));
const regs = (section: RegisterSection): number => maxOver((m) => maxRegisterCount(section, m, NR_IRQS_MAX));
const VCPUS = maxOver((m) => MAX_VCPUS[m]);

/** Largest key count of each kind of mapping in a valid snapshot (any model, any nr_irqs). */
export const MAX_KEYS = {
  root: SNAPSHOT_FIELDS.length,
  source: 3,
  vcpu: 2,
  vcpus: VCPUS,
  distributor: regs('distributor'),
  /** redistributors / cpuInterfaces / bankedDistributor: one map per vCPU; levelInfo adds "spi". */
  perVcpuSection: VCPUS + 1,
  redistributor: regs('redistributors'),
  cpuInterface: regs('cpuInterfaces'),
  bankedDistributor: regs('bankedDistributor'),
  levelInfoVcpu: regs('levelInfoVcpu'),
  levelInfoSpi: regs('levelInfoSpi'),
} as const;

/** Which limit applies to the mapping (or list) at a path of keys from the root. */
export function maxKeysAt(keys: readonly string[]): number {
  const slack = MAX_FIXED_FIELDS;
  const [section, sub] = keys;
  if (section === undefined) return MAX_KEYS.root + slack;
  if (keys.length === 1) {
    switch (section) {
      case 'source':
        return MAX_KEYS.source + slack;
      case 'vcpus':
        return MAX_KEYS.vcpus + slack;
      case 'distributor':
        return MAX_KEYS.distributor + slack;
      default:
        return MAX_KEYS.perVcpuSection + slack;
    }
  }
  if (keys.length === 2 && sub !== undefined) {
    switch (section) {
      case 'vcpus':
        return MAX_KEYS.vcpu + slack;
      case 'redistributors':
        return MAX_KEYS.redistributor + slack;
      case 'cpuInterfaces':
        return MAX_KEYS.cpuInterface + slack;
      case 'bankedDistributor':
        return MAX_KEYS.bankedDistributor + slack;
      case 'levelInfo':
        return Math.max(MAX_KEYS.levelInfoVcpu, MAX_KEYS.levelInfoSpi) + slack;
    }
  }
  return slack;
}

/**
 * Keys in the largest valid document (GICv3, 512 vCPUs, nr_irqs 992): the root, source, every vCPU
 * entry, a full distributor, the per-vCPU section keys, and per vCPU a full redistributor, CPU
 * interface and level map, plus the SPI level map. Such a file has one line per key.
 */
export const MAX_DOCUMENT_KEYS =
  MAX_KEYS.root +
  MAX_KEYS.source +
  MAX_KEYS.vcpus * MAX_KEYS.vcpu +
  MAX_KEYS.distributor +
  3 * MAX_KEYS.perVcpuSection +
  MAX_KEYS.vcpus * (MAX_KEYS.redistributor + MAX_KEYS.cpuInterface + MAX_KEYS.levelInfoVcpu) +
  MAX_KEYS.levelInfoSpi;

/** Scalars (keys and values) a valid document can hold, with a little slack for hand edits. */
export const MAX_SCALARS = 2 * MAX_DOCUMENT_KEYS + 1024;

/** Lines: our writer puts one key per line; the rest is room for comments and blank lines. */
export const MAX_LINES = 2 * MAX_DOCUMENT_KEYS + 1024;

/**
 * Lexical tokens (scalars, indicators, indentation, line breaks, comments) the reader looks at
 * before refusing: our writer emits about 6 per key, and the lines are capped anyway.
 */
export const MAX_TOKENS = 8 * MAX_DOCUMENT_KEYS;

/** Entries of any one mapping or list: the biggest mapping a snapshot has (a full distributor). */
export const MAX_COLLECTION_ENTRIES = Math.max(
  maxKeysAt([]),
  ...['source', 'vcpus', 'distributor', 'redistributors'].map((s) => maxKeysAt([s])),
  ...['vcpus', 'redistributors', 'cpuInterfaces', 'bankedDistributor', 'levelInfo'].map((s) => maxKeysAt([s, '0'])),
);

/**
 * Characters of one key, value or other token that is not a comment or white space. The longest
 * a valid snapshot has is a 40-character profile name or a quoted 64-bit hex value.
 */
export const MAX_TOKEN_CHARS = 256;
