// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: the NAME-TIME.FORMAT.json next to a dump, for triage
 * before anyone opens the dump: which kernel (OSRELEASE and BUILD-ID, read
 * from the dump's own VMCOREINFO, so that the matching vmlinux can be
 * found), when it crashed (CRASHTIME: only when the guest's kernel got as
 * far as crash_save_vmcoreinfo(), i.e. with a crash kernel loaded; null
 * otherwise, panic_time is when the collector heard of the panic), the
 * host, the collector's version, and the guest console's last lines.
 *
 * VMCOREINFO is a note the guest's kernel writes (QEMU: -device vmcoreinfo;
 * libvirt: <vmcoreinfo state='on'/>). In an ELF dump it is in a PT_NOTE
 * segment; in a kdump-compressed one the sub header (at block_size) points
 * at its text. QEMU before 8.2 writes kdump files flattened (makedumpfile
 * -F: records of big-endian offset, size, data), read here as they are.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <endian.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"

#define VMCOREINFO_MAX	(64 << 10)
#define CONSOLE_TAIL	40
#define CONSOLE_WINDOW	(1L << 20)

/* ---- reading a dump ------------------------------------------------------------ */

struct dump {
	FILE *f;
	bool flat;
};

/*
 * @len bytes at offset @off of the dump as it would be reassembled.
 * Flattened: the records that hold them, scanned from the start (the
 * headers and notes come first, so only a few are read).
 */
static int dump_read(struct dump *d, uint64_t off, void *buf, size_t len)
{
	int64_t rec[2];
	uint64_t roff, rlen, from, to;
	size_t got = 0;

	if (!d->flat)
		return fseeko(d->f, off, SEEK_SET) || fread(buf, 1, len, d->f) != len ? -1 : 0;
	if (fseeko(d->f, 4096, SEEK_SET))
		return -1;
	while (got < len && fread(rec, sizeof(rec), 1, d->f) == 1) {
		roff = be64toh(rec[0]);
		rlen = be64toh(rec[1]);
		if ((int64_t)roff < 0)
			break;
		from = off > roff ? off : roff;
		to = off + len < roff + rlen ? off + len : roff + rlen;
		if (from < to) {
			if (fseeko(d->f, from - roff, SEEK_CUR) ||
			    fread((char *)buf + (from - off), 1, to - from, d->f) != to - from)
				return -1;
			got += to - from;
			if (fseeko(d->f, roff + rlen - to, SEEK_CUR))
				return -1;
		} else if (fseeko(d->f, rlen, SEEK_CUR)) {
			return -1;
		}
	}
	return got == len ? 0 : -1;
}

/* The VMCOREINFO note's text in the notes at @off, @size long. */
static char *notes_vmcoreinfo(struct dump *d, uint64_t off, uint64_t size)
{
	char *notes, *text = NULL;
	uint64_t pos = 0;

	if (size > 16 << 20 || !(notes = malloc(size)))
		return NULL;
	if (!dump_read(d, off, notes, size)) {
		while (pos + sizeof(Elf64_Nhdr) <= size) {
			Elf64_Nhdr *nh = (Elf64_Nhdr *)(notes + pos);
			uint64_t name = pos + sizeof(*nh);
			uint64_t desc = name + ((nh->n_namesz + 3) & ~3U);

			if (desc + nh->n_descsz > size)
				break;
			if (nh->n_namesz == 11 && !memcmp(notes + name, "VMCOREINFO", 11) &&
			    nh->n_descsz < VMCOREINFO_MAX) {
				text = strndup(notes + desc, nh->n_descsz);
				break;
			}
			pos = desc + ((nh->n_descsz + 3) & ~3U);
		}
	}
	free(notes);
	return text;
}

static char *elf_vmcoreinfo(struct dump *d)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	char *text = NULL;
	int i;

	if (dump_read(d, 0, &eh, sizeof(eh)) || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	for (i = 0; i < eh.e_phnum && !text; i++) {
		if (dump_read(d, eh.e_phoff + (uint64_t)i * sizeof(ph), &ph, sizeof(ph)))
			break;
		if (ph.p_type == PT_NOTE)
			text = notes_vmcoreinfo(d, ph.p_offset, ph.p_filesz);
	}
	return text;
}

/* The disk dump header's block_size, and the sub header's fields we read. */
#define KDUMP_BLOCK_SIZE	428
#define SUB_OFFSET_VMCOREINFO	32
#define SUB_OFFSET_NOTE		48

static char *kdump_vmcoreinfo(struct dump *d)
{
	uint32_t block_size;
	uint64_t vmci[2], note[2];
	char *text;

	if (dump_read(d, KDUMP_BLOCK_SIZE, &block_size, sizeof(block_size)) ||
	    dump_read(d, block_size + SUB_OFFSET_VMCOREINFO, vmci, sizeof(vmci)) ||
	    dump_read(d, block_size + SUB_OFFSET_NOTE, note, sizeof(note)))
		return NULL;
	if (vmci[0] && vmci[1] && vmci[1] < VMCOREINFO_MAX) {
		text = calloc(1, vmci[1] + 1);
		if (text && !dump_read(d, vmci[0], text, vmci[1]))
			return text;
		free(text);
	}
	return note[0] ? notes_vmcoreinfo(d, note[0], note[1]) : NULL;
}

/* The VMCOREINFO text of the dump at @path, or NULL. */
static char *dump_vmcoreinfo(const char *path)
{
	struct dump d = { .f = fopen(path, "r") };
	char magic[16] = "";
	char *text = NULL;

	if (!d.f)
		return NULL;
	if (fread(magic, 1, sizeof(magic), d.f) == sizeof(magic)) {
		d.flat = !memcmp(magic, "makedumpfile", 13);
		if (d.flat && dump_read(&d, 0, magic, 8))
			magic[0] = '\0';
		if (!memcmp(magic, "KDUMP   ", 8))
			text = kdump_vmcoreinfo(&d);
		else if (!memcmp(magic, ELFMAG, SELFMAG))
			text = elf_vmcoreinfo(&d);
	}
	fclose(d.f);
	return text;
}

/* KEY=value of VMCOREINFO's text, as a JSON string (NULL: not there). */
static json_object *vmcoreinfo_value(const char *text, const char *key)
{
	const char *p = text;
	size_t len = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, len) && p[len] == '=') {
			p += len + 1;
			return json_object_new_string_len(p, strcspn(p, "\n"));
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

/* CRASHTIME is seconds since the epoch: a number in the metadata. */
static json_object *crashtime(const char *text)
{
	json_object *s = vmcoreinfo_value(text, "CRASHTIME");
	json_object *n = s ? json_object_new_int64(atoll(json_object_get_string(s))) : NULL;

	json_object_put(s);
	return n;
}

/* ---- the console ------------------------------------------------------------------ */

/*
 * The console log's last lines (of its last MiB: a log may be huge, and
 * this runs in the event loop), and its last panic line (a log may hold
 * earlier boots).
 */
static void console(const struct vm *vm, json_object **tail, char *panic, size_t size)
{
	char buf[1024], *lines[CONSOLE_TAIL] = { 0 };
	FILE *f = vm->console[0] ? fopen(vm->console, "r") : NULL;
	int n = 0, i;

	*tail = NULL;
	panic[0] = '\0';
	if (!f)
		return;
	if (fseek(f, -CONSOLE_WINDOW, SEEK_END))
		rewind(f);
	while (fgets(buf, sizeof(buf), f)) {
		char *p = strstr(buf, "Kernel panic - not syncing");

		buf[strcspn(buf, "\r\n")] = '\0';
		if (p)
			snprintf(panic, size, "%s", p);
		free(lines[n % CONSOLE_TAIL]);
		lines[n++ % CONSOLE_TAIL] = strdup(buf);
	}
	fclose(f);
	*tail = json_object_new_array();
	for (i = n > CONSOLE_TAIL ? n - CONSOLE_TAIL : 0; i < n; i++)
		json_object_array_add(*tail, json_object_new_string(lines[i % CONSOLE_TAIL] ?: ""));
	for (i = 0; i < CONSOLE_TAIL; i++)
		free(lines[i]);
}

/* ---- the file ------------------------------------------------------------------------ */

static json_object *string_or_null(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static json_object *time_string(time_t t)
{
	char stamp[32];

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return json_object_new_string(stamp);
}

static void add_triage(json_object *m, const struct vm *vm)
{
	char *vmci = dump_vmcoreinfo(vm->path);
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	json_object_object_add(m, "osrelease", vmcoreinfo_value(vmci, "OSRELEASE"));
	json_object_object_add(m, "build_id", vmcoreinfo_value(vmci, "BUILD-ID"));
	json_object_object_add(m, "crashtime", crashtime(vmci));
	json_object_object_add(m, "panic_time", vm->panic_time ? time_string(vm->panic_time) : NULL);
	json_object_object_add(m, "hostname", string_or_null(host));
	json_object_object_add(m, "collector_version", json_object_new_string(COLLECTOR_VERSION));
	free(vmci);
}

/*
 * A dump of @vm's panic already in --dir: the metadata of one whose vCPU
 * time (@vcpu_ns, known) is this one's; the guest has not run since. Its
 * file name, or NULL.
 */
const char *metadata_dumped_before(const struct vm *vm, long long vcpu_ns)
{
	static char found[300];
	char path[PATH_MAX];
	size_t len = strlen(vm->name);
	json_object *m, *ns;
	struct dirent *e;
	DIR *d;

	if (vcpu_ns < 0 || !(d = opendir(opt.dir)))
		return NULL;
	found[0] = '\0';
	while (!found[0] && (e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (strncmp(e->d_name, vm->name, len) || e->d_name[len] != '-' ||
		    n < 5 || strcmp(e->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.dir, e->d_name);
		m = json_object_from_file(path);
		if (m && json_object_object_get_ex(m, "vcpu_ns_total", &ns) &&
		    json_object_get_int64(ns) == vcpu_ns)
			snprintf(found, sizeof(found), "%s", e->d_name);
		json_object_put(m);
	}
	closedir(d);
	return found[0] ? found : NULL;
}

/* Written as a temporary file (0600), renamed: never half a file. */
int metadata_write(const struct vm *vm, long long bytes)
{
	json_object *m = json_object_new_object(), *tail;
	char file[530], tmp[540], line[512], source[400];
	const char *text;
	FILE *f;
	int fd, rc;

	console(vm, &tail, line, sizeof(line));
	json_object_object_add(m, "vm", json_object_new_string(vm->name));
	json_object_object_add(m, "uuid", string_or_null(vm->uuid));
	json_object_object_add(m, "source",
			       json_object_new_string(vm->ops->source(vm, source, sizeof(source))));
	json_object_object_add(m, "time", time_string(time(NULL)));
	json_object_object_add(m, "dump", json_object_new_string(strrchr(vm->path, '/') + 1));
	json_object_object_add(m, "format", json_object_new_string(opt.format));
	json_object_object_add(m, "bytes", json_object_new_int64(bytes));
	json_object_object_add(m, "dump_ms", json_object_new_int64(now_ms() - vm->dump_start_ms));
	json_object_object_add(m, "vcpus_quiet", json_object_new_boolean(vm->quiet));
	json_object_object_add(m, "vcpu_ns_last_second", json_object_new_int64(vm->quiet_ns));
	/* Which panic this is: the vCPUs' time stands still until the guest runs. */
	json_object_object_add(m, "vcpu_ns_total", json_object_new_int64(vm->last_ns));
	json_object_object_add(m, "panic_line", string_or_null(line));
	json_object_object_add(m, "policy", json_object_new_string(policy_name(opt.policy)));
	add_triage(m, vm);
	json_object_object_add(m, "console_tail", tail);
	snprintf(file, sizeof(file), "%s.json", vm->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0)
		close(fd);
	rc = !f || fprintf(f, "%s\n", text) < 0;
	if (f && fclose(f))
		rc = -1;
	json_object_put(m);
	if (rc || rename(tmp, file)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
