// SPDX-License-Identifier: GPL-2.0-only
/* Host side of the ucall channel (see include/kvmcheck/ucall.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "kvmcheck/ucall.h"
#include "kvmcheck/vm.h"
#include "kvmcheck/image.h"
#include "kvmcheck/test.h"
#include "kvmcheck/report.h"

const char *ucall_cmd_str(uint64_t cmd)
{
	static const char *const names[] = {
		"UCALL_NONE", "UCALL_SYNC", "UCALL_PRINTF", "UCALL_ASSERT", "UCALL_DONE",
		"UCALL_UNHANDLED",
	};

	return cmd < sizeof(names) / sizeof(names[0]) ? names[cmd] : "UCALL_?";
}

/* A string pointer the guest passed: trusted only if it points into the image. */
static const char *image_string(const char *s)
{
	uint64_t a = (uint64_t)(uintptr_t)s;

	return a >= kc_image_start() && a < kc_image_end() ? s : "?";
}

/* Architectures without register ucalls have none of these exits. */
int __attribute__((weak)) ucall_arch_regs(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	(void)vcpu;
	(void)uc;
	return 0;
}

uint64_t __get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	const struct ucall *g;
	uint64_t gpa;

	if (ucall_arch_regs(vcpu, uc))
		return uc->cmd;
	if (!ucall_arch_gpa(vcpu, &gpa)) {
		uc->cmd = UCALL_NONE;
		return UCALL_NONE;
	}
	g = addr_gpa2hva(vcpu->vm, gpa);
	/* Copy the header and the text actually written, not the whole buffer. */
	memcpy(uc, g, offsetof(struct ucall, buf));
	uc->buf[0] = 0;
	if (uc->cmd == UCALL_PRINTF || uc->cmd == UCALL_ASSERT) {
		size_t len = strnlen(g->buf, UCALL_BUF_SIZE - 1);

		memcpy(uc->buf, g->buf, len);
		uc->buf[len] = 0;
	}
	return uc->cmd;
}

void ucall_report_assert(struct ucall *uc)
{
	char reason[KC_REASON_SIZE];

	printf("# guest assertion failed at %s:%d: %s\n#   %s\n", image_string(uc->file),
	       (int)uc->line, image_string(uc->expr), uc->buf);
	snprintf(reason, sizeof(reason), "guest assert at %s:%d: %s: %s", image_string(uc->file),
		 (int)uc->line, image_string(uc->expr), uc->buf);
	kc_finish(KSFT_FAIL, reason);
}

static void __attribute__((noreturn)) report_unhandled(struct ucall *uc)
{
	kc_guest_unhandled(uc->args[0], uc->args[1], uc->args[2]);
}

uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	uint64_t cmd = __get_ucall(vcpu, uc);

	if (cmd == UCALL_ASSERT)
		ucall_report_assert(uc);
	if (cmd == UCALL_UNHANDLED)
		report_unhandled(uc);
	return cmd;
}

uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	for (;;) {
		uint64_t cmd;

		vcpu_run(vcpu);
		cmd = get_ucall(vcpu, uc);
		if (cmd != UCALL_PRINTF)
			return cmd;
		kc_info("guest: %s", uc->buf);
	}
}
