// SPDX-License-Identifier: GPL-2.0-only
/* SEV ioctls from the host side; see include/x86_64/sev.h. */
#include <errno.h>
#include "x86_64/sev.h"

int __kc_sev_ioctl(int vm_fd, uint32_t id, void *data, uint32_t *fw_error)
{
	struct kvm_sev_cmd cmd = { .id = id, .data = (uint64_t)(uintptr_t)data };
	int ret = ioctl(vm_fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	int err = errno;

	if (fw_error)
		*fw_error = cmd.error;
	errno = err;
	return ret;
}

int __kc_sev_init2(int vm_fd, uint64_t vmsa_features, uint16_t ghcb_version, uint32_t flags,
		   uint32_t *fw_error)
{
	struct kvmcheck_sev_init init = {
		.vmsa_features = vmsa_features, .flags = flags, .ghcb_version = ghcb_version,
	};

	return __kc_sev_ioctl(vm_fd, KVMCHECK_SEV_INIT2, &init, fw_error);
}

int __kc_sev_vmsa_features(uint64_t *val)
{
	*val = 0;
	if (__kvm_has_device_attr(KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES))
		return -1;
	return __kvm_get_device_attr(KVM_X86_GRP_SEV, KVM_X86_SEV_VMSA_FEATURES, val);
}

uint64_t kc_vm_types(void)
{
	int r = kvm_check_cap(KVM_CAP_VM_TYPES);

	return r > 0 ? (uint64_t)(unsigned int)r : 0;
}
