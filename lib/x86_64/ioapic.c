// SPDX-License-Identifier: GPL-2.0-only
/*
 * A userspace I/O APIC for split-irqchip VMs (include/x86_64/ioapic.h).
 *
 * The rules implemented come from the Intel 82093AA I/O APIC datasheet (section 3, "Register
 * Description") and, for the EOI register, from the I/O APIC chapter of the Intel ICH/PCH
 * datasheets (version 0x20). Quoted text is marked as such; everything else paraphrases.
 *
 * Delivery is an MSI (SDM vol. 3A 11.11, "Message Signalled Interrupts") sent with
 * KVM_SIGNAL_MSI. The same messages are installed as MSI routes for GSIs 0..23: with a split
 * irqchip KVM learns from the routes of the first KVM_CAP_SPLIT_IRQCHIP args[0] GSIs which
 * level-triggered vectors belong to the I/O APIC, and only the EOIs of those vectors leave KVM
 * as KVM_EXIT_IOAPIC_EOI (kvm_scan_ioapic_routes() in arch/x86/kvm/irq.c).
 */
#include <stdlib.h>
#include <string.h>
#include "kvmcheck/vm.h"
#include "x86_64/ioapic.h"

#define MSI_ADDR_BASE		0xfee00000ULL
#define MSI_ADDR_DEST_SHIFT	12
#define MSI_ADDR_REDIR_HINT	(1ULL << 3)
#define MSI_ADDR_DEST_LOGICAL	(1ULL << 2)
#define MSI_DATA_DM_SHIFT	8
#define MSI_DATA_LEVEL_ASSERT	(1U << 14)
#define MSI_DATA_TRIGGER_LEVEL	(1U << 15)

/*
 * 82093AA 3.2.4, Mask: "When this bit is 1, the interrupt signal is masked." The datasheet
 * has the table come out of reset with every entry masked.
 */
static void ioapic_reset(struct kc_ioapic *io)
{
	io->id = 0;
	io->regsel = 0;
	io->pin_level = 0;
	for (int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		io->redtbl[pin] = IOAPIC_RTE_MASKED;
}

static bool rte_masked(uint64_t rte)
{
	return rte & IOAPIC_RTE_MASKED;
}

static bool rte_level(uint64_t rte)
{
	return rte & IOAPIC_RTE_LEVEL;
}

static uint8_t rte_vector(uint64_t rte)
{
	return rte & IOAPIC_RTE_VECTOR_MASK;
}

/*
 * 82093AA 3.2.4, Interrupt Input Pin Polarity: "0=High active, 1=Low active". The host drives
 * the wire; whether that wire is asserting its interrupt depends on the entry.
 */
static bool pin_asserted(const struct kc_ioapic *io, unsigned int pin)
{
	bool high = io->pin_level & (1U << pin);

	return io->redtbl[pin] & IOAPIC_RTE_POLARITY_LOW ? !high : high;
}

/*
 * The interrupt message of an entry, in MSI form (SDM 11.11.1 and 11.11.2): destination ID in
 * address bits 19:12, destination mode in bit 2, the redirection hint for lowest priority;
 * vector, delivery mode, level and trigger mode in the data.
 */
static void rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data)
{
	uint32_t dm = (rte & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT;

	*addr = MSI_ADDR_BASE | ((rte >> IOAPIC_RTE_DEST_SHIFT) & 0xff) << MSI_ADDR_DEST_SHIFT;
	if (rte & IOAPIC_RTE_DEST_LOGICAL)
		*addr |= MSI_ADDR_DEST_LOGICAL;
	if (dm == IOAPIC_DM_LOWEST)
		*addr |= MSI_ADDR_REDIR_HINT;
	*data = rte_vector(rte) | dm << MSI_DATA_DM_SHIFT;
	if (rte_level(rte))
		*data |= MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT;
}

/* Tell KVM the current messages of every unmasked pin (see the comment at the top). */
static void ioapic_update_routes(struct kc_ioapic *io)
{
	struct kvm_irq_routing *r = kc_routing_new();

	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t addr;
		uint32_t data;

		if (rte_masked(io->redtbl[pin]))
			continue;
		rte_to_msi(io->redtbl[pin], &addr, &data);
		kc_routing_add_msi(r, pin, addr, data);
	}
	vm_set_gsi_routing(io->vm, r);
	free(r);
}

/*
 * 82093AA 3.2.4, Remote IRR: "This bit is used for level triggered interrupts. Its meaning is
 * undefined for edge triggered interrupts. For level triggered interrupts, this bit is set to
 * 1 when local APIC(s) accept the level interrupt sent by the IOAPIC. The Remote IRR bit is
 * set to 0 when an EOI message with a matching interrupt vector is received from a local
 * APIC." KVM_SIGNAL_MSI returns how many local APICs accepted the message.
 */
static bool ioapic_deliver(struct kc_ioapic *io, unsigned int pin)
{
	uint64_t addr;
	uint32_t data;
	int ret;

	rte_to_msi(io->redtbl[pin], &addr, &data);
	ret = __vm_signal_msi(io->vm, addr, data);
	TEST_ASSERT(ret >= 0, "I/O APIC pin %u: KVM_SIGNAL_MSI(%#llx, %#x) failed: %s", pin,
		    (unsigned long long)addr, data, kc_errno_str());
	if (!ret) {
		io->stats.dropped[pin]++;
		return false;
	}
	io->stats.deliveries[pin]++;
	if (rte_level(io->redtbl[pin]))
		io->redtbl[pin] |= IOAPIC_RTE_REMOTE_IRR;
	return true;
}

/*
 * A level-triggered input is an interrupt for as long as it is asserted: it is sent whenever
 * the pin is asserted, the entry unmasked and no earlier message of it is still in service
 * (remote IRR clear). This is what re-sends a line that is still high after an EOI.
 */
static bool ioapic_service_level(struct kc_ioapic *io, unsigned int pin)
{
	uint64_t rte = io->redtbl[pin];

	if (!rte_level(rte) || rte_masked(rte) || (rte & IOAPIC_RTE_REMOTE_IRR))
		return false;
	if (!pin_asserted(io, pin))
		return false;
	return ioapic_deliver(io, pin);
}

/* An edge-triggered input sends one message per rising edge; an edge while masked is lost. */
static void ioapic_service_edge(struct kc_ioapic *io, unsigned int pin, bool was_asserted)
{
	uint64_t rte = io->redtbl[pin];

	if (rte_level(rte) || rte_masked(rte))
		return;
	if (!was_asserted && pin_asserted(io, pin))
		ioapic_deliver(io, pin);
}

void kc_ioapic_set_irq(struct kc_ioapic *io, unsigned int pin, int level)
{
	bool was;

	TEST_ASSERT(pin < IOAPIC_NR_PINS, "I/O APIC has no pin %u", pin);
	was = pin_asserted(io, pin);
	if (level)
		io->pin_level |= 1U << pin;
	else
		io->pin_level &= ~(1U << pin);
	ioapic_service_edge(io, pin, was);
	ioapic_service_level(io, pin);
}

/*
 * An EOI message clears remote IRR of every level-triggered entry with its vector (the rule
 * quoted above ioapic_deliver(); the version 0x20 EOI register applies the same match to the
 * vector written to it). A line still asserted is then sent again.
 */
void kc_ioapic_eoi(struct kc_ioapic *io, uint8_t vector, enum kc_ioapic_eoi_source src)
{
	bool matched = false;

	io->stats.eois[src]++;
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t *rte = &io->redtbl[pin];

		if (rte_vector(*rte) != vector || !rte_level(*rte) ||
		    !(*rte & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
		matched = true;
		if (ioapic_service_level(io, pin))
			io->stats.redeliveries[pin]++;
	}
	if (matched)
		io->stats.eois_matched[src]++;
}

bool kc_ioapic_remote_irr(const struct kc_ioapic *io, unsigned int pin)
{
	return pin < IOAPIC_NR_PINS && (io->redtbl[pin] & IOAPIC_RTE_REMOTE_IRR);
}

/*
 * 82093AA 3.2.1-3.2.3: ID (bits 27:24 read/write), VER (version in 7:0, "Maximum Redirection
 * Entry" = entries - 1 in 23:16, read only), ARB (arbitration ID in 27:24, read only; it is
 * loaded from the ID, which is all a model without an APIC bus needs).
 */
static uint32_t ioapic_read_indirect(struct kc_ioapic *io, uint32_t reg)
{
	unsigned int pin;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return io->id;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION | (IOAPIC_NR_PINS - 1) << IOAPIC_VER_MAXREDIR_SHIFT;
	}
	if (reg < IOAPIC_REG_REDTBL(0))
		return 0;	/* unimplemented registers read as 0 */
	pin = (reg - IOAPIC_REG_REDTBL(0)) / 2;
	if (pin >= IOAPIC_NR_PINS)
		return 0;
	return reg & 1 ? io->redtbl[pin] >> 32 : (uint32_t)io->redtbl[pin];
}

/* Delivery status and remote IRR are read only: a write keeps the model's values. */
static void ioapic_write_rte_half(struct kc_ioapic *io, unsigned int pin, bool high,
				  uint32_t val)
{
	uint64_t old = io->redtbl[pin], rte;

	if (high)
		rte = (old & 0xffffffffULL) | (uint64_t)val << 32;
	else
		rte = (old & ~0xffffffffULL) | val;
	rte = (rte & ~IOAPIC_RTE_RO_BITS) | (old & IOAPIC_RTE_RO_BITS);
	/* Remote IRR is undefined for edge entries; keep it from lingering on one. */
	if (!rte_level(rte))
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
	io->redtbl[pin] = rte;
	ioapic_update_routes(io);
	/* Unmasking (or turning into level) an asserted line sends it now. */
	ioapic_service_level(io, pin);
}

static void ioapic_write_indirect(struct kc_ioapic *io, uint32_t reg, uint32_t val)
{
	unsigned int pin;

	if (reg == IOAPIC_REG_ID) {
		io->id = val & IOAPIC_ID_MASK;
		return;
	}
	if (reg < IOAPIC_REG_REDTBL(0))
		return;		/* VER, ARB and unimplemented registers are read only */
	pin = (reg - IOAPIC_REG_REDTBL(0)) / 2;
	if (pin < IOAPIC_NR_PINS)
		ioapic_write_rte_half(io, pin, reg & 1, val);
}

/* 82093AA 3.1: IOREGSEL bits 7:0 select the register that IOWIN reads and writes. */
static uint32_t ioapic_mmio_read(struct kc_ioapic *io, uint64_t off)
{
	switch (off) {
	case IOAPIC_REGSEL:
		return io->regsel;
	case IOAPIC_IOWIN:
		return ioapic_read_indirect(io, io->regsel);
	}
	return 0;	/* the EOI register is write only */
}

static void ioapic_mmio_write(struct kc_ioapic *io, uint64_t off, uint32_t val)
{
	switch (off) {
	case IOAPIC_REGSEL:
		io->regsel = val & 0xff;
		break;
	case IOAPIC_IOWIN:
		ioapic_write_indirect(io, io->regsel, val);
		break;
	case IOAPIC_EOI:
		kc_ioapic_eoi(io, val & 0xff, KC_IOAPIC_EOI_REG);
		break;
	}
}

/* Registers are 32 bits wide; narrower accesses see the low bytes, wider ones the rest zero. */
static void ioapic_handle_mmio(struct kc_ioapic *io, struct kvm_run *run)
{
	uint64_t off = run->mmio.phys_addr - io->base;
	uint32_t len = run->mmio.len > 4 ? 4 : run->mmio.len;
	uint32_t val = 0;

	io->stats.mmio_accesses++;
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		ioapic_mmio_write(io, off, val);
		return;
	}
	val = ioapic_mmio_read(io, off);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, &val, len);
}

bool kc_ioapic_handle_exit(struct kc_ioapic *io, struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		if (run->mmio.phys_addr < io->base ||
		    run->mmio.phys_addr >= io->base + IOAPIC_MMIO_SIZE)
			return false;
		ioapic_handle_mmio(io, run);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		kc_ioapic_eoi(io, run->eoi.vector, KC_IOAPIC_EOI_EXIT);
		return true;
	}
	return false;
}

struct kc_ioapic *kc_ioapic_create(struct kvm_vm *vm)
{
	struct kc_ioapic *io = calloc(1, sizeof(*io));

	TEST_ASSERT(io, "out of memory");
	TEST_ASSERT(vm->irqchip == KC_IRQCHIP_SPLIT,
		    "a userspace I/O APIC needs a split irqchip (KC_IRQCHIP_SPLIT)");
	io->vm = vm;
	io->base = IOAPIC_DEFAULT_GPA;
	ioapic_reset(io);
	ioapic_update_routes(io);
	return io;
}

void kc_ioapic_free(struct kc_ioapic *io)
{
	free(io);
}
