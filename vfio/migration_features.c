// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO debugfs: /sys/kernel/debug/vfio/<device>/migration/features says what the device's
 * migration support is, in the words of "vfio: Dump migration features under debugfs".
 *
 * The kernel rule (drivers/vfio/debugfs.c, vfio_device_features_read(); ABI text in
 * Documentation/ABI/testing/debugfs-vfio): for a device with migration ops, the file lists one
 * word per line, in this order: "stop-copy" (VFIO_MIGRATION_STOP_COPY), "p2p"
 * (VFIO_MIGRATION_P2P), "pre-copy" (VFIO_MIGRATION_PRE_COPY), each present exactly when the flag
 * is in what VFIO_DEVICE_FEATURE_MIGRATION reports, then "dirty-tracking" exactly when the
 * device has DMA logging ops (VFIO_DEVICE_FEATURE_DMA_LOGGING_START answers a PROBE). A device
 * without migration has no "migration" directory. "migration/state" (older, 6.10) names the
 * state VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE reports.
 *
 * Subtests:
 *  - debugfs_root: with vfio loaded and debugfs mounted, /sys/kernel/debug/vfio exists iff the
 *    kernel is 6.10 or newer and built with CONFIG_VFIO_DEBUGFS (the config is read from
 *    /lib/modules/$(uname -r)/config or /boot; the kvmcheck initramfs keeps Debian's).
 *  - device_dirs: the directories under /sys/kernel/debug/vfio are exactly the VFIO devices
 *    (/sys/class/vfio-dev/vfio*, named by their parent device).
 *  - mtty_features, mtty_state: the kernel's mtty sample (samples/vfio-mdev/mtty.c, migration
 *    with stop-copy, p2p, pre-copy and DMA logging) as the device: an mdev of type mtty-2 is
 *    created, opened through its VFIO group and a type1 container, and the debugfs files are
 *    compared with the ioctls; mtty_state also moves the device RUNNING -> STOP -> RUNNING and
 *    reads the file after each step.
 *
 * Where it runs: Debian's kernels build neither CONFIG_VFIO_DEBUGFS nor the mtty sample, so on
 * qemu:sid debugfs_root passes (config says no, and there is no directory) and the rest skip;
 * on trixie/bookworm (no config file in the package) debugfs_root skips or passes by version.
 * The matrix's build: kernel (scripts/config/kvmcheck.config with CONFIG_VFIO_DEBUGFS=y and
 * CONFIG_SAMPLE_VFIO_MDEV_MTTY=m) is where mtty_features/mtty_state can pass; 7.2's source has
 * the "features" file, and mtty reports all four words ("stop-copy p2p pre-copy
 * dirty-tracking"). An mtty built out of tree would not help on Debian's kernels: without
 * CONFIG_VFIO_DEBUGFS there is no file to compare. Where it was shown to pass and fail: its
 * --meta shown_on (generated from runs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/vfio.h>
#include "kvmcheck/test.h"
#include "kvmcheck/host_kernel.h"

#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY (1 << 2)
#endif
#ifndef VFIO_DEVICE_FEATURE_DMA_LOGGING_START
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_START 6
#endif

#define DEBUGFS		"/sys/kernel/debug"
#define VFIO_DEBUGFS	DEBUGFS "/vfio"
#define DEBUGFS_MAGIC	0x64626720
#define MTTY_TYPES	"/sys/class/mdev_bus/mtty/mdev_supported_types"

static const char *requires(void)
{
	struct statfs sf;

	if (access("/sys/module/vfio", F_OK))
		return "vfio is not loaded (modprobe vfio)";
	if (statfs(DEBUGFS, &sf) || (unsigned long)sf.f_type != DEBUGFS_MAGIC)
		return "debugfs is not mounted at " DEBUGFS;
	return NULL;
}

static void test_debugfs_root(void)
{
	bool present = access(VFIO_DEBUGFS, F_OK) == 0;
	char cfg = kc_kernel_config("CONFIG_VFIO_DEBUGFS");
	int maj, min;
	bool new_enough;

	TEST_ASSERT(kc_kernel_version(&maj, &min), "uname -r does not parse");
	new_enough = maj > 6 || (maj == 6 && min >= 10);
	kc_info("kernel %d.%d, CONFIG_VFIO_DEBUGFS=%c, %s %s", maj, min, cfg ? cfg : '?',
		VFIO_DEBUGFS, present ? "present" : "absent");
	if (!new_enough) {
		TEST_ASSERT(!present, "%s exists on %d.%d, which predates VFIO's debugfs (6.10)",
			    VFIO_DEBUGFS, maj, min);
		return;
	}
	if (cfg == 'y') {
		TEST_ASSERT(present, "CONFIG_VFIO_DEBUGFS=y and vfio is loaded, but %s is absent",
			    VFIO_DEBUGFS);
	} else if (cfg == 'n') {
		TEST_ASSERT(!present, "%s exists although CONFIG_VFIO_DEBUGFS is not set",
			    VFIO_DEBUGFS);
	} else if (!present) {
		kc_skip("no %s and no kernel config to tell whether CONFIG_VFIO_DEBUGFS is off",
			VFIO_DEBUGFS);
	}
}

/* Names of the VFIO devices (the parent device of /sys/class/vfio-dev/vfioN). */
static int vfio_device_names(char names[][64], int max)
{
	DIR *d = opendir("/sys/class/vfio-dev");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max) {
		char path[PATH_MAX], target[PATH_MAX];
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/vfio-dev/%s/device", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		snprintf(names[n++], 64, "%s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
	}
	closedir(d);
	return n;
}

static bool in_list(char names[][64], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return true;
	return false;
}

static void test_device_dirs(void)
{
	char devs[64][64], dirs[64][64];
	int ndev, ndir = 0;
	struct dirent *e;
	DIR *d = opendir(VFIO_DEBUGFS);

	if (!d)
		kc_skip("no %s (kernel before 6.10 or without CONFIG_VFIO_DEBUGFS)", VFIO_DEBUGFS);
	while ((e = readdir(d)) && ndir < 64)
		if (e->d_name[0] != '.')
			snprintf(dirs[ndir++], 64, "%s", e->d_name);
	closedir(d);
	ndev = vfio_device_names(devs, 64);
	if (ndev < 0)
		kc_skip("no /sys/class/vfio-dev to list VFIO devices by");
	kc_info("%d VFIO device(s), %d debugfs dir(s)", ndev, ndir);
	for (int i = 0; i < ndir; i++)
		TEST_ASSERT(in_list(devs, ndev, dirs[i]),
			    "%s/%s matches no VFIO device", VFIO_DEBUGFS, dirs[i]);
	for (int i = 0; i < ndev; i++)
		TEST_ASSERT(in_list(dirs, ndir, devs[i]),
			    "VFIO device %s has no %s/%s", devs[i], VFIO_DEBUGFS, devs[i]);
}

/* ------------------------------------------------------------------ an mtty device */

struct vdev {
	char uuid[40];
	int container, group, fd;
};

static void mdev_remove(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	kc_write_file(path, "1");
}

static void mtty_open(struct vdev *v)
{
	char path[PATH_MAX], target[PATH_MAX], buf[64];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	ssize_t len;
	int err;

	if (access("/sys/class/mdev_bus/mtty", F_OK))
		kc_skip("no VFIO device with migration: the mtty sample module is not in this kernel "
			"(Debian doesn't ship it); use the matrix's build: kernel");
	if (access(VFIO_DEBUGFS, F_OK))
		kc_skip("no %s (kernel before 6.10 or without CONFIG_VFIO_DEBUGFS)", VFIO_DEBUGFS);
	TEST_ASSERT(kc_read_file("/proc/sys/kernel/random/uuid", buf, sizeof(buf)) > 36,
		    "cannot read a uuid");
	snprintf(v->uuid, sizeof(v->uuid), "%.36s", buf);
	snprintf(path, sizeof(path), "%s/mtty-2/create", MTTY_TYPES);
	err = kc_write_file(path, v->uuid);
	TEST_ASSERT(!err, "creating an mtty-2 mdev (%s): %s", path, strerror(-err));

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", v->uuid);
	len = readlink(path, target, sizeof(target) - 1);
	TEST_ASSERT(len > 0, "%s: %s", path, strerror(errno));
	target[len] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(target, '/') + 1);

	v->container = open("/dev/vfio/vfio", O_RDWR);
	if (v->container < 0) {
		mdev_remove(v->uuid);
		kc_skip("no VFIO container (/dev/vfio/vfio: %s): a cdev-only VFIO is not handled",
			strerror(errno));
	}
	TEST_ASSERT_EQ(ioctl(v->container, VFIO_GET_API_VERSION), VFIO_API_VERSION);
	v->group = open(path, O_RDWR);
	TEST_ASSERT(v->group >= 0, "%s: %s", path, strerror(errno));
	TEST_ASSERT_IOCTL(ioctl(v->group, VFIO_GROUP_GET_STATUS, &st), "VFIO_GROUP_GET_STATUS");
	TEST_ASSERT(st.flags & VFIO_GROUP_FLAGS_VIABLE, "group %s is not viable", path);
	TEST_ASSERT_IOCTL(ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container),
			  "VFIO_GROUP_SET_CONTAINER");
	TEST_ASSERT_IOCTL(ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
			  "VFIO_SET_IOMMU(TYPE1v2)");
	v->fd = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->uuid);
	TEST_ASSERT_IOCTL(v->fd, "VFIO_GROUP_GET_DEVICE_FD");
}

static void mtty_close(struct vdev *v)
{
	close(v->fd);
	close(v->group);
	close(v->container);
	mdev_remove(v->uuid);
}

/* VFIO_DEVICE_FEATURE with a u64-sized payload; returns the ioctl's result, errno kept. */
static int feature(int fd, uint32_t flags, uint64_t *data, size_t datasz)
{
	struct {
		struct vfio_device_feature hdr;
		uint64_t data[8];
	} f = { .hdr = { .argsz = sizeof(f.hdr) + datasz, .flags = flags } };
	int ret;

	if (data && datasz)
		memcpy(f.data, data, datasz);
	ret = ioctl(fd, VFIO_DEVICE_FEATURE, &f);
	if (ret == 0 && data && datasz)
		memcpy(data, f.data, datasz);
	return ret;
}

static void test_mtty_features(void)
{
	char path[PATH_MAX], want[256] = "", got[256];
	uint64_t mig = 0;
	bool logging;
	ssize_t n;
	struct vdev v = { 0 };

	mtty_open(&v);
	TEST_ASSERT_IOCTL(feature(v.fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
				  &mig, sizeof(mig)), "VFIO_DEVICE_FEATURE(GET MIGRATION)");
	logging = feature(v.fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			  VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0) == 0;
	kc_info("%s: migration flags %#llx, DMA logging %s", v.uuid, (unsigned long long)mig,
		logging ? "yes" : "no");

	snprintf(path, sizeof(path), "%s/%s/migration", VFIO_DEBUGFS, v.uuid);
	TEST_ASSERT(!access(path, F_OK), "a device with migration has no %s", path);
	snprintf(path, sizeof(path), "%s/%s/migration/features", VFIO_DEBUGFS, v.uuid);
	if (access(path, F_OK)) {
		mtty_close(&v);
		kc_skip("kernel predates \"vfio: Dump migration features under debugfs\" (no %s)",
			path);
	}
	if (mig & VFIO_MIGRATION_STOP_COPY)
		strcat(want, "stop-copy\n");
	if (mig & VFIO_MIGRATION_P2P)
		strcat(want, "p2p\n");
	if (mig & VFIO_MIGRATION_PRE_COPY)
		strcat(want, "pre-copy\n");
	if (logging)
		strcat(want, "dirty-tracking\n");
	n = kc_read_file(path, got, sizeof(got));
	TEST_ASSERT(n >= 0, "%s: %s", path, strerror((int)-n));
	mtty_close(&v);
	for (char *p = want; (p = strchr(p, '\n')); )
		*p = ' ';
	for (char *p = got; (p = strchr(p, '\n')); )
		*p = ' ';
	TEST_ASSERT(!strcmp(want, got), "migration/features reads '%s', the ioctls say '%s'",
		    got, want);
}

static const char *const state_names[] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
	[6] = "PRE_COPY",
	[7] = "PRE_COPY_P2P",
};

static void check_state(struct vdev *v, const char *path, uint32_t expect)
{
	struct vfio_device_feature_mig_state st = { 0 };
	uint64_t buf[1] = { 0 };
	char got[64];
	ssize_t n;

	TEST_ASSERT_IOCTL(feature(v->fd, VFIO_DEVICE_FEATURE_GET |
				  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, buf, sizeof(st)),
			  "VFIO_DEVICE_FEATURE(GET MIG_DEVICE_STATE)");
	memcpy(&st, buf, sizeof(st));
	TEST_ASSERT(st.device_state == expect, "device state %u, expected %u", st.device_state,
		    expect);
	n = kc_read_file(path, got, sizeof(got));
	TEST_ASSERT(n > 0, "%s: %s", path, strerror((int)-n));
	got[strcspn(got, "\n")] = 0;
	TEST_ASSERT(st.device_state < 8 && !strcmp(got, state_names[st.device_state]),
		    "migration/state reads '%s', the ioctl says %u (%s)", got, st.device_state,
		    st.device_state < 8 ? state_names[st.device_state] : "?");
}

static void set_state(struct vdev *v, uint32_t state)
{
	struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
	uint64_t buf[1];

	memcpy(buf, &st, sizeof(st));
	TEST_ASSERT_IOCTL(feature(v->fd, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, buf, sizeof(st)),
			  "VFIO_DEVICE_FEATURE(SET MIG_DEVICE_STATE)");
}

static void test_mtty_state(void)
{
	char path[PATH_MAX];
	struct vdev v = { 0 };

	mtty_open(&v);
	snprintf(path, sizeof(path), "%s/%s/migration/state", VFIO_DEBUGFS, v.uuid);
	TEST_ASSERT(!access(path, F_OK), "a device with migration has no %s", path);
	check_state(&v, path, VFIO_DEVICE_STATE_RUNNING);
	set_state(&v, VFIO_DEVICE_STATE_STOP);
	check_state(&v, path, VFIO_DEVICE_STATE_STOP);
	set_state(&v, VFIO_DEVICE_STATE_RUNNING);
	check_state(&v, path, VFIO_DEVICE_STATE_RUNNING);
	mtty_close(&v);
}

static const struct kc_subtest subtests[] = {
	{ "debugfs_root", test_debugfs_root },
	{ "device_dirs", test_device_dirs },
	{ "mtty_features", test_mtty_features },
	{ "mtty_state", test_mtty_state },
	{ 0 },
};

static const struct kc_patch patch = {
	.subject = "vfio: Dump migration features under debugfs",
	.fixes = NULL,
	.link = NULL,
	.author = "Cédric Le Goater <clg@redhat.com>",
};

static const struct kc_test test = {
	.name = "vfio/migration_features",
	.summary = "debugfs vfio/<dev>/migration/{features,state} agree with the VFIO "
		   "migration ioctls",
	.groups = "vfio,seed",
	.timeout_s = 60,
	.subtest_timeout_s = 20,
	.patch = &patch,
	.min_kernel = NULL,
	.paths = KC_PATHS("drivers/vfio/", "samples/vfio-mdev/mtty.c"),
	.subtests = subtests,
	.requires = requires,
};

KVMCHECK_MAIN(test)
