// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: guests behind a raw QMP socket (QEMU's -qmp unix:...).
 *
 * Sockets come from the command line ([NAME=]PATH: connect, retrying for
 * --connect seconds while QEMU starts) or from --qmp globs, looked for every
 * RESCAN_MS: a socket that appears is watched, one whose QEMU went away and
 * came back is connected again, one whose file is gone is forgotten.
 *
 * On a connection: wait for the QMP greeting (QEMU serves one client per
 * monitor: while another client holds it, QEMU does not even accept the
 * connection, which the kernel's unix socket diagnostics tell from a
 * listener that accepts and stays mute), enter command mode and ask
 * query-status: a guest that panicked while nobody watched (QEMU's
 * -action panic=pause: status guest-panicked) is dumped at once. Then
 * GUEST_PANICKED becomes vm_panicked() and DUMP_COMPLETED vm_dump_done().
 *
 * The dump: QEMU gets the file the core created, as a descriptor (getfd,
 * SCM_RIGHTS) named in dump-guest-memory's "fd:NAME": QEMU needs no access
 * to the dump directory. vCPU time: the thread ids of query-cpus-fast, read
 * from /proc/TID/schedstat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glob.h>
#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "collector.h"

#define QMP_BUF		65536
#define GREETING_MS	5000
#define RETRY_MS	100
#define RESCAN_MS	2000
#define MAX_VCPUS	512
#define DUMP_FD_NAME	"panic-collector-dump"

struct qmp_vm {
	struct vm *vm;
	char socket[108];
	/* found by a --qmp glob: reconnected when it comes back */
	bool globbed, said_refused;
	/* the socket file connected to last (a new QEMU makes a new one) */
	ino_t ino;
	int fd, watch;
	long long give_up_ms, retry_ms, greet_by_ms;
	bool greeted;
	/* query-status said guest-panicked: was it dumped before? */
	bool found_panicked;
	char buf[QMP_BUF];
	size_t len;
	int next_id, dump_id, getfd_id, policy_id, status_id;
	long long ram;
	int nvcpu, tid[MAX_VCPUS];
};

static struct qmp_vm **qvms;
static int nqvms;
static long long rescan_ms;

/* One command, and with @fd its SCM_RIGHTS: one write (see below). */
static int qmp_send_fd(struct qmp_vm *q, const char *cmd, json_object *args, int fd)
{
	json_object *msg = json_object_new_object();
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
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
	len = asprintf(&line, "%s\n", json_object_to_json_string_ext(msg,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(msg);
	if (len < 0)
		return -1;
	iov = (struct iovec){ .iov_base = line, .iov_len = len };
	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (q->fd < 0 || sendmsg(q->fd, &mh, MSG_NOSIGNAL) != len)
		id = -1;
	free(line);
	return id;
}

static int qmp_send(struct qmp_vm *q, const char *cmd, json_object *args)
{
	return qmp_send_fd(q, cmd, args, -1);
}

static void disconnect(struct qmp_vm *q)
{
	if (q->watch >= 0)
		virEventRemoveHandle(q->watch);
	q->watch = -1;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->greeted = false;
	q->len = 0;
}

/* The connection failed before the VM could be watched (again). */
static void qmp_fail(struct qmp_vm *q, const char *why)
{
	disconnect(q);
	q->vm->watched = false;
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

static long long qmp_ram_bytes(struct vm *vm)
{
	return ((struct qmp_vm *)vm->backend)->ram;
}

static void qmp_start_dump(struct vm *vm, int fd)
{
	struct qmp_vm *q = vm->backend;
	json_object *args = json_object_new_object();

	json_object_object_add(args, "fdname", json_object_new_string(DUMP_FD_NAME));
	q->getfd_id = qmp_send_fd(q, "getfd", args, fd);
	args = json_object_new_object();
	json_object_object_add(args, "paging", json_object_new_boolean(false));
	json_object_object_add(args, "protocol", json_object_new_string("fd:" DUMP_FD_NAME));
	json_object_object_add(args, "detach", json_object_new_boolean(true));
	json_object_object_add(args, "format", json_object_new_string(opt.format));
	q->dump_id = q->getfd_id < 0 ? -1 : qmp_send(q, "dump-guest-memory", args);
	if (q->dump_id < 0)
		vm_dump_done(vm, "cannot send dump-guest-memory: QMP socket gone");
}

/* QEMU cannot cancel a dump: the core removes the file, QEMU writes on. */
static void qmp_abort_dump(struct vm *vm)
{
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
	.ram_bytes = qmp_ram_bytes,
	.start_dump = qmp_start_dump,
	.abort_dump = qmp_abort_dump,
	.apply_policy = qmp_apply_policy,
	.source = qmp_source,
};

/* ---- messages ------------------------------------------------------------ */

/* The id of a reply, or -1. */
static int reply_id(json_object *msg)
{
	json_object *id;

	return json_object_object_get_ex(msg, "id", &id) ? json_object_get_int(id) : -1;
}

/* A member of @obj as a string ("" when it has none). */
static const char *member(json_object *obj, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(obj, name, &v) ? json_object_get_string(v) : "";
}

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
	json_object *res;
	const char *st = "failed", *err = member(data, "error");
	char why[600];

	if (json_object_object_get_ex(data, "result", &res) && *member(res, "status"))
		st = member(res, "status");
	if (!strcmp(st, "completed")) {
		vm_dump_done(q->vm, NULL);
		return;
	}
	snprintf(why, sizeof(why), "dump-guest-memory %s: %s", st, *err ? err : "no reason given");
	vm_dump_done(q->vm, why);
}

static void panicked(struct qmp_vm *q, const char *how)
{
	vm_panicked(q->vm, how);
	qmp_send(q, "query-cpus-fast", NULL);
}

/*
 * A guest found panicked when the collector connected: dump it, unless a
 * collector did before (a dump whose vCPU time is this one's: the guest
 * has not run since).
 */
static void found_panicked(struct qmp_vm *q, json_object *cpus)
{
	const char *before;
	char why[400];

	q->found_panicked = false;
	take_vcpu_threads(q, cpus);
	before = metadata_dumped_before(q->vm, q->vm->last_ns);
	if (!before) {
		vm_panicked(q->vm, "found panicked: QMP status guest-panicked");
		return;
	}
	snprintf(why, sizeof(why), "found panicked, and dumped before (%s): not again", before);
	vm_finished(q->vm, why);
}

static void on_event(struct qmp_vm *q, const char *name, json_object *data)
{
	struct vm *vm = q->vm;
	bool waiting = vm->state == SETTLING || vm->state == QUEUED;

	if (!strcmp(name, "GUEST_PANICKED") && vm->state == WATCHING) {
		panicked(q, "GUEST_PANICKED");
	} else if (!strcmp(name, "GUEST_CRASHLOADED")) {
		vm_crash_loaded(vm);
	} else if (!strcmp(name, "DUMP_COMPLETED") && vm->state == DUMPING) {
		dump_completed(q, data);
	} else if (!strcmp(name, "RESET") && (vm->state == DONE || vm->state == FAILED)) {
		vm_rearm(vm, "again (reset)");
	} else if (!strcmp(name, "RESET") && waiting) {
		vm_fail(vm, "the VM was reset after its panic, before the dump: nothing left to dump "
			"(panic=N in the guest, or someone reset it)");
	} else if (!strcmp(name, "SHUTDOWN") && waiting) {
		vm_fail(vm, "the VM was shut down after its panic, before the dump: nothing left to "
			"dump (QEMU's default -action panic=shutdown: start QEMU with -action "
			"panic=none or panic=pause; under libvirt, <on_crash>preserve</on_crash>)");
	}
}

/* The first message: QMP's greeting, then command mode. */
static void greeting(struct qmp_vm *q, json_object *msg)
{
	if (!json_object_object_get_ex(msg, "QMP", NULL)) {
		qmp_fail(q, "not a QMP socket: its first message is not the QMP greeting");
		return;
	}
	q->greeted = true;
	q->said_refused = false;
	if (qmp_send(q, "qmp_capabilities", NULL) < 0) {
		qmp_fail(q, "QMP socket closed at once");
		return;
	}
	q->status_id = qmp_send(q, "query-status", NULL);
	qmp_send(q, "query-memory-size-summary", NULL);
	vm_watching(q->vm, q->socket);
}

/* An error reply: QEMU's own words (its "desc"), not the JSON around them. */
static void error_reply(struct qmp_vm *q, json_object *msg, json_object *err)
{
	struct vm *vm = q->vm;
	int id = reply_id(msg);

	if (vm->state == DUMPING && (id == q->dump_id || id == q->getfd_id))
		vm_dump_done(vm, member(err, "desc"));
	else if (vm->state == POLICY && id == q->policy_id)
		vm_fail(vm, "cannot %s the VM: %s", policy_name(opt.policy), member(err, "desc"));
}

static void on_return(struct qmp_vm *q, json_object *msg, json_object *ret)
{
	struct vm *vm = q->vm;
	json_object *mem;

	if (json_object_get_type(ret) == json_type_array) {
		if (vm->state == SETTLING)
			take_vcpu_threads(q, ret);	/* query-cpus-fast */
		else if (vm->state == WATCHING && q->found_panicked)
			found_panicked(q, ret);
	} else if (reply_id(msg) == q->status_id) {
		/* -action panic=pause: QEMU stopped it in its panic. */
		if (!strcmp(member(ret, "status"), "guest-panicked") && vm->state == WATCHING) {
			q->found_panicked = true;
			qmp_send(q, "query-cpus-fast", NULL);
		}
	} else if (json_object_object_get_ex(ret, "base-memory", &mem)) {
		q->ram = json_object_get_int64(mem) +
			 (json_object_object_get_ex(ret, "plugged-memory", &mem) ?
			  json_object_get_int64(mem) : 0);
	} else if (vm->state == POLICY && reply_id(msg) == q->policy_id) {
		vm_policy_done(vm);
	}
}

static void on_message(struct qmp_vm *q, json_object *msg)
{
	json_object *ev, *ret, *data = NULL, *err;

	if (!q->greeted)
		greeting(q, msg);
	else if (json_object_object_get_ex(msg, "error", &err))
		error_reply(q, msg, err);
	else if (json_object_object_get_ex(msg, "return", &ret))
		on_return(q, msg, ret);
	else if (json_object_object_get_ex(msg, "event", &ev)) {
		json_object_object_get_ex(msg, "data", &data);
		on_event(q, json_object_get_string(ev), data);
	}
}

/* The socket closed: expected after quit, a failure otherwise. */
static void socket_closed(struct qmp_vm *q)
{
	struct vm *vm = q->vm;
	bool greeted = q->greeted;

	disconnect(q);
	if (vm->state == DUMPING)
		vm_dump_done(vm, "VM exited during the dump");
	else if (vm->state == POLICY && opt.policy == POLICY_QUIT)
		vm_policy_done(vm);
	else if (vm->state == WATCHING && greeted)
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

/*
 * Has the listener accepted our connection? A connection waiting in its
 * backlog has a peer without an inode (not a socket of any process yet):
 * sock_diag's UNIX_DIAG_PEER says 0. True when the kernel cannot tell.
 */
static bool accepted(int fd)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} rq = {
		.nlh = { .nlmsg_len = sizeof(rq), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0U,
			 .udiag_show = UDIAG_SHOW_PEER, .udiag_cookie = { ~0U, ~0U } },
	};
	union { struct nlmsghdr nlh; char buf[4096]; } rsp;
	struct unix_diag_msg *dm;
	struct rtattr *attr;
	struct stat sb;
	int nl, len, alen;
	bool ok = true;

	if (fstat(fd, &sb))
		return true;
	rq.req.udiag_ino = sb.st_ino;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return true;
	if (send(nl, &rq, sizeof(rq), 0) == sizeof(rq) &&
	    (len = recv(nl, &rsp, sizeof(rsp), 0)) > 0 && NLMSG_OK(&rsp.nlh, (unsigned int)len) &&
	    rsp.nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
		dm = NLMSG_DATA(&rsp.nlh);
		attr = (struct rtattr *)(dm + 1);
		alen = rsp.nlh.nlmsg_len - NLMSG_LENGTH(sizeof(*dm));
		for (; RTA_OK(attr, alen); attr = RTA_NEXT(attr, alen))
			if (attr->rta_type == UNIX_DIAG_PEER)
				ok = *(unsigned int *)RTA_DATA(attr) != 0;
	}
	close(nl);
	return ok;
}

static void no_greeting(struct qmp_vm *q)
{
	if (accepted(q->fd))
		qmp_fail(q, "not a QMP socket: no QMP greeting within 5 s");
	else
		qmp_fail(q, "another client is connected to this QMP socket (QEMU serves one "
			 "client per monitor): QEMU has not even accepted the connection in 5 s; "
			 "give the collector a monitor of its own (a second -qmp)");
}

static bool watch_socket(struct qmp_vm *q, long long now)
{
	q->retry_ms = 0;
	q->greet_by_ms = now + GREETING_MS;
	q->watch = virEventAddHandle(q->fd, VIR_EVENT_HANDLE_READABLE, on_readable, q, NULL);
	if (q->watch >= 0)
		return true;
	qmp_fail(q, "cannot watch the QMP socket");
	return false;
}

/* One attempt; on failure another at the next tick, until --connect. */
static void try_connect(struct qmp_vm *q, long long now)
{
	char why[200];

	q->fd = connect_unix(q->socket);
	if (q->fd >= 0) {
		watch_socket(q, now);
		return;
	}
	if (now < q->give_up_ms) {
		q->retry_ms = now + RETRY_MS;
		return;
	}
	q->retry_ms = 0;
	snprintf(why, sizeof(why), "cannot connect to %s: %s", q->socket, strerror(errno));
	qmp_fail(q, why);
}

/* ---- VMs ------------------------------------------------------------------- */

static struct qmp_vm *find_socket(const char *path)
{
	int i;

	for (i = 0; i < nqvms; i++)
		if (!strcmp(qvms[i]->socket, path))
			return qvms[i];
	return NULL;
}

/* --console NAME=LOG for @vm, if one names it. */
static bool take_console(struct vm *vm)
{
	int i;

	for (i = 0; i < opt.consoles.n; i++) {
		const char *arg = opt.consoles.v[i], *eq = strchr(arg, '=');

		if ((size_t)(eq - arg) == strlen(vm->name) && !strncmp(arg, vm->name, eq - arg)) {
			snprintf(vm->console, sizeof(vm->console), "%s", eq + 1);
			return true;
		}
	}
	return false;
}

static struct qmp_vm *add_vm(const char *name, const char *path, bool globbed)
{
	struct qmp_vm *q = calloc(1, sizeof(*q));
	struct qmp_vm **more = realloc(qvms, (nqvms + 1) * sizeof(*qvms));

	if (!q || !more)
		abort();
	qvms = more;
	qvms[nqvms++] = q;
	q->fd = q->watch = -1;
	q->ram = -1;
	q->globbed = globbed;
	snprintf(q->socket, sizeof(q->socket), "%s", path);
	q->vm = vm_new(name, &qmp_ops, q);
	take_console(q->vm);
	return q;
}

static void forget(struct qmp_vm *q)
{
	int i;

	disconnect(q);
	vm_free(q->vm);
	for (i = 0; i < nqvms; i++)
		if (qvms[i] == q)
			qvms[i] = qvms[--nqvms];
	free(q);
}

/*
 * [NAME=]PATH; NAME defaults to the socket's file name up to its first dot.
 * Names name the dump files: they must be unique, without a '/'.
 */
static void add_socket_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *path = eq ? eq + 1 : arg;
	const char *base = strrchr(path, '/');
	char name[64];
	int len = eq ? (int)(eq - arg) : (int)strcspn(base ? base + 1 : path, ".");

	if (strlen(path) >= sizeof(((struct qmp_vm *)0)->socket))
		die_usage("%s: socket path too long", path);
	if (!len || len >= (int)sizeof(name) || memchr(eq ? arg : path, '/', eq ? len : 0))
		die_usage("%s: a VM name of 1 to 63 bytes without '/' is needed (NAME=SOCKET)", arg);
	snprintf(name, sizeof(name), "%.*s", len, eq ? arg : base ? base + 1 : path);
	if (vm_named(name))
		die_usage("%s: there is a VM named %s already (give NAME=SOCKET)", arg, name);
	add_vm(name, path, false)->give_up_ms = now_ms() + opt.connect_s * 1000LL;
}

/* A socket a glob found: named after its file, up to the first dot. */
static void found(const char *path, const struct stat *sb, long long now)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct qmp_vm *q = find_socket(path);
	char name[64];
	int len = strcspn(base, ".");

	if (!q) {
		if (!len || strlen(path) >= sizeof(q->socket))
			return;
		/* "web.1.qmp" and "web.2.qmp": named up to the last dot then. */
		snprintf(name, sizeof(name), "%.*s", len, base);
		if (vm_named(name) && strrchr(base, '.'))
			snprintf(name, sizeof(name), "%.*s", (int)(strrchr(base, '.') - base), base);
		if (vm_named(name) || !name[0])
			return;
		q = add_vm(name, path, true);
	}
	if (q->fd >= 0 || q->vm->state == DUMPING || q->vm->state == POLICY ||
	    q->vm->state == SETTLING || q->vm->state == QUEUED)
		return;
	/* Not QMP, or a busy monitor: said once, until a new socket appears. */
	if (q->vm->state == FAILED && q->vm->unwatchable && sb->st_ino == q->ino)
		return;
	q->ino = sb->st_ino;
	q->fd = connect_unix(q->socket);
	if (q->fd >= 0) {
		watch_socket(q, now);
		return;
	}
	/* A stale socket (QEMU gone): said once, tried again at each rescan. */
	if (!q->said_refused)
		warn(q->vm, "cannot connect to %s: %s; trying again every %d s", q->socket,
		     strerror(errno), RESCAN_MS / 1000);
	q->said_refused = true;
}

/* Globbed sockets whose file is gone, and that wait for nothing: forgotten. */
static void forget_gone(void)
{
	struct stat sb;
	int i;

	for (i = 0; i < nqvms; i++) {
		struct qmp_vm *q = qvms[i];

		if (q->globbed && q->fd < 0 && stat(q->socket, &sb) &&
		    q->vm->state != DUMPING && q->vm->state != POLICY) {
			forget(q);
			i--;
		}
	}
}

static void rescan(long long now)
{
	glob_t g;
	struct stat sb;
	size_t j;
	int i;

	rescan_ms = now + RESCAN_MS;
	forget_gone();
	for (i = 0; i < opt.qmp.n; i++) {
		if (glob(opt.qmp.v[i], 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc; j++)
			if (!stat(g.gl_pathv[j], &sb) && S_ISSOCK(sb.st_mode))
				found(g.gl_pathv[j], &sb, now);
		globfree(&g);
	}
}

/* ---- the backend ----------------------------------------------------------------- */

static void qmp_tick(long long now)
{
	int i;

	for (i = 0; i < nqvms; i++) {
		struct qmp_vm *q = qvms[i];

		if (q->vm->state == FAILED)
			continue;
		if (q->retry_ms && now >= q->retry_ms)
			try_connect(q, now);
		else if (q->fd >= 0 && !q->greeted && now >= q->greet_by_ms)
			no_greeting(q);
	}
	if (opt.qmp.n && now >= rescan_ms)
		rescan(now);
}

/* --console NAME=LOG must name a VM, unless a glob may find it later. */
static void check_consoles(void)
{
	int i;

	for (i = 0; i < opt.consoles.n && !opt.qmp.n; i++) {
		const char *arg = opt.consoles.v[i], *eq = strchr(arg, '=');
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
		if (!vm_named(name))
			die_usage("--console %s: no VM named %s", arg, name);
	}
}

static int qmp_start(void)
{
	long long now = now_ms();
	int i;

	for (i = 0; i < opt.sockets.n; i++)
		add_socket_arg(opt.sockets.v[i]);
	check_consoles();
	for (i = 0; i < nqvms; i++)
		try_connect(qvms[i], now);
	if (opt.qmp.n)
		rescan(now);
	return 0;
}

static bool qmp_wanted(void)
{
	return opt.sockets.n || opt.qmp.n;
}

/* SIGHUP: --qmp globs are read at each rescan; consoles are taken again. */
static void qmp_reload(void)
{
	int i;

	for (i = 0; i < nqvms; i++)
		take_console(qvms[i]->vm);
	rescan_ms = 0;
}

/* Globs may find more; a connected guest may panic (again, after a reset). */
static bool qmp_may_find_more(void)
{
	int i;

	for (i = 0; i < nqvms; i++)
		if (qvms[i]->fd >= 0)
			return true;
	return opt.qmp.n;
}

static int qmp_unwatchable(void)
{
	return 0;
}

static void qmp_stop(void)
{
	int i;

	for (i = 0; i < nqvms; i++)
		disconnect(qvms[i]);
}

const struct backend qmp_backend = {
	.name = "qmp",
	.wanted = qmp_wanted,
	.start = qmp_start,
	.tick = qmp_tick,
	.reload = qmp_reload,
	.may_find_more = qmp_may_find_more,
	.unwatchable = qmp_unwatchable,
	.stop = qmp_stop,
};
