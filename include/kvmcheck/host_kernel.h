/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel-health helpers: the taint mask, a scan of the kernel log for reports (the harness runs
 * it around every subtest, lib/harness_health.c), threads by name, the kernel's version and
 * config, and whether this process runs inside the kvmcheck QEMU guest (scripts/guest-init.sh
 * writes the marker).
 */
#ifndef KVMCHECK_HOST_KERNEL_H
#define KVMCHECK_HOST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Written by scripts/guest-init.sh (the kernel release, one line) before the runner starts. */
#define KC_GUEST_MARKER "/run/kvmcheck-guest"

bool kc_in_kvmcheck_guest(void);

/* /proc/sys/kernel/tainted, or -1 when it cannot be read. */
long kc_taint_read(void);
/* The kernel's letters for the bits in @bits ("W D" style, as in an oops header). */
void kc_taint_letters(unsigned long bits, char *buf, size_t len);

/*
 * One kernel report ("splat") in the kernel log: a WARN, BUG, Oops, KASAN/UBSAN/KFENCE report,
 * lockdep or RCU complaint, refcount_t or list corruption warning, RCU stall, hung or locked-up
 * task.
 */
#define KC_SPLAT_TEXT	320
struct kc_splat {
	char text[KC_SPLAT_TEXT];	/* its first lines, joined by " | " */
	int nlines;
	int age;			/* records read since its first line */
	pid_t pid;			/* the task it names, 0 when it names none (an RCU stall) */
	char comm[32];			/* that task's name, "" when not named */
};

#define KC_MAX_SPLATS	4
/* What kc_log_scan_line() found in a stretch of kernel log. */
struct kc_log_scan {
	struct kc_splat splats[KC_MAX_SPLATS];
	int nsplats;
	unsigned long more;		/* reports beyond KC_MAX_SPLATS */
	int open;			/* the report still taking lines, or -1 */
	unsigned long records;
};

/*
 * User space cannot log with the kernel's facility (/dev/kmsg turns it into LOG_USER), so a
 * record written from user space is no kernel report, except one starting with this tag: harness
 * self-checks (--self-check-log-line) use it to show that a report fails a subtest (the tag is
 * stripped before the scan).
 */
#define KC_FAULT_TAG	"kvmcheck-fault: "

void kc_log_scan_init(struct kc_log_scan *s);
/*
 * Feeds one record: a /dev/kmsg record ("prio,seq,usec,flags;text", dictionary lines after
 * it) or a dmesg line ("[   12.345678] text" or bare text, taken as the kernel's own).
 */
void kc_log_scan_record(struct kc_log_scan *s, const char *rec);

/* The kernel log from a recorded point on (/dev/kmsg, read without blocking). */
struct kc_kmsg {
	int fd;
	unsigned long records;	/* records read so far */
	unsigned long lost;	/* times the ring overwrote records before they were read */
};

/* Opens /dev/kmsg positioned after its last record; returns 0 or -errno. */
int kc_kmsg_open(struct kc_kmsg *k);
/* Moves the read position after the last record logged so far; returns 0 or -errno. */
int kc_kmsg_mark(struct kc_kmsg *k);
/* Feeds every record logged since the open or the last mark/read to @s. */
void kc_kmsg_read(struct kc_kmsg *k, struct kc_log_scan *s);
void kc_kmsg_close(struct kc_kmsg *k);
/* Writes one line into the kernel log (/dev/kmsg); returns 0 or -errno. */
int kc_kmsg_write(const char *msg);

/*
 * Threads in /proc/<pid>/task/<tid>/comm whose name starts with @prefix (the whole name when
 * @exact). Returns how many; their tids go to @tids (up to @max, may be NULL).
 */
int kc_threads_named(const char *prefix, bool exact, pid_t *tids, int max);

/*
 * Waits up to @wait_ms for threads whose name is @prefix@pid to be gone; returns how many are
 * left (the first one's tid to @tid).
 */
int kc_threads_gone(const char *prefix, pid_t pid, int wait_ms, pid_t *tid);

/* uname -r as major, minor; returns false when it does not parse. */
bool kc_kernel_version(int *major, int *minor);
/*
 * A kernel config option from /lib/modules/$(uname -r)/config (Debian ships it there; the
 * kvmcheck initramfs keeps it) or /boot/config-$(uname -r): 'y', 'm', 'n' (not set), or 0 when
 * no config file was found. /proc/config.gz is not read: a static test has no inflater.
 */
char kc_kernel_config(const char *option);

/* Reads a small file into @buf (NUL-terminated, trailing newline kept); returns bytes or -errno. */
ssize_t kc_read_file(const char *path, char *buf, size_t len);
/* Writes @s to a file (sysfs, procfs); returns 0 or -errno. */
int kc_write_file(const char *path, const char *s);

#endif
