// SPDX-License-Identifier: GPL-2.0
/*
 * panic-collector: what a fleet's monitoring hears of it.
 *
 * --exec CMD runs (sh -c, not waited for: the event loop goes on, and the
 * children are reaped at the next tick) once per guest dumped, failed,
 * refused or unwatchable, with the facts in PANIC_COLLECTOR_* variables.
 *
 * --metrics FILE is node_exporter's textfile format, rewritten (a temporary
 * file renamed over it, so that a scrape never reads half of it) whenever
 * a count changes and every METRICS_MS for the free space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"

#define METRICS_MS	10000

static const char *const alert_names[] = {
	[ALERT_DUMPED] = "dumped", [ALERT_FAILED] = "failed",
	[ALERT_REFUSED] = "refused", [ALERT_UNWATCHABLE] = "unwatchable",
};

static struct {
	long long dumps[ALERT_UNWATCHABLE], bytes;
	/* --exec children not reaped yet (not waitpid(-1): libvirt's are not ours) */
	pid_t *hooks;
	int nhooks;
	time_t last_dump;
	bool dirty;
	long long written_ms;
} m;

/* ---- --exec ------------------------------------------------------------------ */

extern char **environ;

/* environ and our variables: built before fork(), which must only exec. */
static char **hook_env(const char *const vars[][2], int nvars)
{
	int n = 0, i, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + nvars + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "PANIC_COLLECTOR_", 16))
			env[j++] = environ[i];
	for (i = 0; i < nvars; i++)
		if (asprintf(&env[j++], "PANIC_COLLECTOR_%s=%s", vars[i][0],
			     vars[i][1] ? vars[i][1] : "") < 0)
			abort();
	return env;
}

/* Our variables are the last @nvars. */
static void hook_env_free(char **env, int nvars)
{
	int n = 0;

	while (env[n])
		n++;
	while (nvars--)
		free(env[--n]);
	free(env);
}

static void run_hook(const char *event, const char *name, const char *uuid, const char *dump,
		     const char *reason)
{
	char meta[600];
	const char *vars[][2] = {
		{ "EVENT", event }, { "VM", name }, { "UUID", uuid }, { "DUMP", dump },
		{ "METADATA", dump ? meta : NULL }, { "REASON", reason },
	};
	int nvars = sizeof(vars) / sizeof(vars[0]);
	char **env;
	pid_t pid;

	if (!opt.exec)
		return;
	if (dump)
		snprintf(meta, sizeof(meta), "%s.json", dump);
	env = hook_env(vars, nvars);
	if (!env)
		return;
	pid = fork();
	if (pid == 0) {
		execle("/bin/sh", "sh", "-c", opt.exec, (char *)NULL, env);
		_exit(127);
	}
	if (pid < 0)
		warn(NULL, "--exec: cannot fork: %s", strerror(errno));
	hook_env_free(env, nvars);
	if (pid > 0) {
		m.hooks = realloc(m.hooks, (m.nhooks + 1) * sizeof(*m.hooks));
		if (!m.hooks)
			abort();
		m.hooks[m.nhooks++] = pid;
	}
}

/* Reap what --exec started; say so when it failed. */
static void reap_hooks(void)
{
	int status, i;

	for (i = 0; i < m.nhooks; i++) {
		if (waitpid(m.hooks[i], &status, WNOHANG) <= 0)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			warn(NULL, "--exec '%s' (pid %d) failed: %s %d", opt.exec, m.hooks[i],
			     WIFEXITED(status) ? "exit status" : "signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		m.hooks[i--] = m.hooks[--m.nhooks];
	}
}

/* ---- --metrics ----------------------------------------------------------------- */

static void counts(int *watched, int *unwatchable)
{
	const struct backend *const *b;
	int i;

	*watched = *unwatchable = 0;
	for (i = 0; i < vm_count(); i++) {
		*unwatchable += vm_at(i)->unwatchable;
		*watched += !vm_at(i)->unwatchable && vm_at(i)->state != FAILED;
	}
	for (b = backends; *b; b++)
		if ((*b)->wanted())
			*unwatchable += (*b)->unwatchable();
}

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int write_metrics(FILE *f)
{
	int watched, unwatchable, i;

	counts(&watched, &unwatchable);
	metric(f, "panic_collector_dumps_total", "counter",
	       "Panicked guests by what became of their dump.");
	for (i = ALERT_DUMPED; i < ALERT_UNWATCHABLE; i++)
		fprintf(f, "panic_collector_dumps_total{result=\"%s\"} %lld\n", alert_names[i],
			m.dumps[i]);
	metric(f, "panic_collector_dump_bytes_total", "counter", "Bytes of the dumps written.");
	fprintf(f, "panic_collector_dump_bytes_total %lld\n", m.bytes);
	metric(f, "panic_collector_last_dump_timestamp_seconds", "gauge",
	       "When the last dump was written (0: none yet).");
	fprintf(f, "panic_collector_last_dump_timestamp_seconds %lld\n", (long long)m.last_dump);
	metric(f, "panic_collector_watched_guests", "gauge", "Guests watched now.");
	fprintf(f, "panic_collector_watched_guests %d\n", watched);
	metric(f, "panic_collector_unwatchable_guests", "gauge",
	       "Guests that cannot be watched (no panic device, no QMP, ...).");
	fprintf(f, "panic_collector_unwatchable_guests %d\n", unwatchable);
	metric(f, "panic_collector_free_bytes", "gauge", "Free bytes of the dump filesystem.");
	fprintf(f, "panic_collector_free_bytes %lld\n", guard_free_bytes());
	return ferror(f) ? -1 : 0;
}

static void update_metrics(long long now)
{
	char tmp[PATH_MAX];
	FILE *f;
	int rc;

	if (!opt.metrics)
		return;
	m.dirty = false;
	m.written_ms = now;
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.metrics);
	f = fopen(tmp, "w");
	if (!f) {
		warn(NULL, "--metrics: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	fchmod(fileno(f), 0644);	/* node_exporter reads it */
	rc = write_metrics(f);
	if (fclose(f) || rc || rename(tmp, opt.metrics)) {
		warn(NULL, "--metrics: cannot write %s: %s", opt.metrics, strerror(errno));
		unlink(tmp);
	}
}

/* ---- the core's side --------------------------------------------------------------- */

/* @vm was dumped (vm->path), failed, refused or could not be watched. */
void alert(const struct vm *vm, enum alert what, const char *reason)
{
	if (what == ALERT_DUMPED)
		m.last_dump = time(NULL);
	if (what != ALERT_UNWATCHABLE)
		m.dumps[what]++;
	m.dirty = true;
	run_hook(alert_names[what], vm->name, vm->uuid,
		 what == ALERT_DUMPED ? vm->path : NULL, reason);
}

/* A guest that is not a VM of the core cannot be watched (a backend says). */
void alert_unwatchable(const char *name, const char *uuid, const char *reason)
{
	m.dirty = true;
	run_hook(alert_names[ALERT_UNWATCHABLE], name, uuid, NULL, reason);
}

void alert_dump_bytes(long long bytes)
{
	m.bytes += bytes;
}

/* The watched guests changed. */
void alerts_changed(void)
{
	m.dirty = true;
}

void alerts_tick(long long now)
{
	reap_hooks();
	if (m.dirty || now - m.written_ms >= METRICS_MS)
		update_metrics(now);
}
