// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgic-harness conformance driver: runs as /init in an initramfs inside an arm64 VM whose kernel
 * has KVM, and replays a compiled scenario (/steps) against /dev/kvm. One output line per step on
 * the console ("@@ <step> <raw result>"); lib/conformance/ parses and normalises them, so this
 * program stays a thin ioctl pump. Our own code, written for this project.
 *
 * /steps, one step per line, numbers in C syntax (strtoull base 0):
 *   V ipa_bits                 KVM_CREATE_VM (closes the previous VM) + the guest memslot
 *   C vcpu_id                  KVM_CREATE_VCPU, KVM_ARM_VCPU_INIT, PC = guest entry
 *   D type flags               KVM_CREATE_DEVICE (v2/v3 become "the GIC", the ITS "the ITS")
 *   S dev group attr value     KVM_SET_DEVICE_ATTR, u64 buffer holding value (dev 0 GIC, 1 ITS)
 *   G dev group attr init      KVM_GET_DEVICE_ATTR into a u64 buffer holding init
 *   H dev group attr           KVM_HAS_DEVICE_ATTR
 *   N dev group attr           KVM_SET_DEVICE_ATTR with a NULL buffer
 *   L irq level                KVM_IRQ_LINE
 *   R vcpu_id                  first KVM_RUN: until the guest waits for its first command
 *   A vcpu_id cmd addr value   one guest access (see conformance.h / guest.S)
 * Raw results: "ok", "val 0x..", "err N", "guest STATUS RESULT", "blocked STATUS RESULT",
 * "mmio ADDR", "exit REASON", "dead".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/reboot.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "conformance.h"

extern const char guest_start[], guest_end[], guest_entry[], guest_wfi[];

#define MAX_VCPUS 16
/* How long a WFI may block before the step reports "blocked" (SIGALRM interrupts KVM_RUN). */
#define WFI_TIMEOUT_US 300000

struct vcpu {
	int fd;
	int id;
	int started;
	struct kvm_run *run;
};

static int kvm_fd = -1, vm_fd = -1, dev_fd[2] = { -1, -1 };
static struct vcpu vcpus[MAX_VCPUS];
static int nr_vcpus;
static size_t run_size;
static void *guest_mem;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void close_vm(void)
{
	for (int i = 0; i < nr_vcpus; i++) {
		munmap(vcpus[i].run, run_size);
		close(vcpus[i].fd);
	}
	nr_vcpus = 0;
	for (int i = 0; i < 2; i++) {
		if (dev_fd[i] >= 0)
			close(dev_fd[i]);
		dev_fd[i] = -1;
	}
	if (vm_fd >= 0)
		close(vm_fd);
	vm_fd = -1;
	if (guest_mem)
		munmap(guest_mem, GUEST_RAM_SIZE);
	guest_mem = NULL;
}

static int create_vm(unsigned long ipa_bits)
{
	struct kvm_userspace_memory_region region;

	close_vm();
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, ipa_bits ? KVM_VM_TYPE_ARM_IPA_SIZE(ipa_bits) : 0);
	if (vm_fd < 0)
		return -errno;
	guest_mem = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest_mem == MAP_FAILED) {
		guest_mem = NULL;
		return -ENOMEM;
	}
	memcpy(guest_mem, guest_start, guest_end - guest_start);
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = GUEST_RAM_BASE,
		.memory_size = GUEST_RAM_SIZE,
		.userspace_addr = (uintptr_t)guest_mem,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	return 0;
}

static uint64_t core_reg(size_t off)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (off / sizeof(uint32_t));
}

static int set_pc(int fd, uint64_t pc)
{
	struct kvm_one_reg reg = { .id = core_reg(offsetof(struct kvm_regs, regs.pc)), .addr = (uintptr_t)&pc };

	return ioctl(fd, KVM_SET_ONE_REG, &reg) ? -errno : 0;
}

static int get_pc(int fd, uint64_t *pc)
{
	struct kvm_one_reg reg = { .id = core_reg(offsetof(struct kvm_regs, regs.pc)), .addr = (uintptr_t)pc };

	return ioctl(fd, KVM_GET_ONE_REG, &reg) ? -errno : 0;
}

static int create_vcpu(int id)
{
	struct kvm_vcpu_init init;
	struct vcpu *v;
	int fd;

	if (vm_fd < 0)
		return -EBADF;
	if (nr_vcpus >= MAX_VCPUS)
		return -ENOSPC;
	fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	if (fd < 0)
		return -errno;
	v = &vcpus[nr_vcpus++];
	*v = (struct vcpu){ .fd = fd, .id = id };
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (v->run == MAP_FAILED)
		return -errno;
	if (ioctl(vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		return -errno;
	if (ioctl(fd, KVM_ARM_VCPU_INIT, &init))
		return -errno;
	return set_pc(fd, GUEST_RAM_BASE + (guest_entry - guest_start));
}

static struct vcpu *find_vcpu(int id)
{
	for (int i = 0; i < nr_vcpus; i++)
		if (vcpus[i].id == id)
			return &vcpus[i];
	return NULL;
}

struct access {
	uint64_t cmd, addr, value;
	uint64_t status, result;
	int fetched;	/* port words handed to the guest: 0 none, 1 cmd, 2 addr, 3 value */
	int done;	/* result stored */
	int blocked;	/* a WFI had to be interrupted */
	int mmio;	/* the access itself left the kernel as KVM_EXIT_MMIO */
	uint64_t mmio_addr;
	uint32_t exit_reason;
};

static void put_data(struct kvm_run *run, uint64_t v)
{
	memcpy(run->mmio.data, &v, run->mmio.len <= 8 ? run->mmio.len : 8);
}

static uint64_t get_data(struct kvm_run *run)
{
	uint64_t v = 0;

	memcpy(&v, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
	return v;
}

static void alarm_handler(int sig)
{
	(void)sig;
}

static void arm_timer(long us)
{
	struct itimerval it = { .it_value = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * KVM_RUN until the guest asks for its next command. With a NULL access this is the vCPU's
 * start; otherwise the vCPU is parked at a command load, which this answers. 0 or -errno of
 * KVM_RUN; a vCPU that stopped in an unexpected way reports it through a->exit_reason.
 */
static int run_vcpu(struct vcpu *v, struct access *a, int is_wfi)
{
	struct kvm_run *run = v->run;
	uint64_t wfi_pc = GUEST_RAM_BASE + (guest_wfi - guest_start);

	if (a) {
		put_data(run, a->cmd);
		a->fetched = 1;
		if (is_wfi)
			arm_timer(WFI_TIMEOUT_US);
	}
	for (;;) {
		if (ioctl(v->fd, KVM_RUN, NULL)) {
			int e = errno;
			uint64_t pc;

			if (e == EINTR && a && is_wfi) {
				/* Woken by our alarm: the WFI did not complete by itself. An untrapped WFI
				 * leaves the PC on it, so step over it. */
				a->blocked = 1;
				if (!get_pc(v->fd, &pc) && pc == wfi_pc)
					set_pc(v->fd, pc + 4);
				continue;
			}
			if (e == EINTR)
				continue;
			if (a && is_wfi)
				arm_timer(0);
			return -e;
		}
		if (run->exit_reason != KVM_EXIT_MMIO) {
			if (a) {
				a->exit_reason = run->exit_reason;
				if (is_wfi)
					arm_timer(0);
			}
			return a ? 0 : -EIO;
		}
		uint64_t addr = run->mmio.phys_addr;

		if (addr == PORT_BASE + PORT_CMD && !run->mmio.is_write) {
			if (!a || a->done) {
				v->started = 1;
				return 0;	/* parked until the next command */
			}
			put_data(run, a->cmd);
		} else if (a && addr == PORT_BASE + PORT_ADDR && !run->mmio.is_write) {
			put_data(run, a->addr);
			a->fetched = 2;
		} else if (a && addr == PORT_BASE + PORT_VALUE && !run->mmio.is_write) {
			put_data(run, a->value);
			a->fetched = 3;
			if (is_wfi)
				arm_timer(WFI_TIMEOUT_US);
		} else if (a && addr == PORT_BASE + PORT_STATUS && run->mmio.is_write) {
			a->status = get_data(run);
		} else if (a && addr == PORT_BASE + PORT_RESULT && run->mmio.is_write) {
			a->result = get_data(run);
			a->done = 1;
			if (is_wfi)
				arm_timer(0);
		} else {
			/* The access reached userspace: no in-kernel device claimed the address. */
			if (a) {
				a->mmio = 1;
				a->mmio_addr = addr;
			}
			if (!run->mmio.is_write)
				put_data(run, 0);
		}
	}
}

static int dev_ioctl(unsigned long req, int dev, uint64_t group, uint64_t attr, uint64_t *buf)
{
	struct kvm_device_attr da = { .group = (uint32_t)group, .attr = attr, .addr = (uintptr_t)buf };
	int fd = dev_fd[dev ? 1 : 0];

	return ioctl(fd, req, &da) ? -errno : 0;
}

static void result_ret(int r)
{
	if (r < 0)
		out("err %d\n", -r);
	else
		out("ok\n");
}

static void step(char *line)
{
	unsigned long long n[5] = { 0 };
	char op = line[0];
	char *p = line + 1;
	uint64_t buf;
	int r;

	for (int i = 0; i < 5; i++) {
		char *end;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		n[i] = strtoull(p, &end, 0);
		p = end;
	}
	switch (op) {
	case 'V':
		result_ret(create_vm(n[0]));
		break;
	case 'C':
		result_ret(create_vcpu((int)n[0]));
		break;
	case 'D': {
		struct kvm_create_device cd = { .type = (uint32_t)n[0], .flags = (uint32_t)n[1] };

		if (vm_fd < 0 || ioctl(vm_fd, KVM_CREATE_DEVICE, &cd)) {
			result_ret(vm_fd < 0 ? -EBADF : -errno);
			break;
		}
		if (!(cd.flags & KVM_CREATE_DEVICE_TEST)) {
			int slot = cd.type == KVM_DEV_TYPE_ARM_VGIC_ITS ? 1 : 0;

			if (dev_fd[slot] < 0)
				dev_fd[slot] = cd.fd;
		}
		out("ok\n");
		break;
	}
	case 'S':
		buf = n[3];
		result_ret(dev_ioctl(KVM_SET_DEVICE_ATTR, (int)n[0], n[1], n[2], &buf));
		break;
	case 'N':
		result_ret(dev_ioctl(KVM_SET_DEVICE_ATTR, (int)n[0], n[1], n[2], NULL));
		break;
	case 'G':
		buf = n[3];
		r = dev_ioctl(KVM_GET_DEVICE_ATTR, (int)n[0], n[1], n[2], &buf);
		if (r < 0)
			result_ret(r);
		else
			out("val 0x%llx\n", (unsigned long long)buf);
		break;
	case 'H':
		result_ret(dev_ioctl(KVM_HAS_DEVICE_ATTR, (int)n[0], n[1], n[2], NULL));
		break;
	case 'L': {
		struct kvm_irq_level il = { .irq = (uint32_t)n[0], .level = (uint32_t)n[1] };

		result_ret(vm_fd < 0 ? -EBADF : ioctl(vm_fd, KVM_IRQ_LINE, &il) ? -errno : 0);
		break;
	}
	case 'R': {
		struct vcpu *v = find_vcpu((int)n[0]);

		if (!v)
			out("dead\n");
		else if (v->started)
			out("ok\n");
		else
			result_ret(run_vcpu(v, NULL, 0));
		break;
	}
	case 'A': {
		struct vcpu *v = find_vcpu((int)n[0]);
		struct access a = { .cmd = n[1], .addr = n[2], .value = n[3] };

		if (!v) {
			out("dead\n");
			break;
		}
		if (!v->started) {
			r = run_vcpu(v, NULL, 0);
			if (r < 0) {
				result_ret(r);
				break;
			}
		}
		r = run_vcpu(v, &a, (a.cmd & 0xff) == OP_WFI);
		if (r < 0)
			result_ret(r);
		else if (a.exit_reason)
			out("exit %u\n", a.exit_reason);
		else if (a.mmio)
			out("mmio 0x%llx\n", (unsigned long long)a.mmio_addr);
		else
			out("%s 0x%llx 0x%llx\n", a.blocked ? "blocked" : "guest", (unsigned long long)a.status,
			    (unsigned long long)a.result);
		break;
	}
	default:
		out("bad\n");
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = alarm_handler };
	struct utsname u;
	static char line[512];
	FILE *f;
	long count = 0;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: the alarm must interrupt KVM_RUN */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	uname(&u);
	out("@@ BEGIN %s\n", u.release);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		out("@@ FATAL no /dev/kvm: %s\n", strerror(errno));
		goto off;
	}
	run_size = (size_t)ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	f = fopen("/steps", "r");
	if (!f) {
		out("@@ FATAL no /steps\n");
		goto off;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		out("@@ %ld ", count++);
		step(line);
		if (count % 64 == 0)
			fflush(stdout);
	}
	out("@@ END %ld\n", count);
off:
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	return 0;
}
