// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector - dump panicked guests from the host, no crashkernel.
 *
 * See usage() below (also: panic-collector --help), written as a man page.
 *
 * Guests come from raw QMP sockets (qmp.c) or from libvirt (libvirt.c);
 * one event loop, libvirt's default event implementation, serves both.
 * Each VM goes through:
 *
 *   WATCHING   its backend waits for the panic (QMP GUEST_PANICKED, or
 *              libvirt's lifecycle event CRASHED/PANICKED)
 *   SETTLING   sampling its vCPUs' host CPU time once a second until they
 *              are quiet or --settle runs out
 *   QUEUED     waiting for one of the --jobs dump slots
 *   DUMPING    the backend dumps into NAME-TIME.FORMAT.partial; renamed and
 *              described (NAME-TIME.FORMAT.json) on success
 *   POLICY     pause, quit or restart asked for, waiting for the answer
 *   DONE       policy applied, or FAILED with a reason
 *
 * A dump that fails (disk full, VM gone, libvirtd gone, QEMU error) leaves
 * no file behind, only one error line; the exit status says whether any VM
 * failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"

#define TICK_MS		200
#define SAMPLE_MS	1000

static const char *const state_names[] = {
	"watching", "settling", "queued", "dumping", "applying the policy",
	"done", "failed",
};

static const char *const policy_names[] = {
	[POLICY_KEEP] = "keep", [POLICY_PAUSE] = "pause",
	[POLICY_QUIT] = "quit", [POLICY_RESTART] = "restart",
};

static const char *const formats[] = {
	"kdump-zlib", "kdump-lzo", "kdump-snappy", "elf",
};

struct options opt = {
	.format = "kdump-zlib",
	.policy = POLICY_KEEP,
	.jobs = 2,
	.settle_s = 30,
	.connect_s = 30,
	.quiet_pct = 1.0,
};

static struct vm vms[MAX_VMS];
static int nvms;
/* Failures so far: the exit status, whatever became of the VMs later. */
static int failures;
static volatile sig_atomic_t stop_requested;
static char dir_path[PATH_MAX];

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const char *policy_name(enum policy p)
{
	return policy_names[p];
}

const char *vm_state_name(const struct vm *vm)
{
	return state_names[vm->state];
}

/* One line on stdout, "NAME: ...", for everything that goes well. */
void say(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", vm ? vm->name : "panic-collector");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A usage or setup error: one line on stderr, exit status 2. */
void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("panic-collector: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* "NAME: error: ..." on stderr: what went wrong with a VM, in one line. */
void vm_error_line(const struct vm *vm, const char *why)
{
	fprintf(stderr, "%s: error: %s\n", vm->name, why);
	fflush(stderr);
}

/* The one error line of a VM, and the end of its road: no partial dump. */
void vm_fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
	va_end(ap);
	if (vm->partial[0])
		unlink(vm->partial);
	vm->partial[0] = '\0';
	vm->state = FAILED;
	failures++;
	vm_error_line(vm, vm->why);
}

struct vm *vm_named(const char *name)
{
	int i;

	for (i = 0; i < nvms; i++)
		if (!strcmp(vms[i].name, name))
			return &vms[i];
	return NULL;
}

/* A new VM, watching; NULL (said once) when MAX_VMS are watched already. */
struct vm *vm_new(const char *name, const struct vm_ops *ops, void *backend)
{
	static bool said;
	struct vm *vm;

	if (nvms == MAX_VMS) {
		if (!said)
			fprintf(stderr, "panic-collector: watching %d VMs already: %s and later ones are not watched\n",
				MAX_VMS, name);
		said = true;
		return NULL;
	}
	vm = &vms[nvms++];
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->ops = ops;
	vm->backend = backend;
	vm->state = WATCHING;
	vm->last_ns = -1;
	return vm;
}

void vm_watching(struct vm *vm, const char *what)
{
	vm->state = WATCHING;
	vm->retries = 0;
	say(vm, "watching %s", what);
}

/* A VM that ran again (restarted, resumed): watch it again, but for --once. */
void vm_rearm(struct vm *vm, const char *why)
{
	if (!opt.once && (vm->state == DONE || vm->state == FAILED))
		vm_watching(vm, why);
}

/* A VM that ended without a panic: nothing to dump, nothing failed. */
void vm_finished(struct vm *vm, const char *why)
{
	if (vm->state != WATCHING)
		return;
	say(vm, "%s", why);
	vm->state = DONE;
}

bool collector_stopping(void)
{
	return stop_requested;
}

/* The guest panicked: wait for its vCPUs to go quiet, then dump it. */
void vm_panicked(struct vm *vm, const char *how)
{
	if (vm->state != WATCHING)
		return;
	say(vm, "panicked (%s); waiting up to %d s for its vCPUs to go quiet",
	    how, opt.settle_s);
	vm->state = SETTLING;
	vm->panic_ms = now_ms();
	vm->sample_ms = vm->panic_ms;
	vm->last_ns = vm->ops->vcpu_ns(vm);
}

/* The dump could not start yet (the VMM is busy with another): again soon. */
void vm_retry_dump(struct vm *vm, const char *why)
{
	if (vm->state != DUMPING)
		return;
	if (++vm->retries > 30) {
		vm_dump_done(vm, why);
		return;
	}
	say(vm, "%s; trying again in a second", why);
	unlink(vm->partial);
	vm->partial[0] = '\0';
	vm->state = SETTLING;
	vm->sample_ms = now_ms();
}

/*
 * The guest panicked with a crash kernel loaded (pvpanic "crash loaded"):
 * it dumps itself, and a host dump or a destructive policy would only get
 * in its way.
 */
void vm_crash_loaded(struct vm *vm)
{
	if (vm->state != WATCHING)
		return;
	say(vm, "panicked with a crash kernel loaded: the guest dumps itself; not dumping");
	vm->state = DONE;
}

static const char *file_suffix(void)
{
	return strcmp(opt.format, "elf") ? "kdump" : "elf";
}

/* Dumps under way, of every backend (@ops NULL) or of one. */
static int active_dumps(const struct vm_ops *ops)
{
	int i, n = 0;

	for (i = 0; i < nvms; i++)
		n += vms[i].state == DUMPING && (!ops || vms[i].ops == ops);
	return n;
}

/* A slot for @vm's dump: --jobs in all, and what its backend allows. */
static bool dump_slot_free(const struct vm *vm)
{
	return active_dumps(NULL) < opt.jobs &&
	       (!vm->ops->max_dumps || active_dumps(vm->ops) < vm->ops->max_dumps);
}

static void start_dump(struct vm *vm)
{
	char stamp[32];
	time_t t = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&t));
	snprintf(vm->path, sizeof(vm->path), "%.300s/%.63s-%s.%s", opt.dir,
		 vm->name, stamp, file_suffix());
	snprintf(vm->partial, sizeof(vm->partial), "%s.partial", vm->path);
	vm->dump_start_ms = now_ms();
	vm->state = DUMPING;
	say(vm, "dumping (%s, vCPUs %s) to %s", opt.format,
	    vm->quiet ? "quiet" : "NOT quiet", vm->path);
	vm->ops->start_dump(vm);
}

/*
 * The panic line of the VM's console log, if we know where it is: the last
 * one (a log may hold earlier boots), in the last MiB (a log may be huge,
 * and this runs in the event loop).
 */
static void panic_line(const struct vm *vm, char *line, size_t size)
{
	char buf[1024];
	FILE *f = vm->console[0] ? fopen(vm->console, "r") : NULL;

	line[0] = '\0';
	if (f && fseek(f, -(1L << 20), SEEK_END))
		rewind(f);
	while (f && fgets(buf, sizeof(buf), f)) {
		char *p = strstr(buf, "Kernel panic - not syncing");

		if (p) {
			p[strcspn(p, "\r\n")] = '\0';
			snprintf(line, size, "%s", p);
		}
	}
	if (f)
		fclose(f);
}

static json_object *string_or_null(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static int write_metadata(const struct vm *vm, long long bytes)
{
	json_object *m = json_object_new_object();
	char file[530], tmp[540], line[512], stamp[32], source[400];
	time_t t = time(NULL);
	int rc;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	panic_line(vm, line, sizeof(line));
	json_object_object_add(m, "vm", json_object_new_string(vm->name));
	json_object_object_add(m, "uuid", string_or_null(vm->uuid));
	json_object_object_add(m, "source",
			       json_object_new_string(vm->ops->source(vm, source, sizeof(source))));
	json_object_object_add(m, "time", json_object_new_string(stamp));
	json_object_object_add(m, "dump", json_object_new_string(strrchr(vm->path, '/') + 1));
	json_object_object_add(m, "format", json_object_new_string(opt.format));
	json_object_object_add(m, "bytes", json_object_new_int64(bytes));
	json_object_object_add(m, "dump_ms", json_object_new_int64(now_ms() - vm->dump_start_ms));
	json_object_object_add(m, "vcpus_quiet", json_object_new_boolean(vm->quiet));
	json_object_object_add(m, "vcpu_ns_last_second", json_object_new_int64(vm->quiet_ns));
	json_object_object_add(m, "panic_line", string_or_null(line));
	json_object_object_add(m, "policy", json_object_new_string(policy_name(opt.policy)));
	snprintf(file, sizeof(file), "%s.json", vm->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	rc = json_object_to_file_ext(tmp, m, JSON_C_TO_STRING_PRETTY);
	json_object_put(m);
	if (rc || rename(tmp, file)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Why a dump failed, as far as the dump dir can tell: QEMU says "failed to
 * write page desc" when the disk is full. Asked before the partial dump is
 * removed, while the space it took is still used.
 */
static const char *dump_dir_full(void)
{
	static char note[400];
	struct statvfs st;

	if (statvfs(opt.dir, &st) || (unsigned long long)st.f_bavail * st.f_frsize >= 1 << 20)
		return "";
	snprintf(note, sizeof(note), " (no space left in %s)", opt.dir);
	return note;
}

/* The backend's dump ended: @error is NULL on success. */
void vm_dump_done(struct vm *vm, const char *error)
{
	struct stat sb;

	if (vm->state != DUMPING)
		return;
	if (error) {
		vm_fail(vm, "dump failed: %s%s; partial dump removed", error, dump_dir_full());
		return;
	}
	if (stat(vm->partial, &sb) || rename(vm->partial, vm->path)) {
		vm_fail(vm, "dump completed but %s is missing: %s", vm->partial, strerror(errno));
		return;
	}
	vm->partial[0] = '\0';
	if (write_metadata(vm, sb.st_size)) {
		unlink(vm->path);
		vm_fail(vm, "cannot write %s.json (disk full?): dump removed", vm->path);
		return;
	}
	say(vm, "dumped %lld bytes in %lld ms: %s", (long long)sb.st_size,
	    now_ms() - vm->dump_start_ms, vm->path);
	if (vm->ops->dumped)
		vm->ops->dumped(vm);
	if (opt.policy == POLICY_KEEP) {
		vm->state = DONE;
		return;
	}
	vm->state = POLICY;
	vm->ops->apply_policy(vm);
}

void vm_policy_done(struct vm *vm)
{
	static const char *const done[] = {
		[POLICY_PAUSE] = "paused", [POLICY_QUIT] = "quit",
		[POLICY_RESTART] = "restarted",
	};

	if (vm->state != POLICY)
		return;
	say(vm, "%s", done[opt.policy]);
	vm->state = DONE;
	if (opt.policy == POLICY_RESTART)
		vm_rearm(vm, "again (restarted)");
}

/*
 * Once a second while settling: quiet when the vCPUs used less than
 * --quiet-pct of a core since the last sample. A VM whose vCPU time is not
 * known (yet) is not quiet; --settle ends the wait either way.
 */
static void sample(struct vm *vm, long long now)
{
	long long ns;
	bool known;

	if (vm->state != SETTLING || now - vm->sample_ms < SAMPLE_MS)
		return;
	ns = vm->ops->vcpu_ns(vm);
	/* The backend may have changed the VM's state meanwhile. */
	if (vm->state != SETTLING)
		return;
	known = ns >= 0 && vm->last_ns >= 0;
	vm->quiet_ns = known ? (long long)((double)(ns - vm->last_ns) * 1000 / (now - vm->sample_ms)) : -1;
	vm->quiet = known && vm->quiet_ns <= opt.quiet_pct * 1e7;
	vm->last_ns = ns;
	vm->sample_ms = now;
	if (!vm->quiet && now - vm->panic_ms < opt.settle_s * 1000LL)
		return;
	if (known)
		say(vm, "vCPUs used %lld ns in the last second: %s", vm->quiet_ns,
		    vm->quiet ? "quiet" : "still busy, dumping anyway");
	else
		say(vm, "vCPU time unknown after %d s: dumping anyway", opt.settle_s);
	vm->state = QUEUED;
}

static bool all_finished(void)
{
	int i;

	for (i = 0; i < nvms; i++)
		if (vms[i].state != DONE && vms[i].state != FAILED)
			return false;
	return true;
}

/* Every TICK_MS: sample the settling VMs, start what the slots allow. */
static void tick(int timer, void *opaque)
{
	long long now = now_ms();
	int i;

	qmp_tick();
	lv_tick();
	for (i = 0; i < nvms; i++)
		sample(&vms[i], now);
	for (i = 0; i < nvms; i++)
		if (vms[i].state == QUEUED && dump_slot_free(&vms[i]))
			start_dump(&vms[i]);
}

static int run(void)
{
	int i;

	if (virEventAddTimeout(TICK_MS, tick, NULL, NULL) < 0)
		die_usage("cannot add the event loop's timer");
	qmp_start();
	if (lv_wanted() && lv_start())
		return 1;
	if (opt.once && !nvms)
		say(NULL, "nothing to watch");
	while (!stop_requested && !(opt.once && all_finished()))
		if (virEventRunDefaultImpl() < 0)
			break;
	for (i = 0; i < nvms; i++) {
		if (vms[i].state != DUMPING)
			continue;
		/* A libvirt dump cannot be cut short: it may end well. */
		lv_abort_dump(&vms[i]);
		if (vms[i].state == DUMPING)
			vm_fail(&vms[i], "stopped during the dump; partial dump removed");
	}
	lv_stop();
	return failures ? 1 : 0;
}

/* ---- command line ------------------------------------------------------- */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"NAME\n"
"    panic-collector - dump panicked guests from the host\n"
"\n"
"SYNOPSIS\n"
"    panic-collector --dir DIR [options] [NAME=]QMP_SOCKET...\n"
"    panic-collector --dir DIR --libvirt URI [--domain NAME]... [options]\n"
"\n"
"DESCRIPTION\n"
"    Watches guests for a panic: over their QMP socket (QEMU started with\n"
"    -device pvpanic, -action panic=none and, for makedumpfile and crash,\n"
"    -device vmcoreinfo), or through libvirt (domains with a <panic> device\n"
"    and <features><acpi/></features>; every domain of URI, or the ones\n"
"    named with --domain). On the panic it waits until the guest's vCPUs are\n"
"    quiet, dumps its memory into DIR/NAME-TIME.kdump with NAME-TIME.kdump.json\n"
"    metadata next to it, then applies the policy. No crashkernel\n"
"    reservation is needed in the guest. A guest that panics with a crash\n"
"    kernel loaded (pvpanic \"crash loaded\") dumps itself and is left alone.\n"
"    Output lines start with the VM name; a failed dump leaves no file and\n"
"    one line \"NAME: error: ...\" on stderr.\n"
"\n"
"    With --libvirt, the dump is libvirt's memory-only core dump\n"
"    (virsh dump --memory-only), written by libvirtd; domains that are\n"
"    already crashed when the collector connects (or reconnects, after\n"
"    libvirtd restarted) are dumped too. A domain without a panic device\n"
"    cannot be watched: it is reported once.\n"
"\n"
"OPTIONS\n"
"    -d, --dir DIR         where dumps and metadata go (must exist)\n"
"    -f, --format FMT      kdump-zlib (default), kdump-lzo, kdump-snappy or elf\n"
"    -p, --policy P        after the dump: keep (default, leave it as it is),\n"
"                          pause, quit (QMP quit; libvirt: destroy) or\n"
"                          restart (reset and run)\n"
"    -j, --jobs N          dumps at the same time (default 2; at most 4 through\n"
"                          one libvirt connection, libvirtd's request limit)\n"
"    -s, --settle SEC      longest wait for quiet vCPUs; dump anyway after it\n"
"                          (default 30)\n"
"    -q, --quiet-pct PCT   quiet: vCPUs under PCT %% of one core over one\n"
"                          second (default 1)\n"
"    -c, --console NAME=LOG  a QMP guest's console log: its panic line goes\n"
"                          into the metadata (libvirt: the domain's\n"
"                          file-backed serial console, found by itself)\n"
"    -w, --connect SEC     keep trying to connect this long (default 30)\n"
"    -L, --libvirt URI     watch the domains of this libvirt connection\n"
"    -D, --domain NAME     with --libvirt: only this domain (repeatable)\n"
"    -1, --once            exit once every watched VM is dumped, has failed or\n"
"                          has ended without a panic (with --libvirt and no\n"
"                          --domain: the domains running when it starts)\n"
"    -h, --help            this text\n"
"\n"
"EXIT STATUS\n"
"    0 every watched VM that panicked was dumped, 1 a dump failed or a VM\n"
"    could not be watched, 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"    panic-collector -d /var/crash/guests -p quit -1 web1=/run/qemu/web1.qmp\n"
"    panic-collector -d /var/crash/guests --libvirt qemu:///system\n");
	exit(status);
}

/* @text as a whole number from @min to @max, or one line naming @what. */
static int parse_int(const char *what, const char *text, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < min || v > max)
		die_usage("%s: '%s' is not a whole number from %d to %d", what, text, min, max);
	return v;
}

/* @text as a percentage, or one line naming @what. */
static double parse_pct(const char *what, const char *text)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (!*text || *end || errno || !isfinite(v) || v < 0 || v > 100)
		die_usage("%s: '%s' is not a number from 0 to 100", what, text);
	return v;
}

static enum policy parse_policy(const char *p)
{
	unsigned int i;

	for (i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (!strcmp(p, policy_names[i]))
			return i;
	die_usage("--policy: unknown policy '%s' (one of: keep pause quit restart)", p);
	return POLICY_KEEP;
}

static const char *parse_format(const char *f)
{
	unsigned int i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(f, formats[i]))
			return formats[i];
	die_usage("--format: unknown format '%s' (one of: kdump-zlib kdump-lzo kdump-snappy elf)", f);
	return NULL;
}

/*
 * --dir, as an absolute path: QEMU resolves a relative "file:" path in its
 * own working directory, and libvirtd in its own.
 */
static const char *check_dir(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
		die_usage("--dir %s is not a directory", dir);
	if (access(dir, W_OK))
		die_usage("--dir %s is not writable", dir);
	if (!realpath(dir, dir_path) || strlen(dir_path) > 300)
		die_usage("--dir %s: cannot resolve it to a path of at most 300 bytes", dir);
	return dir_path;
}

/*
 * One collector per dump directory: a second one would take the first one's
 * partial dumps for stale ones and remove them. The lock is on the
 * directory itself (no file left in it) and goes with the process.
 */
static void lock_dir(void)
{
	int fd = open(opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB))
		die_usage("--dir %s: %s", opt.dir, errno == EWOULDBLOCK ?
			  "another panic-collector is using it" : strerror(errno));
}

/*
 * Partial dumps of an earlier collector that was killed mid-dump
 * (NAME-YYYYmmddTHHMMSSZ.FORMAT.partial): nobody finishes them.
 */
static void remove_stale_partials(void)
{
	DIR *d = opendir(opt.dir);
	struct dirent *e;
	char path[PATH_MAX + 256];
	size_t len;

	while (d && (e = readdir(d))) {
		len = strlen(e->d_name);
		if (len < 25 || strcmp(e->d_name + len - 8, ".partial") ||
		    (!strstr(e->d_name, "Z.kdump.") && !strstr(e->d_name, "Z.elf.")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.dir, e->d_name);
		if (!unlink(path))
			say(NULL, "removed %s, left by a collector stopped mid-dump", path);
	}
	if (d)
		closedir(d);
}

/* The first SIGINT or SIGTERM stops the collector; a second one kills it. */
static void on_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	stop_requested = 1;
	sigaction(sig, &dfl, NULL);
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal }, ign = { .sa_handler = SIG_IGN };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &ign, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", 1, NULL, 'd' }, { "format", 1, NULL, 'f' },
		{ "policy", 1, NULL, 'p' }, { "jobs", 1, NULL, 'j' },
		{ "settle", 1, NULL, 's' }, { "quiet-pct", 1, NULL, 'q' },
		{ "console", 1, NULL, 'c' }, { "connect", 1, NULL, 'w' },
		{ "libvirt", 1, NULL, 'L' }, { "domain", 1, NULL, 'D' },
		{ "once", 0, NULL, '1' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *consoles[MAX_VMS];
	int c, i, nconsoles = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:f:p:j:s:q:c:w:L:D:1h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': opt.dir = optarg; break;
		case 'f': opt.format = parse_format(optarg); break;
		case 'p': opt.policy = parse_policy(optarg); break;
		case 'j': opt.jobs = parse_int("--jobs", optarg, 1, MAX_VMS); break;
		case 's': opt.settle_s = parse_int("--settle", optarg, 0, 86400); break;
		case 'q': opt.quiet_pct = parse_pct("--quiet-pct", optarg); break;
		case 'c':
			if (nconsoles == MAX_VMS)
				die_usage("at most %d --console options", MAX_VMS);
			consoles[nconsoles++] = optarg;
			break;
		case 'w': opt.connect_s = parse_int("--connect", optarg, 0, 86400); break;
		case 'L': lv_set_uri(optarg); break;
		case 'D': lv_add_domain(optarg); break;
		case '1': opt.once = true; break;
		case 'h': usage(0); break;
		case ':': die_usage("%s needs a value (see --help)", argv[optind - 1]);
		default: die_usage("unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (!opt.dir)
		die_usage("no --dir given (see --help)");
	opt.dir = check_dir(opt.dir);
	lv_check_options();
	if (optind == argc && !lv_wanted())
		die_usage("nothing to watch: give QMP sockets or --libvirt URI (see --help)");
	for (i = optind; i < argc; i++)
		qmp_add_vm(argv[i]);
	for (i = 0; i < nconsoles; i++)
		qmp_set_console(consoles[i]);
	catch_signals();
	lock_dir();
	remove_stale_partials();
	if (virEventRegisterDefaultImpl() < 0)
		die_usage("cannot set up libvirt's event loop");
	return run();
}
