// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: its output, one line per thing that happened.
 *
 * stdout has what goes well and warnings, stderr only failures (one line
 * each, "NAME: error: ..."): a script that wants to know what failed reads
 * stderr. Under systemd (JOURNAL_STREAM names the stream's device and
 * inode) every line starts with its sd-daemon priority, <3> errors, <4>
 * warnings, <6> the rest, so that journalctl -p err shows the errors.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"

#define LOG_ERR		3
#define LOG_WARNING	4
#define LOG_INFO	6

static bool journal_out, journal_err;

/* Is @fd the stream JOURNAL_STREAM=DEV:INODE names? */
static bool is_journal(int fd)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(fd, &sb) &&
	       sb.st_dev == dev && sb.st_ino == ino;
}

void log_init(void)
{
	journal_out = is_journal(STDOUT_FILENO);
	journal_err = is_journal(STDERR_FILENO);
}

static void line(int prio, const char *who, const char *kind, const char *fmt, va_list ap)
{
	FILE *f = prio == LOG_ERR ? stderr : stdout;

	if (f == stderr ? journal_err : journal_out)
		fprintf(f, "<%d>", prio);
	fprintf(f, "%s: %s", who, kind);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
}

/* "NAME: ..." on stdout: what goes well. */
void say(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(LOG_INFO, vm ? vm->name : "panic-collector", "", fmt, ap);
	va_end(ap);
}

/* "NAME: warning: ..." on stdout: worth fixing, nothing failed (yet). */
void warn(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(LOG_WARNING, vm ? vm->name : "panic-collector", "warning: ", fmt, ap);
	va_end(ap);
}

/* "WHO: ..." on stderr, at err priority. */
void error_line(const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(LOG_ERR, who, "", fmt, ap);
	va_end(ap);
}

/* "NAME: error: ..." on stderr: what went wrong with a VM, in one line. */
void vm_error_line(const struct vm *vm, const char *why)
{
	error_line(vm->name, "error: %s", why);
}

/* A usage or setup error: one line on stderr, exit status 2. */
void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(LOG_ERR, "panic-collector", "", fmt, ap);
	va_end(ap);
	exit(2);
}
