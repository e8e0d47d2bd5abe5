/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test harness: a test program declares its metadata and subtests, kc_main() runs each
 * subtest in its own process with a time bound, checks the kernel's health around it (a kernel
 * report, new taint or a leftover process fails it, lib/harness_health.c), prints TAP 13 and
 * exits with the kselftest codes (0 pass, 1 fail, 4 skip). See docs/PROTOCOL.md.
 */
#ifndef KVMCHECK_TEST_H
#define KVMCHECK_TEST_H

#include <stdbool.h>
#include "kvmcheck/assert.h"

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

/* The upstream patch whose behaviour a test verifies. */
struct kc_patch {
	const char *subject;
	const char *fixes;	/* Fixes: tag, NULL when the patch has none */
	const char *link;
	const char *author;
};

struct kc_subtest {
	const char *name;
	void (*fn)(void);
};

/*
 * A boolean switch the test accepts: --model-... runs the test as kvmcheck's model of an unfixed
 * VMM (--model-first-slot-only), --self-check-... plants what the harness must catch
 * (--self-check-log-line); others change how it runs (--race-long).
 */
struct kc_option {
	const char *name;	/* without the leading dashes */
	const char *help;
	bool *flag;
};

struct kc_test {
	const char *name;		/* "x86/pio_mmio": directory and program name */
	const char *summary;
	const char *groups;		/* comma separated */
	unsigned int timeout_s;		/* the whole program */
	unsigned int subtest_timeout_s;	/* each subtest; 0 means timeout_s */
	const struct kc_patch *patch;
	const char *min_kernel;		/* first kernel known to have the behaviour */
	/*
	 * Kernel sources the test exercises, as paths from the top of a kernel tree: a file
	 * ("arch/x86/kvm/lapic.c") or a directory ending in '/' ("drivers/vhost/"). NULL-terminated
	 * (KC_PATHS() adds the NULL). Reviewer mode maps the files a patch touches to tests by it.
	 */
	const char *const *paths;
	const struct kc_subtest *subtests;	/* ends with an empty entry */
	const struct kc_option *options;	/* ends with an empty entry */
	/* Returns why the whole program cannot run here, or NULL. */
	const char *(*requires)(void);
};

/* .paths = KC_PATHS("arch/x86/kvm/lapic.c", "arch/x86/kvm/ioapic.c") */
#define KC_PATHS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/*
 * What any VM with a running vCPU exercises on this architecture, for tests of the guest
 * runtime itself: the generic KVM core comes with it.
 */
#if defined(__x86_64__)
#define KC_PATHS_ARCH_RUNTIME \
	"arch/x86/kvm/x86.c", "arch/x86/kvm/svm/svm.c", "arch/x86/kvm/vmx/vmx.c"
#elif defined(__riscv)
#define KC_PATHS_ARCH_RUNTIME "arch/riscv/kvm/"
#endif
#define KC_PATHS_RUNTIME KC_PATHS_ARCH_RUNTIME, "virt/kvm/kvm_main.c"

int kc_main(const struct kc_test *test, int argc, char **argv);

#define KVMCHECK_MAIN(test) int main(int argc, char **argv) { return kc_main(&(test), argc, argv); }

/* Inside a subtest. */
void __attribute__((noreturn, format(printf, 1, 2))) kc_skip(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) kc_info(const char *fmt, ...);
const char *kc_kvm_unavailable_reason(void);
/*
 * Why the harness does not read the kernel log around subtests here (no access to /dev/kmsg,
 * KVMCHECK_HEALTH=off), or NULL when it does: a test whose verdict is the kernel's health
 * skips on it.
 */
const char *kc_kernel_health_off(void);

#endif
