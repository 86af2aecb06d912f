// SPDX-License-Identifier: GPL-2.0
/*
 * Guest init for the quiet-panic harness (static, PID 1 of the initramfs).
 *
 * In the first kernel it reads kt.* parameters from /proc/cmdline:
 *
 *   kt.kdump=none|load|file  load the capture kernel with "kexec -p"
 *                            (kexec_load) or "kexec -s -p" (kexec_file_load)
 *   kt.trigger=WHAT          none (stay idle), sysrq-c, lkdtm:TYPE (written
 *                            to debugfs provoke-crash/DIRECT) or qp:NAME
 *                            (insmod qp_trigger.ko trigger=NAME)
 *   kt.delay=MS              wait before triggering (default 200)
 *   kt.cpu=N                 fire the trigger from CPU N (default: wherever
 *                            init runs), e.g. to make panic_force_cpu=
 *                            redirect the panic
 *   kt.shell=1               start busybox sh on the console instead
 *   kt.dump_level=N          makedumpfile -d level of the capture (default
 *                            31); passed on to the capture kernel
 *   kt.fault=WHAT            inject a fault for the harness' own tests:
 *                            corrupt-capture-initrd (garbage over the
 *                            capture initrd before kexec loads it)
 *
 * In the capture kernel (it finds /proc/vmcore) it writes the dump with
 * "makedumpfile -F -d 31" (kt.dump_level) to the raw disk /dev/vda and
 * powers off; the host
 * turns it back into a vmcore with "makedumpfile -R".
 *
 * Every line it prints starts with "kt: " and the host harness matches
 * these lines, so keep them stable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAPTURE_KERNEL	"/boot/vmlinuz"
#define CAPTURE_INITRD	"/boot/capture.cpio"
#define DUMP_DISK	"/dev/vda"
#define TRIGGER_MODULE	"/lib/modules/qp_trigger.ko"
#define LKDTM_DIRECT	"/sys/kernel/debug/provoke-crash/DIRECT"

static char cmdline[4096];

static void say(const char *fmt, ...)
{
	static const char prefix[] = "kt: ";
	char line[512];
	const int room = sizeof(line) - 1;	/* the newline's byte */
	int len = sizeof(prefix) - 1;
	va_list ap;
	int n;

	memcpy(line, prefix, len);
	va_start(ap, fmt);
	n = vsnprintf(line + len, room - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += n < room - len ? n : room - len - 1;
	line[len++] = '\n';
	/*
	 * One write per line, prefix included: a kernel message printed
	 * between two writes lands inside the line on the console, and the
	 * host matches whole lines.
	 */
	if (write(STDOUT_FILENO, line, len) != len)
		return;	/* the console is all we could say it on */
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -errno : 0;
}

static void read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Value of kernel parameter @key ("kt.x") in @value, or @def when absent. */
static const char *param(const char *key, const char *def, char *value, size_t size)
{
	size_t len = strlen(key);
	const char *p = cmdline;

	while ((p = strstr(p, key))) {
		if ((p == cmdline || p[-1] == ' ') && p[len] == '=') {
			p += len + 1;
			len = strcspn(p, " \n");
			if (len >= size)
				len = size - 1;
			memcpy(value, p, len);
			value[len] = '\0';
			return value;
		}
		p += len;
	}
	snprintf(value, size, "%s", def);
	return value;
}

static void mount_pseudo_filesystems(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
}

/* Run @argv with stdout on @out_fd (or ours when -1); its exit status. */
static int run(char *const argv[], int out_fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void capture_vmcore(void)
{
	char level[8];
	char *argv[] = { "/usr/bin/makedumpfile", "-F", "-d", level,
			 "/proc/vmcore", NULL };
	int fd = open(DUMP_DISK, O_WRONLY);
	int rc;

	param("kt.dump_level", "31", level, sizeof(level));

	say("capture kernel: writing /proc/vmcore to %s", DUMP_DISK);
	if (fd < 0) {
		say("capture failed: cannot open %s: %s", DUMP_DISK, strerror(errno));
		power_off();
	}
	rc = run(argv, fd);
	/* The child shared our file offset: it is the dump's size. */
	say("capture %s: makedumpfile rc=%d bytes=%lld", rc ? "failed" : "done",
	    rc, (long long)lseek(fd, 0, SEEK_CUR));
	fsync(fd);
	close(fd);
	power_off();
}

/*
 * Command line of the capture kernel: ours minus kt.* (but kt.dump_level,
 * which is for it), plus what kdump wants.
 */
static void capture_cmdline(char *buf, size_t size)
{
	const char *p = cmdline;
	size_t len, used = 0;

	buf[0] = '\0';
	while (*p) {
		len = strcspn(p, " \n");
		if (len && (strncmp(p, "kt.", 3) || !strncmp(p, "kt.dump_level=", 14)) &&
		    strncmp(p, "crashkernel=", 12) && used + len + 2 < size) {
			memcpy(buf + used, p, len);
			used += len;
			buf[used++] = ' ';
		}
		p += len;
		p += strspn(p, " \n");
	}
	/*
	 * panic=1: a capture kernel that panics resets the guest (QEMU ends on
	 * a reset), so a lost dump shows at once, with its reason on the
	 * console, rather than as a timeout.
	 */
	snprintf(buf + used, size - used, "nr_cpus=1 reset_devices irqpoll panic=1");
}

/* kt.fault=corrupt-capture-initrd: the capture kernel cannot boot. */
static void inject_faults(void)
{
	static const char garbage[] = "this is not a cpio archive\n";
	char fault[64];
	int fd, i;

	param("kt.fault", "none", fault, sizeof(fault));
	if (strcmp(fault, "corrupt-capture-initrd"))
		return;
	fd = open(CAPTURE_INITRD, O_WRONLY | O_TRUNC);
	for (i = 0; fd >= 0 && i < 4096; i++)
		if (write(fd, garbage, sizeof(garbage) - 1) < 0)
			break;
	if (fd >= 0)
		close(fd);
	say("fault injected: %s", fault);
}

static int load_capture_kernel(const char *how)
{
	char append[sizeof(cmdline) + 64], arg[sizeof(append) + 16], loaded[8];
	bool file_load = !strcmp(how, "file");
	char *argv[8];
	int rc, n = 0;

	inject_faults();
	capture_cmdline(append, sizeof(append));
	snprintf(arg, sizeof(arg), "--append=%s", append);
	argv[n++] = "/usr/sbin/kexec";
	if (file_load)
		argv[n++] = "-s";
	argv[n++] = "-p";
	argv[n++] = CAPTURE_KERNEL;
	argv[n++] = "--initrd=" CAPTURE_INITRD;
	argv[n++] = arg;
	argv[n] = NULL;
	rc = run(argv, -1);
	read_file("/sys/kernel/kexec_crash_loaded", loaded, sizeof(loaded));
	if (rc || strcmp(loaded, "1")) {
		say("kdump load failed: kexec rc=%d kexec_crash_loaded=%s", rc, loaded);
		return -1;
	}
	say("kdump loaded (%s)", file_load ? "kexec -s -p" : "kexec -p");
	return 0;
}

static int insmod_trigger(const char *name)
{
	char params[160];
	int fd = open(TRIGGER_MODULE, O_RDONLY);
	long rc;

	if (fd < 0)
		return -errno;
	snprintf(params, sizeof(params), "trigger=%s", name);
	rc = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return rc ? -errno : 0;
}

static int fire_trigger(const char *what)
{
	if (!strcmp(what, "sysrq-c"))
		return write_file("/proc/sysrq-trigger", "c");
	if (!strncmp(what, "lkdtm:", 6))
		return write_file(LKDTM_DIRECT, what + 6);
	if (!strncmp(what, "qp:", 3))
		return insmod_trigger(what + 3);
	return -EINVAL;
}

/* Move init to CPU @cpu, so that the trigger fires there. */
static int move_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void start_shell(void)
{
	char *argv[] = { "/bin/busybox", "sh", NULL };

	say("shell");
	run(argv, -1);
}

static void __attribute__((noreturn)) idle_forever(void)
{
	say("idle");
	for (;;)
		pause();
}

int main(void)
{
	char kdump[32], trigger[128], delay[16], shell[4], cpu[8];
	struct utsname un;
	int rc;

	mount_pseudo_filesystems();
	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (access("/proc/vmcore", F_OK) == 0)
		capture_vmcore();

	uname(&un);
	say("init ready: %s %ld cpus", un.release, sysconf(_SC_NPROCESSORS_ONLN));
	if (!strcmp(param("kt.shell", "0", shell, sizeof(shell)), "1"))
		start_shell();

	param("kt.kdump", "none", kdump, sizeof(kdump));
	/* No trigger without the requested dump: the test must see why. */
	if (strcmp(kdump, "none") && load_capture_kernel(kdump))
		idle_forever();
	if (strcmp(param("kt.trigger", "none", trigger, sizeof(trigger)), "none")) {
		sleep_ms(atol(param("kt.delay", "200", delay, sizeof(delay))));
		if (strcmp(param("kt.cpu", "any", cpu, sizeof(cpu)), "any")) {
			rc = move_to_cpu(atoi(cpu));
			if (rc)
				say("cannot move to CPU %s: %s", cpu, strerror(-rc));
		}
		say("trigger %s", trigger);
		rc = fire_trigger(trigger);
		/* Only reached when the trigger did not crash the kernel. */
		say("trigger %s returned %d (%s)", trigger, rc, strerror(-rc));
	}
	idle_forever();
}
