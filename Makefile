# SPDX-License-Identifier: GPL-2.0-only
#
# kvmcheck: build the VMM library, the runner and one static binary per test.
#   make                      x86_64 tests into build/x86_64
#   make ARCH=riscv64 CROSS_COMPILE=riscv64-linux-gnu-
#   make O=/tmp/out           objects and binaries elsewhere
#   make run_tests            run the suite (host when /dev/kvm is usable, else QEMU)
#   make check                the project's own tests, then the suite
#   make bench                benchmarks, one name=value per line

ARCH ?= $(shell uname -m)
ifeq ($(ARCH),amd64)
override ARCH := x86_64
endif
ifneq ($(filter-out x86_64 riscv64,$(ARCH)),)
$(error ARCH=$(ARCH) is not supported: use x86_64 or riscv64)
endif

CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)gcc

# A fresh machine has no cross compiler: say which Debian packages bring it, instead of make's
# 'Error 127' on the first object. The static link also needs the cross libc's libc.a.
CROSS_PKGS_riscv64 := gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
ifneq ($(CROSS_COMPILE),)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
ifeq ($(shell command -v $(CC) 2>/dev/null),)
$(error $(CC) not found: apt-get install $(or $(CROSS_PKGS_$(ARCH)),a $(ARCH) cross compiler))
endif
endif
endif
O ?= build/$(ARCH)
# Absolute, so the dependency files of a build made with O=/abs/path and one made with a relative
# O name the same targets (a header change must rebuild every object that includes it).
override O := $(abspath $(O))

# Messages are cut to fit their buffers on purpose (a TAP line is one line), hence
# -Wno-format-truncation.
# Guest code lives in the same static image as the host code and is copied into guest memory,
# so nothing may depend on a stack canary in TLS, PIE relocation, or a red zone below RSP
# (an exception frame is pushed right there).
CFLAGS_COMMON := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	-fno-stack-protector -fno-pie -fno-omit-frame-pointer -fno-strict-aliasing \
	-fno-builtin-printf -Iinclude -Iinclude/$(ARCH) \
	-Wno-format-truncation
CFLAGS_x86_64 := -mno-red-zone -fcf-protection=none
CFLAGS_riscv64 := -mcmodel=medany
CFLAGS ?=
ALL_CFLAGS := $(CFLAGS_COMMON) $(CFLAGS_$(ARCH)) $(CFLAGS)
LDFLAGS ?=
STATIC ?= 1
ALL_LDFLAGS := $(if $(filter 1,$(STATIC)),-static) -no-pie $(LDFLAGS)

TEST_DIRS_x86_64 := common x86 vhost vfio
TEST_DIRS_riscv64 := common riscv vhost vfio
TEST_DIRS := $(TEST_DIRS_$(ARCH))

LIB_SRCS := $(wildcard lib/*.c) $(wildcard lib/$(ARCH)/*.c) $(wildcard lib/$(ARCH)/*.S)
LIB_OBJS := $(patsubst %,$(O)/obj/%.o,$(basename $(LIB_SRCS))) $(O)/obj/gen/shown_on.o
RUNNER_SRCS := $(wildcard runner/*.c)
RUNNER_OBJS := $(patsubst %,$(O)/obj/%.o,$(basename $(RUNNER_SRCS)))
TEST_SRCS := $(foreach d,$(TEST_DIRS),$(wildcard $(d)/*.c))
TESTS := $(basename $(TEST_SRCS))
TEST_BINS := $(addprefix $(O)/,$(TESTS))
BENCH_SRCS := $(wildcard bench/*_$(ARCH).c) $(filter-out $(wildcard bench/*_x86_64.c bench/*_riscv64.c),$(wildcard bench/*.c))
BENCH_BINS := $(addprefix $(O)/,$(basename $(BENCH_SRCS)))

.PHONY: all lib tests runner bench_bins run_tests check unit faults lint bench matrix review clean cppcheck sanitize
.SECONDARY:

all: $(O)/kvmcheck-run $(TEST_BINS) $(BENCH_BINS) $(O)/tests.list

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @printf '  %-6s %s\n'
endif

# Every object also depends on this Makefile: its flags are part of what an object is, and a
# build made before a change of how dependency files name their targets is rebuilt once.
$(O)/obj/%.o: %.c Makefile
	$(say) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(O)/obj/%.o: %.S Makefile
	$(say) AS $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Each test's --meta "shown_on" comes from runs (meta/shown-on.txt, written by make shown-on),
# never from its source.
$(O)/gen/shown_on.c: meta/shown-on.txt scripts/shown-on-c.awk
	@mkdir -p $(dir $@)
	$(Q)awk -f scripts/shown-on-c.awk $< > $@.tmp && mv $@.tmp $@

$(O)/obj/gen/shown_on.o: $(O)/gen/shown_on.c
	$(say) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/libkvmcheck.a: $(LIB_OBJS)
	$(say) AR $@
	@rm -f $@
	$(Q)$(CROSS_COMPILE)ar rcs $@ $^

$(O)/kvmcheck-run: $(RUNNER_OBJS)
	$(say) LD $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^

$(O)/%: $(O)/obj/%.o $(O)/libkvmcheck.a
	$(say) LD $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(O)/libkvmcheck.a -lpthread

$(O)/tests.list: $(TEST_SRCS) Makefile
	@mkdir -p $(O)
	@printf '%s\n' $(TESTS) > $@

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

run_tests: all
	./run_tests.sh $(RUN_ARGS)

check: all
	./tests/run_all.sh

unit: $(O)/kvmcheck-run
	KVMCHECK_BUILD=$(O) python3 tests/unit_main.py

# The fault-injection suite: every way a verdict path was seen to lie, reproduced (tests/faults).
faults: all
	KVMCHECK_BUILD=$(O) python3 tests/faults_main.py

# shellcheck, pyflakes and cppcheck, one verdict per file.
lint:
	./tests/lint.sh

bench: all
	./bench/run_bench.sh $(BENCH_ARGS)

# KERNELS reaches the matrix as words of the environment (make exports a command-line variable),
# never as shell text: a kernel line is a path a user typed. O and ARCH name the build it runs.
matrix: export KVMCHECK_MATRIX_BUILD := $(ARCH)=$(O)
matrix: all
	set -f; ./scripts/matrix.sh --build-dir "$$KVMCHECK_MATRIX_BUILD" $${KERNELS-}

CPPCHECK_DEFS_x86_64 := -D__x86_64__
CPPCHECK_DEFS_riscv64 := -D__riscv -D__riscv_xlen=64
# make review PATCHES=FILE|DIR [BASE=debian|TREE|TREE@REF] [BASE_SERIES=FILE|DIR]: what a series
# does to the verdicts (BASE_SERIES: patches applied to BASE for both kernels first). PATCHES,
# BASE, BASE_SERIES and REVIEW_OUT reach review.sh through the environment (make exports what
# the command line sets), quoted by the shell as data: a file name is never shell text.
review: all
	@test -n "$$PATCHES" || { echo "make review: PATCHES=FILE (an mbox, a format-patch file or directory, a digest)" >&2; exit 2; }
	./scripts/review.sh $(if $(BASE),--base "$$BASE") $(if $(BASE_SERIES),--base-series "$$BASE_SERIES") \
		$(if $(REVIEW_OUT),--out "$$REVIEW_OUT") \
		$(if $(filter x86_64,$(ARCH)),--build-dir "$(O)",--riscv-build-dir "$(O)") -- "$$PATCHES"

# make mutants [MUTANTS="GLOB ..."] [BASE=debian|TREE] [MUTANTS_OUT=DIR] [DEBUG=1]: each kernel
# mutant of mutants/ built on the cached base kernel, booted under QEMU, and the tests that claim
# its rule run on it (scripts/kvmcheck/mutants.py). MUTANTS, BASE and MUTANTS_OUT reach it through
# the environment, quoted as data.
.PHONY: mutants
ifneq ($(filter mutants,$(MAKECMDGOALS)),)
ifneq ($(ARCH),x86_64)
$(error make mutants: ARCH=x86_64 only (the mutants patch x86 KVM))
endif
endif
mutants: all
	PYTHONPATH=scripts python3 -m kvmcheck.mutants --build-dir "$(O)" \
		$(if $(MUTANTS_OUT),--out "$$MUTANTS_OUT") $(if $(filter 1,$(DEBUG)),--debug) \
		$${MUTANTS:+--select "$$MUTANTS"}

# make shown-on MATRIX_RUNS="results/matrix.json ..." MUTANT_RUNS="results/mutants/mutants.json ...":
# meta/shown-on.txt, each test's --meta "shown_on", written from those runs (the names reach
# scripts/kvmcheck/shown_on.py through the environment, as data).
.PHONY: shown-on
shown-on:
	PYTHONPATH=scripts python3 -m kvmcheck.shown_on $${MATRIX_RUNS:+--matrix "$$MATRIX_RUNS"} \
		$${MUTANT_RUNS:+--mutants "$$MUTANT_RUNS"}

# make install [INSTALL_PATH=DIR] [KSELFTEST_DIR=~/linux/tools/testing/selftests]: the build as a
# kselftest install tree (run_kselftest.sh, kselftest-list.txt, one collection per test
# directory with its settings), run by the kernel's own kselftest runner: from KSELFTEST_DIR, else
# from Debian's linux-source package (cached). make gen_tar adds
# INSTALL_PATH/kselftest-packages/kselftest.tar$(FORMAT), as the kernel's gen_tar does.
INSTALL_PATH ?= $(O).kselftest_install
FORMAT ?= .gz
.PHONY: install gen_tar
install gen_tar: all
	PYTHONPATH=scripts python3 -m kvmcheck.kselftest --build-dir "$(O)" \
		--install-path "$$INSTALL_PATH" $(if $(KSELFTEST_DIR),--runner-dir "$$KSELFTEST_DIR") \
		$(if $(filter gen_tar,$@),--tar "$$INSTALL_PATH/kselftest-packages/kselftest.tar$$FORMAT")
install gen_tar: export INSTALL_PATH := $(INSTALL_PATH)
install gen_tar: export FORMAT := $(FORMAT)

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem $(CPPCHECK_DEFS_$(ARCH)) \
		-Iinclude -Iinclude/$(ARCH) \
		lib runner $(TEST_DIRS) bench scripts/upstream-wrap.c

# The sanitizer builds. The runner never runs as guest code: ASan and UBSan, dynamic (the
# sanitizers' runtimes need it). The library and the tests run in the guest too, where no
# runtime exists: UBSan in trap mode (a ud2/ebreak at the undefined behaviour, no runtime),
# static as usual, into build/ubsan-$(ARCH). make check runs both.
sanitize:
	$(MAKE) O=build/sanitize-$(ARCH) \
		CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" STATIC=0 \
		$(abspath build/sanitize-$(ARCH))/kvmcheck-run
	$(MAKE) O=build/ubsan-$(ARCH) \
		CFLAGS="-fsanitize=undefined -fsanitize-undefined-trap-on-error"

clean:
	rm -rf build

# Code that may run as guest code (the library and the tests) uses general registers only:
# some KVM implementations (kvm_pvm, measured on this project's machines) cannot run guest SSE
# instructions and stop with KVM_INTERNAL_ERROR_EMULATION, and the exception stubs need not
# save FPU state. The runner and the benchmarks' host code are not affected.
# -mgeneral-regs-only exists on x86 only. riscv64 needs no counterpart: gcc emits F/D
# instructions only for float/double code (guest code has none) and never auto-vectorizes to V
# for Debian's rv64gc default, so the trap entry need not save FP or vector state.
GUEST_CFLAGS_x86_64 := -mgeneral-regs-only
GUEST_CFLAGS_riscv64 :=
$(O)/obj/lib/%.o: ALL_CFLAGS += $(GUEST_CFLAGS_$(ARCH))
$(foreach d,$(TEST_DIRS) bench,$(eval $$(O)/obj/$(d)/%.o: ALL_CFLAGS += $$(GUEST_CFLAGS_$(ARCH))))

# The compiler must not turn these loops back into calls to themselves.
$(O)/obj/lib/guest_string.o: ALL_CFLAGS += -fno-builtin -fno-tree-loop-distribute-patterns
