// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: the domains of a libvirt connection (--libvirt URI).
 *
 * A domain can be watched when its XML has a <panic> device (and, for the
 * ISA pvpanic device, ACPI, through which the guest finds it): libvirt then
 * sends the lifecycle event CRASHED with detail PANICKED (or CRASHLOADED,
 * when the guest has a crash kernel of its own). Only a domain that libvirt
 * keeps after its panic (<on_crash>preserve</on_crash>: state crashed) can
 * be dumped; one that libvirt destroyed or restarted is reported as such.
 *
 * The dump is virDomainCoreDumpWithFormat(..., VIR_DUMP_MEMORY_ONLY), which
 * blocks until libvirtd has written it: it runs in a thread of its own, one
 * per dump, and reports back through a pipe the event loop watches. At most
 * LV_MAX_DUMPS run at once: libvirtd serves a client's requests five at a
 * time (max_client_requests) and would starve the keepalive. vCPU time comes
 * from virDomainGetVcpus() (libvirt reads it from /proc, in clock ticks:
 * 10 ms steps).
 *
 * The dump's file is created 0600 by the core before libvirtd opens it
 * (libvirtd keeps an existing file's mode), and made 0600 again when done.
 * libvirt 9.0's virDomainQemuMonitorCommandWithFiles() could hand QEMU a
 * descriptor as the QMP backend does, but only through libvirt-qemu's
 * unsupported monitor passthrough, which taints the domain and bypasses
 * libvirt's job control; libvirtd itself already hands QEMU an open
 * descriptor for virDomainCoreDumpWithFormat(), so QEMU never needs the
 * directory either way.
 *
 * A successful dump is recorded in the domain's live metadata with the
 * domain's id (new at every start) and its vCPUs' CPU time (which grows
 * whenever the guest runs: after a reset, a resume), so that a collector
 * started again does not dump the same panic twice, yet dumps the next
 * one. There is no limit on the domains watched, and a domain that is gone
 * for good is forgotten (its VM freed, one line), so that a host that
 * churns domains does not grow the collector: an undefined domain (event
 * UNDEFINED), a transient one that stopped (STOPPED), or one missing from
 * the list at a reconnection (gone while libvirtd was away). "Gone" is
 * asked of libvirt (the UUID no longer found), not read from the event: a
 * running domain that is undefined becomes transient and stays watched
 * until it stops.
 *
 * libvirtd may restart at any time. Keepalive and the close callback tell
 * (the callback may run in a dump thread: it only raises a flag); the
 * collector then reconnects every RECONNECT_MS and looks at every domain
 * again: one that is crashed by then is dumped, whether it crashed before
 * the collector started, while libvirtd was away, or while its dump was cut
 * short (that dump's partial file is removed and one error line says so).
 * A panic that is gone by then (the domain was destroyed or reset while
 * libvirtd was away) is reported, not silently dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"

#define RECONNECT_MS	1000
#define KEEPALIVE_S	5
#define KEEPALIVE_COUNT	3
#define LV_MAX_DUMPS	4
#define METADATA_URI	"https://github.com/quiet-panic/panic-collector"
#define METADATA_KEY	"qp"
#define VMCOREINFO_ON	"<vmcoreinfo state='on'/>"

struct lv_vm {
	struct vm *vm;
	char uuid[VIR_UUID_STRING_BUFLEN];
	/* panicked, and waiting for libvirtd to come back to be dumped */
	bool pending;
	pthread_t thread;
	bool thread_running;
	char dump_error[512];
	/* opt.format for the dump thread: a SIGHUP may replace opt meanwhile */
	int dump_format;
	/* the domain went while its dump ran: forgotten when the dump ends */
	const char *gone;
	/* in the domain list of the last scan_domains() */
	bool listed;
};

static struct {
	virConnectPtr conn;
	int lifecycle_id;
	atomic_bool close_seen;		/* set by the close callback, any thread */
	bool lost;			/* connected once, connection gone */
	long long retry_ms, lost_ms;
	char error[512];		/* the last libvirt error, kept */
	/* uuids of domains already reported as not watchable */
	char (*unwatchable)[VIR_UUID_STRING_BUFLEN];
	int nunwatchable;
	int pipe_fd[2], pipe_watch;
} lv = { .lifecycle_id = -1, .pipe_fd = { -1, -1 }, .pipe_watch = -1 };

static struct lv_vm **lvms;
static int nlvms;

/* The last libvirt error of this thread, kept before anything resets it. */
static const char *keep_error(void)
{
	snprintf(lv.error, sizeof(lv.error), "%s", virGetLastErrorMessage());
	return lv.error;
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

/* @src, up to the closing quote, with XML's five entities decoded. */
static void xml_attr_value(const char *src, char *out, size_t size)
{
	static const struct { const char *entity; char c; } entities[] = {
		{ "&amp;", '&' }, { "&apos;", '\'' }, { "&quot;", '"' },
		{ "&lt;", '<' }, { "&gt;", '>' },
	};
	size_t n = 0, i;

	while (*src && *src != '\'' && n + 1 < size) {
		for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
			if (!strncmp(src, entities[i].entity, strlen(entities[i].entity)))
				break;
		if (i < sizeof(entities) / sizeof(entities[0])) {
			out[n++] = entities[i].c;
			src += strlen(entities[i].entity);
		} else {
			out[n++] = *src++;
		}
	}
	out[*src == '\'' ? n : 0] = '\0';	/* cut short: no path at all */
}

/*
 * The file the domain's first serial port is written to, if any: a serial
 * of type 'file' (<source path=...>), or a logged one (<log file=...>).
 * libvirt writes its XML in one normalised form, single quotes included.
 */
static void console_file(const char *xml, char *path, size_t size)
{
	const char *serial = strstr(xml, "<serial "), *end, *attr;

	path[0] = '\0';
	end = serial ? strstr(serial, "</serial>") : NULL;
	if (!end)
		return;
	attr = strstr(serial, "<source path='");
	if (attr && attr < end && strstr(serial, "<serial type='file'>") == serial) {
		xml_attr_value(attr + strlen("<source path='"), path, size);
		return;
	}
	attr = strstr(serial, "<log file='");
	if (attr && attr < end)
		xml_attr_value(attr + strlen("<log file='"), path, size);
}

/* ---- the backend's answers to the core ---------------------------------- */

static long long dom_vcpu_ns(virDomainPtr dom)
{
	virVcpuInfoPtr info = NULL;
	virDomainInfo di;
	long long sum = 0;
	int i, n = -1;

	if (dom && !virDomainGetInfo(dom, &di) && di.nrVirtCpu > 0) {
		info = calloc(di.nrVirtCpu, sizeof(*info));
		if (info)
			n = virDomainGetVcpus(dom, info, di.nrVirtCpu, NULL, 0);
	}
	for (i = 0; i < n; i++)
		sum += info[i].cpuTime;
	free(info);
	return n > 0 ? sum : -1;
}

static long long lv_vcpu_ns(struct vm *vm)
{
	virDomainPtr dom = lookup(vm->backend);
	long long ns = dom ? dom_vcpu_ns(dom) : -1;

	if (dom)
		virDomainFree(dom);
	return ns;
}

static long long lv_ram_bytes(struct vm *vm)
{
	virDomainPtr dom = lookup(vm->backend);
	virDomainInfo di;
	long long ram = dom && !virDomainGetInfo(dom, &di) ? (long long)di.maxMem << 10 : -1;

	if (dom)
		virDomainFree(dom);
	return ram;
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

/*
 * The dump thread: libvirtd writes the file; we wait and report back. Only
 * l->dump_error is written here; everything else waits for the pipe.
 */
static void *dump_thread(void *arg)
{
	struct lv_vm *l = arg;
	virDomainPtr dom = lookup(l);

	l->dump_error[0] = '\0';
	if (!dom)
		snprintf(l->dump_error, sizeof(l->dump_error), "the domain is gone");
	else if (virDomainCoreDumpWithFormat(dom, l->vm->partial, l->dump_format,
					     VIR_DUMP_MEMORY_ONLY) < 0)
		snprintf(l->dump_error, sizeof(l->dump_error), "%s", virGetLastErrorMessage());
	if (dom)
		virDomainFree(dom);
	if (write(lv.pipe_fd[1], &l, sizeof(l)) != sizeof(l))
		abort();	/* a pipe of pointers cannot be short-written */
	return NULL;
}

static void lv_start_dump(struct vm *vm, int fd)
{
	struct lv_vm *l = vm->backend;

	l->dump_format = dump_format();
	if (pthread_create(&l->thread, NULL, dump_thread, l)) {
		vm_dump_done(vm, "cannot start the dump thread");
		return;
	}
	l->thread_running = true;
}

static void forget_vm(struct lv_vm *l, const char *why);

/* The end of a dump thread, in the event loop: tell the core (or retry). */
static void dump_thread_done(struct lv_vm *l)
{
	char error[800];

	pthread_join(l->thread, NULL);
	l->thread_running = false;
	if (!l->dump_error[0]) {
		vm_dump_done(l->vm, NULL);
	} else if (strstr(l->dump_error, "dump in process")) {
		/* QEMU still writes the dump a lost libvirtd started. */
		vm_retry_dump(l->vm, l->dump_error);
	} else if (!lv.lost && !atomic_load(&lv.close_seen)) {
		vm_dump_done(l->vm, l->dump_error);
	} else {
		/* libvirtd went away mid-dump: say so, dump again once it is back. */
		snprintf(error, sizeof(error), "dump failed: %s (libvirtd went away); partial dump "
			 "removed, dumping again once libvirtd is back", l->dump_error);
		vm_error_line(l->vm, error);
		unlink(l->vm->partial);
		l->vm->partial[0] = '\0';
		l->vm->state = WATCHING;
		l->pending = true;
	}
}

static void on_dump_thread(int watch, int fd, int events, void *opaque)
{
	struct lv_vm *l;

	/* Not when lv_abort_dump() saw it end already. */
	if (read(fd, &l, sizeof(l)) != sizeof(l) || !l->thread_running)
		return;
	dump_thread_done(l);
	if (l->gone)
		forget_vm(l, l->gone);
}

/*
 * Record the dump in the domain's live metadata: this panic is dumped. What
 * tells this panic from the next one: the domain's id and vCPU time.
 */
static void lv_dumped(struct vm *vm)
{
	virDomainPtr dom = lookup(vm->backend);
	char xml[700];

	if (!dom)
		return;
	snprintf(xml, sizeof(xml), "<dump file='%s' domid='%u' vcpu_ns='%lld'/>",
		 strrchr(vm->path, '/') + 1, virDomainGetID(dom), dom_vcpu_ns(dom));
	virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, METADATA_KEY,
			     METADATA_URI, VIR_DOMAIN_AFFECT_LIVE);
	virDomainFree(dom);
}

/*
 * Was this panic dumped already (by an earlier collector)? Only if the
 * domain has not started or run since: same id, same vCPU time.
 */
static bool dumped_before(virDomainPtr dom)
{
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, METADATA_URI,
					  VIR_DOMAIN_AFFECT_LIVE);
	const char *id = meta ? strstr(meta, "domid='") : NULL;
	const char *ns = meta ? strstr(meta, "vcpu_ns='") : NULL;
	bool same = id && ns && strtoul(id + 7, NULL, 10) == virDomainGetID(dom) &&
		    strtoll(ns + 9, NULL, 10) == dom_vcpu_ns(dom);

	free(meta);
	return same;
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
			    state != VIR_DOMAIN_RUNNING)
				rc = virDomainResume(dom);
			break;
		case POLICY_KEEP:
			rc = 0;
			break;
		}
	}
	if (rc < 0)
		vm_fail(vm, "cannot %s the domain: %s", policy_name(opt.policy), keep_error());
	else
		vm_policy_done(vm);
	if (dom)
		virDomainFree(dom);
}

static const char *lv_source(const struct vm *vm, char *buf, unsigned int size)
{
	snprintf(buf, size, "libvirt:%s", opt.libvirt);
	return buf;
}

static void lv_abort_dump(struct vm *vm);

static const struct vm_ops lv_ops = {
	.vcpu_ns = lv_vcpu_ns,
	.ram_bytes = lv_ram_bytes,
	.start_dump = lv_start_dump,
	.abort_dump = lv_abort_dump,
	.apply_policy = lv_apply_policy,
	.source = lv_source,
	.dumped = lv_dumped,
	.max_dumps = LV_MAX_DUMPS,
};

/* ---- domains -------------------------------------------------------------- */

static struct lv_vm *find_vm(const char *uuid)
{
	int i;

	for (i = 0; i < nlvms; i++)
		if (!strcmp(lvms[i]->uuid, uuid))
			return lvms[i];
	return NULL;
}

/* The VM of a domain that is watched already, or NULL. */
static struct lv_vm *watched(virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	return virDomainGetUUIDString(dom, uuid) < 0 ? NULL : find_vm(uuid);
}

/* True when @uuid was reported before; remembers it otherwise. */
static bool reported_unwatchable(const char *uuid)
{
	int i;

	for (i = 0; i < lv.nunwatchable; i++)
		if (!strcmp(lv.unwatchable[i], uuid))
			return true;
	lv.unwatchable = realloc(lv.unwatchable, (lv.nunwatchable + 1) * sizeof(*lv.unwatchable));
	if (!lv.unwatchable)
		abort();
	snprintf(lv.unwatchable[lv.nunwatchable++], VIR_UUID_STRING_BUFLEN, "%s", uuid);
	return false;
}

/* An undefined domain: if it comes back, it is looked at again. */
static void forget_unwatchable(const char *uuid)
{
	int i;

	for (i = 0; i < lv.nunwatchable; i++)
		if (!strcmp(lv.unwatchable[i], uuid)) {
			memcpy(lv.unwatchable[i], lv.unwatchable[--lv.nunwatchable],
			       VIR_UUID_STRING_BUFLEN);
			return;
		}
}

static bool named(const char *name)
{
	int i;

	for (i = 0; i < opt.domains.n; i++)
		if (!strcmp(opt.domains.v[i], name))
			return true;
	return false;
}

/* Report a domain that cannot be watched, once: a failure when --domain
 * named it, a notice when every domain is watched. */
static void report_unwatchable(const char *name, const char *uuid, const char *why)
{
	struct vm *vm;

	if (reported_unwatchable(uuid))
		return;
	if (!opt.domains.n) {
		error_line(name, "cannot be watched: %s", why);
		alert_unwatchable(name, uuid, why);
		return;
	}
	vm = vm_new(name, &lv_ops, NULL);
	snprintf(vm->uuid, sizeof(vm->uuid), "%s", uuid);
	vm_fail(vm, "cannot be watched: %s", why);
}

/* A new VM for a watchable domain. */
static struct lv_vm *add_vm(const char *name, const char *uuid, const char *console)
{
	struct lv_vm *l = calloc(1, sizeof(*l));
	struct lv_vm **more = realloc(lvms, (nlvms + 1) * sizeof(*lvms));

	if (!l || !more)
		abort();
	lvms = more;
	lvms[nlvms++] = l;
	snprintf(l->uuid, sizeof(l->uuid), "%s", uuid);
	l->vm = vm_new(name, &lv_ops, l);
	snprintf(l->vm->uuid, sizeof(l->vm->uuid), "%s", uuid);
	snprintf(l->vm->console, sizeof(l->vm->console), "%s", console);
	return l;
}

/*
 * The domain of @l is gone for good (@why): its VM goes, with one line. A
 * panic still waiting for its dump is lost, and said so; a dump under way
 * ends first (on_dump_thread() comes back here).
 */
static void forget_vm(struct lv_vm *l, const char *why)
{
	int i;

	if (l->thread_running) {
		l->gone = why;
		return;
	}
	if (l->vm->state == SETTLING || l->vm->state == QUEUED || l->pending)
		vm_fail(l->vm, "panicked, but the domain is gone (%s) before its dump: not dumped",
			why);
	say(l->vm, "%s: forgotten", why);
	vm_free(l->vm);
	for (i = 0; i < nlvms; i++)
		if (lvms[i] == l) {
			lvms[i] = lvms[--nlvms];
			break;
		}
	free(l);
}

/* A domain gone for good: forget it, watched or reported unwatchable. */
static void forget_domain(virDomainPtr dom, const char *why)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct lv_vm *l;

	if (virDomainGetUUIDString(dom, uuid) < 0)
		return;
	forget_unwatchable(uuid);
	l = find_vm(uuid);
	if (l)
		forget_vm(l, why);
}

/*
 * Is the domain gone for good? Undefined while shut off, or transient and
 * stopped: libvirt no longer knows its UUID. (One undefined while it runs
 * is transient now, and stays until it stops.)
 */
static bool domain_gone(virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	virDomainPtr again;

	if (!lv.conn || virDomainGetUUIDString(dom, uuid) < 0)
		return false;
	again = virDomainLookupByUUIDString(lv.conn, uuid);
	if (again) {
		virDomainFree(again);
		return false;
	}
	return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN;
}

/* The VM of @dom, made on first sight when it can be watched. */
static struct lv_vm *vm_of(virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN], console[256];
	const char *name = virDomainGetName(dom), *why;
	struct lv_vm *l;
	bool vmcoreinfo;
	char *xml;

	if (virDomainGetUUIDString(dom, uuid) < 0)
		return NULL;
	l = find_vm(uuid);
	if (l)
		return l;
	if (opt.domains.n && !named(name))
		return NULL;
	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml)
		return NULL;	/* gone meanwhile */
	why = unwatchable_reason(xml);
	console_file(xml, console, sizeof(console));
	vmcoreinfo = strstr(xml, VMCOREINFO_ON);
	free(xml);
	if (why) {
		report_unwatchable(name, uuid, why);
		return NULL;
	}
	l = add_vm(name, uuid, console);
	vm_watching(l->vm, opt.libvirt);
	if (!vmcoreinfo)
		warn(l->vm, "no " VMCOREINFO_ON " in its <features>: its dumps will lack "
		     "VMCOREINFO (kernel release, build ID), and crash and makedumpfile "
		     "cannot read them; add it");
	return l;
}

/*
 * libvirt said the domain panicked: dump it if libvirt kept it (on_crash
 * preserve: crashed, or paused as crashed), report it if libvirt destroyed
 * or restarted it already.
 */
static void domain_panicked(struct lv_vm *l, virDomainPtr dom, const char *how)
{
	int state = -1, reason;

	virDomainGetState(dom, &state, &reason, 0);
	if (state == VIR_DOMAIN_CRASHED ||
	    (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_CRASHED)) {
		l->pending = false;
		vm_panicked(l->vm, how);
	} else if (l->vm->state == WATCHING) {
		vm_fail(l->vm, "panicked, but libvirt %s it (its <on_crash>): nothing to dump; "
			"set <on_crash>preserve</on_crash> to keep it for the dump",
			state == VIR_DOMAIN_SHUTOFF || state < 0 ? "destroyed" : "restarted");
	}
}

/* At (re)connection: a crashed domain crashed while nobody watched. */
static void check_crashed(struct lv_vm *l, virDomainPtr dom)
{
	int state, reason;

	if (l->vm->state != WATCHING || virDomainGetState(dom, &state, &reason, 0) < 0)
		return;
	if (state == VIR_DOMAIN_CRASHED ||
	    (state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_CRASHED)) {
		if (dumped_before(dom)) {
			vm_finished(l->vm, "crashed, and dumped before (domain metadata): not again");
			return;
		}
		l->pending = false;
		vm_panicked(l->vm, "found crashed");
	} else if (l->pending) {
		l->pending = false;
		vm_fail(l->vm, "panicked, but not crashed any more when libvirtd came back: not dumped");
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct lv_vm *l;

	if ((event == VIR_DOMAIN_EVENT_UNDEFINED || event == VIR_DOMAIN_EVENT_STOPPED) &&
	    domain_gone(dom)) {
		forget_domain(dom, event == VIR_DOMAIN_EVENT_UNDEFINED ? "undefined" :
			       "stopped, and gone (a transient domain)");
		return 0;
	}
	l = vm_of(dom);
	if (!l)
		return 0;
	switch (event) {
	case VIR_DOMAIN_EVENT_CRASHED:
		if (detail == VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED)
			vm_crash_loaded(l->vm);
		else if (detail == VIR_DOMAIN_EVENT_CRASHED_PANICKED)
			domain_panicked(l, dom, "libvirt: crashed, panicked");
		break;
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		vm_rearm(l->vm, "again (the domain runs)");
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		vm_finished(l->vm, "stopped before any panic");
		break;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		/* It runs still, as a transient domain: watched until it stops. */
		break;
	}
	return 0;
}

/* Whether @dom runs (or is kept after a panic): what --once waits for. */
static bool domain_active(virDomainPtr dom)
{
	return virDomainIsActive(dom) == 1;
}

/*
 * After a full listing: forget what it did not have (domains gone while
 * libvirtd was away, when no event could tell), watched or unwatchable.
 */
static void forget_unlisted(virDomainPtr *doms, int n)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	int i, j;

	for (i = lv.nunwatchable - 1; i >= 0; i--) {
		for (j = 0; j < n; j++)
			if (!virDomainGetUUIDString(doms[j], uuid) && !strcmp(uuid, lv.unwatchable[i]))
				break;
		if (j == n)
			forget_unwatchable(lv.unwatchable[i]);
	}
	/* From the end: forget_vm() moves the last VM into the freed place. */
	for (i = nlvms - 1; i >= 0; i--)
		if (!lvms[i]->listed)
			forget_vm(lvms[i], "gone from libvirt's domain list");
}

/* Every domain of the connection (or the named ones), at (re)connection. */
static void scan_domains(void)
{
	virDomainPtr *doms = NULL, dom;
	struct lv_vm *l;
	int i, n;

	for (i = 0; i < opt.domains.n; i++) {
		const char *name = opt.domains.v[i];

		if (vm_named(name))
			continue;
		dom = virDomainLookupByName(lv.conn, name);
		if (dom) {
			virDomainFree(dom);
			continue;
		}
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			vm_fail(vm_new(name, &lv_ops, NULL), "no domain '%s' at %s", name, opt.libvirt);
	}
	n = virConnectListAllDomains(lv.conn, &doms, 0);
	if (n < 0)
		error_line("panic-collector", "error: cannot list the domains of %s: %s",
			   opt.libvirt, keep_error());
	for (i = 0; i < nlvms; i++)
		lvms[i]->listed = false;
	for (i = 0; i < n; i++) {
		/* With --once, the domains that run now, or named ones. */
		l = opt.once && !opt.domains.n && !domain_active(doms[i]) && !watched(doms[i]) ?
		    NULL : vm_of(doms[i]);
		if (l)
			check_crashed(l, doms[i]);
		if (l || (l = watched(doms[i])))
			l->listed = true;
	}
	/* Pending VMs whose domain is gone altogether. */
	for (i = 0; i < nlvms; i++)
		if (lvms[i]->pending && lvms[i]->vm->state == WATCHING && !lvms[i]->listed) {
			lvms[i]->pending = false;
			vm_fail(lvms[i]->vm, "panicked, but the domain is gone when libvirtd came back: not dumped");
		}
	if (n >= 0)
		forget_unlisted(doms, n);
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
}

/* ---- the connection ------------------------------------------------------ */

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	atomic_store(&lv.close_seen, true);
}

static int lv_connect(void)
{
	virConnectPtr conn = virConnectOpen(opt.libvirt);

	if (!conn) {
		keep_error();
		return -1;
	}
	lv.conn = conn;
	/* In-process drivers (test:///) have neither: nothing to lose then. */
	if (virConnectSetKeepAlive(conn, KEEPALIVE_S, KEEPALIVE_COUNT) < 0 &&
	    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
		goto fail;
	if (virConnectRegisterCloseCallback(conn, on_close, NULL, NULL) < 0 &&
	    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
		goto fail;
	lv.lifecycle_id = virConnectDomainEventRegisterAny(conn, NULL,
			VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
			NULL, NULL);
	if (lv.lifecycle_id < 0)
		goto fail;
	atomic_store(&lv.close_seen, false);
	return 0;
fail:
	keep_error();
	virConnectUnregisterCloseCallback(conn, on_close);
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
 * libvirtd went away (seen in the event loop). VMs on their way to a dump
 * wait for it to come back (a dump under way fails first, see
 * dump_thread_done()).
 */
static void connection_lost(void)
{
	int i;

	lv.lost = true;
	lv.lost_ms = now_ms();
	lv.retry_ms = lv.lost_ms + RECONNECT_MS;
	warn(NULL, "lost the connection to %s; reconnecting", opt.libvirt);
	for (i = 0; i < nlvms; i++) {
		struct vm *vm = lvms[i]->vm;

		if (vm->state == SETTLING || vm->state == QUEUED) {
			vm->state = WATCHING;
			lvms[i]->pending = true;
		}
	}
}

/* Give up on libvirtd (--once only): what waits for it fails. */
static void give_up(void)
{
	int i;

	for (i = 0; i < nlvms; i++)
		if (lvms[i]->vm->state != DONE && lvms[i]->vm->state != FAILED)
			vm_fail(lvms[i]->vm, "libvirtd at %s gone for %d s: %s",
				opt.libvirt, opt.connect_s, lv.error);
	lv.lost = false;
}

static void lv_tick(long long now)
{
	int i;

	if (!lv.lost && atomic_load(&lv.close_seen) && lv.conn)
		connection_lost();
	if (!lv.lost || now < lv.retry_ms)
		return;
	for (i = 0; i < nlvms; i++)
		if (lvms[i]->thread_running)
			return;	/* its dump must fail first */
	forget_connection();
	if (lv_connect()) {
		lv.retry_ms = now + RECONNECT_MS;
		if (opt.once && now - lv.lost_ms > opt.connect_s * 1000LL)
			give_up();
		return;
	}
	lv.lost = false;
	say(NULL, "reconnected to %s", opt.libvirt);
	scan_domains();
}

/* ---- the backend ------------------------------------------------------------ */

static bool lv_wanted(void)
{
	return opt.libvirt;
}

/* Connect (retrying for --connect seconds), watch, and look at every domain. */
static int lv_start(void)
{
	long long give_up_ms = now_ms() + opt.connect_s * 1000LL;

	virSetErrorFunc(NULL, quiet_errors);
	if (pipe2(lv.pipe_fd, O_CLOEXEC) < 0)
		die_usage("pipe: %s", strerror(errno));
	lv.pipe_watch = virEventAddHandle(lv.pipe_fd[0], VIR_EVENT_HANDLE_READABLE,
					  on_dump_thread, NULL, NULL);
	if (lv.pipe_watch < 0)
		die_usage("cannot watch the dump threads' pipe");
	while (lv_connect()) {
		if (now_ms() >= give_up_ms || collector_stopping()) {
			error_line("panic-collector", "cannot connect to %s: %s", opt.libvirt,
				   lv.error);
			return -1;
		}
		usleep(RECONNECT_MS * 1000);
	}
	scan_domains();
	return 0;
}

/*
 * Stopping mid-dump: a memory-only dump cannot be cut short (QEMU has no
 * way to cancel dump-guest-memory), so wait for it and let the core know
 * how it ended.
 */
static void lv_abort_dump(struct vm *vm)
{
	struct lv_vm *l = vm->backend;

	if (!l || !l->thread_running)
		return;
	say(vm, "waiting for its dump to end");
	dump_thread_done(l);
}

/* SIGHUP: --domain may name others now: look at every domain again. */
static void lv_reload(void)
{
	if (lv.conn && !lv.lost)
		scan_domains();
}

/* A domain that stopped may start again: libvirt never runs out. */
static bool lv_may_find_more(void)
{
	return true;
}

static int lv_unwatchable(void)
{
	return opt.domains.n ? 0 : lv.nunwatchable;
}

static void lv_stop(void)
{
	forget_connection();
}

const struct backend lv_backend = {
	.name = "libvirt",
	.wanted = lv_wanted,
	.start = lv_start,
	.tick = lv_tick,
	.reload = lv_reload,
	.may_find_more = lv_may_find_more,
	.unwatchable = lv_unwatchable,
	.stop = lv_stop,
};
