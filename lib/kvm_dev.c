// SPDX-License-Identifier: GPL-2.0-only
/* /dev/kvm: opened once per process, and the reason it cannot be used, in words a user can act on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "kvmcheck/vm.h"

static int kvm_fd = -1;
static char unavailable[256];

static int open_kvm(void)
{
	int fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(unavailable, sizeof(unavailable),
				 "no %s: this kernel has no KVM (module not loaded, or the machine is itself a guest without nested virtualisation)",
				 KVM_DEV_PATH);
		else
			snprintf(unavailable, sizeof(unavailable),
				 "cannot open %s: %s (run as root or join the kvm group)",
				 KVM_DEV_PATH, strerror(errno));
		return -1;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(unavailable, sizeof(unavailable), "%s has KVM API version %d, need %d",
			 KVM_DEV_PATH, ioctl(fd, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

const char *kvm_unavailable_reason(void)
{
	if (kvm_fd < 0 && !unavailable[0])
		kvm_fd = open_kvm();
	return kvm_fd < 0 ? unavailable : NULL;
}

int kvm_dev_fd(void)
{
	const char *why = kvm_unavailable_reason();

	TEST_ASSERT(!why, "%s", why);
	return kvm_fd;
}

int kvm_check_cap(long cap)
{
	int ret = ioctl(kvm_dev_fd(), KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

int __kvm_has_device_attr(uint32_t group, uint64_t attr)
{
	struct kvm_device_attr da = { .group = group, .attr = attr };

	return ioctl(kvm_dev_fd(), KVM_HAS_DEVICE_ATTR, &da);
}

int __kvm_get_device_attr(uint32_t group, uint64_t attr, void *val)
{
	struct kvm_device_attr da = {
		.group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val,
	};

	return ioctl(kvm_dev_fd(), KVM_GET_DEVICE_ATTR, &da);
}
