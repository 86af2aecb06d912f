// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector - dump panicked guests from the host, no crashkernel.
 *
 * See usage() in options.c (also: panic-collector --help), written as a
 * man page, and collector.h for the parts.
 *
 * This is the core: one event loop, libvirt's default event implementation,
 * serves every backend (backends[] below). Each VM goes through:
 *
 *   WATCHING   its backend waits for the panic (QMP GUEST_PANICKED, or
 *              libvirt's lifecycle event CRASHED/PANICKED), or finds the
 *              guest panicked already when it connects
 *   SETTLING   sampling its vCPUs' host CPU time once a second until they
 *              are quiet or --settle runs out
 *   QUEUED     waiting for one of the --jobs dump slots; the disk guard
 *              (guard.c) may refuse it then: one error line, left as it is
 *   DUMPING    the backend dumps into NAME-TIME.FORMAT.partial (created
 *              0600 here); renamed and described (NAME-TIME.FORMAT.json) on
 *              success, then retention
 *   POLICY     pause, quit or restart asked for, waiting for the answer
 *   DONE       policy applied, or FAILED with a reason
 *
 * A dump that fails (disk full, VM gone, libvirtd gone, QEMU error) leaves
 * no file behind, only one error line. SIGTERM ends the collector with
 * status 0 once the dumps under way ended or were cut short cleanly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <limits.h>
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

/* Every way of reaching a guest; adding one is adding it here. */
const struct backend *const backends[] = { &qmp_backend, &lv_backend, NULL };

static const char *const state_names[] = {
	"watching", "settling", "queued", "dumping", "applying the policy",
	"done", "failed",
};

static struct vm **vms;
static int nvms;
/* Failures so far (--once's exit status), whatever became of the VMs later. */
static int failures;
static volatile sig_atomic_t stop_requested, reload_requested;

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const char *vm_state_name(const struct vm *vm)
{
	return state_names[vm->state];
}

int vm_count(void)
{
	return nvms;
}

struct vm *vm_at(int i)
{
	return vms[i];
}

/* A VM's end: the one error line, no partial dump, an alert. */
void vm_fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
	va_end(ap);
	if (vm->partial[0])
		unlink(vm->partial);
	vm->partial[0] = '\0';
	/* Failed before it was ever watched: it cannot be watched. */
	vm->unwatchable = !vm->watched;
	vm->state = FAILED;
	failures++;
	vm_error_line(vm, vm->why);
	alert(vm, vm->unwatchable ? ALERT_UNWATCHABLE : ALERT_FAILED, vm->why);
}

/* The disk guard said no: one line, and the guest is left as it is. */
static void vm_refuse(struct vm *vm, const char *why)
{
	snprintf(vm->why, sizeof(vm->why), "refused: %s", why);
	vm->state = DONE;
	failures++;
	vm_error_line(vm, vm->why);
	alert(vm, ALERT_REFUSED, vm->why);
}

struct vm *vm_named(const char *name)
{
	int i;

	for (i = 0; i < nvms; i++)
		if (!strcmp(vms[i]->name, name))
			return vms[i];
	return NULL;
}

/* A new VM, waiting for its backend to watch it. */
struct vm *vm_new(const char *name, const struct vm_ops *ops, void *backend)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct vm **more = realloc(vms, (nvms + 1) * sizeof(*vms));

	if (!vm || !more)
		abort();
	vms = more;
	vms[nvms++] = vm;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->ops = ops;
	vm->backend = backend;
	vm->state = WATCHING;
	vm->last_ns = -1;
	alerts_changed();
	return vm;
}

/* The guest is gone for good (a domain undefined, a socket removed). */
void vm_free(struct vm *vm)
{
	int i;

	for (i = 0; i < nvms; i++)
		if (vms[i] == vm)
			break;
	if (i == nvms)
		return;
	vms[i] = vms[--nvms];
	free(vm->dump_times);
	free(vm);
	alerts_changed();
}

void vm_watching(struct vm *vm, const char *what)
{
	vm->state = WATCHING;
	vm->retries = 0;
	vm->panic_ms = 0;
	vm->watched = true;
	vm->unwatchable = false;
	say(vm, "watching %s", what);
	alerts_changed();
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
	alerts_changed();
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
	vm->panic_time = time(NULL);
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

/* Dumps under way, of every backend (@ops NULL) or of one. */
static int active_dumps(const struct vm_ops *ops)
{
	int i, n = 0;

	for (i = 0; i < nvms; i++)
		n += vms[i]->state == DUMPING && (!ops || vms[i]->ops == ops);
	return n;
}

/* A slot for @vm's dump: --jobs in all, and what its backend allows. */
static bool dump_slot_free(const struct vm *vm)
{
	return active_dumps(NULL) < opt.jobs &&
	       (!vm->ops->max_dumps || active_dumps(vm->ops) < vm->ops->max_dumps);
}

/*
 * The dump's file, created here 0600 whoever writes it (QEMU gets the open
 * descriptor; libvirtd opens the path and keeps its mode). -1 with errno
 * EEXIST: a dump of this VM started in this second already.
 */
static int create_partial(struct vm *vm)
{
	char stamp[32];
	time_t t = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&t));
	snprintf(vm->path, sizeof(vm->path), "%.300s/%.63s-%s.%s", opt.dir,
		 vm->name, stamp, options_format_suffix());
	snprintf(vm->partial, sizeof(vm->partial), "%s.partial", vm->path);
	if (!access(vm->path, F_OK)) {
		errno = EEXIST;
		return -1;
	}
	return open(vm->partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

static void start_dump(struct vm *vm)
{
	const char *refused = guard_check(vm);
	int fd;

	if (refused) {
		vm_refuse(vm, refused);
		return;
	}
	fd = create_partial(vm);
	if (fd < 0) {
		if (errno == EEXIST) {
			vm->partial[0] = '\0';
			return;		/* the next second, at a later tick */
		}
		vm->partial[0] = '\0';
		vm->state = DUMPING;
		vm_dump_done(vm, strerror(errno));
		return;
	}
	vm->dump_start_ms = now_ms();
	vm->state = DUMPING;
	guard_dumped(vm);
	say(vm, "dumping (%s, vCPUs %s) to %s", opt.format,
	    vm->quiet ? "quiet" : "NOT quiet", vm->path);
	vm->ops->start_dump(vm, fd);
	close(fd);
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
	/* Whatever wrote it, nobody else reads it. */
	if (stat(vm->partial, &sb) || chmod(vm->partial, 0600) || rename(vm->partial, vm->path)) {
		vm_fail(vm, "dump completed but %s is missing: %s", vm->partial, strerror(errno));
		return;
	}
	vm->partial[0] = '\0';
	if (metadata_write(vm, sb.st_size)) {
		unlink(vm->path);
		vm_fail(vm, "cannot write %s.json (disk full?): dump removed", vm->path);
		return;
	}
	say(vm, "dumped %lld bytes in %lld ms: %s", (long long)sb.st_size,
	    now_ms() - vm->dump_start_ms, vm->path);
	alert_dump_bytes(sb.st_size);
	alert(vm, ALERT_DUMPED, NULL);
	guard_retention(vm);
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
		if (vms[i]->state != DONE && vms[i]->state != FAILED)
			return false;
	return true;
}

static bool may_find_more(void)
{
	const struct backend *const *b;

	for (b = backends; *b; b++)
		if ((*b)->wanted() && (*b)->may_find_more())
			return true;
	return false;
}

static void reload(void)
{
	const struct backend *const *b;

	reload_requested = 0;
	if (!options_reload())
		return;
	for (b = backends; *b; b++)
		if ((*b)->wanted() && (*b)->reload)
			(*b)->reload();
	alerts_changed();
}

/* Every TICK_MS: sample the settling VMs, start what the slots allow. */
static void tick(int timer, void *opaque)
{
	const struct backend *const *b;
	long long now = now_ms();
	int i;

	if (reload_requested)
		reload();
	for (b = backends; *b; b++)
		if ((*b)->wanted())
			(*b)->tick(now);
	for (i = 0; i < nvms; i++)
		sample(vms[i], now);
	for (i = 0; i < nvms; i++)
		if (vms[i]->state == QUEUED && dump_slot_free(vms[i]))
			start_dump(vms[i]);
	alerts_tick(now);
}

/* Stopping: the dumps under way end (libvirt) or are cut short (QMP). */
static void stop_dumps(void)
{
	int i;

	for (i = 0; i < nvms; i++) {
		if (vms[i]->state != DUMPING)
			continue;
		vms[i]->ops->abort_dump(vms[i]);
		if (vms[i]->state == DUMPING)
			vm_fail(vms[i], "stopped during the dump; partial dump removed");
	}
}

static int run(void)
{
	const struct backend *const *b;

	if (virEventAddTimeout(TICK_MS, tick, NULL, NULL) < 0)
		die_usage("cannot add the event loop's timer");
	for (b = backends; *b; b++)
		if ((*b)->wanted() && (*b)->start())
			return 1;
	if (opt.once && !nvms)
		say(NULL, "nothing to watch");
	while (!stop_requested && !(all_finished() && (opt.once || !may_find_more())))
		if (virEventRunDefaultImpl() < 0)
			break;
	if (!stop_requested && !opt.once)
		say(NULL, "nothing left to watch: every VM given has ended or cannot be watched");
	stop_dumps();
	alerts_tick(now_ms());
	for (b = backends; *b; b++)
		if ((*b)->wanted())
			(*b)->stop();
	return !stop_requested && failures ? 1 : 0;
}

/* ---- the dump directory --------------------------------------------------- */

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

/* ---- signals ------------------------------------------------------------------ */

/* The first SIGINT or SIGTERM stops the collector; a second one kills it. */
static void on_stop(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	stop_requested = 1;
	sigaction(sig, &dfl, NULL);
}

/* SIGHUP: re-read the configuration at the next tick. */
static void on_hup(int sig)
{
	reload_requested = 1;
}

static void catch_signals(void)
{
	struct sigaction stop = { .sa_handler = on_stop }, hup = { .sa_handler = on_hup };
	struct sigaction ign = { .sa_handler = SIG_IGN };

	sigemptyset(&stop.sa_mask);
	sigemptyset(&hup.sa_mask);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGHUP, &hup, NULL);
	sigaction(SIGPIPE, &ign, NULL);
}

int main(int argc, char **argv)
{
	/* Guest memory holds secrets: nothing created here is for others. */
	umask(0077);
	log_init();
	options_parse(argc, argv);
	catch_signals();
	lock_dir();
	remove_stale_partials();
	if (virEventRegisterDefaultImpl() < 0)
		die_usage("cannot set up libvirt's event loop");
	return run();
}
