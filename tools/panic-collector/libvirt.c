// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: the domains of a libvirt connection (--libvirt URI).
 *
 * A domain can be watched when its XML has a <panic> device (and, for the
 * ISA pvpanic device, ACPI, through which the guest finds it): libvirt then
 * sends the lifecycle event CRASHED with detail PANICKED (or CRASHLOADED,
 * when the guest has a crash kernel of its own). The dump is
 * virDomainCoreDumpWithFormat(..., VIR_DUMP_MEMORY_ONLY), which blocks
 * until libvirtd has written it: it runs in a thread of its own, one per
 * dump, and reports back through a pipe the event loop watches. vCPU time
 * comes from virDomainGetVcpus() (libvirt reads it from /proc, in clock
 * ticks: 10 ms steps).
 *
 * libvirtd may restart at any time. Keepalive and the close callback tell;
 * the collector then reconnects every RECONNECT_MS and looks at every
 * domain again: one that is crashed by then is dumped, whether it crashed
 * before the collector started, while libvirtd was away, or while its dump
 * was cut short (that dump's partial file is removed and one error line
 * says so). Nothing is lost as long as the domain stays crashed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"

#define RECONNECT_MS	1000
#define KEEPALIVE_S	5
#define KEEPALIVE_COUNT	3

struct lv_vm {
	struct vm *vm;
	char uuid[VIR_UUID_STRING_BUFLEN];
	pthread_t thread;
	bool thread_running;
	char dump_error[256];
};

static struct {
	const char *uri;
	virConnectPtr conn;
	int lifecycle_id;
	bool lost;			/* connected once, connection gone */
	long long retry_ms, lost_ms;
	const char *names[MAX_VMS];
	int nnames;
	/* uuids of domains already reported as not watchable */
	char unwatchable[MAX_VMS][VIR_UUID_STRING_BUFLEN];
	int nunwatchable;
	int pipe_fd[2], pipe_watch;
} lv = { .lifecycle_id = -1, .pipe_fd = { -1, -1 }, .pipe_watch = -1 };

static struct lv_vm lvms[MAX_VMS];
static int nlvms;

static const char *last_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg && msg[0] ? msg : "unknown libvirt error";
}

/* libvirt prints every error on stderr by default: we say it ourselves. */
static void quiet_errors(void *opaque, virErrorPtr err)
{
}

static virDomainPtr lookup(const struct lv_vm *l)
{
	return lv.conn ? virDomainLookupByUUIDString(lv.conn, l->uuid) : NULL;
}

/* ---- the domain XML ------------------------------------------------------ */

/* Why the domain cannot be watched (NULL: it can). */
static const char *unwatchable_reason(const char *xml)
{
	const char *panic = strstr(xml, "<panic");

	if (!panic)
		return "no <panic> device in its domain XML, so libvirt reports no crash "
		       "(add <panic model='isa'/> and <features><acpi/></features>)";
	/* The ISA pvpanic device (x86's default model) is found through ACPI. */
	if (!strncmp(panic, "<panic model='isa'", 18) || !strncmp(panic, "<panic>", 7) ||
	    !strncmp(panic, "<panic/>", 8)) {
		if (!strstr(xml, "<acpi/>"))
			return "its ISA <panic> device needs <features><acpi/></features>: "
			       "without ACPI the guest never finds it";
	}
	return NULL;
}

/* The file a domain's serial console is written to, if it has one. */
static void console_file(const char *xml, char *path, size_t size)
{
	const char *p = strstr(xml, "<serial type='file'>");
	const char *src, *end;

	path[0] = '\0';
	src = p ? strstr(p, "<source path='") : NULL;
	if (src) {
		src += strlen("<source path='");
	} else {
		src = strstr(xml, "<log file='");
		if (src)
			src += strlen("<log file='");
	}
	end = src ? strchr(src, '\'') : NULL;
	if (end && (size_t)(end - src) < size)
		snprintf(path, size, "%.*s", (int)(end - src), src);
}

/* ---- the backend's answers to the core ---------------------------------- */

static long long lv_vcpu_ns(struct vm *vm)
{
	struct lv_vm *l = vm->backend;
	virVcpuInfo info[MAX_VCPUS];
	virDomainPtr dom = lookup(l);
	long long sum = 0;
	int i, n;

	n = dom ? virDomainGetVcpus(dom, info, MAX_VCPUS, NULL, 0) : -1;
	for (i = 0; i < n; i++)
		sum += info[i].cpuTime;
	if (dom)
		virDomainFree(dom);
	return n > 0 ? sum : -1;
}

static int dump_format(void)
{
	if (!strcmp(opt.format, "kdump-zlib"))
		return VIR_DOMAIN_CORE_DUMP_FORMAT_KDUMP_ZLIB;
	if (!strcmp(opt.format, "kdump-lzo"))
		return VIR_DOMAIN_CORE_DUMP_FORMAT_KDUMP_LZO;
	if (!strcmp(opt.format, "kdump-snappy"))
		return VIR_DOMAIN_CORE_DUMP_FORMAT_KDUMP_SNAPPY;
	return VIR_DOMAIN_CORE_DUMP_FORMAT_RAW;
}

/* The dump thread: libvirtd writes the file; we wait and report back. */
static void *dump_thread(void *arg)
{
	struct lv_vm *l = arg;
	virDomainPtr dom = lookup(l);

	l->dump_error[0] = '\0';
	if (!dom || virDomainCoreDumpWithFormat(dom, l->vm->partial, dump_format(),
						VIR_DUMP_MEMORY_ONLY) < 0)
		snprintf(l->dump_error, sizeof(l->dump_error), "%s", last_error());
	if (dom)
		virDomainFree(dom);
	if (write(lv.pipe_fd[1], &l, sizeof(l)) != sizeof(l))
		abort();	/* a pipe of pointers cannot be short-written */
	return NULL;
}

static void lv_start_dump(struct vm *vm)
{
	struct lv_vm *l = vm->backend;

	if (pthread_create(&l->thread, NULL, dump_thread, l)) {
		vm_dump_done(vm, "cannot start the dump thread");
		return;
	}
	l->thread_running = true;
}

/* A dump thread ended: join it and tell the core (or retry later). */
static void on_dump_thread(int watch, int fd, int events, void *opaque)
{
	struct lv_vm *l;
	char error[400];

	if (read(fd, &l, sizeof(l)) != sizeof(l))
		return;
	pthread_join(l->thread, NULL);
	l->thread_running = false;
	if (!l->dump_error[0]) {
		vm_dump_done(l->vm, NULL);
		return;
	}
	if (!lv.lost) {
		vm_dump_done(l->vm, l->dump_error);
		return;
	}
	/* libvirtd went away mid-dump: say so, and dump again once it is back. */
	snprintf(error, sizeof(error), "dump failed: %s (libvirtd went away); partial dump "
		 "removed, dumping again once libvirtd is back", l->dump_error);
	vm_error_line(l->vm, error);
	unlink(l->vm->partial);
	l->vm->partial[0] = '\0';
	l->vm->state = WATCHING;
}

static void lv_apply_policy(struct vm *vm)
{
	struct lv_vm *l = vm->backend;
	virDomainPtr dom = lookup(l);
	int state, reason, rc = -1;

	if (dom) {
		switch (opt.policy) {
		case POLICY_PAUSE:
			rc = virDomainSuspend(dom);
			break;
		case POLICY_QUIT:
			rc = virDomainDestroy(dom);
			break;
		case POLICY_RESTART:
			rc = virDomainReset(dom, 0);
			if (!rc && !virDomainGetState(dom, &state, &reason, 0) &&
			    state == VIR_DOMAIN_PAUSED)
				rc = virDomainResume(dom);
			break;
		case POLICY_KEEP:
			rc = 0;
			break;
		}
	}
	if (rc < 0)
		vm_fail(vm, "cannot %s the domain: %s", policy_name(opt.policy), last_error());
	else
		vm_policy_done(vm);
	if (dom)
		virDomainFree(dom);
}

static const char *lv_source(const struct vm *vm, char *buf, unsigned int size)
{
	snprintf(buf, size, "libvirt:%s", lv.uri);
	return buf;
}

static const struct vm_ops lv_ops = {
	.vcpu_ns = lv_vcpu_ns,
	.start_dump = lv_start_dump,
	.apply_policy = lv_apply_policy,
	.source = lv_source,
};

/* ---- domains -------------------------------------------------------------- */

static struct lv_vm *find_vm(const char *uuid)
{
	int i;

	for (i = 0; i < nlvms; i++)
		if (!strcmp(lvms[i].uuid, uuid))
			return &lvms[i];
	return NULL;
}

static bool reported_unwatchable(const char *uuid)
{
	int i;

	for (i = 0; i < lv.nunwatchable; i++)
		if (!strcmp(lv.unwatchable[i], uuid))
			return true;
	if (lv.nunwatchable < MAX_VMS)
		snprintf(lv.unwatchable[lv.nunwatchable++], VIR_UUID_STRING_BUFLEN, "%s", uuid);
	return false;
}

static bool named(const char *name)
{
	int i;

	for (i = 0; i < lv.nnames; i++)
		if (!strcmp(lv.names[i], name))
			return true;
	return false;
}

/*
 * The VM of @dom, made on first sight when it can be watched. A domain that
 * cannot be watched is reported once: as a failure when --domain named it,
 * as a notice when every domain is watched.
 */
static struct lv_vm *vm_of(virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN], console[256];
	const char *name = virDomainGetName(dom), *why;
	struct lv_vm *l;
	char *xml;

	if (virDomainGetUUIDString(dom, uuid) < 0)
		return NULL;
	l = find_vm(uuid);
	if (l)
		return l;
	if (lv.nnames && !named(name))
		return NULL;
	xml = virDomainGetXMLDesc(dom, 0);
	why = xml ? unwatchable_reason(xml) : "cannot read its domain XML";
	if (why && !reported_unwatchable(uuid)) {
		if (lv.nnames) {
			vm_fail(vm_new(name, &lv_ops, NULL), "cannot be watched: %s", why);
		} else {
			fprintf(stderr, "%s: cannot be watched: %s\n", name, why);
			fflush(stderr);
		}
	}
	if (why || nlvms == MAX_VMS) {
		free(xml);
		return NULL;
	}
	console_file(xml, console, sizeof(console));
	free(xml);
	l = &lvms[nlvms++];
	memset(l, 0, sizeof(*l));
	snprintf(l->uuid, sizeof(l->uuid), "%s", uuid);
	l->vm = vm_new(name, &lv_ops, l);
	snprintf(l->vm->uuid, sizeof(l->vm->uuid), "%s", uuid);
	snprintf(l->vm->console, sizeof(l->vm->console), "%s", console);
	vm_watching(l->vm, lv.uri);
	return l;
}

/* A domain found crashed when we (re)connect crashed while nobody watched. */
static void check_crashed(struct lv_vm *l, virDomainPtr dom)
{
	int state, reason;

	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		return;
	if (state == VIR_DOMAIN_CRASHED ||
	    (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_CRASHED)) {
		if (l->vm->state == FAILED || l->vm->state == DONE)
			return;
		l->vm->state = WATCHING;
		vm_panicked(l->vm, "found crashed");
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct lv_vm *l = vm_of(dom);

	if (!l)
		return 0;
	if (event == VIR_DOMAIN_EVENT_CRASHED && detail == VIR_DOMAIN_EVENT_CRASHED_PANICKED)
		vm_panicked(l->vm, "libvirt: crashed, panicked");
	else if (event == VIR_DOMAIN_EVENT_CRASHED &&
		 detail == VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED)
		vm_crash_loaded(l->vm);
	else if (event == VIR_DOMAIN_EVENT_STARTED && !opt.once &&
		 (l->vm->state == DONE || l->vm->state == FAILED))
		vm_watching(l->vm, "again (the domain started)");
	return 0;
}

/* Every domain of the connection (or the named ones) once. */
static void scan_domains(void)
{
	virDomainPtr *doms = NULL, dom;
	struct lv_vm *l;
	int i, n;

	for (i = 0; i < lv.nnames; i++) {
		if (vm_named(lv.names[i]))
			continue;
		dom = virDomainLookupByName(lv.conn, lv.names[i]);
		if (!dom) {
			vm_fail(vm_new(lv.names[i], &lv_ops, NULL),
				"no domain '%s' at %s", lv.names[i], lv.uri);
			continue;
		}
		virDomainFree(dom);
	}
	n = virConnectListAllDomains(lv.conn, &doms, 0);
	for (i = 0; i < n; i++) {
		l = vm_of(doms[i]);
		if (l)
			check_crashed(l, doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
}

/* ---- the connection ------------------------------------------------------ */

static void on_close(virConnectPtr conn, int reason, void *opaque);

static int lv_connect(void)
{
	virConnectPtr conn = virConnectOpen(lv.uri);

	if (!conn)
		return -1;
	lv.conn = conn;
	if (virConnectSetKeepAlive(conn, KEEPALIVE_S, KEEPALIVE_COUNT) < 0 ||
	    virConnectRegisterCloseCallback(conn, on_close, NULL, NULL) < 0)
		goto fail;
	lv.lifecycle_id = virConnectDomainEventRegisterAny(conn, NULL,
			VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
			NULL, NULL);
	if (lv.lifecycle_id < 0)
		goto fail;
	return 0;
fail:
	virConnectClose(conn);
	lv.conn = NULL;
	return -1;
}

static void forget_connection(void)
{
	if (!lv.conn)
		return;
	if (lv.lifecycle_id >= 0)
		virConnectDomainEventDeregisterAny(lv.conn, lv.lifecycle_id);
	lv.lifecycle_id = -1;
	virConnectUnregisterCloseCallback(lv.conn, on_close);
	virConnectClose(lv.conn);
	lv.conn = NULL;
}

/*
 * libvirtd went away. VMs on their way to a dump wait for it to come back
 * (a dump under way fails first, on_dump_thread() says so).
 */
static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	int i;

	if (lv.lost)
		return;
	lv.lost = true;
	lv.lost_ms = now_ms();
	lv.retry_ms = lv.lost_ms + RECONNECT_MS;
	say(NULL, "lost the connection to %s; reconnecting", lv.uri);
	for (i = 0; i < nlvms; i++) {
		struct vm *vm = lvms[i].vm;

		if (vm->state == SETTLING || vm->state == QUEUED)
			vm->state = WATCHING;
	}
}

void lv_tick(void)
{
	long long now;
	int i;

	if (!lv.lost || (now = now_ms()) < lv.retry_ms)
		return;
	for (i = 0; i < nlvms; i++)
		if (lvms[i].thread_running)
			return;	/* its dump must fail first */
	forget_connection();
	if (lv_connect()) {
		lv.retry_ms = now + RECONNECT_MS;
		if (opt.once && now - lv.lost_ms > opt.connect_s * 1000LL) {
			for (i = 0; i < nlvms; i++)
				if (lvms[i].vm->state != DONE && lvms[i].vm->state != FAILED)
					vm_fail(lvms[i].vm, "libvirtd at %s gone for %d s: %s",
						lv.uri, opt.connect_s, last_error());
			lv.lost = false;
		}
		return;
	}
	lv.lost = false;
	say(NULL, "reconnected to %s", lv.uri);
	scan_domains();
}

/* ---- set-up --------------------------------------------------------------- */

void lv_set_uri(const char *uri)
{
	if (lv.uri)
		die_usage("--libvirt given twice");
	lv.uri = uri;
}

void lv_add_domain(const char *name)
{
	if (lv.nnames == MAX_VMS)
		die_usage("at most %d --domain options", MAX_VMS);
	lv.names[lv.nnames++] = name;
}

bool lv_wanted(void)
{
	return lv.uri;
}

void lv_check_options(void)
{
	if (lv.nnames && !lv.uri)
		die_usage("--domain needs --libvirt URI");
}

/* Connect (retrying for --connect seconds), watch, and look at every domain. */
int lv_start(void)
{
	long long give_up = now_ms() + opt.connect_s * 1000LL;

	virSetErrorFunc(NULL, quiet_errors);
	if (pipe2(lv.pipe_fd, O_CLOEXEC) < 0)
		die_usage("pipe: %s", strerror(errno));
	lv.pipe_watch = virEventAddHandle(lv.pipe_fd[0], VIR_EVENT_HANDLE_READABLE,
					  on_dump_thread, NULL, NULL);
	while (lv_connect()) {
		if (now_ms() >= give_up) {
			fprintf(stderr, "panic-collector: cannot connect to %s: %s\n",
				lv.uri, last_error());
			return -1;
		}
		usleep(RECONNECT_MS * 1000);
	}
	scan_domains();
	return 0;
}

void lv_abort_dump(struct vm *vm)
{
	struct lv_vm *l = vm->backend;
	virDomainPtr dom;

	if (vm->ops != &lv_ops || !l || !l->thread_running)
		return;
	dom = lookup(l);
	if (dom) {
		virDomainAbortJob(dom);
		virDomainFree(dom);
	}
	pthread_join(l->thread, NULL);
	l->thread_running = false;
}

void lv_stop(void)
{
	forget_connection();
}
