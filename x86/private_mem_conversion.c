// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared<->private conversion of a guest range that straddles two guest_memfd-backed memslots
 * adjacent in guest-physical space, asked for by the guest with KVM_HC_MAP_GPA_RANGE.
 *
 * Patch: QEMU "accel/kvm: Fix kvm_convert_memory calls crossing memory regions" (Ashish Kalra).
 * kvm_convert_memory() looked up one memory region for the whole range, so a conversion that
 * crossed into the next region was refused or only done for the first region. The VMM's rules,
 * all from the kernel's ABI (Linux 7.2):
 *  - KVM_HC_MAP_GPA_RANGE reaches userspace as KVM_EXIT_HYPERCALL once KVM_CAP_EXIT_HYPERCALL
 *    has bit KVM_HC_MAP_GPA_RANGE: args[0] gpa, args[1] npages, args[2] attributes
 *    (KVM_MAP_GPA_RANGE_ENCRYPTED for private), flags KVM_EXIT_HYPERCALL_LONG_MODE for a 64-bit
 *    guest; hypercall.ret becomes the guest's RAX (x86.c ____kvm_emulate_hypercall(),
 *    complete_hypercall_exit()).
 *  - KVM_SET_MEMORY_ATTRIBUTES works on guest-physical ranges whatever memslots lie below, and
 *    for a KVM_X86_SW_PROTECTED_VM the attribute alone decides whether an access is private
 *    (mmu.c kvm_mmu_page_fault() sets PFERR_PRIVATE_ACCESS from kvm_mem_is_private()).
 *  - A private access is served from the memslot's guest_memfd at the slot's guest_memfd offset;
 *    fresh guest_memfd pages read as zero (guest_memfd.c kvm_gmem_get_pfn() clears a folio that
 *    is not up to date), and PUNCH_HOLE|KEEP_SIZE frees them (kvm_gmem_fallocate()).
 *  - A private access to a gfn whose memslot has no guest_memfd ends KVM_RUN with -1/EFAULT and
 *    KVM_EXIT_MEMORY_FAULT: gpa of the page, size 4096, flags KVM_MEMORY_EXIT_FLAG_PRIVATE
 *    (mmu.c kvm_mmu_faultin_pfn_gmem() -> kvm_mmu_prepare_memory_fault_exit()); it repeats until
 *    userspace changes something (api.rst, KVM_EXIT_MEMORY_FAULT and KVM_CAP_MEMORY_FAULT_INFO).
 * The handler (lib/x86_64/hypercall.c kc_convert_memory()) is kvmcheck's model of the fixed
 * kvm_convert_memory(): it sets the attributes for the whole range and then works slot by slot:
 * discard the shared copy when going private, punch the guest_memfd range of every touched slot
 * when going shared. The test checks that model against KVM.
 *
 * Layout: slot 0 is the program image (shared). Slot A: guest_memfd fd A (offset 0) at
 * 0xc0000000, 2 MiB; slot B: guest_memfd fd B at offset 2 MiB (to check offset arithmetic) at
 * 0xc0200000, 2 MiB; slot C: anonymous memory only, at 0xc0400000. The conversions cover 16
 * pages, 8 on each side of the A|B boundary. The memory-fault check straddles B|C.
 *
 * The model switches turn the handler into a model of the unfixed VMM: --model-first-slot-only
 * converts only the part of the range in the first slot (the QEMU bug): shared_to_private and
 * private_to_shared FAIL. --model-punch-first-slot-only sets the attributes for the whole range
 * but punches guest_memfd only in the first slot: private_to_shared FAILs at the check that
 * re-privatised pages read as zero.
 *
 * Needs KVM_X86_SW_PROTECTED_VM (CONFIG_KVM_SW_PROTECTED_VM, with the TDP MMU), guest_memfd,
 * KVM_CAP_MEMORY_ATTRIBUTES with KVM_MEMORY_ATTRIBUTE_PRIVATE and KVM_CAP_EXIT_HYPERCALL with
 * KVM_HC_MAP_GPA_RANGE.
 *
 * Where it runs: Debian's kernels lack CONFIG_KVM_SW_PROTECTED_VM, so every subtest skips there;
 * the matrix's build:debian line (scripts/config/kvmcheck.config sets it) is where it can pass.
 * The 6.18 host's kvm_pvm offers VM type 0x1 only, so it skips there too; and a default VM with
 * KVM_CAP_EXIT_HYPERCALL on kvm_pvm never leaves KVM_RUN on VMMCALL or VMCALL (the vCPU stays on
 * the instruction until a signal), so kvm_pvm could not run it even with the VM type; the
 * subtest timeout bounds that.
 */
#include <errno.h>
#include <string.h>
#include "kvmcheck/test.h"
#include "kvmcheck/guest.h"
#include "x86_64/x86_vm.h"
#include "x86_64/hypercall.h"

#define SLOT_A		10
#define SLOT_B		11
#define SLOT_C		12
#define SLOT_SIZE	(2UL << 20)
#define GPA_A		0xc0000000ULL		/* identity-mapped by the library (< 4 GiB) */
#define GPA_B		(GPA_A + SLOT_SIZE)
#define GPA_C		(GPA_B + SLOT_SIZE)
#define GMEM_B_OFFSET	(2UL << 20)		/* slot B starts 2 MiB into its guest_memfd */

#define HALF_PAGES	8
#define NPAGES		(2 * HALF_PAGES)
#define RANGE_GPA	(GPA_B - HALF_PAGES * KC_PAGE_SIZE)	/* 8 pages in A, 8 in B */
#define RANGE_SIZE	(NPAGES * KC_PAGE_SIZE)

#define MAX_EXITS	64	/* per guest phase: hypercalls, printfs, the ucall */

/* What a page holds, by who wrote it and where: three words per page are checked. */
enum tag {
	TAG_ZERO = 0,
	TAG_HOST_SHARED = 1,
	TAG_GUEST_SHARED = 2,
	TAG_GUEST_PRIVATE = 3,
	TAG_HOST_JUNK = 4,
};

static const uint64_t word_offsets[] = { 0, 2048, KC_PAGE_SIZE - 8 };
#define NR_WORDS	(sizeof(word_offsets) / sizeof(word_offsets[0]))

/* Models of the VMM before QEMU's fix, for kc_convert_memory()'s place in it. */
static bool model_first_slot_only;
static bool model_punch_first_slot_only;

static inline uint64_t pattern(uint64_t tag, uint64_t gpa)
{
	return tag ? (tag << 56) ^ (gpa * 0x9e3779b97f4a7c15ULL) ^ 0x5bd1e995ULL : 0;
}

/* ---- guest ---- */

static void guest_fill(uint64_t base, uint64_t npages, uint64_t tag)
{
	for (uint64_t p = 0; p < npages; p++)
		for (uint64_t w = 0; w < NR_WORDS; w++) {
			uint64_t gpa = base + p * KC_PAGE_SIZE + word_offsets[w];

			WRITE_ONCE(*(uint64_t *)gpa, pattern(tag, gpa));
		}
}

static void guest_expect(uint64_t base, uint64_t npages, uint64_t tag, const char *what)
{
	for (uint64_t p = 0; p < npages; p++)
		for (uint64_t w = 0; w < NR_WORDS; w++) {
			uint64_t gpa = base + p * KC_PAGE_SIZE + word_offsets[w];
			uint64_t got = READ_ONCE(*(uint64_t *)gpa);

			GUEST_ASSERT_MSG(got == pattern(tag, gpa),
					 "%s: gpa %#lx (slot %c) holds %#lx, expected %#lx", what, gpa,
					 gpa < GPA_B ? 'A' : gpa < GPA_C ? 'B' : 'C', got,
					 pattern(tag, gpa));
		}
}

static void guest_map(uint64_t base, uint64_t npages, bool to_private)
{
	uint64_t attrs = KVM_MAP_GPA_RANGE_PAGE_SZ_4K |
			 (to_private ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED);
	uint64_t ret = kvm_hc_map_gpa_range(base, npages, attrs);

	GUEST_ASSERT_MSG(ret == 0, "KVM_HC_MAP_GPA_RANGE(%#lx, %lu, %#lx) returned %#lx", base,
			 npages, attrs, ret);
}

static void guest_shared_to_private(uint64_t base, uint64_t npages)
{
	guest_expect(base, npages, TAG_HOST_SHARED, "shared, before any conversion");
	guest_fill(base, npages, TAG_GUEST_SHARED);
	GUEST_SYNC(1);		/* host: the shared backing has the guest's data */

	guest_map(base, npages, true);
	guest_expect(base, npages, TAG_ZERO, "private after conversion (fresh guest_memfd)");
	guest_fill(base, npages, TAG_GUEST_PRIVATE);
	GUEST_SYNC(2);		/* host: private data is not in the shared backing; host scribbles */
	guest_expect(base, npages, TAG_GUEST_PRIVATE, "private, after the host wrote the shared backing");
	GUEST_DONE();
}

static void guest_private_to_shared(uint64_t base, uint64_t npages)
{
	/* The host made the range private before the first run. */
	guest_expect(base, npages, TAG_ZERO, "private at start (fresh guest_memfd)");
	guest_fill(base, npages, TAG_GUEST_PRIVATE);
	GUEST_SYNC(1);		/* host: not visible in the shared backing; host writes it */
	guest_expect(base, npages, TAG_GUEST_PRIVATE, "private, after the host wrote the shared backing");

	guest_map(base, npages, false);
	guest_expect(base, npages, TAG_HOST_SHARED, "shared after conversion");
	guest_fill(base, npages, TAG_GUEST_SHARED);
	GUEST_SYNC(2);		/* host: the shared backing has the guest's data */

	/* Back to private: the old private pages were punched out, so they read as zero. */
	guest_map(base, npages, true);
	guest_expect(base, npages, TAG_ZERO, "private again (punched on the way to shared)");
	GUEST_DONE();
}

static void guest_memory_fault(void)
{
	uint64_t last_b = GPA_C - KC_PAGE_SIZE;

	/* Private page in B: served from guest_memfd B. */
	guest_fill(last_b, 1, TAG_GUEST_PRIVATE);
	guest_expect(last_b, 1, TAG_GUEST_PRIVATE, "last page of B, private");
	GUEST_SYNC(1);
	/* Private page in C, which has no guest_memfd: KVM_EXIT_MEMORY_FAULT until shared. */
	GUEST_SYNC(2, READ_ONCE(*(volatile uint64_t *)GPA_C));
	guest_expect(last_b, 1, TAG_GUEST_PRIVATE, "last page of B, after the fault next door");
	GUEST_DONE();
}

/* ---- host ---- */

static const char *requirements(struct kvm_vm *vm)
{
	int attrs, hc;

	if (!(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD)))
		return "KVM_CAP_GUEST_MEMFD is 0 on a KVM_X86_SW_PROTECTED_VM";
	attrs = vm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES);
	if (!(attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return "KVM_CAP_MEMORY_ATTRIBUTES lacks KVM_MEMORY_ATTRIBUTE_PRIVATE";
	hc = vm_check_cap(vm, KVM_CAP_EXIT_HYPERCALL);
	if (!(hc & (1 << KVM_HC_MAP_GPA_RANGE)))
		return "KVM_CAP_EXIT_HYPERCALL lacks KVM_HC_MAP_GPA_RANGE (kernel before 6.0)";
	return NULL;
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, void *guest_code)
{
	struct vm_shape shape = { .type = KVM_X86_SW_PROTECTED_VM, .irqchip = KC_IRQCHIP_KERNEL };
	int types = kvm_check_cap(KVM_CAP_VM_TYPES);	/* 0 before 6.8 */
	struct kvm_vm *vm;
	const char *why;
	int fd_a, fd_b;

	if (!(types & (1ULL << KVM_X86_SW_PROTECTED_VM)))
		kc_skip("needs KVM_X86_SW_PROTECTED_VM (CONFIG_KVM_SW_PROTECTED_VM); Debian's kernels leave it off - use the matrix's build: kernel (KVM_CAP_VM_TYPES here: %#x)",
			(unsigned int)types);
	vm = vm_create(&shape);
	why = requirements(vm);
	if (why)
		kc_skip("%s", why);
	vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1ULL << KVM_HC_MAP_GPA_RANGE);

	fd_a = vm_create_guest_memfd(vm, SLOT_SIZE, 0);
	fd_b = vm_create_guest_memfd(vm, GMEM_B_OFFSET + SLOT_SIZE, 0);
	vm_mem_add_gmem(vm, SLOT_A, GPA_A, SLOT_SIZE, fd_a, 0);
	vm_mem_add_gmem(vm, SLOT_B, GPA_B, SLOT_SIZE, fd_b, GMEM_B_OFFSET);
	vm_mem_add(vm, SLOT_C, GPA_C, SLOT_SIZE, 0);
	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	return vm;
}

static uint64_t *host_word(struct kvm_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

static void host_fill(struct kvm_vm *vm, uint64_t tag)
{
	for (uint64_t p = 0; p < NPAGES; p++)
		for (uint64_t w = 0; w < NR_WORDS; w++) {
			uint64_t gpa = RANGE_GPA + p * KC_PAGE_SIZE + word_offsets[w];

			*host_word(vm, gpa) = pattern(tag, gpa);
		}
}

/* The shared backing (what the VMM maps) must hold exactly tag's pattern. */
static void host_expect(struct kvm_vm *vm, uint64_t tag, const char *what)
{
	for (uint64_t p = 0; p < NPAGES; p++)
		for (uint64_t w = 0; w < NR_WORDS; w++) {
			uint64_t gpa = RANGE_GPA + p * KC_PAGE_SIZE + word_offsets[w];
			uint64_t got = *host_word(vm, gpa);

			TEST_ASSERT(got == pattern(tag, gpa),
				    "%s: shared backing of gpa %#llx (slot %c) holds %#llx, expected %#llx%s",
				    what, (unsigned long long)gpa, gpa < GPA_B ? 'A' : 'B',
				    (unsigned long long)got, (unsigned long long)pattern(tag, gpa),
				    got == pattern(TAG_GUEST_PRIVATE, gpa) ?
				    " - the guest's private data went to shared memory: this page was never converted" : "");
		}
}

/*
 * The VMM's KVM_HC_MAP_GPA_RANGE handler. The model switches cut the conversion at the end of
 * the slot holding the range's first page, as QEMU did with the first memory region.
 */
static void handle_map_gpa_range(struct kvm_vcpu *vcpu, const struct kc_map_gpa_range *req,
				 uint64_t want_npages, bool want_private)
{
	struct kvm_vm *vm = vcpu->vm;
	bool to_private = req->attrs & KVM_MAP_GPA_RANGE_ENCRYPTED;
	uint64_t size = req->npages * KC_PAGE_SIZE;
	struct kc_memslot *first = vm_memslot_of(vm, req->gpa);
	int r;

	TEST_ASSERT_EQ(req->gpa, RANGE_GPA);
	TEST_ASSERT_EQ(req->npages, want_npages);
	TEST_ASSERT_EQ(req->attrs, KVM_MAP_GPA_RANGE_PAGE_SZ_4K |
		       (want_private ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED));
	TEST_ASSERT(req->flags & KC_EXIT_HYPERCALL_LONG_MODE,
		    "KVM_EXIT_HYPERCALL flags %#llx lack KVM_EXIT_HYPERCALL_LONG_MODE for a 64-bit guest",
		    (unsigned long long)req->flags);
	TEST_ASSERT(first, "KVM_HC_MAP_GPA_RANGE for gpa %#llx outside every memslot",
		    (unsigned long long)req->gpa);

	if (model_first_slot_only && req->gpa + size > first->gpa + first->size)
		size = first->gpa + first->size - req->gpa;
	if (model_punch_first_slot_only && !to_private &&
	    req->gpa + size > first->gpa + first->size) {
		/* Attributes for everything, guest_memfd punched for the first slot only. */
		uint64_t first_part = first->gpa + first->size - req->gpa;

		vm_set_memory_attributes(vm, req->gpa, size, 0);
		r = kc_convert_memory(vm, req->gpa, first_part, false);
	} else {
		r = kc_convert_memory(vm, req->gpa, size, to_private);
	}
	TEST_ASSERT(r == 0, "converting %#llx+%#llx to %s failed: %s",
		    (unsigned long long)req->gpa, (unsigned long long)size,
		    to_private ? "private" : "shared", strerror(-r));
	kc_complete_hypercall(vcpu, 0);
}

/*
 * Run to the next ucall, handling MAP_GPA_RANGE exits on the way; *nr_maps counts them. Each
 * hypercall must ask for what the guest phase asks (expected npages and direction).
 */
static uint64_t run_phase(struct kvm_vcpu *vcpu, struct ucall *uc, int *nr_maps,
			  bool want_private)
{
	for (int n = 0; n < MAX_EXITS; n++) {
		struct kc_map_gpa_range req;
		uint64_t cmd;

		vcpu_run(vcpu);
		if (kc_get_map_gpa_range(vcpu, &req)) {
			handle_map_gpa_range(vcpu, &req, NPAGES, want_private);
			(*nr_maps)++;
			continue;
		}
		cmd = get_ucall(vcpu, uc);
		if (cmd == UCALL_PRINTF) {
			kc_info("guest: %s", uc->buf);
			continue;
		}
		TEST_ASSERT(cmd != UCALL_NONE, "unexpected exit %s",
			    exit_reason_str(vcpu->run->exit_reason));
		return cmd;
	}
	TEST_FAIL("no ucall within %d exits", MAX_EXITS);
}

static void test_shared_to_private_across_slots(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu, guest_shared_to_private);
	struct ucall uc;
	int maps = 0;

	vcpu_args_set(vcpu, 2, RANGE_GPA, (uint64_t)NPAGES);
	host_fill(vm, TAG_HOST_SHARED);

	TEST_ASSERT_EQ(run_phase(vcpu, &uc, &maps, true), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 1);
	TEST_ASSERT_EQ(maps, 0);
	host_expect(vm, TAG_GUEST_SHARED, "shared, written by the guest");

	TEST_ASSERT_EQ(run_phase(vcpu, &uc, &maps, true), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 2);
	TEST_ASSERT_EQ(maps, 1);
	/* The shared copy was discarded at conversion and the guest's private data is elsewhere. */
	host_expect(vm, TAG_ZERO, "after conversion to private");
	host_fill(vm, TAG_HOST_JUNK);

	TEST_ASSERT_EQ(run_phase(vcpu, &uc, &maps, true), UCALL_DONE);
	kvm_vm_free(vm);
}

static void test_private_to_shared_across_slots(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu, guest_private_to_shared);
	struct ucall uc;
	int maps = 0, r;

	vcpu_args_set(vcpu, 2, RANGE_GPA, (uint64_t)NPAGES);
	/* Start private, as a confidential VM's memory does; the handler is not involved. */
	r = kc_convert_memory(vm, RANGE_GPA, RANGE_SIZE, true);
	TEST_ASSERT(r == 0, "initial conversion to private failed: %s", strerror(-r));

	TEST_ASSERT_EQ(run_phase(vcpu, &uc, &maps, false), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 1);
	host_expect(vm, TAG_ZERO, "private, written by the guest");
	host_fill(vm, TAG_HOST_SHARED);

	TEST_ASSERT_EQ(run_phase(vcpu, &uc, &maps, false), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 2);
	TEST_ASSERT_EQ(maps, 1);
	host_expect(vm, TAG_GUEST_SHARED, "shared after conversion, written by the guest");

	TEST_ASSERT_EQ(run_phase(vcpu, &uc, &maps, true), UCALL_DONE);
	TEST_ASSERT_EQ(maps, 2);
	kvm_vm_free(vm);
}

static void test_memory_fault_at_boundary(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu, guest_memory_fault);
	struct kvmcheck_memory_fault *mf = kvm_run_memory_fault(vcpu->run);
	const uint64_t host_val = 0x5ca1ab1e0ddba11ULL;
	struct ucall uc;
	int ret, err;

	/* Straddle B|C: the last page of B and the first of C become private. */
	vm_set_memory_attributes(vm, GPA_C - KC_PAGE_SIZE, 2 * KC_PAGE_SIZE,
				 KVM_MEMORY_ATTRIBUTE_PRIVATE);
	*host_word(vm, GPA_C) = host_val;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 1);

	/* The access to C's first page, twice: nothing changed, so the same exit again. */
	for (int i = 0; i < 2; i++) {
		memset(mf, 0, sizeof(*mf));
		ret = __vcpu_run(vcpu);
		err = errno;
		TEST_ASSERT(ret == -1 && err == EFAULT,
			    "KVM_RUN on a private access to a slot without guest_memfd returned %d (%s), expected -1/EFAULT (try %d)",
			    ret, ret ? strerror(err) : "success", i + 1);
		vcpu_assert_exit(vcpu, KVM_EXIT_MEMORY_FAULT);
		TEST_ASSERT(mf->gpa == GPA_C && mf->size == KC_PAGE_SIZE,
			    "memory fault at gpa %#llx size %#llx, expected %#llx size %#lx (try %d)",
			    (unsigned long long)mf->gpa, (unsigned long long)mf->size,
			    (unsigned long long)GPA_C, KC_PAGE_SIZE, i + 1);
		TEST_ASSERT(mf->flags & KVM_MEMORY_EXIT_FLAG_PRIVATE,
			    "memory fault flags %#llx lack KVM_MEMORY_EXIT_FLAG_PRIVATE (try %d)",
			    (unsigned long long)mf->flags, i + 1);
		if (mf->flags & ~KVM_MEMORY_EXIT_FLAG_PRIVATE)
			kc_info("memory fault flags %#llx: bits unknown to 7.2",
				(unsigned long long)mf->flags);
	}

	/* Resolve it as a VMM does for a page it cannot back privately: make it shared. */
	vm_set_memory_attributes(vm, GPA_C, KC_PAGE_SIZE, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], 2);
	TEST_ASSERT_EQ(uc.args[1], host_val);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
}

static const struct kc_subtest subtests[] = {
	{ "shared_to_private_across_slots", test_shared_to_private_across_slots },
	{ "private_to_shared_across_slots", test_private_to_shared_across_slots },
	{ "memory_fault_at_boundary", test_memory_fault_at_boundary },
	{ 0 },
};

static const struct kc_option options[] = {
	{ "model-first-slot-only", "model QEMU before the fix: convert only the part of the range in its first memslot", &model_first_slot_only },
	{ "model-punch-first-slot-only", "model a VMM that sets attributes for the whole range but punches guest_memfd only in the first memslot", &model_punch_first_slot_only },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "accel/kvm: Fix kvm_convert_memory calls crossing memory regions",
	.fixes = NULL,
	.link = NULL,
	.author = "Ashish Kalra <ashish.kalra@amd.com>",
};

static const struct kc_test test = {
	.name = "x86/private_mem_conversion",
	.summary = "KVM_HC_MAP_GPA_RANGE conversions across two guest_memfd memslots, data checked on both sides, memory-fault exit at a slot boundary; checks kvmcheck's model of QEMU's kvm_convert_memory fix",
	.groups = "x86,seed,runtime",
	.timeout_s = 60,
	.subtest_timeout_s = 20,
	.patch = &patch,
	.min_kernel = "6.8",
	.paths = KC_PATHS("virt/kvm/guest_memfd.c", "virt/kvm/kvm_main.c", "arch/x86/kvm/mmu/",
			 "arch/x86/kvm/x86.c"),
	.subtests = subtests,
	.options = options,
};

KVMCHECK_MAIN(test)
