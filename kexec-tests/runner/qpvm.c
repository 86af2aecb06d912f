// SPDX-License-Identifier: GPL-2.0
/*
 * qpvm - run one QEMU guest for the quiet-panic harness and measure it.
 *
 *   qpvm --kernel IMAGE [options] STEP...
 *   qpvm --attach PID [--timeout SEC] [--workdir DIR] STEP...
 *
 * Starts QEMU (TCG unless --accel says otherwise) with the serial console on
 * a telnet-mode unix socket (so a serial BREAK can be sent), QMP on another
 * socket, a pvpanic device, "-action panic=none" (a panicked guest keeps running) and
 * "-action reboot=shutdown" (a guest reset ends QEMU, so it can be timed).
 * Then it runs the STEPs in order; each prints its results to stdout as
 * key=value lines, diagnostics go to stderr.
 *
 * --attach PID measures a QEMU that runs already, one qpvm did not start (a
 * libvirt domain's: libvirt starts QEMU with debug-threads=on, which names
 * the vCPU threads), so that every CPU figure of the harness comes from
 * this one meter. Only the steps that measure run then: sleep, cpu, perf
 * and timeout (the others need the console or QMP of a QEMU qpvm starts);
 * the accelerator is read from the vCPU threads' names, and the QEMU is
 * left running whatever happens.
 *
 * The defaults are an x86_64 PC; another architecture is the options
 * --qemu, --machine, --cpu, --console and --panic-device (ARCHES has them
 * for each architecture the harness runs).
 *
 * Steps:
 *   expect=REGEX   wait for a console line matching REGEX (POSIX ERE), in
 *                  order: each expect starts after the last line matched;
 *                  expect_ms= when it was seen
 *   panic          wait for the panic banner on the console or the pvpanic
 *                  GUEST_PANICKED event: panic_line=, panic_ms=
 *   pvpanic        wait for the GUEST_PANICKED event: pvpanic_ms_after_panic=
 *   settle=SEC     wait up to SEC seconds for panic() to finish (its "---[ end
 *                  Kernel panic" line): settle_ms_after_panic= (or "none");
 *                  never fails, a panic in NMI context may not print it
 *   sleep=SEC      let the guest run
 *   cpu=SEC        host CPU time of the vCPU threads (schedstat, ns) over SEC
 *                  seconds: cpu_vcpu_ns=, cpu_total_ns=, cpu_pct=, ...
 *   perf=1         following cpu steps also count, with "perf stat" on the
 *                  vCPU threads alone, their cycles (perf_vcpu_cycles=)
 *                  and, on KVM, the VM exits they took
 *                  (perf_kvm_exits=, the kvm:kvm_exit tracepoint);
 *                  "unsupported" where the host's perf cannot count it
 *   sysrq=C        serial BREAK, then C (magic sysrq over the serial line)
 *   nmi            QMP inject-nmi (reaches the boot CPU only)
 *   exit           wait for QEMU to end: exit_reason= (SHUTDOWN event
 *                  reason, e.g. guest-shutdown or guest-reset), exit_ms=
 *                  (all *_ms are since QEMU started), shutdown_ms= (when
 *                  the SHUTDOWN event came: the reset itself, before
 *                  QEMU's teardown),
 *                  exit_ms_after_panic=
 *   timeout=SEC    time limit of each following step (default 120)
 *
 * Results start with qemu_pid= once QEMU runs. Every option and step is
 * checked before QEMU starts (with --attach: the PID is a QEMU with vCPU
 * threads to measure): a bad one is one line on stderr and exit
 * status 2. Exit status: 0 all steps passed, 1 a step failed or timed out
 * (a QEMU that dies on its own is reported as such), 2 the guest could not
 * be started (bad option or step, QEMU missing, ...). QEMU is always reaped: on normal end, on failure and on SIGINT/SIGTERM, and it
 * gets SIGKILL if qpvm itself dies (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VCPUS	64
#define PANIC_BANNER	"Kernel panic - not syncing"
#define PANIC_END	"---[ end Kernel panic"
#define TELNET_IAC	0xff
#define TELNET_BREAK	0xf3
#define TELNET_SB	0xfa
#define TELNET_SE	0xf0
#define TELNET_WILL	0xfb

struct options {
	const char *qemu, *accel, *cpu, *machine, *console, *panic_device;
	const char *kernel, *initrd, *append, *disk, *name, *log, *workdir;
	const char *qmp_extra;
	int smp, mem_mb, timeout_s;
	bool vmcoreinfo;
	pid_t attach;	/* the QEMU to measure; 0: start one */
};

struct line {
	long long ms;
	char *text;
};

/* Everything a running guest has told us so far. */
struct guest {
	pid_t pid;
	int console_fd, qmp_fd, signal_fd;
	FILE *log;
	char sock_console[108], sock_qmp[108], dir[64];
	bool own_dir;
	long long t0_ms, deadline_ms;
	/* console, split into lines */
	struct line *lines;
	size_t nlines, cap, cursor;
	char partial[4096];
	size_t partial_len;
	int telnet_state;
	/* QMP */
	char qmp_buf[65536];
	size_t qmp_len;
	long long panic_ms, panic_end_ms, pvpanic_ms, shutdown_ms, exit_ms;
	char panic_line[512], shutdown_reason[64];
	bool banner_seen, exited, stopping, perf;
	int exit_status;
};

static struct options opt = {
	.qemu = "qemu-system-x86_64",
	.accel = "tcg",
	.cpu = "qemu64",
	.machine = "pc",
	.console = "ttyS0",
	.panic_device = "pvpanic",
	.smp = 2,
	.mem_mb = 512,
	.timeout_s = 600,
	.name = "qpvm",
};

static int step_timeout_s = 120;

static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("qpvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void result(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s=", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static long long guest_ms(const struct guest *g)
{
	return now_ms() - g->t0_ms;
}

/* ---- console ---------------------------------------------------------- */

static void add_line(struct guest *g, const char *text, size_t len)
{
	struct line *l;

	if (g->nlines == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 256;
		g->lines = realloc(g->lines, g->cap * sizeof(*g->lines));
		if (!g->lines) {
			note("out of memory");
			exit(2);
		}
	}
	l = &g->lines[g->nlines++];
	l->ms = guest_ms(g);
	l->text = strndup(text, len);
	if (g->panic_end_ms < 0 && strstr(l->text, PANIC_END))
		g->panic_end_ms = l->ms;
	/* The first panic banner; pvpanic may have announced it earlier. */
	if (!g->banner_seen && strstr(l->text, PANIC_BANNER)) {
		g->banner_seen = true;
		if (g->panic_ms < 0)
			g->panic_ms = l->ms;
		snprintf(g->panic_line, sizeof(g->panic_line), "%s", l->text);
	}
}

/*
 * Strip the telnet protocol QEMU speaks on a telnet=on socket: IAC plus a
 * command byte, plus an option byte after WILL/WONT/DO/DONT, and
 * subnegotiation up to IAC SE. Returns true for a console data byte.
 */
static bool telnet_data(struct guest *g, unsigned char c)
{
	switch (g->telnet_state) {
	case 0:
		if (c != TELNET_IAC)
			return true;
		g->telnet_state = 1;
		return false;
	case 1:
		if (c == TELNET_IAC) {
			g->telnet_state = 0;
			return true;
		}
		g->telnet_state = c == TELNET_SB ? 3 : c >= TELNET_WILL ? 2 : 0;
		return false;
	case 2:
		g->telnet_state = 0;
		return false;
	default: /* in subnegotiation: wait for IAC SE */
		if (g->telnet_state == 4 && c == TELNET_SE)
			g->telnet_state = 0;
		else
			g->telnet_state = c == TELNET_IAC ? 4 : 3;
		return false;
	}
}

static void console_bytes(struct guest *g, const unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = buf[i];

		if (!telnet_data(g, c))
			continue;
		if (g->log)
			fputc(c, g->log);
		if (c == '\r')
			continue;
		if (c == '\n' || g->partial_len == sizeof(g->partial) - 1) {
			add_line(g, g->partial, g->partial_len);
			g->partial_len = 0;
			if (c == '\n')
				continue;
		}
		g->partial[g->partial_len++] = c;
	}
	if (g->log)
		fflush(g->log);
}

static void read_console(struct guest *g)
{
	unsigned char buf[4096];
	ssize_t n = read(g->console_fd, buf, sizeof(buf));

	if (n > 0) {
		console_bytes(g, buf, n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(g->console_fd);
		g->console_fd = -1;
	}
}

static int console_send(struct guest *g, const unsigned char *buf, size_t n)
{
	if (g->console_fd < 0 || write(g->console_fd, buf, n) != (ssize_t)n)
		return -1;
	return 0;
}

/* ---- QMP -------------------------------------------------------------- */

static void qmp_event(struct guest *g, json_object *msg)
{
	json_object *ev, *data, *reason;
	const char *name;

	if (!json_object_object_get_ex(msg, "event", &ev))
		return;
	name = json_object_get_string(ev);
	if (!strcmp(name, "GUEST_PANICKED") && g->pvpanic_ms < 0) {
		g->pvpanic_ms = guest_ms(g);
		if (g->panic_ms < 0) {
			g->panic_ms = g->pvpanic_ms;
			snprintf(g->panic_line, sizeof(g->panic_line), "(pvpanic event)");
		}
	} else if (!strcmp(name, "SHUTDOWN") &&
		   json_object_object_get_ex(msg, "data", &data) &&
		   json_object_object_get_ex(data, "reason", &reason)) {
		snprintf(g->shutdown_reason, sizeof(g->shutdown_reason), "%s",
			 json_object_get_string(reason));
		g->shutdown_ms = guest_ms(g);
	}
}

/* Parse complete QMP lines; returns the last non-event reply, if wanted. */
static void qmp_parse(struct guest *g, json_object **reply)
{
	char *start = g->qmp_buf, *eol;

	while ((eol = memchr(start, '\n', g->qmp_buf + g->qmp_len - start))) {
		json_object *msg;

		*eol = '\0';
		msg = json_tokener_parse(start);
		if (msg && json_object_object_get_ex(msg, "event", NULL)) {
			qmp_event(g, msg);
			json_object_put(msg);
		} else if (msg && json_object_object_get_ex(msg, "QMP", NULL)) {
			json_object_put(msg); /* the greeting */
		} else if (msg && reply && !*reply) {
			*reply = msg;
		} else if (msg) {
			json_object_put(msg);
		}
		start = eol + 1;
	}
	g->qmp_len -= start - g->qmp_buf;
	memmove(g->qmp_buf, start, g->qmp_len);
}

static void read_qmp(struct guest *g, json_object **reply)
{
	ssize_t n = read(g->qmp_fd, g->qmp_buf + g->qmp_len,
			 sizeof(g->qmp_buf) - 1 - g->qmp_len);

	if (n > 0) {
		g->qmp_len += n;
		qmp_parse(g, reply);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(g->qmp_fd);
		g->qmp_fd = -1;
	}
	if (g->qmp_len == sizeof(g->qmp_buf) - 1)
		g->qmp_len = 0; /* a runaway line: drop it rather than stall */
}

/* ---- process and event loop ------------------------------------------ */

/* QEMU ended; say so when nobody asked for it and it did not end cleanly. */
static void child_exited(struct guest *g, int status)
{
	g->exited = true;
	g->exit_status = status;
	g->exit_ms = guest_ms(g);
	if (g->stopping)
		return;
	if (WIFSIGNALED(status))
		note("QEMU (pid %d) was killed by signal %d (%s) after %lld ms", g->pid,
		     WTERMSIG(status), strsignal(WTERMSIG(status)), g->exit_ms);
	else if (WEXITSTATUS(status))
		note("QEMU (pid %d) exited with status %d after %lld ms", g->pid,
		     WEXITSTATUS(status), g->exit_ms);
}

/* The sockets and the private directory of the guest. */
static void remove_files(struct guest *g)
{
	unlink(g->sock_console);
	unlink(g->sock_qmp);
	if (g->own_dir)
		rmdir(g->dir);
}

static void read_signals(struct guest *g)
{
	struct signalfd_siginfo si;
	int status;

	while (read(g->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (waitpid(g->pid, &status, WNOHANG) == g->pid)
				child_exited(g, status);
			continue;
		}
		if (opt.attach) {
			note("signal %d: stopping (QEMU %d left running)", si.ssi_signo, g->pid);
		} else {
			note("signal %d: stopping the guest", si.ssi_signo);
			g->stopping = true;
			kill(g->pid, SIGKILL);
			waitpid(g->pid, &status, 0);
		}
		remove_files(g);
		exit(130);
	}
}

/* Handle whatever arrives until @until_ms (guest time) at the latest. */
static void pump(struct guest *g, long long until_ms, json_object **reply)
{
	struct pollfd pfd[3] = {
		{ .fd = g->signal_fd, .events = POLLIN },
		{ .fd = g->console_fd, .events = POLLIN },
		{ .fd = g->qmp_fd, .events = POLLIN },
	};
	long long wait = until_ms - guest_ms(g);

	if (wait < 0)
		wait = 0;
	if (poll(pfd, 3, wait) <= 0)
		return;
	if (pfd[0].revents)
		read_signals(g);
	if (pfd[1].revents)
		read_console(g);
	if (pfd[2].revents)
		read_qmp(g, reply);
}

static int qmp_command(struct guest *g, const char *cmd)
{
	json_object *reply = NULL;
	long long until = guest_ms(g) + 10000;
	bool ok;

	if (g->qmp_fd < 0 || write(g->qmp_fd, cmd, strlen(cmd)) < 0)
		return -1;
	while (!reply && g->qmp_fd >= 0 && guest_ms(g) < until)
		pump(g, until, &reply);
	ok = reply && json_object_object_get_ex(reply, "return", NULL);
	if (!ok)	/* %.*s: the command without its closing newline */
		note("QMP %.*s failed: %s", (int)strcspn(cmd, "\n"), cmd,
		     reply ? json_object_to_json_string(reply) : "no reply");
	json_object_put(reply);
	return ok ? 0 : -1;
}

/* Connect to QEMU's socket @path, retrying while QEMU starts up. */
static int connect_unix(const char *path, pid_t qemu, long long give_up_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			return fd;
		close(fd);
		if (now_ms() > give_up_ms || kill(qemu, 0) ||
		    waitpid(qemu, NULL, WNOHANG) == qemu)
			return -1;
		usleep(20000);
	}
}

static void add_arg(char **argv, int *argc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&argv[(*argc)++], fmt, ap) < 0)
		exit(2);
	va_end(ap);
	argv[*argc] = NULL;
}

static void qemu_argv(const struct guest *g, char **argv)
{
	int argc = 0;

	add_arg(argv, &argc, "%s", opt.qemu);
	add_arg(argv, &argc, "-name");
	add_arg(argv, &argc, "%s,debug-threads=on", opt.name);
	add_arg(argv, &argc, "-machine");
	add_arg(argv, &argc, "%s,accel=%s", opt.machine, opt.accel);
	add_arg(argv, &argc, "-cpu");
	add_arg(argv, &argc, "%s", opt.cpu);
	add_arg(argv, &argc, "-smp");
	add_arg(argv, &argc, "%d", opt.smp);
	add_arg(argv, &argc, "-m");
	add_arg(argv, &argc, "%d", opt.mem_mb);
	add_arg(argv, &argc, "-nodefaults");
	add_arg(argv, &argc, "-no-user-config");
	add_arg(argv, &argc, "-display");
	add_arg(argv, &argc, "none");
	add_arg(argv, &argc, "-kernel");
	add_arg(argv, &argc, "%s", opt.kernel);
	if (opt.initrd) {
		add_arg(argv, &argc, "-initrd");
		add_arg(argv, &argc, "%s", opt.initrd);
	}
	add_arg(argv, &argc, "-append");
	add_arg(argv, &argc, "console=%s,115200 %s", opt.console, opt.append ? opt.append : "");
	add_arg(argv, &argc, "-chardev");
	add_arg(argv, &argc, "socket,id=console,path=%s,server=on,wait=on,telnet=on",
		g->sock_console);
	add_arg(argv, &argc, "-serial");
	add_arg(argv, &argc, "chardev:console");
	add_arg(argv, &argc, "-qmp");
	add_arg(argv, &argc, "unix:%s,server=on,wait=off", g->sock_qmp);
	if (opt.qmp_extra) {
		/* A second QMP monitor, for a host tool watching this guest. */
		add_arg(argv, &argc, "-qmp");
		add_arg(argv, &argc, "unix:%s,server=on,wait=off", opt.qmp_extra);
	}
	add_arg(argv, &argc, "-device");
	add_arg(argv, &argc, "%s", opt.panic_device);
	if (opt.vmcoreinfo) {
		add_arg(argv, &argc, "-device");
		add_arg(argv, &argc, "vmcoreinfo");
	}
	add_arg(argv, &argc, "-action");
	add_arg(argv, &argc, "panic=none");
	add_arg(argv, &argc, "-action");
	add_arg(argv, &argc, "reboot=shutdown");
	if (opt.disk) {
		add_arg(argv, &argc, "-drive");
		add_arg(argv, &argc, "file=%s,format=raw,if=virtio,cache=unsafe", opt.disk);
	}
}

static void exec_qemu(const struct guest *g, const sigset_t *blocked)
{
	char *argv[64];
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigprocmask(SIG_UNBLOCK, blocked, NULL);
	fd = open("/dev/null", O_RDONLY);
	dup2(fd, STDIN_FILENO);
	/* QEMU's own messages go to our stderr, next to ours. */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	qemu_argv(g, argv);
	execvp(argv[0], argv);
	fprintf(stderr, "qpvm: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void stop_guest(struct guest *g)
{
	long long until = guest_ms(g) + 3000;

	/* An attached QEMU is not ours to stop. */
	if (opt.attach || g->exited || g->pid <= 0)
		return;
	g->stopping = true;
	kill(g->pid, SIGTERM);
	while (!g->exited && guest_ms(g) < until)
		pump(g, until, NULL);
	if (!g->exited) {
		int status;

		kill(g->pid, SIGKILL);
		waitpid(g->pid, &status, 0);
		child_exited(g, status);
	}
}

static void cleanup(struct guest *g)
{
	stop_guest(g);
	remove_files(g);
	if (g->log)
		fclose(g->log);
}

/*
 * What a started and an attached QEMU both need: the private directory
 * (QEMU's sockets, perf's output), the signals as events in @blocked, and
 * the clock of every *_ms and of --timeout.
 */
static int prepare_guest(struct guest *g, sigset_t *blocked)
{
	if (opt.workdir) {
		snprintf(g->dir, sizeof(g->dir), "%s", opt.workdir);
	} else {
		snprintf(g->dir, sizeof(g->dir), "/tmp/qpvm.XXXXXX");
		if (!mkdtemp(g->dir))
			return -1;
		g->own_dir = true;
	}
	snprintf(g->sock_console, sizeof(g->sock_console), "%s/console.sock", g->dir);
	snprintf(g->sock_qmp, sizeof(g->sock_qmp), "%s/qmp.sock", g->dir);
	sigemptyset(blocked);
	sigaddset(blocked, SIGCHLD);
	sigaddset(blocked, SIGINT);
	sigaddset(blocked, SIGTERM);
	sigaddset(blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, blocked, NULL);
	g->signal_fd = signalfd(-1, blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	g->t0_ms = now_ms();
	g->deadline_ms = opt.timeout_s * 1000LL;
	return 0;
}

/* --attach: check_attach() found it a QEMU with vCPU threads. */
static int attach_guest(struct guest *g)
{
	sigset_t blocked;

	if (prepare_guest(g, &blocked))
		return -1;
	g->pid = opt.attach;
	result("qemu_pid", "%d", g->pid);
	return 0;
}

static int start_guest(struct guest *g)
{
	sigset_t blocked;
	long long give_up;

	if (opt.log && !(g->log = fopen(opt.log, "w"))) {
		note("cannot write %s: %s", opt.log, strerror(errno));
		return -1;
	}
	if (prepare_guest(g, &blocked))
		return -1;
	g->pid = fork();
	if (g->pid < 0)
		return -1;
	if (g->pid == 0)
		exec_qemu(g, &blocked);

	/* QEMU waits for the console client (wait=on): no output is lost. */
	give_up = now_ms() + 20000;
	g->console_fd = connect_unix(g->sock_console, g->pid, give_up);
	g->qmp_fd = connect_unix(g->sock_qmp, g->pid, give_up);
	if (g->console_fd < 0 || g->qmp_fd < 0) {
		note("QEMU did not open its sockets in %s", g->dir);
		return -1;
	}
	fcntl(g->console_fd, F_SETFL, O_NONBLOCK);
	fcntl(g->qmp_fd, F_SETFL, O_NONBLOCK);
	if (qmp_command(g, "{\"execute\":\"qmp_capabilities\"}\n"))
		return -1;
	result("qemu_pid", "%d", g->pid);
	return 0;
}

/* ---- host CPU of the vCPU threads ------------------------------------ */

/* The name of a process or thread (its /proc comm at @path); false if gone. */
static bool read_comm(const char *path, char *comm, size_t size)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(comm, size, f) != NULL;
	fclose(f);
	if (ok)
		comm[strcspn(comm, "\n")] = '\0';
	return ok;
}

/*
 * The accelerator a vCPU thread runs on ("tcg" or "kvm"), NULL if the
 * thread is no vCPU: QEMU names them "CPU n/TCG" or "CPU n/KVM" (with
 * debug-threads=on).
 */
static const char *vcpu_accel(pid_t pid, const char *tid)
{
	char path[320], comm[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, tid);
	if (!read_comm(path, comm, sizeof(comm)) || strncmp(comm, "CPU ", 4))
		return NULL;
	if (strstr(comm, "/TCG"))
		return "tcg";
	if (strstr(comm, "/KVM"))
		return "kvm";
	return NULL;
}

static unsigned long long thread_ns(pid_t pid, const char *tid)
{
	char path[320];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

struct cpu_sample {
	int nvcpu;
	unsigned long long vcpu_ns[MAX_VCPUS], process_ns;
	char tids[MAX_VCPUS * 12];	/* the vCPU threads, "tid,tid,..." */
	const char *accel;		/* what they run on */
};

/* vCPU threads in the order QEMU created them (ascending TID). */
static void sample_cpu(pid_t pid, struct cpu_sample *s)
{
	struct dirent **tasks;
	char path[64];
	int i, n;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	n = scandir(path, &tasks, NULL, versionsort);
	for (i = 0; i < n; i++) {
		const char *tid = tasks[i]->d_name;

		if (tid[0] != '.') {
			unsigned long long ns = thread_ns(pid, tid);
			const char *accel = vcpu_accel(pid, tid);

			s->process_ns += ns;
			if (accel && s->nvcpu < MAX_VCPUS) {
				size_t used = strlen(s->tids);

				s->accel = accel;
				snprintf(s->tids + used, sizeof(s->tids) - used, "%s%s",
					 s->nvcpu ? "," : "", tid);
				s->vcpu_ns[s->nvcpu++] = ns;
			}
		}
		free(tasks[i]);
	}
	if (n >= 0)
		free(tasks);
}

static void report_cpu(const struct cpu_sample *a, const struct cpu_sample *b,
		       long long window_ms)
{
	unsigned long long total = 0, d;
	char list[MAX_VCPUS * 24] = "";
	size_t used = 0;
	int i;

	for (i = 0; i < b->nvcpu && i < a->nvcpu; i++) {
		d = b->vcpu_ns[i] - a->vcpu_ns[i];
		total += d;
		used += snprintf(list + used, sizeof(list) - used, "%s%llu",
				 i ? "," : "", d);
	}
	result("cpu_window_ms", "%lld", window_ms);
	result("cpu_vcpus", "%d", b->nvcpu);
	result("cpu_vcpu_ns", "%s", list);
	result("cpu_total_ns", "%llu", total);
	result("cpu_process_ns", "%llu", b->process_ns - a->process_ns);
	/* Percent of one host core, over the window. */
	result("cpu_pct", "%.4f", window_ms ? total / (window_ms * 1e4) : 0.0);
}

/* ---- steps ------------------------------------------------------------ */

static long long step_deadline(const struct guest *g, int seconds)
{
	long long d = guest_ms(g) + seconds * 1000LL;

	return d < g->deadline_ms ? d : g->deadline_ms;
}

/* Pump events until @done or the step's deadline; false on timeout. */
static bool wait_for(struct guest *g, long long deadline,
		     bool (*done)(struct guest *g, void *arg), void *arg)
{
	while (!done(g, arg)) {
		if (guest_ms(g) >= deadline)
			return false;
		if (g->exited && g->console_fd < 0 && g->qmp_fd < 0)
			return done(g, arg);
		pump(g, deadline, NULL);
	}
	return true;
}

static bool console_matches(struct guest *g, void *arg)
{
	for (; g->cursor < g->nlines; g->cursor++) {
		if (!regexec(arg, g->lines[g->cursor].text, 0, NULL, 0)) {
			g->cursor++;
			return true;
		}
	}
	return false;
}

static bool panicked(struct guest *g, void *arg)
{
	return g->panic_ms >= 0;
}

static bool panic_ended(struct guest *g, void *arg)
{
	return g->panic_end_ms >= 0;
}

static bool pvpanicked(struct guest *g, void *arg)
{
	return g->pvpanic_ms >= 0;
}

static bool exited(struct guest *g, void *arg)
{
	return g->exited;
}

static bool qmp_closed(struct guest *g, void *arg)
{
	return g->qmp_fd < 0;
}

static bool never(struct guest *g, void *arg)
{
	return false;
}

static int step_expect(struct guest *g, const char *re)
{
	regex_t rx;
	bool ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) {
		note("bad regular expression: %s", re);
		return -1;
	}
	ok = wait_for(g, step_deadline(g, step_timeout_s), console_matches, &rx);
	regfree(&rx);
	if (!ok) {
		note("no console line matched '%s' within %d s", re, step_timeout_s);
		return -1;
	}
	result("expect_ms", "%lld", guest_ms(g));
	return 0;
}

static int step_panic(struct guest *g, const char *arg)
{
	if (!wait_for(g, step_deadline(g, step_timeout_s), panicked, NULL)) {
		note("no panic within %d s", step_timeout_s);
		return -1;
	}
	result("panic_line", "%s", g->panic_line);
	result("panic_ms", "%lld", g->panic_ms);
	return 0;
}

static int step_settle(struct guest *g, const char *arg)
{
	double seconds = atof(arg);

	if (wait_for(g, guest_ms(g) + (long long)(seconds * 1000), panic_ended, NULL) &&
	    g->panic_ms >= 0)
		result("settle_ms_after_panic", "%lld", g->panic_end_ms - g->panic_ms);
	else
		result("settle_ms_after_panic", "none");
	/*
	 * An NMI panic's messages reach the console only when printk flushes
	 * them, after the pvpanic event: name the panic by its banner now.
	 */
	if (g->banner_seen)
		result("panic_line", "%s", g->panic_line);
	return 0;
}

static int step_pvpanic(struct guest *g, const char *arg)
{
	if (!wait_for(g, step_deadline(g, step_timeout_s), pvpanicked, NULL)) {
		note("no GUEST_PANICKED event within %d s", step_timeout_s);
		return -1;
	}
	result("pvpanic_ms_after_panic", "%lld", g->pvpanic_ms - g->panic_ms);
	return 0;
}

/* Let the guest run for @seconds, handling whatever it sends meanwhile. */
static void let_run(struct guest *g, double seconds)
{
	wait_for(g, guest_ms(g) + (long long)(seconds * 1000), never, NULL);
}

static int step_sleep(struct guest *g, const char *arg)
{
	let_run(g, atof(arg));
	return 0;
}

/*
 * Start "perf stat" on the vCPU threads @tids for @seconds, counting
 * cycles and, under KVM, kvm:kvm_exit; its CSV output in @file.
 */
static pid_t start_perf(const char *tids, double seconds, const char *file)
{
	const char *events = strcmp(opt.accel, "kvm") ? "cycles" : "cycles,kvm:kvm_exit";
	char secs[32];
	sigset_t all;
	pid_t p = fork();

	if (p != 0)
		return p;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	snprintf(secs, sizeof(secs), "%.3f", seconds);
	execlp("perf", "perf", "stat", "-x,", "-e", events, "-o", file,
	       "-t", tids, "--", "sleep", secs, (char *)NULL);
	_exit(127);
}

/* perf's count of @event in @csv, or -1 when it could not count it. */
static long long perf_count(const char *csv, const char *event)
{
	char line[256], *field;
	long long count = -1;
	FILE *f = fopen(csv, "r");

	while (f && fgets(line, sizeof(line), f)) {
		/* "count,unit,event,..." ("<not supported>" as the count) */
		field = strchr(line, ',');
		field = field ? strchr(field + 1, ',') : NULL;
		if (field && !strncmp(field + 1, event, strlen(event)) &&
		    field[1 + strlen(event)] == ',' && sscanf(line, "%lld,", &count) != 1)
			count = -1;
	}
	if (f)
		fclose(f);
	return count;
}

static void report_perf(pid_t perf, const char *csv)
{
	long long n;

	while (waitpid(perf, NULL, 0) < 0 && errno == EINTR)
		;
	n = perf_count(csv, "cycles");
	if (n < 0)
		result("perf_vcpu_cycles", "unsupported");
	else
		result("perf_vcpu_cycles", "%lld", n);
	if (!strcmp(opt.accel, "kvm")) {
		n = perf_count(csv, "kvm:kvm_exit");
		if (n < 0)
			result("perf_kvm_exits", "unsupported");
		else
			result("perf_kvm_exits", "%lld", n);
	}
	unlink(csv);
}

static int step_cpu(struct guest *g, const char *arg)
{
	double seconds = atof(arg);
	struct cpu_sample a, b;
	char perf_file[128];
	long long start;
	pid_t perf = -1;

	if (g->exited) {
		note("cpu: QEMU has already exited");
		return -1;
	}
	snprintf(perf_file, sizeof(perf_file), "%s/perf.csv", g->dir);
	sample_cpu(g->pid, &a);
	if (g->perf && a.nvcpu)
		perf = start_perf(a.tids, seconds, perf_file);
	start = guest_ms(g);
	let_run(g, seconds);
	sample_cpu(g->pid, &b);
	if (perf > 0)
		report_perf(perf, perf_file);
	if (g->exited || !b.nvcpu) {
		note("cpu: no vCPU threads to measure (QEMU exited?)");
		return -1;
	}
	report_cpu(&a, &b, guest_ms(g) - start);
	return 0;
}

static int step_sysrq(struct guest *g, const char *key)
{
	const unsigned char brk[] = { TELNET_IAC, TELNET_BREAK };

	if (console_send(g, brk, sizeof(brk)))
		return -1;
	/* Give the UART time to raise the break before the key arrives. */
	let_run(g, 0.2);
	return console_send(g, (const unsigned char *)key, 1);
}

static int step_exit(struct guest *g, const char *arg)
{
	if (!wait_for(g, step_deadline(g, step_timeout_s), exited, NULL)) {
		note("QEMU still running after %d s", step_timeout_s);
		return -1;
	}
	/* Let the SHUTDOWN event that preceded the exit arrive. */
	wait_for(g, guest_ms(g) + 2000, qmp_closed, NULL);
	result("exit_reason", "%s", g->shutdown_reason[0] ? g->shutdown_reason : "none");
	result("exit_ms", "%lld", g->exit_ms);
	if (g->shutdown_ms >= 0)
		result("shutdown_ms", "%lld", g->shutdown_ms);
	if (g->panic_ms >= 0)
		result("exit_ms_after_panic", "%lld", g->exit_ms - g->panic_ms);
	return 0;
}

static int step_nmi(struct guest *g, const char *arg)
{
	return qmp_command(g, "{\"execute\":\"inject-nmi\"}\n");
}

static int step_perf(struct guest *g, const char *arg)
{
	g->perf = atoi(arg);
	return 0;
}

static int step_timeout(struct guest *g, const char *arg)
{
	step_timeout_s = atoi(arg);
	return 0;
}


enum step_arg { ARG_NONE, ARG_REGEX, ARG_SECONDS, ARG_KEY, ARG_FLAG };

static const struct step_def {
	const char *name;
	enum step_arg arg;
	int (*run)(struct guest *g, const char *arg);
	bool measures;	/* needs no console or QMP: runs with --attach */
} steps[] = {
	{ "expect", ARG_REGEX, step_expect, false },
	{ "panic", ARG_NONE, step_panic, false },
	{ "pvpanic", ARG_NONE, step_pvpanic, false },
	{ "settle", ARG_SECONDS, step_settle, false },
	{ "sleep", ARG_SECONDS, step_sleep, true },
	{ "cpu", ARG_SECONDS, step_cpu, true },
	{ "perf", ARG_FLAG, step_perf, true },
	{ "sysrq", ARG_KEY, step_sysrq, false },
	{ "nmi", ARG_NONE, step_nmi, false },
	{ "exit", ARG_NONE, step_exit, false },
	{ "timeout", ARG_SECONDS, step_timeout, true },
};

/* The definition of @step ("name" or "name=arg"), its argument in @arg. */
static const struct step_def *find_step(const char *step, const char **arg)
{
	const char *eq = strchr(step, '=');
	size_t len = eq ? (size_t)(eq - step) : strlen(step);
	size_t i;

	*arg = eq ? eq + 1 : "";
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (strlen(steps[i].name) == len && !strncmp(step, steps[i].name, len))
			return &steps[i];
	return NULL;
}

static bool is_seconds(const char *text)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	return *text && !*end && !errno && v > 0 && v < 86400;
}

/* Why @step cannot run (NULL: it can), checked before QEMU starts. */
static const char *step_problem(const char *step)
{
	const struct step_def *def = find_step(step, &step);
	regex_t rx;

	if (!def)
		return "unknown step (see --help)";
	if (opt.attach && !def->measures)
		return "needs the console or QMP of a QEMU qpvm starts, not --attach";
	switch (def->arg) {
	case ARG_NONE:
		return *step ? "takes no argument" : NULL;
	case ARG_REGEX:
		if (regcomp(&rx, step, REG_EXTENDED | REG_NOSUB))
			return "not a POSIX extended regular expression";
		regfree(&rx);
		return NULL;
	case ARG_SECONDS:
		return is_seconds(step) ? NULL : "needs seconds (a number above 0)";
	case ARG_KEY:
		return strlen(step) == 1 ? NULL : "needs one key";
	case ARG_FLAG:
		return !strcmp(step, "0") || !strcmp(step, "1") ? NULL : "needs 0 or 1";
	}
	return NULL;
}

static int run_step(struct guest *g, const char *step)
{
	const struct step_def *def = find_step(step, &step);

	return def->run(g, step);
}

/* ---- command line ----------------------------------------------------- */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: qpvm --kernel IMAGE [options] STEP...\n"
		"       qpvm --attach PID [--timeout SEC --workdir DIR] STEP...\n"
		"options: --initrd F --append STR --smp N --mem MB --disk RAW\n"
		"         --name NAME --log FILE --timeout SEC --workdir DIR\n"
		"         --qemu BIN --accel tcg|kvm --cpu MODEL --machine TYPE\n"
		"         --console DEV (ttyS0) --panic-device DEV (pvpanic)\n"
		"         --vmcoreinfo --qmp-extra SOCKET\n"
		"         --attach PID: measure that running QEMU (its vCPU threads\n"
		"         named by debug-threads=on) instead of starting one\n"
		"steps:   expect=REGEX panic pvpanic settle=SEC sleep=SEC cpu=SEC\n"
		"         perf=0|1 sysrq=C nmi exit timeout=SEC\n"
		"         (--attach: sleep, cpu, perf and timeout only)\n"
		"         (see the header of qpvm.c)\n");
	exit(status);
}

/* @text as an int from @min to @max, or exit with one line naming @what. */
static int parse_int(const char *what, const char *text, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < min || v > max) {
		note("%s: '%s' is not a number from %d to %d", what, text, min, max);
		exit(2);
	}
	return v;
}

/* Is @prog (a path, or a name looked up in $PATH) an executable file? */
static bool executable(const char *prog)
{
	char path[4096];
	const char *dir, *env = getenv("PATH");
	size_t len;

	if (strchr(prog, '/'))
		return !access(prog, X_OK);
	for (dir = env ? env : ""; *dir; dir += len + (dir[len] == ':')) {
		len = strcspn(dir, ":");
		snprintf(path, sizeof(path), "%.*s/%s", (int)len, dir, prog);
		if (len && !access(path, X_OK))
			return true;
	}
	return false;
}

/* What QEMU needs to start: a kernel, an accelerator, QEMU; one line if not. */
static void check_start(void)
{
	if (!opt.kernel) {
		note("no --kernel given (see --help)");
		exit(2);
	}
	if (access(opt.kernel, R_OK) || (opt.initrd && access(opt.initrd, R_OK))) {
		note("cannot read %s", access(opt.kernel, R_OK) ? opt.kernel : opt.initrd);
		exit(2);
	}
	if (strcmp(opt.accel, "tcg") && strcmp(opt.accel, "kvm")) {
		note("--accel: unknown accelerator '%s' (one of: tcg kvm)", opt.accel);
		exit(2);
	}
	if (!executable(opt.qemu)) {
		note("%s not found (install its Debian package, qemu-system-x86 or "
		     "qemu-system-arm, or give --qemu)", opt.qemu);
		exit(2);
	}
}

/* --attach: a running QEMU with vCPU threads to measure; one line if not. */
static void check_attach(void)
{
	struct cpu_sample s;
	char path[64], comm[64];

	if (opt.kernel) {
		note("--attach measures a running QEMU: it takes no --kernel");
		exit(2);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", opt.attach);
	if (!read_comm(path, comm, sizeof(comm))) {
		note("--attach: no process %d", opt.attach);
		exit(2);
	}
	/* comm is cut at 15 characters: "qemu-system-x86" */
	if (strncmp(comm, "qemu-system-", 12)) {
		note("--attach: process %d (%s) is not a QEMU", opt.attach, comm);
		exit(2);
	}
	sample_cpu(opt.attach, &s);
	if (!s.nvcpu) {
		note("--attach: QEMU %d has no vCPU threads named 'CPU n/TCG' or 'CPU n/KVM' (start it with -name ...,debug-threads=on)",
		     opt.attach);
		exit(2);
	}
	/* perf=1 counts VM exits on KVM */
	opt.accel = s.accel;
}

/* Everything that can be checked before QEMU starts, one line if not. */
static void check_options(int nsteps, char **steps_argv)
{
	const char *why;
	int i;

	if (opt.attach)
		check_attach();
	else
		check_start();
	for (i = 0; i < nsteps; i++) {
		why = step_problem(steps_argv[i]);
		if (why) {
			note("step '%s': %s", steps_argv[i], why);
			exit(2);
		}
	}
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", 1, NULL, 'k' }, { "initrd", 1, NULL, 'i' },
		{ "append", 1, NULL, 'a' }, { "smp", 1, NULL, 's' },
		{ "mem", 1, NULL, 'm' }, { "disk", 1, NULL, 'd' },
		{ "name", 1, NULL, 'n' }, { "log", 1, NULL, 'l' },
		{ "timeout", 1, NULL, 't' }, { "workdir", 1, NULL, 'w' },
		{ "qemu", 1, NULL, 'q' }, { "accel", 1, NULL, 'A' },
		{ "cpu", 1, NULL, 'c' }, { "machine", 1, NULL, 'M' },
		{ "vmcoreinfo", 0, NULL, 'V' }, { "qmp-extra", 1, NULL, 'Q' },
		{ "attach", 1, NULL, 'P' }, { "console", 1, NULL, 'C' },
		{ "panic-device", 1, NULL, 'D' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': opt.kernel = optarg; break;
		case 'i': opt.initrd = optarg; break;
		case 'a': opt.append = optarg; break;
		case 's': opt.smp = parse_int("--smp", optarg, 1, MAX_VCPUS); break;
		case 'm': opt.mem_mb = parse_int("--mem", optarg, 64, 1 << 20); break;
		case 'd': opt.disk = optarg; break;
		case 'n': opt.name = optarg; break;
		case 'l': opt.log = optarg; break;
		case 't': opt.timeout_s = parse_int("--timeout", optarg, 1, 86400); break;
		case 'w': opt.workdir = optarg; break;
		case 'q': opt.qemu = optarg; break;
		case 'A': opt.accel = optarg; break;
		case 'c': opt.cpu = optarg; break;
		case 'M': opt.machine = optarg; break;
		case 'C': opt.console = optarg; break;
		case 'D': opt.panic_device = optarg; break;
		case 'V': opt.vmcoreinfo = true; break;
		case 'Q': opt.qmp_extra = optarg; break;
		case 'P': opt.attach = parse_int("--attach", optarg, 1, INT_MAX); break;
		case 'h': usage(0); break;
		default:
			note("unknown option or missing value: %s (see --help)", argv[optind - 1]);
			exit(2);
		}
	}
	check_options(argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
	struct guest g = { .console_fd = -1, .qmp_fd = -1, .signal_fd = -1,
			   .panic_ms = -1, .panic_end_ms = -1, .pvpanic_ms = -1,
			   .shutdown_ms = -1, .exit_ms = -1 };
	int i, failed = 0;

	parse_options(argc, argv);
	if (opt.attach ? attach_guest(&g) : start_guest(&g)) {
		note("could not start the guest");
		cleanup(&g);
		return 2;
	}
	for (i = optind; i < argc && !failed; i++) {
		if (run_step(&g, argv[i])) {
			note("step '%s' failed after %lld ms", argv[i], guest_ms(&g));
			failed = 1;
		}
	}
	if (opt.attach) {
		cleanup(&g);
		return failed;
	}
	/* Did the guest end on its own (poweroff, reset) before we stopped it? */
	result("guest_ended", "%s", g.exited ? "yes" : "no");
	if (g.exited && g.shutdown_reason[0])
		result("exit_reason", "%s", g.shutdown_reason);
	cleanup(&g);
	result("console_lines", "%zu", g.nlines);
	return failed;
}
