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
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
static volatile sig_atomic_t stop_requested;

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

struct vm *vm_new(const char *name, const struct vm_ops *ops, void *backend)
{
	struct vm *vm;

	if (nvms == MAX_VMS)
		die_usage("at most %d VMs", MAX_VMS);
	vm = &vms[nvms++];
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->ops = ops;
	vm->backend = backend;
	vm->state = WATCHING;
	return vm;
}

void vm_watching(struct vm *vm, const char *what)
{
	vm->state = WATCHING;
	say(vm, "watching %s", what);
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

static int active_dumps(void)
{
	int i, n = 0;

	for (i = 0; i < nvms; i++)
		n += vms[i].state == DUMPING;
	return n;
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

/* The panic line of the VM's console log, if we know where it is. */
static void panic_line(const struct vm *vm, char *line, size_t size)
{
	char buf[1024];
	FILE *f = vm->console[0] ? fopen(vm->console, "r") : NULL;

	line[0] = '\0';
	while (f && fgets(buf, sizeof(buf), f)) {
		char *p = strstr(buf, "Kernel panic - not syncing");

		if (p && !line[0]) {
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

/* The backend's dump ended: @error is NULL on success. */
void vm_dump_done(struct vm *vm, const char *error)
{
	struct stat sb;

	if (vm->state != DUMPING)
		return;
	if (error) {
		vm_fail(vm, "dump failed: %s; partial dump removed", error);
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
}

/* Once a second while settling: quiet when under --quiet-pct of a core. */
static void sample(struct vm *vm, long long now)
{
	long long ns;

	if (vm->state != SETTLING || now - vm->sample_ms < SAMPLE_MS)
		return;
	ns = vm->ops->vcpu_ns(vm);
	if (ns < 0) {
		vm->quiet = false;
	} else {
		vm->quiet_ns = (ns - vm->last_ns) * 1000 / (now - vm->sample_ms);
		vm->last_ns = ns;
		vm->quiet = vm->quiet_ns <= opt.quiet_pct * 1e7;
	}
	vm->sample_ms = now;
	if (vm->quiet || now - vm->panic_ms >= opt.settle_s * 1000LL) {
		say(vm, "vCPUs used %llu ns in the last second: %s", vm->quiet_ns,
		    vm->quiet ? "quiet" : "still busy, dumping anyway");
		vm->state = QUEUED;
	}
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
	for (i = 0; i < nvms && active_dumps() < opt.jobs; i++)
		if (vms[i].state == QUEUED)
			start_dump(&vms[i]);
}

static int run(void)
{
	int i, failed = 0;

	if (virEventAddTimeout(TICK_MS, tick, NULL, NULL) < 0)
		die_usage("cannot add the event loop's timer");
	qmp_start();
	if (lv_wanted() && lv_start())
		return 1;
	while (!stop_requested && !(opt.once && nvms && all_finished()))
		if (virEventRunDefaultImpl() < 0)
			break;
	for (i = 0; i < nvms; i++) {
		if (vms[i].state == DUMPING) {
			lv_abort_dump(&vms[i]);
			vm_fail(&vms[i], "stopped during the dump; partial dump removed");
		}
		failed |= vms[i].state == FAILED;
	}
	lv_stop();
	return failed ? 1 : 0;
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
"    -j, --jobs N          dumps at the same time (default 2)\n"
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
"    -1, --once            exit once every watched VM is dumped (or failed)\n"
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

/* @text as a number from @min to @max, or one line naming @what. */
static double parse_number(const char *what, const char *text, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (!*text || *end || errno || v < min || v > max)
		die_usage("%s: '%s' is not a number from %g to %g", what, text, min, max);
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

static void check_dir(const char *dir)
{
	struct stat sb;

	if (strlen(dir) > 300)
		die_usage("--dir %s: path too long", dir);
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
		die_usage("--dir %s is not a directory", dir);
	if (access(dir, W_OK))
		die_usage("--dir %s is not writable", dir);
}

static void on_signal(int sig)
{
	stop_requested = 1;
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
		case 'j': opt.jobs = parse_number("--jobs", optarg, 1, MAX_VMS); break;
		case 's': opt.settle_s = parse_number("--settle", optarg, 0, 86400); break;
		case 'q': opt.quiet_pct = parse_number("--quiet-pct", optarg, 0, 100); break;
		case 'c':
			if (nconsoles == MAX_VMS)
				die_usage("at most %d --console options", MAX_VMS);
			consoles[nconsoles++] = optarg;
			break;
		case 'w': opt.connect_s = parse_number("--connect", optarg, 0, 86400); break;
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
	check_dir(opt.dir);
	lv_check_options();
	if (optind == argc && !lv_wanted())
		die_usage("nothing to watch: give QMP sockets or --libvirt URI (see --help)");
	for (i = optind; i < argc; i++)
		qmp_add_vm(argv[i]);
	for (i = 0; i < nconsoles; i++)
		qmp_set_console(consoles[i]);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (virEventRegisterDefaultImpl() < 0)
		die_usage("cannot set up libvirt's event loop");
	return run();
}
