// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgic-harness: /init for `vgic-harness run --target kvm:VERSION`. Runs the programs listed in
 * /tests/list ("name timeout_seconds" per line, the binary at /tests/<name>) one after the other,
 * each in its own process group with its output on the console, and brackets each with
 *   @@ TEST <name> BEGIN
 *   @@ TEST <name> EXIT <status> | SIGNAL <n> | TIMEOUT <seconds>
 * then powers the VM off. lib/conformance/target.ts reads the console. Our own code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void mount_fs(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	mount(src, dir, type, 0, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_one(const char *name, int timeout)
{
	char path[256];
	double start, deadline;
	int status = 0;
	pid_t pid, r;

	snprintf(path, sizeof(path), "/tests/%s", name);
	printf("@@ TEST %s BEGIN\n", name);
	fflush(stdout);
	start = now();
	pid = fork();
	if (pid == 0) {
		char *argv[] = { path, NULL };
		char *envp[] = { "PATH=/tests", "HOME=/", NULL };

		setpgid(0, 0);
		dup2(1, 2);
		execve(path, argv, envp);
		printf("exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	deadline = start + timeout;
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (now() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("\n@@ TEST %s TIMEOUT %d %.3f\n", name, timeout, now() - start);
			fflush(stdout);
			return;
		}
		usleep(20000);
	}
	if (WIFEXITED(status))
		printf("\n@@ TEST %s EXIT %d %.3f\n", name, WEXITSTATUS(status), now() - start);
	else
		printf("\n@@ TEST %s SIGNAL %d %.3f\n", name, WTERMSIG(status), now() - start);
	fflush(stdout);
}

int main(void)
{
	struct utsname u;
	char line[256];
	FILE *f;

	mount_fs("devtmpfs", "/dev", "devtmpfs");
	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mkdir("/tmp", 01777);
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	printf("@@ BEGIN %s\n", u.release);
	f = fopen("/tests/list", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char name[200];
		int timeout;

		if (sscanf(line, "%199s %d", name, &timeout) == 2)
			run_one(name, timeout);
	}
	printf("@@ END\n");
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	return 0;
}
