/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel-health helpers for host-side tests (vhost/, vfio/): the taint mask, a scan of the kernel
 * log from a recorded point on, threads by name, the kernel's version and config, and whether
 * this process runs inside the kvmcheck QEMU guest (scripts/guest-init.sh writes the marker).
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

/* The kernel log from the moment kc_kmsg_open() ran. */
struct kc_kmsg {
	int fd;
	unsigned long records;	/* records read so far */
	unsigned long lost;	/* times the ring overwrote records before they were read */
};

/* Opens /dev/kmsg positioned after its last record; returns 0 or -errno. */
int kc_kmsg_open(struct kc_kmsg *k);
/*
 * Reads every record logged since the open (or the previous scan) and returns true when one
 * contains any of @patterns (NULL-terminated; NULL means kc_kernel_trouble_patterns), copying
 * that record's message to @line. Keeps reading after a match, so a later scan starts fresh.
 */
bool kc_kmsg_scan(struct kc_kmsg *k, const char *const *patterns, char *line, size_t len);
void kc_kmsg_close(struct kc_kmsg *k);
/* Writes one line into the kernel log (/dev/kmsg); returns 0 or -errno. */
int kc_kmsg_write(const char *msg);

/* What an oops, a KASAN report, a refcount or list warning, or a WARN_ON prints. */
extern const char *const kc_kernel_trouble_patterns[];

/*
 * Threads in /proc/<pid>/task/<tid>/comm whose name starts with @prefix (the whole name when
 * @exact). Returns how many; their tids go to @tids (up to @max, may be NULL).
 */
int kc_threads_named(const char *prefix, bool exact, pid_t *tids, int max);

/* uname -r as major, minor; returns false when it does not parse. */
bool kc_kernel_version(int *major, int *minor);
/*
 * A kernel config option from /lib/modules/$(uname -r)/config (Debian ships it there; the
 * kvmcheck initramfs keeps it) or /boot/config-$(uname -r): 'y', 'm', 'n' (not set), or 0 when
 * no config file was found.
 */
char kc_kernel_config(const char *option);

/* Reads a small file into @buf (NUL-terminated, trailing newline kept); returns bytes or -errno. */
ssize_t kc_read_file(const char *path, char *buf, size_t len);
/* Writes @s to a file (sysfs, procfs); returns 0 or -errno. */
int kc_write_file(const char *path, const char *s);

#endif
