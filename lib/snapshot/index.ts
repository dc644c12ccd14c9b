// The snapshot layer's entry point: the YAML snapshot format (schema, reader/writer, diff) and
// the VMM save/restore engine with its sequence tables and VM builders.

export * from './schema.ts';
export { MAX_SNAPSHOT_BYTES, parseSnapshotYaml, stringifySnapshot } from './yaml-io.ts';
export * from './limits.ts';
export { MISSING, type SnapshotDiff, diffSnapshots, formatDiff, formatDiffLine } from './diff.ts';
export { snapshotCli } from './cli.ts';
export { type Destination, type Source, type SourceSpec, WORKLOADS, type WorkloadChoice, WorkloadError, restoreInto, runSource, saveSource } from './workload.ts';
export { BACKUP_V2, BACKUP_V3, backupSequenceFor, captureVgicState } from './vmm/backup.ts';
export { type RollbackReport } from './vmm/rollback.ts';
export { type DeviceAttrIo, type VcpuRef, type VgicHandle, kvmDeviceIo } from './vmm/device.ts';
export { type VmmFailure, failureSummary } from './vmm/failure.ts';
export { type GicLayout, type MachineSpec, QEMU_VIRT_NR_IRQS, type VmmMachine, createVmmMachine } from './vmm/machine.ts';
export { type RestoreOptions, type RestorePhase, type RestoreResult, restoreVgic } from './vmm/restore.ts';
export { type SaveOptions, type SaveResult, saveVgic } from './vmm/save.ts';
export { SEQUENCES, sequenceFor } from './vmm/sequences.ts';
export type { Step, VmmSequence } from './vmm/types.ts';
