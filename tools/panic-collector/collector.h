/* SPDX-License-Identifier: GPL-2.0 */
/*
 * panic-collector: what its parts share.
 *
 *   panic-collector.c  the core: the life of a VM, the one event loop
 *                      (libvirt's default event implementation, which also
 *                      serves the QMP sockets), signals, main()
 *   options.c          command line, --config file, SIGHUP reload
 *   log.c              output lines, with sd-daemon priorities for journald
 *   guard.c            the disk guard, retention and the rate limit
 *   alerts.c           --metrics (node_exporter textfile) and --exec
 *   metadata.c         the .json next to a dump, VMCOREINFO read from it
 *   qmp.c, libvirt.c   backends: ways of reaching a guest
 *
 * The core reaches a backend only through its struct backend (the table
 * backends[] in panic-collector.c) and its VMs' struct vm_ops; a backend
 * turns its guest's events into vm_panicked() and its dump's end into
 * vm_dump_done(). Adding a backend is one file and one entry in that table.
 */
#ifndef PANIC_COLLECTOR_H
#define PANIC_COLLECTOR_H

#include <stdbool.h>
#include <time.h>

#ifndef COLLECTOR_VERSION
#define COLLECTOR_VERSION "unknown"
#endif

enum vm_state { WATCHING, SETTLING, QUEUED, DUMPING, POLICY, DONE, FAILED };

enum policy { POLICY_KEEP, POLICY_PAUSE, POLICY_QUIT, POLICY_RESTART };

/* What --exec and the metrics hear of. */
enum alert { ALERT_DUMPED, ALERT_FAILED, ALERT_REFUSED, ALERT_UNWATCHABLE };

struct vm;

/* How the core asks a backend for what only the backend can do. */
struct vm_ops {
	/* Host CPU time (ns) of the guest's vCPUs so far; -1: not known. */
	long long (*vcpu_ns)(struct vm *vm);
	/* The guest's RAM in bytes (the disk guard's estimate); -1: unknown. */
	long long (*ram_bytes)(struct vm *vm);
	/*
	 * Dump into vm->partial in opt.format; the core created that file
	 * (0600) and holds it open as @fd until this returns. The end:
	 * vm_dump_done().
	 */
	void (*start_dump)(struct vm *vm, int fd);
	/* Stopping mid-dump: end it (vm_dump_done()) if it can be ended. */
	void (*abort_dump)(struct vm *vm);
	/* Apply opt.policy; the end: vm_policy_done() (or vm_fail()). */
	void (*apply_policy)(struct vm *vm);
	/* Where the guest comes from, for the metadata ("qmp:PATH", ...). */
	const char *(*source)(const struct vm *vm, char *buf, unsigned int size);
	/* A successful dump: what the backend records of it (may be NULL). */
	void (*dumped)(struct vm *vm);
	/* Dumps of this backend under way at once at most (0: --jobs only). */
	int max_dumps;
};

/* A way of reaching guests, as the core sees it. */
struct backend {
	const char *name;
	/* Does the configuration ask for it? */
	bool (*wanted)(void);
	/* Connect and find the guests; -1: cannot start (said why). */
	int (*start)(void);
	/* Every tick of the event loop (TICK_MS). */
	void (*tick)(long long now);
	/* The configuration was reloaded (SIGHUP): take what changed. */
	void (*reload)(void);
	/* Can guests still appear (globs, a libvirt connection)? */
	bool (*may_find_more)(void);
	/* Guests seen that cannot be watched and are not VMs of the core. */
	int (*unwatchable)(void);
	void (*stop)(void);
};

struct vm {
	const struct vm_ops *ops;
	void *backend;
	char name[64], uuid[40], console[256];
	enum vm_state state;
	/* said "watching" once; failed before that: unwatchable (a metric) */
	bool watched, unwatchable;
	/* settling: the vCPUs' CPU time (ns, -1: none yet) at the last sample */
	long long panic_ms, sample_ms, dump_start_ms, last_ns, quiet_ns;
	time_t panic_time;
	bool quiet;
	int retries;
	/* --rate-limit: when its last dumps started (a ring, newest last) */
	time_t *dump_times;
	int ndump_times;
	char path[512], partial[520];
	char why[1024];
};

struct strlist {
	char **v;
	int n;
};

extern struct options {
	char *config, *dir, *format, *libvirt, *exec, *metrics;
	enum policy policy;
	int jobs, settle_s, connect_s;
	double quiet_pct;
	bool once;
	/* --keep-free: bytes, or a share of the filesystem (pct >= 0) */
	long long keep_free;
	double keep_free_pct;
	int max_dumps_per_vm;
	long long max_total;
	int rate_n;
	long long rate_period_s;
	/* QMP: --qmp globs, positional [NAME=]SOCKETs, --console NAME=LOG */
	struct strlist qmp, sockets, consoles, domains;
} opt;

/* panic-collector.c: the core, for the backends */
struct vm *vm_new(const char *name, const struct vm_ops *ops, void *backend);
void vm_free(struct vm *vm);
struct vm *vm_named(const char *name);
int vm_count(void);
struct vm *vm_at(int i);
void vm_fail(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vm_watching(struct vm *vm, const char *what);
void vm_rearm(struct vm *vm, const char *why);
void vm_finished(struct vm *vm, const char *why);
void vm_panicked(struct vm *vm, const char *how);
void vm_crash_loaded(struct vm *vm);
void vm_retry_dump(struct vm *vm, const char *why);
void vm_dump_done(struct vm *vm, const char *error);
void vm_policy_done(struct vm *vm);
const char *vm_state_name(const struct vm *vm);
const char *policy_name(enum policy p);
bool collector_stopping(void);
long long now_ms(void);

/* log.c */
void log_init(void);
void say(const struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void warn(const struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void error_line(const char *who, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vm_error_line(const struct vm *vm, const char *why);
void die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* options.c */
void options_parse(int argc, char **argv);
bool options_reload(void);
const char *options_format_suffix(void);

/* guard.c */
const char *guard_check(struct vm *vm);
void guard_dumped(struct vm *vm);
void guard_retention(const struct vm *vm);
long long guard_free_bytes(void);

/* alerts.c */
void alert(const struct vm *vm, enum alert what, const char *reason);
void alert_unwatchable(const char *name, const char *uuid, const char *reason);
void alert_dump_bytes(long long bytes);
void alerts_tick(long long now);
void alerts_changed(void);

/* metadata.c */
int metadata_write(const struct vm *vm, long long bytes);
const char *metadata_dumped_before(const struct vm *vm, long long vcpu_ns);

/* the backends, and the core's table of them (NULL-terminated) */
extern const struct backend qmp_backend, lv_backend;
extern const struct backend *const backends[];

#endif
