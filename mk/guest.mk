# Guest side of freeze_mode: a Debian 6.1 guest doing S3 with virtio-gpu.
# Included from the top Makefile, which defines TOP, QEMU_BUILD and the
# `qemu` target (builds qemu-system-x86_64 and its option ROMs).
# See docs/guest.md.
#
#   make guest-modules    patched virtio modules (patches/linux/series),
#                         built against Debian's linux-headers
#   make guest-initramfs  build/guest/initramfs-{stock,patched}.cpio.gz
#   make demo             build/demo/*.png: before/after S3 and side by side,
#                         freeze path and stock path, and what was seen
#   make check-e2e        freeze path, q35 and pc, $(E2E_CYCLES) S3 cycles
#                         each; and the stock path must lose the display
#   make bench-s3         S3 round trip, freeze path vs stock path

GUEST_DIR := $(TOP)/scripts/guest
GUEST_BUILD := $(TOP)/build/guest
GUEST_PY := /usr/bin/python3 $(GUEST_DIR)/run-s3.py
GUEST_QEMU ?= $(QEMU_BUILD)/qemu-system-x86_64
E2E_CYCLES ?= 20
BENCH_CYCLES ?= 5
DEMO_MACHINE ?= q35
GUEST_MODULES_STAMP := $(GUEST_BUILD)/modules/patched/.stamp
GUEST_LINUX_PATCHES := $(TOP)/patches/linux/series \
	$(wildcard $(TOP)/patches/linux/*.patch)
GUEST_FETCH_STAMP := $(GUEST_BUILD)/.fetched

.PHONY: guest-fetch guest-modules guest-initramfs demo check-e2e bench-s3

$(GUEST_FETCH_STAMP): $(GUEST_DIR)/fetch-guest.sh
	@mkdir -p $(GUEST_BUILD)
	@$(GUEST_DIR)/fetch-guest.sh >/dev/null
	@touch $@

guest-fetch:
	@$(GUEST_DIR)/fetch-guest.sh
	@mkdir -p $(GUEST_BUILD) && touch $(GUEST_FETCH_STAMP)

$(GUEST_MODULES_STAMP): $(GUEST_LINUX_PATCHES) $(GUEST_DIR)/build-modules.sh \
		$(GUEST_FETCH_STAMP)
	@$(GUEST_DIR)/build-modules.sh -j2
	@touch $@

guest-modules: $(GUEST_MODULES_STAMP)

GUEST_INITRAMFS_DEPS := $(GUEST_DIR)/mkinitramfs.sh $(GUEST_DIR)/init.sh \
	$(GUEST_DIR)/fbdraw.c $(GUEST_FETCH_STAMP)

$(GUEST_BUILD)/initramfs-stock.cpio.gz: $(GUEST_INITRAMFS_DEPS)
	@$(GUEST_DIR)/mkinitramfs.sh stock $@

$(GUEST_BUILD)/initramfs-patched.cpio.gz: $(GUEST_INITRAMFS_DEPS) \
		$(GUEST_MODULES_STAMP)
	@$(GUEST_DIR)/mkinitramfs.sh patched $@

guest-initramfs: $(GUEST_BUILD)/initramfs-stock.cpio.gz \
	$(GUEST_BUILD)/initramfs-patched.cpio.gz

demo: qemu guest-initramfs
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode demo --path both \
		--machine $(DEMO_MACHINE) --out $(TOP)/build/demo

check-e2e: qemu guest-initramfs
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode e2e --machine q35 --cycles $(E2E_CYCLES)
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode e2e --machine pc --cycles $(E2E_CYCLES)
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode stock --machine q35
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode stock --machine pc

bench-s3: qemu guest-initramfs
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode bench --machine q35 \
		--cycles $(BENCH_CYCLES)

# The long guest run (issue: hardening): 100 S3 cycles on q35 and pc.
.PHONY: check-e2e-long
check-e2e-long:
	@$(MAKE) --no-print-directory check-e2e E2E_CYCLES=100
