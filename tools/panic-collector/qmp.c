// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: guests behind a raw QMP socket (QEMU's -qmp unix:...).
 *
 * Connect (retrying for --connect seconds while QEMU starts), wait for the
 * QMP greeting (a socket that does not greet within GREETING_MS is not
 * QMP), enter command mode, then turn GUEST_PANICKED into vm_panicked()
 * and DUMP_COMPLETED into vm_dump_done(). vCPU time: the thread ids of
 * query-cpus-fast, read from /proc/TID/schedstat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "collector.h"

#define QMP_BUF		65536
#define GREETING_MS	5000
#define RETRY_MS	100

struct qmp_vm {
	struct vm *vm;
	char socket[108];
	int fd, watch;
	long long give_up_ms, retry_ms, greet_by_ms;
	bool greeted;
	char buf[QMP_BUF];
	size_t len;
	int next_id, dump_id, policy_id;
	int nvcpu, tid[MAX_VCPUS];
};

static struct qmp_vm qvms[MAX_VMS];
static int nqvms;

static int qmp_send(struct qmp_vm *q, const char *cmd, json_object *args)
{
	json_object *msg = json_object_new_object();
	char *line = NULL;
	int id = ++q->next_id, len;

	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	json_object_object_add(msg, "id", json_object_new_int(id));
	/*
	 * One write: QEMU acts on a command as soon as it is complete, and a
	 * "quit" closes the socket before a second write could add the newline.
	 */
	len = asprintf(&line, "%s\n", json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	json_object_put(msg);
	if (len < 0)
		return -1;
	if (q->fd < 0 || write(q->fd, line, len) != len)
		id = -1;
	free(line);
	return id;
}

static void disconnect(struct qmp_vm *q)
{
	if (q->watch >= 0)
		virEventRemoveHandle(q->watch);
	q->watch = -1;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

static void qmp_fail(struct qmp_vm *q, const char *why)
{
	disconnect(q);
	vm_fail(q->vm, "%s", why);
}

/* ---- the backend's answers to the core ---------------------------------- */

/* The vCPU threads' schedstat time; -1 when any of them cannot be read. */
static long long qmp_vcpu_ns(struct vm *vm)
{
	struct qmp_vm *q = vm->backend;
	long long sum = 0, ns;
	char path[64];
	FILE *f;
	int i, read;

	if (!q->nvcpu)
		return -1;
	for (i = 0; i < q->nvcpu; i++) {
		snprintf(path, sizeof(path), "/proc/%d/schedstat", q->tid[i]);
		f = fopen(path, "r");
		read = f ? fscanf(f, "%lld", &ns) : 0;
		if (f)
			fclose(f);
		if (read != 1)
			return -1;
		sum += ns;
	}
	return sum;
}

static void qmp_start_dump(struct vm *vm)
{
	struct qmp_vm *q = vm->backend;
	json_object *args = json_object_new_object();
	char proto[540];

	snprintf(proto, sizeof(proto), "file:%s", vm->partial);
	json_object_object_add(args, "paging", json_object_new_boolean(false));
	json_object_object_add(args, "protocol", json_object_new_string(proto));
	json_object_object_add(args, "detach", json_object_new_boolean(true));
	json_object_object_add(args, "format", json_object_new_string(opt.format));
	q->dump_id = qmp_send(q, "dump-guest-memory", args);
	if (q->dump_id < 0)
		vm_dump_done(vm, "cannot send dump-guest-memory: QMP socket gone");
}

/* pause: stop; quit: quit; restart: system_reset, then cont (a guest that
 * QEMU paused on the panic must run again). Done at the last reply. */
static void qmp_apply_policy(struct vm *vm)
{
	struct qmp_vm *q = vm->backend;

	switch (opt.policy) {
	case POLICY_PAUSE:
		q->policy_id = qmp_send(q, "stop", NULL);
		break;
	case POLICY_QUIT:
		q->policy_id = qmp_send(q, "quit", NULL);
		break;
	case POLICY_RESTART:
		qmp_send(q, "system_reset", NULL);
		q->policy_id = qmp_send(q, "cont", NULL);
		break;
	case POLICY_KEEP:
		vm_policy_done(vm);
		return;
	}
	if (q->policy_id < 0)
		vm_fail(vm, "cannot %s the VM: QMP socket gone", policy_name(opt.policy));
}

static const char *qmp_source(const struct vm *vm, char *buf, unsigned int size)
{
	const struct qmp_vm *q = vm->backend;

	snprintf(buf, size, "qmp:%s", q->socket);
	return buf;
}

static const struct vm_ops qmp_ops = {
	.vcpu_ns = qmp_vcpu_ns,
	.start_dump = qmp_start_dump,
	.apply_policy = qmp_apply_policy,
	.source = qmp_source,
};

/* The id of a reply, or -1. */
static int reply_id(json_object *msg)
{
	json_object *id;

	return json_object_object_get_ex(msg, "id", &id) ? json_object_get_int(id) : -1;
}

/* ---- messages ------------------------------------------------------------ */

static void take_vcpu_threads(struct qmp_vm *q, json_object *cpus)
{
	size_t i, n = json_object_array_length(cpus);
	json_object *tid;

	q->nvcpu = 0;
	for (i = 0; i < n && q->nvcpu < MAX_VCPUS; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(cpus, i),
					      "thread-id", &tid))
			q->tid[q->nvcpu++] = json_object_get_int(tid);
	/* The first sample: the core's baseline of the settling window. */
	q->vm->last_ns = qmp_vcpu_ns(q->vm);
}

static void dump_completed(struct qmp_vm *q, json_object *data)
{
	json_object *res, *status, *err;
	const char *st = "failed";
	char why[300];

	if (json_object_object_get_ex(data, "result", &res) &&
	    json_object_object_get_ex(res, "status", &status))
		st = json_object_get_string(status);
	if (!strcmp(st, "completed")) {
		vm_dump_done(q->vm, NULL);
		return;
	}
	snprintf(why, sizeof(why), "dump-guest-memory %s: %s", st,
		 json_object_object_get_ex(data, "error", &err) ?
		 json_object_get_string(err) : "no reason given");
	vm_dump_done(q->vm, why);
}

static void on_event(struct qmp_vm *q, const char *name, json_object *data)
{
	struct vm *vm = q->vm;
	bool waiting = vm->state == SETTLING || vm->state == QUEUED;

	if (!strcmp(name, "GUEST_PANICKED") && vm->state == WATCHING) {
		vm_panicked(vm, "GUEST_PANICKED");
		qmp_send(q, "query-cpus-fast", NULL);
	} else if (!strcmp(name, "GUEST_CRASHLOADED")) {
		vm_crash_loaded(vm);
	} else if (!strcmp(name, "DUMP_COMPLETED") && vm->state == DUMPING) {
		dump_completed(q, data);
	} else if ((!strcmp(name, "RESET") || !strcmp(name, "SHUTDOWN")) && waiting) {
		/* panic=N in the guest, or someone reset it: the panic is gone. */
		vm_fail(vm, "the VM was %s after its panic, before the dump: nothing left to dump",
			strcmp(name, "RESET") ? "shut down" : "reset");
	}
}

static void on_message(struct qmp_vm *q, json_object *msg)
{
	json_object *ev, *ret = NULL, *data = NULL, *err;
	struct vm *vm = q->vm;

	if (!q->greeted) {
		if (!json_object_object_get_ex(msg, "QMP", NULL)) {
			qmp_fail(q, "not a QMP socket: its first message is not the QMP greeting");
			return;
		}
		q->greeted = true;
		if (qmp_send(q, "qmp_capabilities", NULL) < 0)
			qmp_fail(q, "QMP socket closed at once");
		else
			vm_watching(vm, q->socket);
		return;
	}
	if (json_object_object_get_ex(msg, "error", &err)) {
		if (vm->state == DUMPING && reply_id(msg) == q->dump_id)
			vm_dump_done(vm, json_object_to_json_string(err));
		else if (vm->state == POLICY && reply_id(msg) == q->policy_id)
			vm_fail(vm, "cannot %s the VM: %s", policy_name(opt.policy),
				json_object_to_json_string(err));
		return;
	}
	if (json_object_object_get_ex(msg, "return", &ret) &&
	    json_object_get_type(ret) == json_type_array && vm->state == SETTLING) {
		take_vcpu_threads(q, ret);	/* query-cpus-fast */
		return;
	}
	if (ret && vm->state == POLICY && reply_id(msg) == q->policy_id) {
		vm_policy_done(vm);
		return;
	}
	if (!json_object_object_get_ex(msg, "event", &ev))
		return;
	json_object_object_get_ex(msg, "data", &data);
	on_event(q, json_object_get_string(ev), data);
}

/* The socket closed: expected after quit, a failure otherwise. */
static void socket_closed(struct qmp_vm *q)
{
	struct vm *vm = q->vm;

	disconnect(q);
	if (vm->state == DUMPING)
		vm_dump_done(vm, "VM exited during the dump");
	else if (vm->state == POLICY && opt.policy == POLICY_QUIT)
		vm_policy_done(vm);
	else if (vm->state == WATCHING && q->greeted)
		vm_finished(vm, "QEMU exited before any panic");
	else if (vm->state != DONE && vm->state != FAILED)
		vm_fail(vm, "QMP socket closed while %s", vm_state_name(vm));
}

static void on_readable(int watch, int fd, int events, void *opaque)
{
	struct qmp_vm *q = opaque;
	ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
	char *start = q->buf, *eol;

	if (n <= 0) {
		socket_closed(q);
		return;
	}
	q->len += n;
	while (q->fd >= 0 && (eol = memchr(start, '\n', q->buf + q->len - start))) {
		json_object *msg;

		*eol = '\0';
		msg = json_tokener_parse(start);
		if (msg)
			on_message(q, msg);
		else if (!q->greeted)
			qmp_fail(q, "not a QMP socket: it does not speak JSON");
		json_object_put(msg);
		start = eol + 1;
	}
	if (q->fd < 0)
		return;
	q->len -= start - q->buf;
	memmove(q->buf, start, q->len);
	if (q->len == sizeof(q->buf) - 1)
		q->len = 0;	/* a runaway line: drop it */
}

/* ---- connecting ------------------------------------------------------- */

static int connect_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One attempt; on failure another at the next tick, until --connect. */
static void try_connect(struct qmp_vm *q, long long now)
{
	char why[200];

	q->fd = connect_unix(q->socket);
	if (q->fd < 0) {
		if (now < q->give_up_ms) {
			q->retry_ms = now + RETRY_MS;
			return;
		}
		snprintf(why, sizeof(why), "cannot connect to %s: %s", q->socket, strerror(errno));
		qmp_fail(q, why);
		return;
	}
	q->retry_ms = 0;
	q->greet_by_ms = now + GREETING_MS;
	q->watch = virEventAddHandle(q->fd, VIR_EVENT_HANDLE_READABLE, on_readable, q, NULL);
	if (q->watch < 0)
		qmp_fail(q, "cannot watch the QMP socket");
}

void qmp_tick(void)
{
	long long now = now_ms();
	int i;

	for (i = 0; i < nqvms; i++) {
		struct qmp_vm *q = &qvms[i];

		if (q->vm->state == FAILED)
			continue;
		if (q->retry_ms && now >= q->retry_ms)
			try_connect(q, now);
		else if (q->fd >= 0 && !q->greeted && now >= q->greet_by_ms)
			qmp_fail(q, "not a QMP socket: no QMP greeting within 5 s");
	}
}

void qmp_start(void)
{
	long long now = now_ms();
	int i;

	for (i = 0; i < nqvms; i++) {
		qvms[i].give_up_ms = now + opt.connect_s * 1000LL;
		try_connect(&qvms[i], now);
	}
}

/* ---- command line ------------------------------------------------------- */

/*
 * [NAME=]PATH; NAME defaults to the socket's file name up to its first dot.
 * Names name the dump files: they must be unique, without a '/'.
 */
void qmp_add_vm(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *path = eq ? eq + 1 : arg;
	const char *base = strrchr(path, '/');
	struct qmp_vm *q;
	char name[64];
	int len = eq ? (int)(eq - arg) : (int)strcspn(base ? base + 1 : path, ".");

	if (nqvms == MAX_VMS)
		die_usage("at most %d VMs", MAX_VMS);
	if (strlen(path) >= sizeof(q->socket))
		die_usage("%s: socket path too long", path);
	if (!len || len >= (int)sizeof(name) || memchr(eq ? arg : path, '/', eq ? len : 0))
		die_usage("%s: a VM name of 1 to 63 bytes without '/' is needed (NAME=SOCKET)", arg);
	snprintf(name, sizeof(name), "%.*s", len, eq ? arg : base ? base + 1 : path);
	if (vm_named(name))
		die_usage("%s: there is a VM named %s already (give NAME=SOCKET)", arg, name);
	q = &qvms[nqvms++];
	memset(q, 0, sizeof(*q));
	q->fd = q->watch = -1;
	snprintf(q->socket, sizeof(q->socket), "%s", path);
	q->vm = vm_new(name, &qmp_ops, q);
}

/* --console NAME=LOG */
void qmp_set_console(const char *arg)
{
	const char *eq = strchr(arg, '=');
	int i;

	if (!eq)
		die_usage("--console %s: want NAME=LOG", arg);
	for (i = 0; i < nqvms; i++) {
		struct vm *vm = qvms[i].vm;

		if ((size_t)(eq - arg) == strlen(vm->name) && !strncmp(arg, vm->name, eq - arg)) {
			snprintf(vm->console, sizeof(vm->console), "%s", eq + 1);
			return;
		}
	}
	die_usage("--console %s: no VM named %.*s", arg, (int)(eq - arg), arg);
}
