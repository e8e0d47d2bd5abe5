// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel-health helpers (see include/kvmcheck/host_kernel.h). Plain files under /proc, /sys and
 * /dev/kmsg only: these run on kernels without KVM too.
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

/*
 * A report starts with one of these, at the start of a line (so "RETBleed: WARNING: ..." at
 * boot or "traps: x[1] general protection fault ip:..." for a user-space crash is no report).
 */
static const char *const report_starts[] = {
	"WARNING:", "BUG:", "BUG ", "kernel BUG at", "Oops", "general protection fault",
	"Unable to handle kernel", "UBSAN:", "KASAN:", "refcount_t:", "list_add corruption",
	"list_del corruption", "watchdog: BUG:", "watchdog: Watchdog detected", "rcu: INFO:",
	"INFO: rcu_", "INFO: task ", "Kernel panic", NULL,
};

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool is_report_start(const char *l)
{
	for (const char *const *p = report_starts; *p; p++)
		if (starts_with(l, *p))
			return true;
	return false;
}

/* The lines that follow another report line in the same report. */
static bool is_second_line(const char *l)
{
	return starts_with(l, "WARNING: CPU:") || starts_with(l, "kernel BUG at") ||
	       starts_with(l, "KASAN:") || starts_with(l, "Oops");
}

/* "RAX: 0000...", "R10: ...", "FS:  ...", "CR2: ...": a register dump line, but RIP. */
static bool is_register_line(const char *l)
{
	const char *c = strchr(l, ':');
	size_t n = c ? (size_t)(c - l) : 0;

	if (n < 2 || n > 4 || starts_with(l, "RIP"))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)l[i]) && !isdigit((unsigned char)l[i]))
			return false;
	return true;
}

/* "func+0x1a/0x40", "? func+0x1a/0x40 [kvm]": a stack frame. */
static bool is_frame(const char *l)
{
	if (starts_with(l, "? "))
		return true;
	for (; *l && *l != ' '; l++)
		if (*l == '+' && l[1] == '0' && l[2] == 'x')
			return true;
	return false;
}

/* Lines of a report that say nothing about what went wrong: not worth a reason's room. */
static bool is_filler(const char *l)
{
	static const char *const fill[] = {
		"Modules linked in", "Hardware name", "Call Trace", "<TASK>", "</TASK>", "<IRQ>",
		"</IRQ>", "Code:", "CPU: ", "Tainted: ", "Workqueue: ", "Sched_ext: ",
		"\"echo 0 > /proc", "---[ end", "---[ cut", "------------[ cut here", NULL,
	};
	const char *p = l;

	if (!*l)
		return true;
	while (*p == '=' || *p == '-')
		p++;
	if (!*p)	/* a separator line */
		return true;
	for (const char *const *f = fill; *f; f++)
		if (starts_with(l, *f))
			return true;
	if (strstr(l, " Not tainted") || strstr(l, " Tainted: "))
		return true;
	return is_register_line(l) || is_frame(l);
}

/* "comm/123" or "comm:123" ending at @end (exclusive): the pid after the last @sep. */
static void task_from(struct kc_splat *sp, const char *start, const char *end, char sep)
{
	const char *s = end;
	char *num_end;
	long pid;

	while (s > start && s[-1] != sep)
		s--;
	if (s == start)
		return;
	pid = strtol(s, &num_end, 10);
	if (num_end != end || pid <= 0)
		return;
	sp->pid = (pid_t)pid;
	snprintf(sp->comm, sizeof(sp->comm), "%.*s", (int)(s - 1 - start), start);
}

/* The task a report line names, in the forms the kernel prints. */
static void parse_task(struct kc_splat *sp, const char *l)
{
	const char *p, *q;

	/* "CPU: 0 UID: 0 PID: 123 Comm: foo Not tainted", "WARNING: CPU: 0 PID: 123 at x.c:1" */
	p = strstr(l, "PID: ");
	if (p) {
		long pid = strtol(p + 5, (char **)&q, 10);

		if (pid > 0 && (!sp->pid || sp->pid == pid)) {
			sp->pid = (pid_t)pid;
			if (starts_with(q, " Comm: "))
				sscanf(q + 7, "%31s", sp->comm);
		}
		return;
	}
	if (sp->pid)
		return;
	/* KASAN: "Read of size 8 at addr ffff888 by task foo/123" */
	p = strstr(l, "by task ");
	if (p) {
		p += 8;
		q = p + strcspn(p, " ");
		task_from(sp, p, q, '/');
		return;
	}
	/* lockdep: "foo/123 is trying to acquire lock:", "1 lock held by foo/123:" */
	q = strstr(l, " is trying to");
	if (!q)
		q = strstr(l, " just changed the state");
	if (q) {
		for (p = q; p > l && p[-1] != ' '; p--)
			;
		task_from(sp, p, q, '/');
		return;
	}
	p = strstr(l, "held by ");
	if (p) {
		p += 8;
		q = p + strcspn(p, ": .");
		task_from(sp, p, q, '/');
		return;
	}
	/* hung task: "INFO: task foo:123 blocked for more than 120 seconds." */
	if (starts_with(l, "INFO: task ")) {
		p = l + 11;
		q = strstr(p, " blocked");
		if (q)
			task_from(sp, p, q, ':');
		return;
	}
	/* soft lockup: "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [foo:123]" */
	p = strrchr(l, '[');
	q = p ? strchr(p, ']') : NULL;
	if (q && strstr(l, "lockup"))
		task_from(sp, p + 1, q, ':');
}

static void add_text(struct kc_splat *sp, const char *l)
{
	size_t n = strlen(sp->text);

	if (sp->nlines >= 3 || n + 8 >= sizeof(sp->text))
		return;
	snprintf(sp->text + n, sizeof(sp->text) - n, "%s%s", n ? " | " : "", l);
	sp->nlines++;
}

static void scan_line(struct kc_log_scan *s, const char *l)
{
	struct kc_splat *sp = s->open >= 0 ? &s->splats[s->open] : NULL;

	while (*l == ' ' || *l == '\t')
		l++;
	if (sp && ++sp->age > 40)
		sp = NULL, s->open = -1;
	if (starts_with(l, "------------[ cut here ]")) {
		/* A WARN or BUG follows: its message is the next line. */
		sp = NULL;
		goto open;
	}
	if (is_report_start(l)) {
		/*
		 * One report often has two such lines ("refcount_t: underflow" then "WARNING: CPU:
		 * 0 PID: 1 at lib/refcount.c", "BUG: kernel NULL pointer dereference" then "Oops:
		 * 0000 [#1]"): the second one, right after the first, is the same report.
		 */
		if (sp && (!sp->nlines || (sp->age <= 3 && is_second_line(l))))
			goto add;
		goto open;
	}
	if (starts_with(l, "---[ end trace")) {
		s->open = -1;
		return;
	}
	if (sp && !is_filler(l))
		goto add;
	if (sp)
		parse_task(sp, l);
	return;
open:
	s->open = -1;
	if (s->nsplats == KC_MAX_SPLATS) {
		s->more++;
		return;
	}
	sp = &s->splats[s->nsplats];
	memset(sp, 0, sizeof(*sp));
	s->open = s->nsplats++;
	if (starts_with(l, "------------[ cut here ]"))
		return;
add:
	parse_task(sp, l);
	add_text(sp, l);
}

static bool is_dict_line(const char *l)
{
	const char *p = l;

	while (isupper((unsigned char)*p) || *p == '_')
		p++;
	return p > l && *p == '=';
}

void kc_log_scan_init(struct kc_log_scan *s)
{
	memset(s, 0, sizeof(*s));
	s->open = -1;
}

void kc_log_scan_record(struct kc_log_scan *s, const char *rec)
{
	char buf[1024];
	const char *text = rec, *semi = strchr(rec, ';');
	bool kernel = true;
	char *line, *next;
	size_t n;

	s->records++;
	if (isdigit((unsigned char)rec[0]) && semi && semi - rec < 64 &&
	    !memchr(rec, ' ', semi - rec)) {
		/* /dev/kmsg: "prio,seq,usec,flags;text"; the facility is prio >> 3. */
		kernel = atoi(rec) >> 3 == 0;
		text = semi + 1;
	} else if (rec[0] == ' ' && is_dict_line(rec + 1)) {
		return;		/* a /dev/kmsg record's " SUBSYSTEM=cpu" line, read apart */
	} else {
		/* dmesg -r's "<4>", then dmesg's "[   12.345678] " */
		if (text[0] == '<' && strchr(text, '>'))
			text = strchr(text, '>') + 1;
		if (text[0] == '[' && strchr(text, ']')) {
			text = strchr(text, ']') + 1;
			if (*text == ' ')
				text++;
		}
	}
	if (!kernel) {
		if (!starts_with(text, KC_FAULT_TAG))
			return;
		text += strlen(KC_FAULT_TAG);
	}
	n = strcspn(text, "\n");
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, text, n);
	buf[n] = 0;
	/* /dev/kmsg escapes a newline inside one record as \x0a: one line each. */
	for (line = buf; line; line = next) {
		next = strstr(line, "\\x0a");
		if (next) {
			*next = 0;
			next += 4;
		}
		scan_line(s, line);
	}
}

int kc_kmsg_open(struct kc_kmsg *k)
{
	memset(k, 0, sizeof(*k));
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return -errno;
	return kc_kmsg_mark(k);
}

int kc_kmsg_mark(struct kc_kmsg *k)
{
	/* SEEK_END: the next read returns the first record logged after this point. */
	if (lseek(k->fd, 0, SEEK_END) < 0) {
		int err = -errno;

		close(k->fd);
		k->fd = -1;
		return err;
	}
	return 0;
}

void kc_kmsg_read(struct kc_kmsg *k, struct kc_log_scan *s)
{
	char rec[8192];

	for (;;) {
		ssize_t n = read(k->fd, rec, sizeof(rec) - 1);

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
		kc_log_scan_record(s, rec);
	}
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

int kc_threads_gone(const char *prefix, pid_t pid, int wait_ms, pid_t *tid)
{
	char name[64];
	int n;

	snprintf(name, sizeof(name), "%s%d", prefix, (int)pid);
	for (int waited = 0; (n = kc_threads_named(name, true, tid, 1)) && waited < wait_ms;
	     waited += 50)
		usleep(50 * 1000);
	return n;
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
