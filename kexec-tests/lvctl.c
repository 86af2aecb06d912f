// SPDX-License-Identifier: GPL-2.0
/*
 * lvctl.so: an LD_PRELOAD library for panic-collector's guest-free tests.
 *
 * libvirt's test:/// driver lives inside the process that opens it: no
 * virsh can define, undefine, start or stop the collector's test domains.
 * Preloaded into the collector, this library reads commands from the FIFO
 * named by $LVCTL_FIFO, one a line, and runs them on the collector's own
 * connection (its last virConnectOpen()), so that libvirt raises its real
 * lifecycle events in the collector's event loop:
 *
 *   define FILE     virDomainDefineXML (a persistent domain: DEFINED)
 *   create FILE     virDomainCreateXML (a transient one, running: STARTED)
 *   undefine NAME   virDomainUndefine (UNDEFINED; a running domain stays,
 *                   transient)
 *   destroy NAME    virDomainDestroy (STOPPED; a transient domain is gone)
 *   close           the collector's close callback, as when libvirtd goes
 *                   away: the collector connects again, and test:///FILE
 *                   reads FILE again, whatever changed in it meanwhile
 *                   (no events for that)
 *
 * Each command's result is a line of $LVCTL_LOG: "ok CMD ARG" or
 * "error CMD ARG: MESSAGE". With $LVCTL_DUMP_DELAY_MS, every
 * virDomainCoreDumpWithFormat() waits that long first: time to act on a
 * domain while its dump is under way.
 *
 *   cc -shared -fPIC -o lvctl.so lvctl.c $(pkg-config --cflags --libs libvirt) -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static virConnectPtr conn;
static virConnectCloseFunc close_cb;
static void *close_opaque;

virConnectPtr virConnectOpen(const char *name)
{
	virConnectPtr (*real)(const char *) = dlsym(RTLD_NEXT, "virConnectOpen");
	virConnectPtr c = real(name);

	if (c) {
		pthread_mutex_lock(&lock);
		if (conn)
			virConnectClose(conn);
		virConnectRef(c);
		conn = c;
		pthread_mutex_unlock(&lock);
	}
	return c;
}

int virConnectRegisterCloseCallback(virConnectPtr c, virConnectCloseFunc cb, void *opaque,
				    virFreeCallback freecb)
{
	int (*real)(virConnectPtr, virConnectCloseFunc, void *, virFreeCallback) =
		dlsym(RTLD_NEXT, "virConnectRegisterCloseCallback");

	pthread_mutex_lock(&lock);
	close_cb = cb;
	close_opaque = opaque;
	pthread_mutex_unlock(&lock);
	return real(c, cb, opaque, freecb);
}

int virDomainCoreDumpWithFormat(virDomainPtr dom, const char *to, unsigned int format,
				unsigned int flags)
{
	int (*real)(virDomainPtr, const char *, unsigned int, unsigned int) =
		dlsym(RTLD_NEXT, "virDomainCoreDumpWithFormat");
	const char *delay = getenv("LVCTL_DUMP_DELAY_MS");

	if (delay)
		usleep(atoi(delay) * 1000);
	return real(dom, to, format, flags);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t size = 0;

	if (!f)
		return NULL;
	if (getdelim(&text, &size, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

/* One command on @c: NULL when it went well, else why not. */
static const char *run(virConnectPtr c, const char *cmd, const char *arg)
{
	virDomainPtr dom = NULL;
	char *xml = NULL;
	int rc = -1;

	if (!strcmp(cmd, "close")) {
		if (!close_cb)
			return "no close callback registered";
		close_cb(c, VIR_CONNECT_CLOSE_REASON_EOF, close_opaque);
		return NULL;
	}
	if (!strcmp(cmd, "define") || !strcmp(cmd, "create")) {
		xml = slurp(arg);
		if (!xml)
			return "cannot read the file";
		dom = cmd[0] == 'd' ? virDomainDefineXML(c, xml) : virDomainCreateXML(c, xml, 0);
		rc = dom ? 0 : -1;
	} else if (!strcmp(cmd, "undefine") || !strcmp(cmd, "destroy")) {
		dom = virDomainLookupByName(c, arg);
		if (dom)
			rc = cmd[0] == 'u' ? virDomainUndefine(dom) : virDomainDestroy(dom);
	} else {
		return "unknown command";
	}
	free(xml);
	if (dom)
		virDomainFree(dom);
	return rc ? virGetLastErrorMessage() : NULL;
}

static void *serve(void *fifo)
{
	const char *logpath = getenv("LVCTL_LOG");
	FILE *in = fopen(fifo, "r+"), *log = fopen(logpath ? logpath : "/dev/null", "a");
	char line[4096], *arg;
	const char *error;
	virConnectPtr c;

	if (!in || !log)
		return NULL;
	setvbuf(log, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		pthread_mutex_lock(&lock);
		c = conn;
		if (c)
			virConnectRef(c);
		pthread_mutex_unlock(&lock);
		error = c ? run(c, line, arg ? arg : "") : "not connected yet";
		if (error)
			fprintf(log, "error %s %s: %s\n", line, arg ? arg : "", error);
		else
			fprintf(log, "ok %s %s\n", line, arg ? arg : "");
		if (c)
			virConnectClose(c);
	}
	return NULL;
}

__attribute__((constructor)) static void start(void)
{
	const char *fifo = getenv("LVCTL_FIFO");
	pthread_t thread;

	if (fifo && !pthread_create(&thread, NULL, serve, (void *)fifo))
		pthread_detach(thread);
}
