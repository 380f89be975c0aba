# Tests and the exported series (included from the top Makefile).

# The series' own qtests, and the upstream qos-test graph as regression
# suite, both through meson's test runner.
QTESTS_OWN := $(OWN_QTESTS:%=qtest-x86_64/%)
QTESTS_UPSTREAM := qtest-x86_64/qos-test

check: checkpatch check-view check-qtest

# hw-virtio/ and tests-qtest/ show the files the series adds, as the
# patches leave them: they must not differ from what the series produces.
.PHONY: check-view
check-view: $(BUILD)/assembled.stamp
	@rm -rf $(BUILD)/view && mkdir -p $(BUILD)/view
	@$(TOP)/scripts/series-view.sh $(QEMU_TREE) $(BUILD)/view
	@diff -ru $(BUILD)/view/hw-virtio $(TOP)/hw-virtio && \
	 diff -ru $(BUILD)/view/tests-qtest $(TOP)/tests-qtest || \
	 { echo "check-view: hw-virtio/ or tests-qtest/ differ from the series:" \
		"edit the patches (or build/qemu, then make export)"; exit 1; }
	@echo "check-view: hw-virtio/ and tests-qtest/ match the series"

check-qtest: qemu
	@$(TOP)/scripts/run-qtests.sh $(QEMU_BUILD) $(QTESTS_OWN) $(QTESTS_UPSTREAM)

check-own: qemu
	@$(TOP)/scripts/run-qtests.sh $(QEMU_BUILD) $(QTESTS_OWN)

checkpatch: $(BUILD)/assembled.stamp
	@$(TOP)/scripts/checkpatch.sh $(QEMU_TREE)

# The fixes, series A (SUSPEND) and series B (freeze_mode) as mailed,
# signed by the sender (git config user.name/user.email); V=2 for
# "[PATCH v2 ...]".  The subject prefix of a set is in patches/SET/prefix.
V ?= 1
series: $(BUILD)/assembled.stamp
	@$(TOP)/scripts/make-series.sh $(QEMU_TREE) $(SERIES_OUT) $(V)

# Every commit of the series built in build/bisect/{qemu,obj} (a worktree
# of build/qemu and a build tree configured as build/obj, so that ccache
# finds what the main build compiled), with the qtests it adds or
# changes, run by meson's test runner as make check runs them, on an
# Xvfb display for the virgl ones.  FIRST=N starts at the Nth commit.
BISECT := $(BUILD)/bisect
$(BISECT)/qemu: | $(BUILD)/assembled.stamp
	@git -C $(QEMU_TREE) worktree prune
	@git -C $(QEMU_TREE) worktree add -q --detach $@ prep
$(eval $(call configure-tree,$(BISECT)/obj,QEMU_CONFIGURE_FLAGS,,$(BISECT)/qemu))
.PHONY: bisect
bisect: qemu $(BISECT)/obj/configure.flags
	@$(TOP)/scripts/xvfb-run.sh $(BISECT) $(TOP)/scripts/bisect-series.sh \
		$(QEMU_TREE) $(BISECT)/qemu $(BISECT)/obj $(FIRST)

# The SeaBIOS patches (patches/seabios/) for seabios@seabios.org;
# SEABIOS_V=2 for "[PATCH v2]"
SEABIOS_V ?= 1
.PHONY: series-seabios
series-seabios:
	@$(TOP)/scripts/make-series-seabios.sh $(BUILD)/series-seabios $(SEABIOS_V)

# Export commits made by hand in the assembled tree back into patches/,
# hw-virtio/ and tests-qtest/.
.PHONY: export check-own
export:
	@$(TOP)/scripts/export-series.sh $(QEMU_TREE)

# The cost of the freeze_mode handshake (GLib perf mode of the qtest):
# MMIO polls and host time, FREEZE_S3 and UNFREEZE, idle and with
# requests in flight.  Prints numbers; not a test.
.PHONY: bench-freeze
bench-freeze: qemu
	@cd $(QEMU_BUILD) && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
		tests/qtest/virtio-freeze-test --tap -m perf \
		-p /x86_64/virtio-freeze/bench/handshake 2>&1 | \
		sed -n 's/^# \(freeze-bench: .*\)/\1/p'

# The data path with freeze_mode compiled in, against QEMU 10.0.2 as
# released: instructions per virtio-blk read and per virtio-net packet
# under callgrind, for unpatched, freeze_mode off and freeze_mode on (not
# frozen).  Builds the unpatched QEMU in build/bench.  Prints numbers.
BENCH_REQUESTS ?= 1000
.PHONY: bench-datapath
$(BUILD)/bench/qemu: | $(BUILD)/assembled.stamp
	@git -C $(QEMU_TREE) worktree prune
	@git -C $(QEMU_TREE) worktree add -q --detach $@ prep
$(eval $(call configure-tree,$(BUILD)/bench/obj,QEMU_CONFIGURE_FLAGS,,$(BUILD)/bench/qemu))
bench-datapath: qemu deps-bench $(BUILD)/bench/obj/configure.flags
	@$(TOP)/scripts/bench-datapath.sh $(QEMU_BUILD) $(BUILD)/bench/obj $(BENCH_REQUESTS)

# Documentation: checkpatch, the series' rST pages, the virtio spec patch
# against a virtio-spec checkout (CI passes ../shared/virtio-spec).
VIRTIO_SPEC ?= $(TOP)/../shared/virtio-spec
.PHONY: check-docs
check-docs: checkpatch deps-docs
	@$(TOP)/scripts/check-docs.sh $(VIRTIO_SPEC)

# The randomized misbehaving driver, long: STEPS steps of SEED (default: a
# random seed, printed).  make check runs 10000 steps of a random seed.
RANDOM_STEPS ?= 1000000
.PHONY: check-random-long
check-random-long: qemu
	@cd $(QEMU_BUILD) && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
		QTEST_FREEZE_STEPS=$(RANDOM_STEPS) $(if $(SEED),QTEST_FREEZE_SEED=$(SEED)) \
		tests/qtest/virtio-freeze-random-test --tap -k

# The sanitizer tree (build/san, mk/fuzz.mk configures it: clang, ASan,
# UBSan and libFuzzer): the series' qtests and the upstream qos-test graph
# run in it, and any sanitizer report fails the run.  Not part of make
# check (a second full build); one tree serves check-asan and make fuzz.
.PHONY: check-asan
check-asan: $(SAN_BUILD)/configure.flags $(BUILD)/assembled.stamp qemu
	@$(NINJA) -C $(SAN_BUILD) $(NINJA_TARGETS)
	@$(TOP)/scripts/link-firmware.sh $(SAN_BUILD) $(SEABIOS_OUT) $(QEMU_BUILD) >/dev/null
	@ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(TOP)/scripts/run-qtests.sh $(SAN_BUILD) $(QTESTS_OWN) $(QTESTS_UPSTREAM)
