// Pointer arguments as the C tests use them: a struct in a page from vm_alloc_page(), its address
// in x0 (vcpu_args_set), a guest local passed by address in GUEST_SYNC(&args) and read by the
// host from guest memory (addr_gva2hva), and memory shared by two vCPUs. Also getopt and the
// atoi_* parsers a port's main() uses.

import t from '../../test/tap.ts';
import {
  type Guest,
  type GuestProgram,
  INTID_IS_PPI,
  INTID_IS_SGI,
  INTID_IS_SPI,
  guestSyncRef,
  loadField,
  loadStruct,
  storeField,
  vcpuArgs,
} from '../guest/index.ts';
import {
  TestAssertionFailure,
  UCALL_SYNC,
  addrGva2hva,
  atoiNonNegative,
  atoiParanoid,
  cStruct,
  type KvmVcpu,
  type Ucall,
  getUcall,
  runVcpuThreads,
  getopt,
  hvaReadStruct,
  hvaWriteStruct,
  vcpuArgsSet,
  vcpuRun,
  vmAllocPage,
  vmCreateBarebones,
  vmVaddrAllocPage,
  vmVcpuAdd,
} from './index.ts';

const ARGS = cStruct({ nr: 'u32', flag: 'bool', other: 'bool', routes: 'i32', big: 'u64', last: 'u8' });
const REQ = cStruct({ cmd: 'u32', first: 'u32', num: 'u32', level: 'i32', fail: 'bool' });

t.test('C layout: natural alignment, size rounded to the largest member', (tt) => {
  tt.same(ARGS.fields.map((f) => [f.name, f.offset]), [['nr', 0], ['flag', 4], ['other', 5], ['routes', 8], ['big', 16], ['last', 24]]);
  tt.equal(ARGS.size, 32);
  tt.equal(REQ.size, 20, 'struct kvm_inject_args is 20 bytes');
  const v = { nr: 64, flag: true, other: false, routes: -1, big: 0x1122334455667788n, last: 0xff };
  tt.same(ARGS.decode(ARGS.encode(v)), v, 'encode/decode round trip, sign and u64 kept');
  tt.end();
});

/** Reads its args struct through x0, asks the host with a struct on its stack, bumps a counter. */
function* pointerGuest(g: Guest): GuestProgram {
  const [argsGva] = vcpuArgs(g) as [number];
  const a = yield* loadStruct(g, ARGS, argsGva);
  yield* guestSyncRef(g, REQ, { cmd: a.nr, first: 32, num: a.routes >>> 0, level: -1, fail: a.flag });
  yield* storeField(g, ARGS, argsGva, 'nr', (yield* loadField(g, ARGS, argsGva, 'nr')) + 1);
  yield* g.done();
}

t.test('args page through x0, GUEST_SYNC(&args), host reads guest memory', (tt) => {
  const vm = vmCreateBarebones();
  const vcpu = vmVcpuAdd(vm, 0, pointerGuest);
  const gva = vmAllocPage(vm);
  tt.not(vmVaddrAllocPage(vm), gva, 'each page is new');
  hvaWriteStruct(addrGva2hva(vm, gva), ARGS, { nr: 7, flag: true, other: false, routes: 4096, big: 0n, last: 0 });
  vcpuArgsSet(vcpu, 1, gva);
  vcpuRun(vcpu);
  const uc = getUcall(vcpu);
  tt.equal(uc.cmd, UCALL_SYNC);
  const req = hvaReadStruct(addrGva2hva(vm, uc.args[1] as number), REQ);
  tt.same(req, { cmd: 7, first: 32, num: 4096, level: -1, fail: true }, 'the struct the guest passed by address');
  vcpuRun(vcpu);
  tt.equal(hvaReadStruct(addrGva2hva(vm, gva), ARGS).nr, 8, 'the guest stored through the pointer');
  tt.throws(() => addrGva2hva(vm, 0x1000), TestAssertionFailure, 'no memory there: the C library asserts');
  tt.throws(() => vcpuArgsSet(vcpu, 0), TestAssertionFailure, 'vcpu_args_set with 0 args asserts');
  tt.end();
});

/** Two vCPUs share a u32: vCPU 1 waits for vCPU 0's value and answers it (READ_ONCE/WRITE_ONCE). */
function* sharedGuest(g: Guest): GuestProgram {
  const [p, cpu] = vcpuArgs(g) as [number, number];
  if (cpu === 0) {
    yield* storeField(g, ARGS, p, 'nr', 42);
    while ((yield* loadField(g, ARGS, p, 'nr')) !== 43) yield* g.dsb('ishld');
  } else {
    while ((yield* loadField(g, ARGS, p, 'nr')) !== 42) yield* g.dsb('ishld');
    yield* storeField(g, ARGS, p, 'nr', 43);
  }
  yield* g.sync(yield* loadField(g, ARGS, p, 'nr'));
  yield* g.done();
}

t.test('memory shared by two vCPUs through one pointer', (tt) => {
  const vm = vmCreateBarebones();
  const v0 = vmVcpuAdd(vm, 0, sharedGuest);
  const v1 = vmVcpuAdd(vm, 1, sharedGuest);
  const gva = vmAllocPage(vm);
  vcpuArgsSet(v0, 2, gva, 0);
  vcpuArgsSet(v1, 2, gva, 1);
  const seen: Array<[number, number]> = [];
  runVcpuThreads(
    [v0, v1].map((vcpu) => ({
      vcpu,
      onUcall: (uc: Ucall, v: KvmVcpu) => {
        if (uc.cmd === UCALL_SYNC) seen.push([v.id, uc.args[1] as number]);
        return uc.cmd === UCALL_SYNC;
      },
    })),
    { seed: 3, maxQuantum: 4 },
  );
  tt.same(seen.sort(), [[0, 43], [1, 43]], 'each vCPU saw the other\'s store');
  tt.end();
});

t.test('INTID helpers', (tt) => {
  tt.same([0, 15, 16, 31, 32, 1019, 1020].map((i) => [INTID_IS_SGI(i), INTID_IS_PPI(i), INTID_IS_SPI(i)]), [
    [true, false, false],
    [true, false, false],
    [false, true, false],
    [false, true, false],
    [false, false, true],
    [false, false, true],
    [false, false, false],
  ]);
  tt.end();
});

t.test('getopt and atoi_paranoid', (tt) => {
  tt.same(getopt(['-n', '64', '-e1', '-l', '0', 'rest', '-h'], 'hn:e:l:'), [
    { opt: 'n', optarg: '64' },
    { opt: 'e', optarg: '1' },
    { opt: 'l', optarg: '0' },
  ], 'attached and separate arguments; the first operand ends the options');
  tt.same(getopt(['-hx'], 'hn:', 'test', () => {}).map((o) => o.opt), ['h', '?'], 'an unknown option is "?"');
  tt.same(getopt(['-n'], 'hn:', 'test', () => {}).map((o) => o.opt), ['?'], 'a missing argument is "?"');
  tt.equal(atoiParanoid('0x40'), 64, 'strtol base 0: hex');
  tt.equal(atoiParanoid('010'), 8, 'strtol base 0: octal');
  tt.equal(atoiParanoid('-5'), -5);
  tt.throws(() => atoiParanoid('12abc'), TestAssertionFailure, 'trailing characters');
  tt.throws(() => atoiParanoid(''), TestAssertionFailure, 'no digits');
  tt.throws(() => atoiNonNegative('Number of IRQs', '-1'), TestAssertionFailure, 'negative');
  tt.end();
});
