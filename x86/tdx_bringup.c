// SPDX-License-Identifier: GPL-2.0-only
/*
 * TDX bring-up leaves KVM consistent: KVM_X86_TDX_VM is advertised only when TDX was brought up,
 * creating a TDX VM elsewhere fails cleanly, and where TDX is advertised its first command works.
 *
 * Patch: "KVM: TDX: Fix uninitialized error code for __tdx_bringup()" (Tony Lindgren). When
 * tdx_get_sysinfo() returned NULL, __tdx_bringup() returned an uninitialised 'r'; if that
 * happened to be 0, bring-up "succeeded" with no TDX module information, so kvm_intel.tdx stayed
 * Y, KVM_X86_TDX_VM was advertised, and the first TDX VM or KVM_TDX_CAPABILITIES dereferenced
 * the missing information. The fix initialises r = -EINVAL. 7.2's equivalent
 * (arch/x86/kvm/vmx/tdx.c tdx_hardware_setup()/__tdx_hardware_setup()) returns -ENODEV there and
 * turns TDX off (enable_tdx = 0, "success_disable_tdx"), and vmx/main.c vt_init() adds
 * BIT(KVM_X86_TDX_VM) to kvm_caps.supported_vm_types only while enable_tdx is set.
 *
 * Rules checked (Linux 7.2 source):
 *  - KVM_CAP_VM_TYPES (6.8+) is a bitmap with KVM_X86_DEFAULT_VM always set
 *    (x86.c kvm_arch_hardware_setup: supported_vm_types = BIT(KVM_X86_DEFAULT_VM)).
 *  - KVM_CREATE_VM with a type not in the bitmap fails with EINVAL (x86.c kvm_arch_init_vm():
 *    !kvm_is_vm_type_supported(type) -> -EINVAL; before 6.8 any non-zero type is -EINVAL) and
 *    the system fd keeps working.
 *  - /sys/module/kvm_intel/parameters/tdx (module_param_named(tdx, enable_tdx, bool, 0444)) is Y
 *    exactly when KVM_X86_TDX_VM is advertised.
 *  - KVM_MEMORY_ENCRYPT_OP on a non-TD VM under kvm_intel is ENOTTY (vmx/main.c
 *    vt_mem_enc_ioctl(): !is_td(kvm) -> -ENOTTY; x86.c returns -ENOTTY too when the op is absent).
 *  - On a TDX VM, KVM_TDX_CAPABILITIES (vmx/tdx.c tdx_get_capabilities()) fills
 *    kvm_tdx_capabilities: non-zero supported_attrs and supported_xfam (bring-up refuses TDX
 *    otherwise), cpuid.nent no larger than the room given; E2BIG when cpuid.nent is too small;
 *    EINVAL for non-zero flags (and for non-zero hw_error, tdx_get_cmd()).
 *
 * Where it runs: the bug itself needs a TDX host whose TDX module fails to report its system
 * information; its symptom, KVM_X86_TDX_VM advertised without TDX brought up, is what
 * tdx_param_matches_vm_types and tdx_capabilities fail on. Without kvm_intel and TDX (kvm_pvm,
 * kvm_amd) the refusal and VM-type checks apply and the TDX-specific ones skip with their reason;
 * before 6.8 there is no KVM_CAP_VM_TYPES, so vm_types_reported skips and only the refusal runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/host_kernel.h"
#include "x86_64/x86_vm.h"
#include "x86_64/sev.h"

#define TDX_PARAM	"/sys/module/kvm_intel/parameters/tdx"
#define KVM_INTEL_DIR	"/sys/module/kvm_intel"
#define NO_TDX		"no TDX: KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM (needs an Intel TDX host with kvm_intel.tdx=1)"

/* struct kvm_tdx_capabilities of include/uapi/asm/kvm.h (7.2); cpuid is a struct kvm_cpuid2. */
struct kc_tdx_caps {
	uint64_t supported_attrs;
	uint64_t supported_xfam;
	uint64_t kernel_tdvmcallinfo_1_r11;
	uint64_t user_tdvmcallinfo_1_r11;
	uint64_t kernel_tdvmcallinfo_1_r12;
	uint64_t user_tdvmcallinfo_1_r12;
	uint64_t reserved[250];
	struct kvm_cpuid2 cpuid;
};

static bool vm_types_known(uint64_t *types)
{
	*types = kc_vm_types();
	return *types != 0;
}

static void test_vm_types_reported(void)
{
	uint64_t types;

	if (!vm_types_known(&types))
		kc_skip("this kernel has no KVM_CAP_VM_TYPES (added in 6.8): only KVM_X86_DEFAULT_VM exists, so no TDX VM can be created");
	kc_info("KVM_CAP_VM_TYPES = %#llx%s", (unsigned long long)types,
		types & (1ULL << KVM_X86_TDX_VM) ? " (TDX advertised)" : " (no TDX)");
	TEST_ASSERT(types & (1ULL << KVM_X86_DEFAULT_VM),
		    "KVM_CAP_VM_TYPES %#llx lacks KVM_X86_DEFAULT_VM", (unsigned long long)types);
	/* 7.2 defines types 0..5; a later kernel may add more, which is not an error. */
	if (types >> (KVM_X86_TDX_VM + 1))
		kc_info("KVM_CAP_VM_TYPES has types beyond KVM_X86_TDX_VM (%d) unknown to this test",
			KVM_X86_TDX_VM);
}

static void test_tdx_vm_refused_when_not_advertised(void)
{
	uint64_t types = kc_vm_types();
	int fd, err;

	if (types & (1ULL << KVM_X86_TDX_VM))
		kc_skip("TDX is advertised here: the refusal path does not apply (tdx_capabilities covers this host)");
	if (!types)
		kc_info("no KVM_CAP_VM_TYPES: any non-zero VM type must be refused");
	fd = __vm_create_fd(KVM_X86_TDX_VM);
	err = errno;
	if (fd >= 0)
		close(fd);
	TEST_ASSERT(fd < 0, "KVM_CREATE_VM(KVM_X86_TDX_VM) succeeded although KVM_CAP_VM_TYPES %#llx does not advertise it",
		    (unsigned long long)types);
	TEST_ASSERT(err == EINVAL, "KVM_CREATE_VM(KVM_X86_TDX_VM) failed with %s, expected EINVAL",
		    strerror(err));
	/* A type beyond the bitmap (kvm_is_vm_type_supported: type < 32) too. */
	fd = __vm_create_fd(32);
	err = errno;
	if (fd >= 0)
		close(fd);
	TEST_ASSERT(fd < 0 && err == EINVAL, "KVM_CREATE_VM(32) gave fd %d / %s, expected EINVAL",
		    fd, strerror(err));
	/* The refusals left /dev/kvm usable: a default VM still comes up. */
	fd = __vm_create_fd(KVM_X86_DEFAULT_VM);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VM(default) failed after the refusal: %s", kc_errno_str());
	close(fd);
}

/* 'Y'/'N' from a bool module parameter; -1 when the file is absent. */
static int read_bool_param(const char *path)
{
	char buf[8];

	if (kc_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	TEST_ASSERT(buf[0] == 'Y' || buf[0] == 'N', "%s reads '%s', expected Y or N", path, buf);
	return buf[0] == 'Y';
}

static void test_tdx_param_matches_vm_types(void)
{
	uint64_t types = kc_vm_types();
	bool advertised = types & (1ULL << KVM_X86_TDX_VM);
	int param;

	if (access(KVM_INTEL_DIR, F_OK)) {
		TEST_ASSERT(!advertised, "KVM_X86_TDX_VM advertised (types %#llx) without kvm_intel loaded",
			    (unsigned long long)types);
		kc_skip("kvm_intel is not loaded (%s absent: an AMD host or another KVM vendor module), so it has no tdx parameter to compare",
			KVM_INTEL_DIR);
	}
	param = read_bool_param(TDX_PARAM);
	if (param < 0) {
		TEST_ASSERT(!advertised, "KVM_X86_TDX_VM advertised but kvm_intel has no tdx parameter");
		kc_skip("kvm_intel has no tdx parameter (kernel before 6.16 or CONFIG_KVM_INTEL_TDX off)");
	}
	kc_info("kvm_intel.tdx=%c, KVM_CAP_VM_TYPES=%#llx", param ? 'Y' : 'N',
		(unsigned long long)types);
	TEST_ASSERT(param == advertised,
		    "kvm_intel.tdx is %c but KVM_CAP_VM_TYPES %#llx %s KVM_X86_TDX_VM: bring-up left them inconsistent",
		    param ? 'Y' : 'N', (unsigned long long)types,
		    advertised ? "has" : "lacks");
}

static void test_encrypt_op_on_default_vm(void)
{
	struct kvmcheck_tdx_cmd cmd = { .id = KVMCHECK_TDX_CAPABILITIES };
	int fd, ret, err;

	/*
	 * On SVM, command id 0 is KVM_SEV_INIT, which would turn a default VM into an SEV guest:
	 * only send it where kvm_intel is the vendor module.
	 */
	if (access(KVM_INTEL_DIR, F_OK))
		kc_skip("kvm_intel is not loaded: the TDX command block means something else to other vendor modules (x86/sev_vmsa_features covers SVM)");
	fd = __vm_create_fd(KVM_X86_DEFAULT_VM);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VM(default) failed: %s", kc_errno_str());
	ret = ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	err = errno;
	close(fd);
	TEST_ASSERT(ret == -1 && err == ENOTTY,
		    "KVM_MEMORY_ENCRYPT_OP(KVM_TDX_CAPABILITIES) on a default VM returned %d (%s), expected ENOTTY",
		    ret, ret ? strerror(err) : "success");
}

static int tdx_vm_op(int vm_fd, uint32_t id, uint32_t flags, void *data, uint64_t hw_error)
{
	struct kvmcheck_tdx_cmd cmd = {
		.id = id, .flags = flags, .data = (uint64_t)(uintptr_t)data, .hw_error = hw_error,
	};

	return ioctl(vm_fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
}

#define CAPS_ROOM	512	/* CPUID entries; bounded retries double it up to 4096 */

static struct kc_tdx_caps *caps_alloc(uint32_t nent)
{
	struct kc_tdx_caps *c = calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));

	TEST_ASSERT(c, "out of memory");
	c->cpuid.nent = nent;
	return c;
}

static void test_tdx_capabilities(void)
{
	uint64_t types = kc_vm_types();
	struct kc_tdx_caps *caps = NULL;
	uint32_t room;
	int fd, ret = -1;

	if (!types)
		kc_skip("no TDX: this kernel has no KVM_CAP_VM_TYPES (added in 6.8)");
	if (!(types & (1ULL << KVM_X86_TDX_VM)))
		kc_skip("%s", NO_TDX);
	fd = __vm_create_fd(KVM_X86_TDX_VM);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VM(KVM_X86_TDX_VM) failed although advertised: %s",
		    kc_errno_str());

	/* Refusals first: they must not change what a good call returns. */
	caps = caps_alloc(0);
	ret = tdx_vm_op(fd, KVMCHECK_TDX_CAPABILITIES, 0, caps, 0);
	TEST_ASSERT(ret == -1 && errno == E2BIG,
		    "KVM_TDX_CAPABILITIES with cpuid.nent 0 returned %d (%s), expected E2BIG", ret,
		    ret ? kc_errno_str() : "success");
	free(caps);
	caps = caps_alloc(CAPS_ROOM);
	ret = tdx_vm_op(fd, KVMCHECK_TDX_CAPABILITIES, 1, caps, 0);
	TEST_ASSERT(ret == -1 && errno == EINVAL,
		    "KVM_TDX_CAPABILITIES with flags 1 returned %d (%s), expected EINVAL", ret,
		    ret ? kc_errno_str() : "success");
	ret = tdx_vm_op(fd, KVMCHECK_TDX_CAPABILITIES, 0, caps, 1);
	TEST_ASSERT(ret == -1 && errno == EINVAL,
		    "KVM_TDX_CAPABILITIES with hw_error 1 returned %d (%s), expected EINVAL", ret,
		    ret ? kc_errno_str() : "success");

	for (room = CAPS_ROOM; room <= 4096; room *= 2) {
		free(caps);
		caps = caps_alloc(room);
		ret = tdx_vm_op(fd, KVMCHECK_TDX_CAPABILITIES, 0, caps, 0);
		if (!ret || errno != E2BIG)
			break;
	}
	TEST_ASSERT(ret == 0, "KVM_TDX_CAPABILITIES failed: %s", kc_errno_str());
	kc_info("TDX: supported_attrs %#llx, supported_xfam %#llx, %u CPUID entries",
		(unsigned long long)caps->supported_attrs,
		(unsigned long long)caps->supported_xfam, caps->cpuid.nent);
	TEST_ASSERT(caps->supported_attrs, "KVM_TDX_CAPABILITIES reports no supported attributes");
	TEST_ASSERT(caps->supported_xfam, "KVM_TDX_CAPABILITIES reports no supported XFAM");
	TEST_ASSERT(caps->cpuid.nent > 0 && caps->cpuid.nent <= room,
		    "KVM_TDX_CAPABILITIES cpuid.nent %u (room %u)", caps->cpuid.nent, room);
	free(caps);
	close(fd);
}

static const struct kc_subtest subtests[] = {
	{ "vm_types_reported", test_vm_types_reported },
	{ "tdx_vm_refused_when_not_advertised", test_tdx_vm_refused_when_not_advertised },
	{ "tdx_param_matches_vm_types", test_tdx_param_matches_vm_types },
	{ "encrypt_op_on_default_vm", test_encrypt_op_on_default_vm },
	{ "tdx_capabilities", test_tdx_capabilities },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "KVM: TDX: Fix uninitialized error code for __tdx_bringup()",
	.fixes = "61bb28279623 (\"KVM: TDX: Get system-wide info about TDX module on initialization\")",
	.link = NULL,
	.author = "Tony Lindgren <tony.lindgren@linux.intel.com>",
};

static const struct kc_test test = {
	.name = "x86/tdx_bringup",
	.summary = "KVM_X86_TDX_VM advertised only when TDX came up: refusal is EINVAL, kvm_intel.tdx agrees, KVM_TDX_CAPABILITIES works",
	.groups = "x86,seed,abi",
	.timeout_s = 60,
	.subtest_timeout_s = 20,
	.patch = &patch,
	.min_kernel = NULL,
	.paths = KC_PATHS("arch/x86/kvm/vmx/tdx.c", "arch/x86/kvm/vmx/main.c", "arch/x86/kvm/x86.c",
			 "arch/x86/virt/vmx/tdx/"),
	.subtests = subtests,
};

KVMCHECK_MAIN(test)
