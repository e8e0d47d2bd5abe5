// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel-health helpers for the host-side tests (see include/kvmcheck/host_kernel.h). Plain
 * files under /proc, /sys and /dev/kmsg only: these run on kernels without KVM too.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "kvmcheck/host_kernel.h"

bool kc_in_kvmcheck_guest(void)
{
	return access(KC_GUEST_MARKER, F_OK) == 0;
}

ssize_t kc_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)got + 1 < len) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += n;
	}
	buf[got] = 0;
	close(fd);
	return got;
}

int kc_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

long kc_taint_read(void)
{
	char buf[64];
	char *end;
	long v;

	if (kc_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)) <= 0)
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf ? -1 : v;
}

void kc_taint_letters(unsigned long bits, char *buf, size_t len)
{
	/* kernel/panic.c taint_flags[], bit 0 first. */
	static const char letters[] = "PFSRMBUDAWCIOELKXTNJ";
	size_t n = 0;

	buf[0] = 0;
	for (unsigned int b = 0; b < 64 && n + 8 < len; b++) {
		if (!(bits & (1UL << b)))
			continue;
		if (b < sizeof(letters) - 1)
			n += snprintf(buf + n, len - n, "%s%c", n ? " " : "", letters[b]);
		else
			n += snprintf(buf + n, len - n, "%sbit%u", n ? " " : "", b);
	}
}

const char *const kc_kernel_trouble_patterns[] = {
	"Oops", "BUG:", "KASAN", "refcount_t", "WARNING:", "use-after-free",
	"general protection fault", "list_add corruption", "list_del corruption",
	"kernel BUG at", "UBSAN:", "hung_task", "soft lockup", "RCU stall", NULL,
};

int kc_kmsg_open(struct kc_kmsg *k)
{
	memset(k, 0, sizeof(*k));
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return -errno;
	/* SEEK_END: the next read returns the first record logged after this point. */
	if (lseek(k->fd, 0, SEEK_END) < 0) {
		int err = -errno;

		close(k->fd);
		k->fd = -1;
		return err;
	}
	return 0;
}

bool kc_kmsg_scan(struct kc_kmsg *k, const char *const *patterns, char *line, size_t len)
{
	char rec[8192];
	bool found = false;

	if (!patterns)
		patterns = kc_kernel_trouble_patterns;
	for (;;) {
		ssize_t n = read(k->fd, rec, sizeof(rec) - 1);
		char *msg, *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {	/* overwritten before we read it: go on */
				k->lost++;
				continue;
			}
			break;			/* EAGAIN: nothing more */
		}
		if (n == 0)
			break;
		rec[n] = 0;
		k->records++;
		/* "prio,seq,usec,flags[,...];message\n" then " KEY=value" dictionary lines. */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (found)
			continue;
		for (const char *const *p = patterns; *p; p++) {
			if (strstr(msg, *p)) {
				snprintf(line, len, "%s", msg);
				found = true;
				break;
			}
		}
	}
	return found;
}

void kc_kmsg_close(struct kc_kmsg *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

int kc_kmsg_write(const char *msg)
{
	return kc_write_file("/dev/kmsg", msg);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int kc_threads_named(const char *prefix, bool exact, pid_t *tids, int max)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe, *te;
	size_t plen = strlen(prefix);
	int count = 0;

	if (!proc)
		return 0;
	while ((pe = readdir(proc))) {
		char path[300];
		DIR *task;

		if (!all_digits(pe->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", pe->d_name);
		task = opendir(path);
		if (!task)
			continue;	/* exited meanwhile */
		while ((te = readdir(task))) {
			char comm[64];
			ssize_t n;

			if (!all_digits(te->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/comm", pe->d_name, te->d_name);
			n = kc_read_file(path, comm, sizeof(comm));
			if (n <= 0)
				continue;
			if (comm[n - 1] == '\n')
				comm[n - 1] = 0;
			if (exact ? strcmp(comm, prefix) : strncmp(comm, prefix, plen))
				continue;
			if (tids && count < max)
				tids[count] = (pid_t)atoi(te->d_name);
			count++;
		}
		closedir(task);
	}
	closedir(proc);
	return count;
}

bool kc_kernel_version(int *major, int *minor)
{
	struct utsname u;

	if (uname(&u))
		return false;
	return sscanf(u.release, "%d.%d", major, minor) == 2;
}

static char config_from(const char *path, const char *option)
{
	FILE *f = fopen(path, "re");
	char line[512];
	size_t olen = strlen(option);
	char ret = 'n';

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, option, olen) && line[olen] == '=') {
			ret = line[olen + 1] == 'y' || line[olen + 1] == 'm' ? line[olen + 1] : 'y';
			break;
		}
	}
	fclose(f);
	return ret;
}

char kc_kernel_config(const char *option)
{
	struct utsname u;
	char path[400];
	char c;

	if (uname(&u))
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/config", u.release);
	c = config_from(path, option);
	if (c)
		return c;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	return config_from(path, option);
}
