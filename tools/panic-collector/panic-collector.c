// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector - dump panicked QEMU guests from the host, no crashkernel.
 *
 * See usage() below (also: panic-collector --help), written as a man page.
 *
 * One poll() loop serves every VM. Each VM goes through:
 *
 *   WATCHING   connected to its QMP socket, waiting for GUEST_PANICKED
 *   SETTLING   sampling its vCPU threads (query-cpus-fast thread ids,
 *              /proc/TID/schedstat) until they are quiet or --settle runs out
 *   QUEUED     waiting for one of the --jobs dump slots
 *   DUMPING    dump-guest-memory (detached) into NAME-TIME.FORMAT.partial,
 *              until DUMP_COMPLETED; renamed and described on success
 *   POLICY     pause or quit sent, waiting for QEMU to answer (or go away)
 *   DONE       policy applied (keep, pause, quit), or FAILED with a reason
 *
 * A dump that fails (disk full, VM gone, QEMU error) leaves no file behind,
 * only one error line; the exit status says whether any VM failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_VMS		64
#define MAX_VCPUS	64
#define QMP_BUF		65536
#define SAMPLE_MS	1000

enum vm_state { WATCHING, SETTLING, QUEUED, DUMPING, POLICY, DONE, FAILED };

static const char *const state_names[] = {
	"watching", "settling", "queued", "dumping", "applying the policy",
	"done", "failed",
};

enum policy { POLICY_KEEP, POLICY_PAUSE, POLICY_QUIT };

struct vm {
	char name[64], socket[108], console[256];
	int fd;
	enum vm_state state;
	char buf[QMP_BUF];
	size_t len;
	int next_id, policy_id;
	/* settling: the vCPU threads and their CPU time at the last sample */
	int nvcpu;
	int tid[MAX_VCPUS];
	unsigned long long last_ns;
	long long panic_ms, sample_ms, dump_start_ms;
	unsigned long long quiet_ns;
	bool quiet;
	char path[512], partial[520];
	char why[256];
};

static struct {
	const char *dir, *format;
	enum policy policy;
	int jobs, settle_s, connect_s;
	double quiet_pct;
	bool once;
} opt = {
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

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void say(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", vm ? vm->name : "panic-collector");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The one error line of a VM, and the end of its road. */
static void fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
	va_end(ap);
	if (vm->partial[0])
		unlink(vm->partial);
	vm->partial[0] = '\0';
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	vm->state = FAILED;
	fprintf(stderr, "%s: error: %s\n", vm->name, vm->why);
}

/* ---- QMP ---------------------------------------------------------------- */

static int qmp_send(struct vm *vm, const char *cmd, json_object *args)
{
	json_object *msg = json_object_new_object();
	const char *text;
	int id = ++vm->next_id, rc = 0;

	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	json_object_object_add(msg, "id", json_object_new_int(id));
	text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	if (vm->fd < 0 || write(vm->fd, text, strlen(text)) < 0 || write(vm->fd, "\n", 1) < 0)
		rc = -1;
	json_object_put(msg);
	return rc ? -1 : id;
}

static int connect_qmp(const char *path)
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

/* ---- vCPU threads ---------------------------------------------------------- */

static unsigned long long vcpu_ns(const struct vm *vm)
{
	unsigned long long sum = 0, ns;
	char path[64];
	FILE *f;
	int i;

	for (i = 0; i < vm->nvcpu; i++) {
		snprintf(path, sizeof(path), "/proc/%d/schedstat", vm->tid[i]);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	return sum;
}

static void take_vcpu_threads(struct vm *vm, json_object *cpus)
{
	size_t i, n = json_object_array_length(cpus);
	json_object *tid;

	vm->nvcpu = 0;
	for (i = 0; i < n && vm->nvcpu < MAX_VCPUS; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(cpus, i),
					      "thread-id", &tid))
			vm->tid[vm->nvcpu++] = json_object_get_int(tid);
	vm->last_ns = vcpu_ns(vm);
	vm->sample_ms = now_ms();
}

/* ---- what happens to a VM ------------------------------------------------- */

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
	json_object *args = json_object_new_object();
	char stamp[32], proto[540];
	time_t t = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&t));
	snprintf(vm->path, sizeof(vm->path), "%.300s/%.63s-%s.%s", opt.dir,
		 vm->name, stamp, file_suffix());
	snprintf(vm->partial, sizeof(vm->partial), "%s.partial", vm->path);
	snprintf(proto, sizeof(proto), "file:%s", vm->partial);
	json_object_object_add(args, "paging", json_object_new_boolean(false));
	json_object_object_add(args, "protocol", json_object_new_string(proto));
	json_object_object_add(args, "detach", json_object_new_boolean(true));
	json_object_object_add(args, "format", json_object_new_string(opt.format));
	vm->dump_start_ms = now_ms();
	vm->state = DUMPING;
	say(vm, "dumping (%s, vCPUs %s) to %s", opt.format,
	    vm->quiet ? "quiet" : "NOT quiet", vm->path);
	if (qmp_send(vm, "dump-guest-memory", args) < 0)
		fail(vm, "cannot send dump-guest-memory: QMP socket gone");
}

/* The panic line of the VM's console log, if we were told where it is. */
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

static int write_metadata(const struct vm *vm, long long bytes)
{
	json_object *m = json_object_new_object();
	char file[530], tmp[540], line[512], stamp[32];
	time_t t = time(NULL);
	int rc;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	panic_line(vm, line, sizeof(line));
	json_object_object_add(m, "vm", json_object_new_string(vm->name));
	json_object_object_add(m, "time", json_object_new_string(stamp));
	json_object_object_add(m, "dump", json_object_new_string(strrchr(vm->path, '/') + 1));
	json_object_object_add(m, "format", json_object_new_string(opt.format));
	json_object_object_add(m, "bytes", json_object_new_int64(bytes));
	json_object_object_add(m, "dump_ms", json_object_new_int64(now_ms() - vm->dump_start_ms));
	json_object_object_add(m, "vcpus_quiet", json_object_new_boolean(vm->quiet));
	json_object_object_add(m, "vcpu_ns_last_second", json_object_new_int64(vm->quiet_ns));
	json_object_object_add(m, "panic_line", line[0] ? json_object_new_string(line) : NULL);
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

static void apply_policy(struct vm *vm)
{
	static const char *const commands[] = {
		[POLICY_PAUSE] = "stop", [POLICY_QUIT] = "quit",
	};

	vm->state = DONE;
	if (opt.policy == POLICY_KEEP)
		return;
	vm->policy_id = qmp_send(vm, commands[opt.policy], NULL);
	if (vm->policy_id < 0)
		say(vm, "warning: could not %s the VM (QMP socket gone)",
		    opt.policy == POLICY_PAUSE ? "pause" : "quit");
	else
		vm->state = POLICY;
}

static void dump_finished(struct vm *vm, json_object *data)
{
	json_object *res, *status, *err;
	const char *st = "failed";
	struct stat sb;

	if (json_object_object_get_ex(data, "result", &res) &&
	    json_object_object_get_ex(res, "status", &status))
		st = json_object_get_string(status);
	if (strcmp(st, "completed")) {
		fail(vm, "dump-guest-memory %s: %s", st,
		     json_object_object_get_ex(data, "error", &err) ?
		     json_object_get_string(err) : "no reason given");
		return;
	}
	if (stat(vm->partial, &sb) || rename(vm->partial, vm->path)) {
		fail(vm, "dump completed but %s is missing: %s", vm->partial, strerror(errno));
		return;
	}
	vm->partial[0] = '\0';
	if (write_metadata(vm, sb.st_size)) {
		unlink(vm->path);
		fail(vm, "cannot write %s.json (disk full?): dump removed", vm->path);
		return;
	}
	say(vm, "dumped %lld bytes in %lld ms: %s", (long long)sb.st_size,
	    now_ms() - vm->dump_start_ms, vm->path);
	apply_policy(vm);
}

static void on_message(struct vm *vm, json_object *msg)
{
	json_object *ev, *ret = NULL, *data, *err, *id;
	const char *name;

	if (json_object_object_get_ex(msg, "error", &err) && vm->state == DUMPING) {
		fail(vm, "QMP refused the dump: %s", json_object_to_json_string(err));
		return;
	}
	if (json_object_object_get_ex(msg, "return", &ret) &&
	    json_object_get_type(ret) == json_type_array && vm->state == SETTLING) {
		take_vcpu_threads(vm, ret);	/* query-cpus-fast */
		return;
	}
	if (ret && vm->state == POLICY && json_object_object_get_ex(msg, "id", &id) &&
	    json_object_get_int(id) == vm->policy_id) {
		say(vm, "%s", opt.policy == POLICY_PAUSE ? "paused" : "quit");
		vm->state = DONE;
		return;
	}
	if (!json_object_object_get_ex(msg, "event", &ev))
		return;
	name = json_object_get_string(ev);
	json_object_object_get_ex(msg, "data", &data);
	if (!strcmp(name, "GUEST_PANICKED") && vm->state == WATCHING) {
		say(vm, "panicked; waiting up to %d s for its vCPUs to go quiet", opt.settle_s);
		vm->state = SETTLING;
		vm->panic_ms = now_ms();
		qmp_send(vm, "query-cpus-fast", NULL);
	} else if (!strcmp(name, "DUMP_COMPLETED") && vm->state == DUMPING) {
		dump_finished(vm, data);
	}
}

/* After the policy: QEMU closing the socket (quit) is expected. */
static void forget_socket(struct vm *vm)
{
	close(vm->fd);
	vm->fd = -1;
	vm->state = DONE;
}

static void read_qmp(struct vm *vm)
{
	ssize_t n = read(vm->fd, vm->buf + vm->len, sizeof(vm->buf) - 1 - vm->len);
	char *start = vm->buf, *eol;

	if (n <= 0) {
		if (vm->state == DUMPING)
			fail(vm, "VM exited during the dump; partial dump removed");
		else if (vm->state == POLICY || vm->state == DONE)
			forget_socket(vm);	/* quit closes it */
		else
			fail(vm, "QMP socket closed while %s", state_names[vm->state]);
		return;
	}
	vm->len += n;
	while (vm->state != FAILED &&
	       (eol = memchr(start, '\n', vm->buf + vm->len - start))) {
		json_object *msg;

		*eol = '\0';
		msg = json_tokener_parse(start);
		if (msg)
			on_message(vm, msg);
		json_object_put(msg);
		start = eol + 1;
	}
	if (vm->state == FAILED)
		return;
	vm->len -= start - vm->buf;
	memmove(vm->buf, start, vm->len);
	if (vm->len == sizeof(vm->buf) - 1)
		vm->len = 0;	/* a runaway line: drop it */
}

/* Once a second while settling: quiet when under --quiet-pct of a core. */
static void sample(struct vm *vm, long long now)
{
	unsigned long long ns;

	if (vm->state != SETTLING || !vm->nvcpu || now - vm->sample_ms < SAMPLE_MS)
		return;
	ns = vcpu_ns(vm);
	vm->quiet_ns = (ns - vm->last_ns) * 1000 / (now - vm->sample_ms);
	vm->last_ns = ns;
	vm->sample_ms = now;
	vm->quiet = vm->quiet_ns <= opt.quiet_pct * 1e7;
	if (vm->quiet || now - vm->panic_ms >= opt.settle_s * 1000LL) {
		say(vm, "vCPUs used %llu ns in the last second: %s", vm->quiet_ns,
		    vm->quiet ? "quiet" : "still busy, dumping anyway");
		vm->state = QUEUED;
	}
}

static void start_queued(void)
{
	int i;

	for (i = 0; i < nvms && active_dumps() < opt.jobs; i++)
		if (vms[i].state == QUEUED)
			start_dump(&vms[i]);
}

static bool all_finished(void)
{
	int i;

	for (i = 0; i < nvms; i++)
		if (vms[i].state != DONE && vms[i].state != FAILED)
			return false;
	return true;
}

/* Connect, read the greeting and enter command mode; retry while starting. */
static void connect_vm(struct vm *vm)
{
	long long give_up = now_ms() + opt.connect_s * 1000LL;

	while ((vm->fd = connect_qmp(vm->socket)) < 0 && now_ms() < give_up && !stop_requested)
		usleep(100000);
	if (vm->fd < 0) {
		fail(vm, "cannot connect to %s: %s", vm->socket, strerror(errno));
		return;
	}
	vm->state = WATCHING;
	if (qmp_send(vm, "qmp_capabilities", NULL) < 0)
		fail(vm, "QMP socket %s closed at once", vm->socket);
	else
		say(vm, "watching %s", vm->socket);
}

static int run(void)
{
	struct pollfd pfd[MAX_VMS];
	int i, failed = 0;

	for (i = 0; i < nvms; i++)
		connect_vm(&vms[i]);
	while (!stop_requested && !(opt.once && all_finished())) {
		for (i = 0; i < nvms; i++) {
			pfd[i].fd = vms[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, nvms, 200) < 0 && errno != EINTR)
			break;
		for (i = 0; i < nvms; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents)
				read_qmp(&vms[i]);
		for (i = 0; i < nvms; i++)
			sample(&vms[i], now_ms());
		start_queued();
	}
	for (i = 0; i < nvms; i++) {
		if (vms[i].state == DUMPING)
			fail(&vms[i], "stopped during the dump; partial dump removed");
		failed |= vms[i].state == FAILED;
	}
	return failed ? 1 : 0;
}

/* ---- command line ------------------------------------------------------- */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"NAME\n"
"    panic-collector - dump panicked QEMU guests from the host\n"
"\n"
"SYNOPSIS\n"
"    panic-collector --dir DIR [options] [NAME=]QMP_SOCKET...\n"
"\n"
"DESCRIPTION\n"
"    Watches the QMP socket of each guest (started with -device pvpanic,\n"
"    -action panic=none and, for makedumpfile filtering, -device vmcoreinfo).\n"
"    On GUEST_PANICKED it waits until the guest's vCPU threads are quiet,\n"
"    runs dump-guest-memory into DIR/NAME-TIME.kdump with a NAME-TIME.kdump.json\n"
"    metadata file next to it, then applies the policy. No crashkernel\n"
"    reservation is needed in the guest. Output lines start with the VM name;\n"
"    a failed dump leaves no file and one line \"NAME: error: ...\" on stderr.\n"
"\n"
"OPTIONS\n"
"    -d, --dir DIR         where dumps and metadata go (must exist)\n"
"    -f, --format FMT      kdump-zlib (default), kdump-lzo, kdump-snappy or elf\n"
"    -p, --policy P        after the dump: keep (default, leave it running),\n"
"                          pause (QMP stop) or quit (QMP quit)\n"
"    -j, --jobs N          dumps at the same time (default 2)\n"
"    -s, --settle SEC      longest wait for quiet vCPUs; dump anyway after it\n"
"                          (default 30)\n"
"    -q, --quiet-pct PCT   quiet: vCPU threads under PCT %% of one core over\n"
"                          one second (default 1)\n"
"    -c, --console NAME=LOG  the guest's console log: its panic line goes\n"
"                          into the metadata\n"
"    -w, --connect SEC     keep trying to connect this long (default 30)\n"
"    -1, --once            exit once every VM is dumped (or has failed)\n"
"    -h, --help            this text\n"
"\n"
"EXIT STATUS\n"
"    0 every watched VM that panicked was dumped, 1 a dump failed or a VM\n"
"    could not be watched, 2 bad usage.\n"
"\n"
"EXAMPLE\n"
"    panic-collector -d /var/crash/guests -p quit -1 web1=/run/qemu/web1.qmp\n");
	exit(status);
}

static struct vm *vm_named(const char *name)
{
	int i;

	for (i = 0; i < nvms; i++)
		if (!strcmp(vms[i].name, name))
			return &vms[i];
	return NULL;
}

static void add_vm(const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *path = eq ? eq + 1 : arg;
	struct vm *vm;
	const char *base;

	if (nvms == MAX_VMS) {
		fprintf(stderr, "panic-collector: at most %d VMs\n", MAX_VMS);
		exit(2);
	}
	vm = &vms[nvms++];
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	snprintf(vm->socket, sizeof(vm->socket), "%s", path);
	base = strrchr(path, '/');
	snprintf(vm->name, sizeof(vm->name), "%.*s",
		 eq ? (int)(eq - arg) : (int)strcspn(base ? base + 1 : path, "."),
		 eq ? arg : base ? base + 1 : path);
}

static void set_console(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[64];
	struct vm *vm;

	if (!eq || eq - arg >= (int)sizeof(name))
		usage(2);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	vm = vm_named(name);
	if (!vm) {
		fprintf(stderr, "panic-collector: --console %s: no VM named %s\n", arg, name);
		exit(2);
	}
	snprintf(vm->console, sizeof(vm->console), "%s", eq + 1);
}

static enum policy parse_policy(const char *p)
{
	if (!strcmp(p, "keep"))
		return POLICY_KEEP;
	if (!strcmp(p, "pause"))
		return POLICY_PAUSE;
	if (!strcmp(p, "quit"))
		return POLICY_QUIT;
	usage(2);
	return POLICY_KEEP;
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
		{ "once", 0, NULL, '1' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *consoles[MAX_VMS];
	int c, i, nconsoles = 0;
	struct stat sb;

	while ((c = getopt_long(argc, argv, "d:f:p:j:s:q:c:w:1h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': opt.dir = optarg; break;
		case 'f': opt.format = optarg; break;
		case 'p': opt.policy = parse_policy(optarg); break;
		case 'j': opt.jobs = atoi(optarg); break;
		case 's': opt.settle_s = atoi(optarg); break;
		case 'q': opt.quiet_pct = atof(optarg); break;
		case 'c':
			if (nconsoles < MAX_VMS)
				consoles[nconsoles++] = optarg;
			break;
		case 'w': opt.connect_s = atoi(optarg); break;
		case '1': opt.once = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!opt.dir || optind == argc || opt.jobs < 1)
		usage(2);
	if (strlen(opt.dir) > 300 || stat(opt.dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "panic-collector: --dir %s is not a directory\n", opt.dir);
		return 2;
	}
	if (strcmp(opt.format, "elf") && strncmp(opt.format, "kdump-", 6))
		usage(2);
	for (i = optind; i < argc; i++)
		add_vm(argv[i]);
	for (i = 0; i < nconsoles; i++)
		set_console(consoles[i]);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return run();
}
