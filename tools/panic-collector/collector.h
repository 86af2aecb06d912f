/* SPDX-License-Identifier: GPL-2.0 */
/*
 * panic-collector: what the core (panic-collector.c) and the two ways of
 * reaching a guest (qmp.c: a raw QMP socket; libvirt.c: a libvirt domain)
 * share. The core owns the life of a VM and the one event loop (libvirt's
 * default event implementation, which also serves the QMP sockets); a
 * backend turns its guest's events into vm_panicked() and its dump's end
 * into vm_dump_done().
 */
#ifndef PANIC_COLLECTOR_H
#define PANIC_COLLECTOR_H

#include <stdbool.h>

/* VMs one collector watches at most (a fleet host's domains, many times). */
#define MAX_VMS		1024
#define MAX_VCPUS	512

enum vm_state { WATCHING, SETTLING, QUEUED, DUMPING, POLICY, DONE, FAILED };

enum policy { POLICY_KEEP, POLICY_PAUSE, POLICY_QUIT, POLICY_RESTART };

struct vm;

/* How the core asks a backend for what only the backend can do. */
struct vm_ops {
	/* Host CPU time (ns) of the guest's vCPUs so far; -1: not known. */
	long long (*vcpu_ns)(struct vm *vm);
	/* Dump into vm->partial in opt.format; the end: vm_dump_done(). */
	void (*start_dump)(struct vm *vm);
	/* Apply opt.policy; the end: vm_policy_done() (or vm_fail()). */
	void (*apply_policy)(struct vm *vm);
	/* Where the guest comes from, for the metadata ("qmp:PATH", ...). */
	const char *(*source)(const struct vm *vm, char *buf, unsigned int size);
	/* A successful dump: what the backend records of it (may be NULL). */
	void (*dumped)(struct vm *vm);
	/* Dumps of this backend under way at once at most (0: --jobs only). */
	int max_dumps;
};

struct vm {
	const struct vm_ops *ops;
	void *backend;
	char name[64], uuid[40], console[256];
	enum vm_state state;
	/* settling: the vCPUs' CPU time (ns, -1: none yet) at the last sample */
	long long panic_ms, sample_ms, dump_start_ms, last_ns, quiet_ns;
	bool quiet;
	int retries;
	char path[512], partial[520];
	char why[1024];
};

extern struct options {
	const char *dir, *format;
	enum policy policy;
	int jobs, settle_s, connect_s;
	double quiet_pct;
	bool once;
} opt;

/* The core, for the backends. */
struct vm *vm_new(const char *name, const struct vm_ops *ops, void *backend);
struct vm *vm_named(const char *name);
void say(const struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void vm_error_line(const struct vm *vm, const char *why);
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

/* qmp.c: guests behind a raw QMP socket */
void qmp_add_vm(const char *arg);
void qmp_set_console(const char *arg);
void qmp_start(void);
void qmp_tick(void);

/* libvirt.c: guests of a libvirt connection */
void lv_set_uri(const char *uri);
void lv_add_domain(const char *name);
bool lv_wanted(void);
void lv_check_options(void);
int lv_start(void);
void lv_tick(void);
void lv_abort_dump(struct vm *vm);
void lv_stop(void);

#endif
