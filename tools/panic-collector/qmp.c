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
	int next_id, policy_id;
	int nvcpu, tid[MAX_VCPUS];
};

static struct qmp_vm qvms[MAX_VMS];
static int nqvms;

static int qmp_send(struct qmp_vm *q, const char *cmd, json_object *args)
{
	json_object *msg = json_object_new_object();
	const char *text;
	int id = ++q->next_id, rc = 0;

	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	json_object_object_add(msg, "id", json_object_new_int(id));
	text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	if (q->fd < 0 || write(q->fd, text, strlen(text)) < 0 || write(q->fd, "\n", 1) < 0)
		rc = -1;
	json_object_put(msg);
	return rc ? -1 : id;
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

static long long qmp_vcpu_ns(struct vm *vm)
{
	struct qmp_vm *q = vm->backend;
	unsigned long long sum = 0, ns;
	char path[64];
	FILE *f;
	int i;

	if (!q->nvcpu)
		return -1;
	for (i = 0; i < q->nvcpu; i++) {
		snprintf(path, sizeof(path), "/proc/%d/schedstat", q->tid[i]);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
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
	if (qmp_send(q, "dump-guest-memory", args) < 0)
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

	if (!strcmp(name, "GUEST_PANICKED") && vm->state == WATCHING) {
		vm_panicked(vm, "GUEST_PANICKED");
		qmp_send(q, "query-cpus-fast", NULL);
	} else if (!strcmp(name, "GUEST_CRASHLOADED")) {
		vm_crash_loaded(vm);
	} else if (!strcmp(name, "DUMP_COMPLETED") && vm->state == DUMPING) {
		dump_completed(q, data);
	}
}

static void on_message(struct qmp_vm *q, json_object *msg)
{
	json_object *ev, *ret = NULL, *data = NULL, *err, *id;
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
	if (json_object_object_get_ex(msg, "error", &err) && vm->state == DUMPING) {
		vm_dump_done(vm, json_object_to_json_string(err));
		return;
	}
	if (json_object_object_get_ex(msg, "return", &ret) &&
	    json_object_get_type(ret) == json_type_array && vm->state == SETTLING) {
		take_vcpu_threads(q, ret);	/* query-cpus-fast */
		return;
	}
	if (ret && vm->state == POLICY && json_object_object_get_ex(msg, "id", &id) &&
	    json_object_get_int(id) == q->policy_id) {
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

/* [NAME=]PATH; NAME defaults to the socket's file name up to its first dot. */
void qmp_add_vm(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *path = eq ? eq + 1 : arg;
	const char *base = strrchr(path, '/');
	struct qmp_vm *q;
	char name[64];

	if (nqvms == MAX_VMS)
		die_usage("at most %d VMs", MAX_VMS);
	if (strlen(path) >= sizeof(q->socket))
		die_usage("%s: socket path too long", path);
	snprintf(name, sizeof(name), "%.*s",
		 eq ? (int)(eq - arg) : (int)strcspn(base ? base + 1 : path, "."),
		 eq ? arg : base ? base + 1 : path);
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
