# Coverage-guided fuzzing of freeze_mode (included from the top Makefile):
# QEMU's own generic-fuzz target, libFuzzer, ASan and UBSan, clang from
# Debian, on the generic-fuzz configs the series adds.
#
#   make fuzz                  FUZZ_TIME seconds (default 1800) of wall time
#                              over FUZZ_CONFIGS, FUZZ_JOBS at a time
#   make fuzz-run-CONFIG       one config, for FUZZ_TIME seconds (no build)
#   make fuzz-build            only build build/san/qemu-fuzz-x86_64
#   make fuzz-replay FUZZ_CONFIG=virtio-blk-freeze FUZZ_INPUT=crash-...
#                              run one input again, with the qtest log
#
# Inputs libFuzzer keeps go to build/fuzz-out/CONFIG/corpus and a second
# run goes on from them.
#
# One sanitizer tree, build/san, serves both this and make check-asan
# (mk/check.mk): the flags of the main tree, built with clang, ASan, UBSan
# and libFuzzer's instrumentation.  It builds qemu-system-x86_64 and the
# qtests beside qemu-fuzz-x86_64 from the same objects, so hardening
# costs one extra build of QEMU, not two.  The x86 option ROMs need
# gcc's -m16: the tree links the main tree's (scripts/link-firmware.sh).

FUZZ_BUILD := $(SAN_BUILD)
FUZZ_OUT ?= $(BUILD)/fuzz-out
FUZZ_TIME ?= 1800
FUZZ_JOBS ?= 2
FUZZ_CONFIGS ?= virtio-blk-freeze virtio-blk-freeze-throttled virtio-net-freeze virtio-rng-freeze virtio-gpu-freeze
SAN_CONFIGURE_FLAGS := $(QEMU_CONFIGURE_FLAGS) \
	--cc=clang --cxx=clang++ --objcc=clang \
	--enable-fuzzing --enable-asan --enable-ubsan

$(eval $(call configure-tree,$(SAN_BUILD),SAN_CONFIGURE_FLAGS))
$(SAN_BUILD)/configure.flags: | deps-fuzz

FUZZ_RUNS := $(FUZZ_CONFIGS:%=fuzz-run-%)
.PHONY: fuzz fuzz-build fuzz-replay $(FUZZ_RUNS)
fuzz-build: $(FUZZ_BUILD)/configure.flags $(BUILD)/assembled.stamp qemu
	@$(NINJA) -C $(FUZZ_BUILD) qemu-fuzz-x86_64
	@$(TOP)/scripts/link-firmware.sh $(FUZZ_BUILD) $(SEABIOS_OUT) $(QEMU_BUILD) >/dev/null

# Each config gets an equal share of FUZZ_TIME (10 s at least), FUZZ_JOBS
# of them at a time: a make -j of fuzz-run-CONFIG targets, -k so that
# every config runs and reports, and any finding fails make fuzz.
fuzz: fuzz-build
	@n=$(words $(FUZZ_CONFIGS)); [ $$n -gt 0 ] || { echo "fuzz: no config"; exit 1; }; \
	per=$$(( $(FUZZ_TIME) / (($$n + $(FUZZ_JOBS) - 1) / $(FUZZ_JOBS)) )); \
	[ $$per -ge 10 ] || per=10; \
	echo "fuzz: $(FUZZ_CONFIGS): $$per s each, $(FUZZ_JOBS) at a time"; \
	$(MAKE) --no-print-directory -k -Otarget -j$(FUZZ_JOBS) \
		FUZZ_TIME=$$per $(FUZZ_RUNS)

$(FUZZ_RUNS): fuzz-run-%:
	@$(TOP)/scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_OUT) $(FUZZ_TIME) $*

fuzz-replay: fuzz-build
	@test -n "$(FUZZ_CONFIG)" -a -n "$(FUZZ_INPUT)" || \
		{ echo "usage: make fuzz-replay FUZZ_CONFIG=name FUZZ_INPUT=file"; exit 2; }
	@QTEST_LOG=1 FUZZ_SERIALIZE_QTEST=1 $(FUZZ_BUILD)/qemu-fuzz-x86_64 \
		--fuzz-target=generic-fuzz-$(FUZZ_CONFIG) $(abspath $(FUZZ_INPUT))
