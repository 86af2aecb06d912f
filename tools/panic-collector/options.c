// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: its configuration, from the command line and a --config
 * file, and again from both on SIGHUP.
 *
 * The file holds "option = value" lines, option being a long option's name
 * without its dashes; "#" starts a comment; a flag takes yes or no; domain,
 * qmp and console may be given several times. The command line is applied
 * after the file. A single-valued option given twice in one of them is an
 * error naming it (the second would silently win otherwise).
 *
 * Parsing never exits by itself: at start an error is a usage error (exit
 * 2); on SIGHUP it is one error line, and the old configuration stays.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"

enum key {
	K_DIR = 'd', K_FORMAT = 'f', K_POLICY = 'p', K_JOBS = 'j', K_SETTLE = 's',
	K_QUIET = 'q', K_CONSOLE = 'c', K_CONNECT = 'w', K_LIBVIRT = 'L',
	K_DOMAIN = 'D', K_ONCE = '1', K_HELP = 'h', K_VERSION = 'V',
	K_CONFIG = 256, K_QMP, K_KEEP_FREE, K_MAX_PER_VM, K_MAX_TOTAL, K_RATE,
	K_EXEC, K_METRICS,
};

static const struct option longopts[] = {
	{ "dir", 1, NULL, K_DIR }, { "format", 1, NULL, K_FORMAT },
	{ "policy", 1, NULL, K_POLICY }, { "jobs", 1, NULL, K_JOBS },
	{ "settle", 1, NULL, K_SETTLE }, { "quiet-pct", 1, NULL, K_QUIET },
	{ "connect", 1, NULL, K_CONNECT }, { "libvirt", 1, NULL, K_LIBVIRT },
	{ "domain", 1, NULL, K_DOMAIN }, { "qmp", 1, NULL, K_QMP },
	{ "console", 1, NULL, K_CONSOLE }, { "keep-free", 1, NULL, K_KEEP_FREE },
	{ "max-dumps-per-vm", 1, NULL, K_MAX_PER_VM },
	{ "max-total", 1, NULL, K_MAX_TOTAL }, { "rate-limit", 1, NULL, K_RATE },
	{ "exec", 1, NULL, K_EXEC }, { "metrics", 1, NULL, K_METRICS },
	{ "once", 0, NULL, K_ONCE },
	/* command line only */
	{ "config", 1, NULL, K_CONFIG }, { "help", 0, NULL, K_HELP },
	{ "version", 0, NULL, K_VERSION },
	{ NULL, 0, NULL, 0 }
};
#define FILE_OPTIONS	18	/* the first ones: also in a --config file */

static const char *const policy_names[] = {
	[POLICY_KEEP] = "keep", [POLICY_PAUSE] = "pause",
	[POLICY_QUIT] = "quit", [POLICY_RESTART] = "restart",
};

static const char *const formats[] = {
	"kdump-zlib", "kdump-lzo", "kdump-snappy", "elf",
};

struct options opt;

/* Why parsing failed, for die_usage() or the reload's error line. */
static char err[1024];

static bool bad(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static bool bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	return false;
}

const char *policy_name(enum policy p)
{
	return policy_names[p];
}

const char *options_format_suffix(void)
{
	return strcmp(opt.format, "elf") ? "kdump" : "elf";
}

static void defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->format = strdup("kdump-zlib");
	o->policy = POLICY_KEEP;
	o->jobs = 2;
	o->settle_s = 30;
	o->connect_s = 30;
	o->quiet_pct = 1.0;
	o->keep_free = -1;
	o->keep_free_pct = 10;
}

static void strlist_free(struct strlist *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strlist_add(struct strlist *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!l->v)
		abort();
	l->v[l->n++] = strdup(s);
}

static void options_free(struct options *o)
{
	free(o->config);
	free(o->dir);
	free(o->format);
	free(o->libvirt);
	free(o->exec);
	free(o->metrics);
	strlist_free(&o->qmp);
	strlist_free(&o->sockets);
	strlist_free(&o->consoles);
	strlist_free(&o->domains);
}

/* ---- values -------------------------------------------------------------- */

/* @text as a whole number from @min to @max. */
static bool parse_int(const char *what, const char *text, long long min, long long max,
		      long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(text, &end, 10);
	if (!*text || *end || errno || *out < min || *out > max)
		return bad("%s: '%s' is not a whole number from %lld to %lld", what, text, min, max);
	return true;
}

static bool parse_pct(const char *what, const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (!*text || *end || errno || !isfinite(*out) || *out < 0 || *out > 100)
		return bad("%s: '%s' is not a number from 0 to 100", what, text);
	return true;
}

/* BYTES with an optional K, M, G or T (powers of 1024); -1 when not one. */
static long long size_of(const char *text)
{
	static const char units[] = "KMGT";
	const char *u;
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (!*text || errno || !isfinite(v) || v < 0 || end == text)
		return -1;
	if (*end && (u = strchr(units, *end))) {
		v *= pow(1024, u - units + 1);
		end++;
		if (*end == 'i')
			end++;
		if (*end == 'B')
			end++;
	}
	return *end || v > (double)LLONG_MAX ? -1 : (long long)v;
}

/* --keep-free: SIZE or PCT% of the dump filesystem. */
static bool parse_keep_free(struct options *o, const char *text)
{
	size_t len = strlen(text);
	char pct[32];

	if (len && len < sizeof(pct) && text[len - 1] == '%') {
		snprintf(pct, sizeof(pct), "%.*s", (int)len - 1, text);
		o->keep_free = -1;
		return parse_pct("--keep-free", pct, &o->keep_free_pct);
	}
	o->keep_free = size_of(text);
	o->keep_free_pct = -1;
	if (o->keep_free < 0)
		return bad("--keep-free: '%s' is not a size (BYTES, or with K, M, G, T) or a share (N%%)", text);
	return true;
}

/* --rate-limit N/PERIOD, PERIOD in seconds or with s, m, h or d. */
static bool parse_rate(struct options *o, const char *text)
{
	static const struct { char unit; long long s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	const char *arg = text;
	long long n, count = 1;
	unsigned int i;
	char *end;

	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || *end != '/' || n < 1 || n > 1000)
		goto fail;
	text = end + 1;
	if (*text >= '0' && *text <= '9')
		count = strtoll(text, &end, 10);
	else
		end = (char *)text;
	for (i = 0; *end && i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit && !end[1])
			break;
	if (errno || count < 1 || count > 1000000 || i == sizeof(units) / sizeof(units[0]))
		goto fail;
	o->rate_n = n;
	o->rate_period_s = count * (*end ? units[i].s : 1);
	return true;
fail:
	return bad("--rate-limit: '%s' is not N/PERIOD (N from 1 to 1000, PERIOD like 3600, 30m, 1h, 1d)",
		   arg);
}

static bool parse_choice(const char *what, const char *text, const char *const *names,
			 unsigned int n, int *out)
{
	char list[200] = "";
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(text, names[i])) {
			*out = i;
			return true;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " " : "", names[i]);
	}
	return bad("%s: unknown %s '%s' (one of: %s)", what, what + 2, text, list);
}

static void set_string(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
}

/* ---- one option ----------------------------------------------------------- */

static const char *key_name(int key)
{
	const struct option *o;

	for (o = longopts; o->name; o++)
		if (o->val == key)
			return o->name;
	return "?";
}

static bool repeatable(int key)
{
	return key == K_DOMAIN || key == K_QMP || key == K_CONSOLE;
}

/* Apply option @key = @value to @o; @seen: the keys this source gave. */
static bool set_option(struct options *o, int key, const char *value, unsigned char *seen)
{
	long long v;
	int choice;

	if (!repeatable(key) && seen[key]++)
		return bad("--%s given twice", key_name(key));
	switch (key) {
	case K_DIR: set_string(&o->dir, value); break;
	case K_FORMAT:
		if (!parse_choice("--format", value, formats, 4, &choice))
			return false;
		set_string(&o->format, formats[choice]);
		break;
	case K_POLICY:
		if (!parse_choice("--policy", value, policy_names, 4, &choice))
			return false;
		o->policy = choice;
		break;
	case K_JOBS:
		if (!parse_int("--jobs", value, 1, 1024, &v))
			return false;
		o->jobs = v;
		break;
	case K_SETTLE:
	case K_CONNECT:
		if (!parse_int(key == K_SETTLE ? "--settle" : "--connect", value, 0, 86400, &v))
			return false;
		*(key == K_SETTLE ? &o->settle_s : &o->connect_s) = v;
		break;
	case K_QUIET: return parse_pct("--quiet-pct", value, &o->quiet_pct);
	case K_CONSOLE:
		if (!strchr(value, '='))
			return bad("--console %s: want NAME=LOG", value);
		strlist_add(&o->consoles, value);
		break;
	case K_LIBVIRT: set_string(&o->libvirt, value); break;
	case K_DOMAIN: strlist_add(&o->domains, value); break;
	case K_QMP: strlist_add(&o->qmp, value); break;
	case K_KEEP_FREE: return parse_keep_free(o, value);
	case K_MAX_PER_VM:
		if (!parse_int("--max-dumps-per-vm", value, 0, 1000000, &v))
			return false;
		o->max_dumps_per_vm = v;
		break;
	case K_MAX_TOTAL:
		o->max_total = size_of(value);
		if (o->max_total < 0)
			return bad("--max-total: '%s' is not a size (BYTES, or with K, M, G, T)", value);
		break;
	case K_RATE: return parse_rate(o, value);
	case K_EXEC: set_string(&o->exec, value); break;
	case K_METRICS: set_string(&o->metrics, value); break;
	case K_ONCE: o->once = true; break;
	}
	return true;
}

/* ---- the config file ------------------------------------------------------ */

static char *trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	return s;
}

/* "# comment" lines, and " # comment" after a value. */
static void strip_comment(char *line)
{
	char *p;

	for (p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static bool file_line(struct options *o, char *line, unsigned char *seen)
{
	char *eq, *name, *value;
	const struct option *lo;

	strip_comment(line);
	line = trim(line);
	if (!*line)
		return true;
	eq = strchr(line, '=');
	if (!eq)
		return bad("want 'option = value', not '%s'", line);
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	for (lo = longopts; lo < longopts + FILE_OPTIONS; lo++)
		if (!strcmp(lo->name, name))
			break;
	if (lo == longopts + FILE_OPTIONS)
		return bad("unknown option '%s'", name);
	if (lo->has_arg)
		return set_option(o, lo->val, value, seen);
	if (strcmp(value, "yes") && strcmp(value, "no"))
		return bad("%s: '%s' is not yes or no", name, value);
	return !strcmp(value, "no") || set_option(o, lo->val, value, seen);
}

static bool parse_file(struct options *o, const char *path)
{
	unsigned char seen[512] = { 0 };
	char *line = NULL, where[PATH_MAX + 32];
	size_t size = 0;
	int n = 0;
	bool ok = true;
	FILE *f = fopen(path, "r");

	if (!f)
		return bad("--config %s: %s", path, strerror(errno));
	while (ok && getline(&line, &size, f) > 0) {
		n++;
		ok = file_line(o, line, seen);
	}
	free(line);
	fclose(f);
	if (!ok) {
		snprintf(where, sizeof(where), "%s:%d: ", path, n);
		memmove(err + strlen(where), err, sizeof(err) - strlen(where));
		memcpy(err, where, strlen(where));
		err[sizeof(err) - 1] = '\0';
	}
	return ok;
}

/* ---- the command line ------------------------------------------------------ */

static void usage(int status);

static const char *config_arg(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

static bool parse_argv(struct options *o, int argc, char **argv)
{
	unsigned char seen[512] = { 0 };
	int c;

	optind = 0;	/* glibc: start over (SIGHUP parses again) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:f:p:j:s:q:c:w:L:D:1hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(0); break;
		case 'V':
			printf("panic-collector %s\n", COLLECTOR_VERSION);
			exit(0);
		case K_CONFIG:
			if (seen[K_CONFIG]++)
				return bad("--config given twice");
			set_string(&o->config, optarg);
			break;
		case ':': return bad("%s needs a value (see --help)", argv[optind - 1]);
		case '?': return bad("unknown option %s (see --help)", argv[optind - 1]);
		default:
			if (!set_option(o, c, optarg, seen))
				return false;
		}
	}
	for (; optind < argc; optind++)
		strlist_add(&o->sockets, argv[optind]);
	return true;
}

/* What does not depend on one option alone. */
static bool check(struct options *o)
{
	if (!o->dir)
		return bad("no --dir given (see --help)");
	if (o->domains.n && !o->libvirt)
		return bad("--domain needs --libvirt URI");
	if (!o->sockets.n && !o->qmp.n && !o->libvirt)
		return bad("nothing to watch: give QMP sockets, --qmp PATTERN or --libvirt URI (see --help)");
	return true;
}

/* The file (if any), then the command line, into @o. */
static bool parse_all(struct options *o, int argc, char **argv)
{
	const char *config = config_arg(argc, argv);

	defaults(o);
	if (config && !parse_file(o, config))
		return false;
	return parse_argv(o, argc, argv) && check(o);
}

/*
 * --dir, as an absolute path: QEMU resolves a relative "file:" path in its
 * own working directory, and libvirtd in its own.
 */
static void check_dir(struct options *o)
{
	char path[PATH_MAX];
	struct stat sb;

	if (stat(o->dir, &sb) || !S_ISDIR(sb.st_mode))
		die_usage("--dir %s is not a directory", o->dir);
	if (access(o->dir, W_OK))
		die_usage("--dir %s is not writable", o->dir);
	if (!realpath(o->dir, path) || strlen(path) > 300)
		die_usage("--dir %s: cannot resolve it to a path of at most 300 bytes", o->dir);
	set_string(&o->dir, path);
	/* Guest memory holds keys and passwords: nobody else reads it. */
	if (sb.st_mode & 077)
		warn(NULL, "--dir %s is readable by group or others (mode %03o): the dumps and "
		     "metadata are 0600, but make it 0700", o->dir, sb.st_mode & 0777);
}

static int saved_argc;
static char **saved_argv;

void options_parse(int argc, char **argv)
{
	saved_argc = argc;
	saved_argv = argv;
	if (!parse_all(&opt, argc, argv))
		die_usage("%s", err);
	check_dir(&opt);
}

/* ---- SIGHUP ------------------------------------------------------------------- */

static void strlist_text(const struct strlist *l, char *buf, size_t size)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "," : "", l->v[i]);
}

/* Option @key of @o as text, to say what a reload changed. */
static const char *value_text(const struct options *o, int key, char *buf, size_t size)
{
	const char *s = NULL;

	switch (key) {
	case K_DIR: s = o->dir; break;
	case K_FORMAT: s = o->format; break;
	case K_POLICY: s = policy_names[o->policy]; break;
	case K_JOBS: snprintf(buf, size, "%d", o->jobs); break;
	case K_SETTLE: snprintf(buf, size, "%d", o->settle_s); break;
	case K_CONNECT: snprintf(buf, size, "%d", o->connect_s); break;
	case K_QUIET: snprintf(buf, size, "%g", o->quiet_pct); break;
	case K_LIBVIRT: s = o->libvirt; break;
	case K_EXEC: s = o->exec; break;
	case K_METRICS: s = o->metrics; break;
	case K_ONCE: s = o->once ? "yes" : "no"; break;
	case K_DOMAIN: strlist_text(&o->domains, buf, size); break;
	case K_QMP: strlist_text(&o->qmp, buf, size); break;
	case K_CONSOLE: strlist_text(&o->consoles, buf, size); break;
	case K_KEEP_FREE:
		if (o->keep_free_pct >= 0)
			snprintf(buf, size, "%g%%", o->keep_free_pct);
		else
			snprintf(buf, size, "%lld", o->keep_free);
		break;
	case K_MAX_PER_VM: snprintf(buf, size, "%d", o->max_dumps_per_vm); break;
	case K_MAX_TOTAL: snprintf(buf, size, "%lld", o->max_total); break;
	case K_RATE: snprintf(buf, size, "%d/%llds", o->rate_n, o->rate_period_s); break;
	}
	if (s || key == K_LIBVIRT || key == K_EXEC || key == K_METRICS)
		snprintf(buf, size, "%s", s ? s : "(none)");
	return buf;
}

/* "policy keep -> pause, jobs 2 -> 3"; what cannot change is kept. */
static void changes(struct options *o, char *out, size_t size)
{
	char before[1024], after[1024];
	const struct option *lo;

	out[0] = '\0';
	for (lo = longopts; lo < longopts + FILE_OPTIONS; lo++) {
		value_text(&opt, lo->val, before, sizeof(before));
		value_text(o, lo->val, after, sizeof(after));
		if (!strcmp(before, after))
			continue;
		if (lo->val == K_DIR || lo->val == K_LIBVIRT || lo->val == K_ONCE) {
			warn(NULL, "%s changes only when the collector starts again: keeping %s",
			     lo->name, before);
			continue;
		}
		snprintf(out + strlen(out), size - strlen(out), "%s%s %.300s -> %.300s",
			 out[0] ? ", " : "", lo->name, before, after);
	}
}

/* SIGHUP: read it all again; on an error keep what we have. */
bool options_reload(void)
{
	struct options o;
	char what[2048];
	char path[PATH_MAX];

	if (!parse_all(&o, saved_argc, saved_argv)) {
		error_line("panic-collector", "error: reloading %s: %s; keeping the configuration",
			   opt.config ? opt.config : "the command line", err);
		options_free(&o);
		return false;
	}
	if (realpath(o.dir, path))
		set_string(&o.dir, path);
	changes(&o, what, sizeof(what));
	/* These stay as the collector started (see changes()). */
	set_string(&o.dir, opt.dir);
	free(o.libvirt);
	o.libvirt = opt.libvirt ? strdup(opt.libvirt) : NULL;
	o.once = opt.once;
	say(NULL, "reloaded %s: %s", opt.config ? opt.config : "the command line",
	    what[0] ? what : "nothing changed");
	options_free(&opt);
	opt = o;
	return true;
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"NAME\n"
"    panic-collector - dump panicked guests from the host\n"
"\n"
"SYNOPSIS\n"
"    panic-collector --dir DIR [options] [NAME=]QMP_SOCKET...\n"
"    panic-collector --dir DIR --qmp PATTERN... [options]\n"
"    panic-collector --dir DIR --libvirt URI [--domain NAME]... [options]\n"
"    panic-collector --config FILE [options]\n"
"\n"
"DESCRIPTION\n"
"    Watches guests for a panic: over their QMP socket (QEMU started with\n"
"    -device pvpanic, -action panic=none or panic=pause and, for\n"
"    makedumpfile and crash, -device vmcoreinfo), or through libvirt\n"
"    (domains with a <panic> device, <features><acpi/></features> and\n"
"    <on_crash>preserve</on_crash>; every domain of URI, or the ones named\n"
"    with --domain). On the panic it waits until the guest's vCPUs are\n"
"    quiet, dumps its memory into DIR/NAME-TIME.kdump (0600) with\n"
"    NAME-TIME.kdump.json metadata next to it (the kernel release, build ID\n"
"    and crash time from the dump's VMCOREINFO, the console's last lines),\n"
"    then applies the policy. No crashkernel reservation is needed in the\n"
"    guest. A guest that panics with a crash kernel loaded (pvpanic \"crash\n"
"    loaded\") dumps itself and is left alone. A guest found panicked when\n"
"    the collector connects (QMP status guest-panicked, libvirt state\n"
"    crashed) is dumped too.\n"
"\n"
"    QMP: QEMU gets an open file descriptor (getfd) to write the dump to: it\n"
"    needs no access to DIR. --qmp sockets are looked for every 2 s: a new\n"
"    one is watched, one that comes back is reconnected.\n"
"\n"
"    libvirt: the dump is libvirt's memory-only core dump (virsh dump\n"
"    --memory-only), written by libvirtd into a file the collector created\n"
"    0600. A domain without a panic device cannot be watched: it is\n"
"    reported once.\n"
"\n"
"    Output: one line per event, \"NAME: ...\" on stdout; failures on stderr,\n"
"    one line \"NAME: error: ...\" each (a failed dump leaves no file). Under\n"
"    systemd, lines carry their priority (<3> errors, <4> warnings).\n"
"\n"
"OPTIONS\n"
"    -d, --dir DIR         where dumps and metadata go (must exist; 0700)\n"
"    -f, --format FMT      kdump-zlib (default), kdump-lzo, kdump-snappy or elf\n"
"    -p, --policy P        after the dump: keep (default, leave it as it is),\n"
"                          pause, quit (QMP quit; libvirt: destroy) or\n"
"                          restart (reset and run)\n"
"    -j, --jobs N          dumps at the same time (default 2; at most 4 through\n"
"                          one libvirt connection, libvirtd's request limit)\n"
"    -s, --settle SEC      longest wait for quiet vCPUs; dump anyway after it\n"
"                          (default 30)\n"
"    -q, --quiet-pct PCT   quiet: vCPUs under PCT %% of one core over one\n"
"                          second (default 1)\n"
"        --qmp PATTERN     QMP sockets by glob (repeatable), e.g.\n"
"                          '/run/qemu/*.qmp'; the VM name is the file name up\n"
"                          to its first dot\n"
"    -c, --console NAME=LOG  a QMP guest's console log: its panic line and\n"
"                          last lines go into the metadata (libvirt: the\n"
"                          domain's file-backed serial console, found by\n"
"                          itself)\n"
"    -w, --connect SEC     keep trying to connect this long (default 30)\n"
"    -L, --libvirt URI     watch the domains of this libvirt connection\n"
"    -D, --domain NAME     with --libvirt: only this domain (repeatable)\n"
"        --keep-free SIZE|PCT%%  free space that must be left on DIR's\n"
"                          filesystem after a dump, the dump estimated as\n"
"                          large as the guest's RAM (default 10%%)\n"
"        --max-dumps-per-vm N  keep a VM's newest N dumps (0: all)\n"
"        --max-total SIZE  keep the dumps in DIR under SIZE, oldest removed\n"
"                          first (0: no limit)\n"
"        --rate-limit N/PERIOD  at most N dumps of one VM per PERIOD (30m,\n"
"                          1h, 1d, or seconds); a crash loop beyond it is\n"
"                          refused and left as it is\n"
"        --exec CMD        run CMD (sh -c) for every guest dumped, failed,\n"
"                          refused or unwatchable, with PANIC_COLLECTOR_EVENT,\n"
"                          _VM, _UUID, _DUMP, _METADATA and _REASON set\n"
"        --metrics FILE    node_exporter textfile metrics, rewritten atomically\n"
"        --config FILE     \"option = value\" lines (long option names); the\n"
"                          command line applies after it; SIGHUP re-reads both\n"
"    -1, --once            exit once every watched VM is dumped, has failed or\n"
"                          has ended without a panic (with --libvirt and no\n"
"                          --domain: the domains running when it starts)\n"
"    -V, --version         the version\n"
"    -h, --help            this text\n"
"\n"
"SIGNALS\n"
"    SIGHUP re-reads the configuration (one line says what changed; a bad\n"
"    file is an error line, and the old configuration stays). SIGTERM and\n"
"    SIGINT stop it once the dumps under way end (QMP: cut short, their\n"
"    files removed); a second one kills it.\n"
"\n"
"EXIT STATUS\n"
"    0 stopped by a signal, or with --once every watched VM that panicked\n"
"    was dumped; 1 with --once a dump failed, was refused or a VM could not\n"
"    be watched, or nothing is left to watch (every fixed QMP socket gone);\n"
"    2 bad usage or configuration.\n"
"\n"
"EXAMPLES\n"
"    panic-collector -d /var/crash/guests -p quit -1 web1=/run/qemu/web1.qmp\n"
"    panic-collector -d /var/crash/guests --qmp '/run/qemu/*.qmp'\n"
"    panic-collector -d /var/crash/guests --libvirt qemu:///system\n");
	exit(status);
}
