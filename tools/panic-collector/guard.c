// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: the dump directory's guard. A full /var takes libvirtd
 * and the host's own kdump down with it, so:
 *
 * - a dump starts only when the filesystem keeps --keep-free after it, the
 *   dump estimated as large as the guest's RAM (kdump-zlib is mostly far
 *   smaller; ELF is not);
 * - --rate-limit N/PERIOD: a crash-looping guest gets at most N dumps per
 *   PERIOD (counted since the collector started);
 * - after each dump, retention: a VM's newest --max-dumps-per-vm dumps are
 *   kept, and all dumps together stay under --max-total, oldest first.
 *
 * Dumps are recognised by their names, NAME-YYYYmmddTHHMMSSZ.kdump or .elf,
 * which sort by time within a VM; across VMs their modification times say
 * which is oldest. A dump goes with its .json.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"

#define STAMP_LEN	17	/* "-YYYYmmddTHHMMSSZ" */

struct dump_file {
	char name[256];
	long long bytes;	/* the dump and its metadata */
	time_t mtime;
};

/* The free bytes of the dump filesystem, and its size; -1 when unknown. */
static long long fs_bytes(long long *size)
{
	struct statvfs st;

	if (statvfs(opt.dir, &st))
		return -1;
	if (size)
		*size = (long long)st.f_blocks * st.f_frsize;
	return (long long)st.f_bavail * st.f_frsize;
}

long long guard_free_bytes(void)
{
	return fs_bytes(NULL);
}

/* --keep-free in bytes, for a filesystem of @size bytes. */
static long long floor_bytes(long long size)
{
	return opt.keep_free_pct >= 0 ? (long long)(size * opt.keep_free_pct / 100) : opt.keep_free;
}

/* Dumps of @vm that started within --rate-limit's period. */
static int recent_dumps(const struct vm *vm, time_t now)
{
	int i, n = 0;

	for (i = 0; i < vm->ndump_times; i++)
		n += now - vm->dump_times[i] < opt.rate_period_s;
	return n;
}

/*
 * May @vm be dumped now? NULL, or why not (the refusal's one line). The
 * guest's RAM is asked for only here: the last moment it matters.
 */
const char *guard_check(struct vm *vm)
{
	static char why[600];
	long long size = 0, avail = fs_bytes(&size), ram;
	long long floor = floor_bytes(size);

	if (opt.rate_n && recent_dumps(vm, time(NULL)) >= opt.rate_n) {
		snprintf(why, sizeof(why), "over its rate limit, a crash loop: %d dumps in the last "
			 "%lld s already (--rate-limit); not dumped, left as it is",
			 opt.rate_n, opt.rate_period_s);
		return why;
	}
	/* --keep-free 0: no guard (a test that wants the disk to fill up). */
	if (!floor)
		return NULL;
	if (avail < 0) {
		snprintf(why, sizeof(why), "cannot tell the free space in %s: %s", opt.dir,
			 strerror(errno));
		return why;
	}
	ram = vm->ops->ram_bytes(vm);
	if (ram < 0)
		ram = 0;
	if (avail - ram < floor) {
		snprintf(why, sizeof(why), "%lld MiB free in %s; a dump of up to %lld MiB (its RAM) "
			 "would leave less than --keep-free %lld MiB: not dumped, left as it is",
			 avail >> 20, opt.dir, ram >> 20, floor >> 20);
		return why;
	}
	return NULL;
}

/* A dump of @vm starts: remember when, for --rate-limit. */
void guard_dumped(struct vm *vm)
{
	if (!opt.rate_n)
		return;
	if (vm->ndump_times == opt.rate_n) {
		memmove(vm->dump_times, vm->dump_times + 1, (vm->ndump_times - 1) * sizeof(time_t));
		vm->ndump_times--;
	}
	vm->dump_times = realloc(vm->dump_times, (vm->ndump_times + 1) * sizeof(time_t));
	if (!vm->dump_times)
		abort();
	vm->dump_times[vm->ndump_times++] = time(NULL);
}

/* ---- retention -------------------------------------------------------------- */

/* Is @name a dump? Its VM's name's length, or -1. */
static int dump_vm_len(const char *name)
{
	size_t len = strlen(name);
	const char *suffix = strrchr(name, '.');

	if (!suffix || (strcmp(suffix, ".kdump") && strcmp(suffix, ".elf")))
		return -1;
	len = suffix - name;
	if (len <= STAMP_LEN || name[len - STAMP_LEN] != '-' || name[len - 1] != 'Z' ||
	    name[len - STAMP_LEN + 9] != 'T')
		return -1;
	return len - STAMP_LEN;
}

static long long file_bytes(const char *name, time_t *mtime)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", opt.dir, name);
	if (stat(path, &sb))
		return 0;
	if (mtime)
		*mtime = sb.st_mtime;
	return sb.st_size;
}

/* The dumps in --dir (of VM @vm_name only, unless NULL). */
static int list_dumps(const char *vm_name, struct dump_file **out)
{
	struct dump_file *files = NULL, *f;
	DIR *d = opendir(opt.dir);
	struct dirent *e;
	char json[300];
	int n = 0, len;

	while (d && (e = readdir(d))) {
		len = dump_vm_len(e->d_name);
		if (len < 0 || strlen(e->d_name) >= sizeof(f->name) ||
		    (vm_name && ((size_t)len != strlen(vm_name) || strncmp(e->d_name, vm_name, len))))
			continue;
		files = realloc(files, (n + 1) * sizeof(*files));
		if (!files)
			abort();
		f = &files[n++];
		snprintf(f->name, sizeof(f->name), "%s", e->d_name);
		snprintf(json, sizeof(json), "%s.json", e->d_name);
		f->bytes = file_bytes(f->name, &f->mtime) + file_bytes(json, NULL);
	}
	if (d)
		closedir(d);
	*out = files;
	return n;
}

/* Oldest first: by modification time, then by name (its time stamp). */
static int older(const void *a, const void *b)
{
	const struct dump_file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name + dump_vm_len(x->name), y->name + dump_vm_len(y->name));
}

static void remove_dump(const struct dump_file *f, const char *why)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.json", opt.dir, f->name);
	unlink(path);
	path[strlen(path) - 5] = '\0';
	if (unlink(path) && errno != ENOENT)
		warn(NULL, "cannot remove %s (%s): %s", path, why, strerror(errno));
	else
		say(NULL, "removed %s (%s)", path, why);
}

/* Remove the oldest of @files until @keep (count) and @max_bytes hold. */
static void trim(struct dump_file *files, int n, int keep, long long max_bytes, const char *why)
{
	long long total = 0;
	int i;

	qsort(files, n, sizeof(*files), older);
	for (i = 0; i < n; i++)
		total += files[i].bytes;
	/* Never the newest: the dump just written stays. */
	for (i = 0; i < n - 1; i++) {
		if ((!keep || n - i <= keep) && (!max_bytes || total <= max_bytes))
			break;
		total -= files[i].bytes;
		remove_dump(&files[i], why);
	}
}

/* After a dump of @vm: --max-dumps-per-vm, then --max-total. */
void guard_retention(const struct vm *vm)
{
	struct dump_file *files;
	char why[100];
	int n;

	if (opt.max_dumps_per_vm) {
		n = list_dumps(vm->name, &files);
		snprintf(why, sizeof(why), "--max-dumps-per-vm %d", opt.max_dumps_per_vm);
		trim(files, n, opt.max_dumps_per_vm, 0, why);
		free(files);
	}
	if (opt.max_total) {
		n = list_dumps(NULL, &files);
		snprintf(why, sizeof(why), "--max-total %lld", opt.max_total);
		trim(files, n, 0, opt.max_total, why);
		free(files);
	}
}
