// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM ABI behind QEMU's "target/i386: SEV: Add support for enabling VMSA SEV features"
 * (Naveen N Rao, 8 patches): userspace reads which VMSA SEV_FEATURES KVM supports from the
 * KVM_X86_SEV_VMSA_FEATURES attribute of /dev/kvm (group KVM_X86_GRP_SEV), and asks for them in
 * KVM_SEV_INIT2's vmsa_features: debug-swap (bit 5) for SEV-ES and SNP, Secure TSC (bit 9) for
 * SNP only, using the VM's TSC frequency; none for plain SEV (QEMU: "Validate that SEV-ES is
 * enabled when VMSA features are used").
 *
 * Rules checked (Linux 7.2, arch/x86/kvm/svm/sev.c unless named):
 *  - KVM_CREATE_VM with an SEV type missing from KVM_CAP_VM_TYPES fails with EINVAL
 *    (x86.c kvm_arch_init_vm()); SEV types are added by sev_hardware_setup() only when enabled.
 *  - KVM_MEMORY_ENCRYPT_OP(KVM_SEV_INIT2) on a default VM fails cleanly and leaves the VM usable:
 *    ENOTTY where KVM has no SEV (x86.c: no mem_enc_ioctl -> -ENOTTY; sev_mem_enc_ioctl():
 *    !sev_enabled -> -ENOTTY; VMX vt_mem_enc_ioctl(): not a TD -> -ENOTTY), EINVAL where SEV is
 *    enabled (sev_guest_init2(): need_init is only set for SEV VM types; before 6.10 the
 *    unknown command id is -EINVAL).
 *  - KVM_X86_SEV_VMSA_FEATURES: sev_dev_get_attr() answers sev_supported_vmsa_features, which is
 *    0 unless SEV-ES is enabled (DEBUG_SWAP needs sev_es_enabled) and has SECURE_TSC only with
 *    SNP enabled and a known host TSC frequency; ENXIO where the vendor has no such attribute.
 *  - __sev_guest_init(): flags must be 0; vmsa_features must be within the supported set, which
 *    is empty for KVM_X86_SEV_VM and excludes SECURE_TSC for SEV-ES; ghcb_version must be 0 for
 *    SEV, at most GHCB_VERSION_MAX, and at least 2 for SNP; all EINVAL, checked before anything
 *    is set up, so a refused INIT2 can be followed by a good one; a second INIT2 is EINVAL
 *    (need_init is clear), or EPERM on SNP (only SNP commands once it is an SNP guest).
 *  - Secure TSC: the TSC frequency is the VM's (KVM_SET_TSC_KHZ on the VM fd, before vCPUs;
 *    snp_launch_start() hands kvm->arch.default_tsc_khz to firmware); vCPUs of such a VM get
 *    guest_tsc_protected (sev_es_vcpu_create()), so KVM_SET_TSC_KHZ on a vCPU is EINVAL.
 *
 * The bug this patch series fixes lives in the VMM: --model-features-on-sev is kvmcheck's model
 * of QEMU before it (no "Validate that SEV-ES is enabled when VMSA features are used"). The test
 * then expects what such a VMM does, the attribute to offer debug-swap and plain SEV to take it,
 * and KVM's refusals fail vmsa_features_attr and, with SEV, init2_refuses_features_for_sev.
 *
 * Where it runs: without SEV (VM types = default only, as on kvm_pvm and nested SVM under QEMU)
 * only the three "without SEV" subtests apply; the SEV, SEV-ES and SNP paths (INIT2's own checks
 * in sev.c) skip with their reason and need a kernel with CONFIG_KVM_AMD_SEV on SEV hardware.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"
#include "x86_64/sev.h"

#define NO_SEV		"no SEV: KVM_CAP_VM_TYPES lacks KVM_X86_SEV_VM (needs an AMD host with SEV enabled in firmware and kvm_amd.sev=1)"
#define NO_SEV_ES	"no SEV-ES: KVM_CAP_VM_TYPES lacks KVM_X86_SEV_ES_VM (needs SEV-ES ASIDs in firmware and kvm_amd.sev_es=1)"
#define NO_SNP		"no SEV-SNP: KVM_CAP_VM_TYPES lacks KVM_X86_SNP_VM (needs SNP enabled in firmware, SNP-capable PSP firmware and kvm_amd.sev_snp=1)"

static bool model_features_on_sev;	/* a VMM without QEMU's SEV-ES check */

static const char *type_name(unsigned long type)
{
	switch (type) {
	case KVM_X86_SEV_VM: return "KVM_X86_SEV_VM";
	case KVM_X86_SEV_ES_VM: return "KVM_X86_SEV_ES_VM";
	case KVM_X86_SNP_VM: return "KVM_X86_SNP_VM";
	default: return "?";
	}
}

static bool type_advertised(unsigned long type)
{
	return kc_vm_types() & (1ULL << type);
}

/* KVM's supported CPUID 0x8000001F EAX: bit 1 SEV, 3 SEV-ES, 4 SEV-SNP (kvm_cpu_cap_set()). */
static bool kvm_offers(int bit)
{
	return kc_host_cpu_has(0x8000001f, 0, 'a', bit);
}

static void test_sev_vm_types_refused_when_not_advertised(void)
{
	const unsigned long types[] = { KVM_X86_SEV_VM, KVM_X86_SEV_ES_VM, KVM_X86_SNP_VM };
	uint64_t all = kc_vm_types();
	int checked = 0;

	if (!all)
		kc_info("no KVM_CAP_VM_TYPES (before 6.8): every SEV type must be refused");
	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd, err;

		if (all & (1ULL << types[i]))
			continue;
		fd = __vm_create_fd(types[i]);
		err = errno;
		if (fd >= 0)
			close(fd);
		TEST_ASSERT(fd < 0, "KVM_CREATE_VM(%s) succeeded although KVM_CAP_VM_TYPES %#llx does not advertise it",
			    type_name(types[i]), (unsigned long long)all);
		TEST_ASSERT(err == EINVAL, "KVM_CREATE_VM(%s) failed with %s, expected EINVAL",
			    type_name(types[i]), strerror(err));
		checked++;
	}
	if (!checked)
		kc_skip("every SEV VM type is advertised here: there is no refusal to check");
}

static void guest_done(void)
{
	GUEST_DONE();
}

static void test_encrypt_op_on_default_vm(void)
{
	bool sev_on = kvm_offers(1);
	int expect = sev_on ? EINVAL : ENOTTY;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_done);
	struct ucall uc;
	uint32_t fw_error = 0;
	int ret, err;

	/* INIT2, never the legacy KVM_SEV_INIT (0), which would make this an SEV VM. */
	ret = __kc_sev_init2(vm->fd, 0, 0, 0, &fw_error);
	err = errno;
	kc_info("KVM_SEV_INIT2 on a default VM: %d (%s), KVM %s SEV", ret,
		ret ? strerror(err) : "success", sev_on ? "offers" : "does not offer");
	TEST_ASSERT(ret == -1, "KVM_SEV_INIT2 succeeded on a KVM_X86_DEFAULT_VM VM");
	TEST_ASSERT(err == expect, "KVM_SEV_INIT2 on a default VM failed with %s, expected %s",
		    strerror(err), strerror(expect));
	/* Failed cleanly: the VM still runs a guest. */
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static void test_vmsa_features_attr(void)
{
	uint64_t val = 0;
	int ret = __kc_sev_vmsa_features(&val);
	int err = errno;
	bool sev_es = kvm_offers(3), snp = kvm_offers(4);

	if (ret) {
		/* Absent: fine only where KVM cannot run SEV-ES guests anyway. */
		kc_info("KVM_X86_SEV_VMSA_FEATURES absent: %s", strerror(err));
		TEST_ASSERT(err == ENXIO || err == EINVAL || err == ENOTTY,
			    "KVM_HAS/GET_DEVICE_ATTR(KVM_X86_SEV_VMSA_FEATURES) failed with %s, expected ENXIO (or EINVAL/ENOTTY before /dev/kvm had device attributes)",
			    strerror(err));
		TEST_ASSERT(!model_features_on_sev,
			    "--model-features-on-sev: the VMM expected the attribute to offer debug-swap");
		TEST_ASSERT(!type_advertised(KVM_X86_SEV_ES_VM) || err != ENXIO,
			    "SEV-ES VMs are advertised but KVM_X86_SEV_VMSA_FEATURES is absent");
		return;
	}
	kc_info("KVM_X86_SEV_VMSA_FEATURES = %#llx (KVM offers SEV-ES %d, SNP %d)",
		(unsigned long long)val, sev_es, snp);
	if (model_features_on_sev)
		TEST_ASSERT(val & KC_SEV_FEAT_DEBUG_SWAP,
			    "--model-features-on-sev: the VMM expected debug-swap in %#llx",
			    (unsigned long long)val);
	TEST_ASSERT(!val || sev_es,
		    "VMSA features %#llx offered although KVM does not offer SEV-ES (CPUID 0x8000001F.EAX[3])",
		    (unsigned long long)val);
	TEST_ASSERT(!(val & KC_SEV_FEAT_SECURE_TSC) || snp,
		    "Secure TSC offered (%#llx) although KVM does not offer SEV-SNP",
		    (unsigned long long)val);
	TEST_ASSERT(!(val & KC_SEV_FEAT_SNP_ACTIVE),
		    "SNP_ACTIVE (%#llx) is KVM's own bit and must not be offered to userspace",
		    (unsigned long long)val);
}

static int sev_vm_fd(unsigned long type)
{
	int fd = __vm_create_fd(type);

	TEST_ASSERT(fd >= 0, "KVM_CREATE_VM(%s) failed although advertised: %s", type_name(type),
		    kc_errno_str());
	return fd;
}

/* INIT2 must be refused with EINVAL. */
static void expect_init2_einval(int fd, const char *what, uint64_t features, uint16_t ghcb,
				uint32_t flags)
{
	int ret = __kc_sev_init2(fd, features, ghcb, flags, NULL);

	TEST_ASSERT(ret == -1 && errno == EINVAL,
		    "KVM_SEV_INIT2 (%s: vmsa_features %#llx, ghcb_version %u, flags %#x) returned %d (%s), expected EINVAL",
		    what, (unsigned long long)features, ghcb, flags, ret,
		    ret ? kc_errno_str() : "success");
}

/*
 * A good INIT2, then a second one refused: EINVAL for SEV/SEV-ES (need_init is clear), EPERM
 * for SNP (sev_mem_enc_ioctl() allows only SNP commands once the VM is an SNP guest).
 */
static void expect_init2_ok(int fd, const char *what, uint64_t features, uint16_t ghcb,
			    int second_errno)
{
	uint32_t fw_error = 0;
	int ret = __kc_sev_init2(fd, features, ghcb, 0, &fw_error);

	TEST_ASSERT(ret == 0,
		    "KVM_SEV_INIT2 (%s: vmsa_features %#llx, ghcb_version %u) failed: %s, firmware error %#x",
		    what, (unsigned long long)features, ghcb, kc_errno_str(), fw_error);
	ret = __kc_sev_init2(fd, 0, ghcb, 0, NULL);
	TEST_ASSERT(ret == -1 && errno == second_errno,
		    "a second KVM_SEV_INIT2 after %s returned %d (%s), expected %s", what, ret,
		    ret ? kc_errno_str() : "success", strerror(second_errno));
}

/* A bit KVM does not offer: the highest clear bit below 63. */
static uint64_t unsupported_bit(uint64_t supported)
{
	for (int b = 62; b > 0; b--)
		if (!(supported & (1ULL << b)))
			return 1ULL << b;
	return 0;
}

static uint64_t supported_features(void)
{
	uint64_t val = 0;

	if (__kc_sev_vmsa_features(&val))
		val = 0;
	return val;
}

static void test_init2_refuses_features_for_sev(void)
{
	int fd;

	if (!type_advertised(KVM_X86_SEV_VM))
		kc_skip("%s", NO_SEV);
	fd = sev_vm_fd(KVM_X86_SEV_VM);
	if (model_features_on_sev) {
		/* What QEMU refuses since patch 4/8, asked for by the model VMM: KVM refuses it too. */
		expect_init2_ok(fd, "SEV with debug-swap (model VMM)", KC_SEV_FEAT_DEBUG_SWAP, 0,
				EINVAL);
	}
	expect_init2_einval(fd, "SEV with debug-swap", KC_SEV_FEAT_DEBUG_SWAP, 0, 0);
	expect_init2_einval(fd, "SEV with Secure TSC", KC_SEV_FEAT_SECURE_TSC, 0, 0);
	expect_init2_einval(fd, "SEV with a GHCB version", 0, 1, 0);
	expect_init2_einval(fd, "SEV with flags", 0, 0, 1);
	expect_init2_ok(fd, "plain SEV", 0, 0, EINVAL);
	close(fd);
}

static void test_init2_debug_swap_sev_es(void)
{
	uint64_t supported = supported_features();
	int fd;

	if (!type_advertised(KVM_X86_SEV_ES_VM))
		kc_skip("%s", NO_SEV_ES);
	fd = sev_vm_fd(KVM_X86_SEV_ES_VM);
	expect_init2_einval(fd, "SEV-ES with an unsupported feature", unsupported_bit(supported),
			    0, 0);
	expect_init2_einval(fd, "SEV-ES with Secure TSC (SNP only)", KC_SEV_FEAT_SECURE_TSC, 0, 0);
	expect_init2_einval(fd, "SEV-ES with a GHCB version above the maximum", 0, 0xffff, 0);
	if (!(supported & KC_SEV_FEAT_DEBUG_SWAP)) {
		expect_init2_einval(fd, "SEV-ES with debug-swap, not offered", KC_SEV_FEAT_DEBUG_SWAP,
				    0, 0);
		close(fd);
		kc_skip("no SEV-ES debug-swap: KVM_X86_SEV_VMSA_FEATURES %#llx lacks it (needs DEBUG_SWAP and NO_NESTED_DATA_BP in CPUID, and kvm_amd.debug_swap=1 on kernels that have it); the refusal was checked",
			(unsigned long long)supported);
	}
	expect_init2_ok(fd, "SEV-ES with debug-swap", KC_SEV_FEAT_DEBUG_SWAP, 0, EINVAL);
	close(fd);
}

static void test_init2_secure_tsc_snp(void)
{
	uint64_t supported = supported_features();
	int fd, vcpu_fd, khz, ret;

	if (!type_advertised(KVM_X86_SNP_VM))
		kc_skip("%s", NO_SNP);
	fd = sev_vm_fd(KVM_X86_SNP_VM);
	expect_init2_einval(fd, "SNP with GHCB version 1", 0, 1, 0);
	expect_init2_einval(fd, "SNP with an unsupported feature", unsupported_bit(supported), 2,
			    0);
	if (!(supported & KC_SEV_FEAT_SECURE_TSC)) {
		expect_init2_einval(fd, "SNP with Secure TSC, not offered", KC_SEV_FEAT_SECURE_TSC,
				    2, 0);
		close(fd);
		kc_skip("no SEV-SNP Secure TSC: KVM_X86_SEV_VMSA_FEATURES %#llx lacks it (needs SNP_SECURE_TSC in CPUID and a known host TSC frequency; kernel 6.15+); the refusal was checked",
			(unsigned long long)supported);
	}
	expect_init2_ok(fd, "SNP with Secure TSC", KC_SEV_FEAT_SECURE_TSC, 2, EPERM);

	/* The frequency the firmware will get: the VM's, known and settable before vCPUs. */
	khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ on the SNP VM returned %d: Secure TSC needs a TSC frequency",
		    khz);
	ret = ioctl(fd, KVM_SET_TSC_KHZ, (unsigned long)khz);
	TEST_ASSERT(ret == 0, "KVM_SET_TSC_KHZ(%d) on the VM before vCPUs failed: %s", khz,
		    kc_errno_str());
	vcpu_fd = ioctl(fd, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu_fd >= 0, "KVM_CREATE_VCPU on the Secure TSC VM failed: %s", kc_errno_str());
	TEST_ASSERT_EQ(ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0), khz);
	ret = ioctl(vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)khz);
	TEST_ASSERT(ret == -1 && errno == EINVAL,
		    "KVM_SET_TSC_KHZ on a Secure TSC vCPU returned %d (%s), expected EINVAL (the guest's TSC is protected)",
		    ret, ret ? kc_errno_str() : "success");
	ret = ioctl(fd, KVM_SET_TSC_KHZ, (unsigned long)khz);
	TEST_ASSERT(ret == -1 && errno == EINVAL,
		    "KVM_SET_TSC_KHZ on the VM after a vCPU exists returned %d (%s), expected EINVAL",
		    ret, ret ? kc_errno_str() : "success");
	close(vcpu_fd);
	close(fd);
}

static const struct kc_subtest subtests[] = {
	{ "sev_vm_types_refused_when_not_advertised", test_sev_vm_types_refused_when_not_advertised },
	{ "encrypt_op_on_default_vm", test_encrypt_op_on_default_vm },
	{ "vmsa_features_attr", test_vmsa_features_attr },
	{ "init2_refuses_features_for_sev", test_init2_refuses_features_for_sev },
	{ "init2_debug_swap_sev_es", test_init2_debug_swap_sev_es },
	{ "init2_secure_tsc_snp", test_init2_secure_tsc_snp },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "model-features-on-sev", "model a VMM without QEMU's SEV-ES check: expect debug-swap offered and taken for plain SEV (KVM refuses, the checks fail)", &model_features_on_sev },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "target/i386: SEV: Add support for enabling VMSA SEV features",
	.fixes = NULL,
	.link = "http://lkml.kernel.org/r/cover.1757589490.git.naveen@kernel.org (RFC)",
	.author = "Naveen N Rao (AMD) <naveen@kernel.org>",
};

static const struct kc_test test = {
	.name = "x86/sev_vmsa_features",
	.summary = "KVM_SEV_INIT2 vmsa_features and KVM_X86_SEV_VMSA_FEATURES: debug-swap for SEV-ES, Secure TSC for SNP, nothing for SEV, clean refusals without SEV (--model-features-on-sev: a model of QEMU before its SEV-ES check)",
	.groups = "x86,seed,abi",
	.timeout_s = 60,
	.subtest_timeout_s = 20,
	.patch = &patch,
	.min_kernel = NULL,
	.paths = KC_PATHS("arch/x86/kvm/svm/sev.c", "arch/x86/kvm/x86.c", "arch/x86/kvm/vmx/main.c"),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
