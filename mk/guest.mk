# Guest side of freeze_mode: Linux guests doing S3 with virtio-gpu.
# Included from the top Makefile, which defines TOP, QEMU_BUILD and the
# `qemu` target (builds qemu-system-x86_64 and its option ROMs).
# See docs/guest.md.
#
#   make guest-modules    6.1: patched virtio modules (patches/linux/6.1/),
#                         built against Debian's linux-headers
#   make guest-kernel     6.12: build/guest/bzImage-6.12, Debian's
#                         linux-source-6.12 + patches/linux/6.12/ (ccache)
#   make guest-initramfs  build/guest/initramfs-{stock,patched,builtin}.cpio.gz
#   make demo             build/demo/*.png: before/after S3 and a plain
#                         side by side, freeze path and stock path, and what
#                         was seen; the half-size side by sides go to
#                         docs/images/demo-{freeze,stock}-$(DEMO_MACHINE).png
#   make check-e2e        for each kernel of $(E2E_KERNELS): freeze path on
#                         q35 and pc, $(E2E_CYCLES) S3 cycles each; and the
#                         stock path must lose the display; then the same
#                         with virgl: $(E2E_GL_RUNS) (machine:device),
#                         $(E2E_GL_CYCLES) cycles, kernel $(E2E_GL_KERNEL)
#   make bench-s3         S3 round trip: freeze path, stock path, and (6.12,
#                         q35) upstream's No_Soft_Reset alternative
#
# GUEST_QEMU picks the QEMU binary (default: the build tree's).

GUEST_DIR := $(TOP)/scripts/guest
GUEST_BUILD := $(TOP)/build/guest
GUEST_PY := /usr/bin/python3 $(GUEST_DIR)/run-s3.py
# The virgl runs: on an Xvfb display of their own, whose screen they read
GUEST_GL_PY := env -u DISPLAY $(TOP)/scripts/xvfb-run.sh $(GUEST_BUILD) $(GUEST_PY)
GUEST_QEMU ?= $(QEMU_BUILD)/qemu-system-x86_64
# Kernels and S3 cycles of check-e2e (see docs/guest.md, "Time and CI").
E2E_KERNELS ?= 6.1 6.12
E2E_CYCLES ?= 20
E2E_MACHINES ?= q35 pc
BENCH_CYCLES ?= 5
BENCH_MACHINES ?= q35 pc
DEMO_MACHINE ?= q35
DEMO_KERNEL ?= 6.12
# The virgl runs of check-e2e (docs/guest.md, "virgl"): machine:device
# pairs, the kernel and the cycles; E2E_GL_RUNS= drops them.
E2E_GL_RUNS ?= pc:virtio-vga-gl q35:virtio-vga-gl q35:virtio-gpu-gl-pci
E2E_GL_KERNEL ?= 6.12
E2E_GL_CYCLES ?= 3
# The firmware runs of check-e2e (docs/guest.md, "Firmware"), on q35 with
# kernel $(E2E_FW_KERNEL): ovmf and ovmf-stock, the freeze path
# ($(E2E_OVMF_CYCLES) cycles) and the stock path on OVMF ($(E2E_OVMF));
# vga, virtio-gpu-pci beside q35's std VGA, and virtio-vga
# ($(E2E_VGA_CYCLES) cycles each, the project's SeaBIOS); seabios-stock,
# the q35 failure of the seabios package, asserted.  E2E_FW_RUNS= drops
# them.  (The E2E_MACHINES runs use the project's SeaBIOS.)
E2E_FW_RUNS ?= ovmf ovmf-stock vga virtio-vga seabios-stock
E2E_FW_KERNEL ?= 6.12
E2E_OVMF ?= ovmf-smm
E2E_OVMF_CYCLES ?= 20
E2E_VGA_CYCLES ?= 20
GUEST_MODULES_STAMP := $(GUEST_BUILD)/modules/patched/.stamp
GUEST_LINUX_PATCHES_61 := $(TOP)/patches/linux/6.1/series \
	$(wildcard $(TOP)/patches/linux/6.1/*.patch)
GUEST_LINUX_PATCHES_612 := $(TOP)/patches/linux/6.12/series \
	$(wildcard $(TOP)/patches/linux/6.12/*.patch)
GUEST_FETCH_STAMP := $(GUEST_BUILD)/.fetched
GUEST_KERNEL := $(GUEST_BUILD)/bzImage-6.12

.PHONY: guest-fetch guest-modules guest-kernel guest-initramfs demo \
	check-e2e bench-s3

$(GUEST_FETCH_STAMP): $(GUEST_DIR)/fetch-guest.sh $(TOP)/scripts/deps.txt
	@mkdir -p $(GUEST_BUILD)
	@$(GUEST_DIR)/fetch-guest.sh >/dev/null
	@touch $@

guest-fetch:
	@$(GUEST_DIR)/fetch-guest.sh
	@mkdir -p $(GUEST_BUILD) && touch $(GUEST_FETCH_STAMP)

$(GUEST_MODULES_STAMP): $(GUEST_LINUX_PATCHES_61) \
		$(GUEST_DIR)/build-modules.sh $(GUEST_FETCH_STAMP)
	@$(GUEST_DIR)/build-modules.sh -j2
	@touch $@

guest-modules: $(GUEST_MODULES_STAMP)

# build-kernel.sh is incremental (git am onto the unpacked tree, ccache):
# always ask it, it returns in seconds when nothing changed.
$(GUEST_KERNEL): $(GUEST_LINUX_PATCHES_612) $(GUEST_DIR)/build-kernel.sh \
		$(GUEST_DIR)/kernel-6.12.config
	@$(GUEST_DIR)/build-kernel.sh -j2

guest-kernel: $(GUEST_KERNEL)

GUEST_INITRAMFS_DEPS := $(GUEST_DIR)/mkinitramfs.sh $(GUEST_DIR)/init.sh \
	$(GUEST_DIR)/fbdraw.c

$(GUEST_BUILD)/initramfs-stock.cpio.gz: $(GUEST_INITRAMFS_DEPS) \
		$(GUEST_FETCH_STAMP)
	@$(GUEST_DIR)/mkinitramfs.sh stock $@

$(GUEST_BUILD)/initramfs-patched.cpio.gz: $(GUEST_INITRAMFS_DEPS) \
		$(GUEST_FETCH_STAMP) $(GUEST_MODULES_STAMP)
	@$(GUEST_DIR)/mkinitramfs.sh patched $@

$(GUEST_BUILD)/initramfs-builtin.cpio.gz: $(GUEST_INITRAMFS_DEPS)
	@mkdir -p $(GUEST_BUILD)
	@$(GUEST_DIR)/mkinitramfs.sh builtin $@

# What each kernel needs.
GUEST_DEPS_6.1 := $(GUEST_BUILD)/initramfs-stock.cpio.gz \
	$(GUEST_BUILD)/initramfs-patched.cpio.gz
GUEST_DEPS_6.12 := $(GUEST_KERNEL) $(GUEST_BUILD)/initramfs-builtin.cpio.gz
GUEST_DEPS := $(foreach k,$(E2E_KERNELS),$(GUEST_DEPS_$(k)))

guest-initramfs: $(GUEST_BUILD)/initramfs-stock.cpio.gz \
	$(GUEST_BUILD)/initramfs-patched.cpio.gz \
	$(GUEST_BUILD)/initramfs-builtin.cpio.gz

# The stock path of each kernel: 6.1 with Debian's own modules and no
# freeze_mode property; 6.12 with the patched kernel and freeze_mode=off
# (the device does not offer the bit, so the driver takes exactly today's
# path; the unpatched 6.12 kernel, bzImage-6.12-stock from
# `build-kernel.sh --stock`, behaves the same, docs/guest.md).
E2E_STOCK_ARGS_6.1 :=
E2E_STOCK_ARGS_6.12 := --stock-variant patched --stock-freeze-mode off

demo: qemu deps-guest $(GUEST_DEPS_$(DEMO_KERNEL))
	@set -e; for m in e2e stock; do \
		QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode $$m --cycles 1 \
			--kernel $(DEMO_KERNEL) $(E2E_STOCK_ARGS_$(DEMO_KERNEL)) \
			--machine $(DEMO_MACHINE) --out $(TOP)/build/demo; \
	done
	@cp $(TOP)/build/demo/demo-freeze-$(DEMO_MACHINE).png \
		$(TOP)/build/demo/demo-stock-$(DEMO_MACHINE).png $(TOP)/docs/images/

# deps-guest: what the runner itself needs (Pillow, xwininfo), also when
# only the 6.12 kernel runs and nothing fetched the 6.1 guest
check-e2e: qemu deps-guest $(GUEST_DEPS) \
		$(if $(E2E_GL_RUNS),$(GUEST_DEPS_$(E2E_GL_KERNEL))) \
		$(if $(E2E_FW_RUNS),deps-ovmf $(GUEST_DEPS_$(E2E_FW_KERNEL)))
	@set -e; for k in $(E2E_KERNELS); do \
		for m in $(E2E_MACHINES); do \
			QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode e2e --kernel $$k \
				--machine $$m --cycles $(E2E_CYCLES); \
		done; \
		for m in $(E2E_MACHINES); do \
			if [ $$k = 6.12 ]; then sa="$(E2E_STOCK_ARGS_6.12)"; \
			else sa="$(E2E_STOCK_ARGS_6.1)"; fi; \
			QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode stock --kernel $$k \
				--machine $$m $$sa; \
		done; \
	done; \
	for r in $(E2E_GL_RUNS); do \
		gl="--gpu $${r#*:} --machine $${r%%:*} --kernel $(E2E_GL_KERNEL)"; \
		QEMU=$(GUEST_QEMU) $(GUEST_GL_PY) --mode e2e $$gl \
			--cycles $(E2E_GL_CYCLES); \
		QEMU=$(GUEST_QEMU) $(GUEST_GL_PY) --mode stock $$gl \
			$(E2E_STOCK_ARGS_$(E2E_GL_KERNEL)); \
	done; \
	for r in $(E2E_FW_RUNS); do \
		case $$r in \
		ovmf) fw="--mode e2e --firmware $(E2E_OVMF) --cycles $(E2E_OVMF_CYCLES)" ;; \
		ovmf-stock) fw="--mode stock --firmware $(E2E_OVMF) \
			$(E2E_STOCK_ARGS_$(E2E_FW_KERNEL))" ;; \
		vga) fw="--mode e2e --vga --cycles $(E2E_VGA_CYCLES)" ;; \
		virtio-vga) fw="--mode e2e --gpu virtio-vga --cycles $(E2E_VGA_CYCLES)" ;; \
		seabios-stock) fw="--mode firmware-bug --firmware seabios-stock" ;; \
		*) echo "check-e2e: unknown E2E_FW_RUNS entry: $$r"; exit 1 ;; \
		esac; \
		QEMU=$(GUEST_QEMU) $(GUEST_PY) --machine q35 \
			--kernel $(E2E_FW_KERNEL) $$fw; \
	done

bench-s3: qemu deps-guest $(GUEST_DEPS)
	@for k in $(E2E_KERNELS); do \
		for m in $(BENCH_MACHINES); do \
			if [ $$k = 6.12 ]; then sa="$(E2E_STOCK_ARGS_6.12)"; \
			else sa="$(E2E_STOCK_ARGS_6.1)"; fi; \
			QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode bench --kernel $$k \
				--machine $$m --cycles $(BENCH_CYCLES) $$sa || exit 1; \
		done; \
	done

# The long guest run (issue: hardening): 100 S3 cycles per machine and kernel.
.PHONY: check-e2e-long
check-e2e-long:
	@$(MAKE) --no-print-directory check-e2e E2E_CYCLES=100

# ---------------------------------------------------------------- desktop VM
# The 6.12 desktop-VM guest (run-s3.py --desktop, docs/guest.md, "The
# desktop VM"): virtio-gpu, blk, net, rng, tablet, console and balloon,
# every device checked after every S3 cycle, the path each took asserted.
# Runs are machine:scenario pairs: E2E_DESKTOP_RUNS with E2E_DESKTOP_CYCLES
# cycles, then the failure paths E2E_FAILPATH_RUNS with E2E_FAILPATH_CYCLES.
# Scenarios: desktop (S3), resize (block_resize during each sleep), suspend
# (VIRTIO_F_SUSPEND behind root ports with No_Soft_Reset), s2idle.
E2E_DESKTOP_RUNS ?= q35:desktop pc:desktop
E2E_FAILPATH_RUNS ?= q35:resize q35:suspend pc:s2idle
E2E_DESKTOP_CYCLES ?= 20
E2E_FAILPATH_CYCLES ?= 3
GUEST_DESKTOP_PY := $(GUEST_PY) --kernel 6.12 --desktop

.PHONY: check-e2e-desktop
check-e2e-desktop: qemu deps-guest $(GUEST_DEPS_6.12)
	@set -e; for r in $(E2E_DESKTOP_RUNS:%=%:$(E2E_DESKTOP_CYCLES)) \
			$(E2E_FAILPATH_RUNS:%=%:$(E2E_FAILPATH_CYCLES)); do \
		m=$${r%%:*} r=$${r#*:}; \
		case $${r%:*} in desktop) a= ;; resize) a=--resize ;; \
		suspend) a="--path suspend" ;; s2idle) a="--sleep s2idle" ;; \
		*) echo "check-e2e-desktop: unknown scenario in $$m:$$r"; exit 1 ;; \
		esac; \
		QEMU=$(GUEST_QEMU) $(GUEST_DESKTOP_PY) --machine $$m $$a \
			--cycles $${r#*:}; \
	done

# check-e2e runs the desktop VM first: a prerequisite, so that this block
# stays apart from check-e2e's own recipe.
check-e2e: check-e2e-desktop

# The freeze path when the device cannot stop or breaks its promise while
# the guest sleeps (run-s3.py --mode faults, docs/guest.md "Failure
# paths"): machine:fault pairs on the 6.12 guest, machine:fault:6.1 on
# the 6.1 guest (lost and refuse-gpu: it keeps virtio-gpu alone).  lost:
# the host resets virtio-gpu; gone: the PIIX4 hot-plug controller ejects a frozen
# virtio-rng; stall: virtio-net's back-end stops taking packets,
# FREEZE_S3 never completes; stall-blk: the same with a virtio-blk read
# held by a throttle; refuse: a stray write corrupts virtio-rng's
# available ring, QEMU refuses FREEZE_S3; refuse-gpu: the same for
# virtio-gpu, which has no .restore: the guest resets it and probes it
# again; unkept: virtio-gpu has SUSPEND without No_Soft_Reset, the guest
# resets it and probes it again.  The 6.1 runs come with 6.1 in E2E_KERNELS.
E2E_FAULT_RUNS ?= q35:lost pc:lost pc:gone q35:stall q35:stall-blk q35:refuse pc:refuse \
	q35:unkept q35:refuse-gpu $(if $(filter 6.1,$(E2E_KERNELS)),q35:lost:6.1 q35:refuse-gpu:6.1)

.PHONY: check-e2e-faults
check-e2e-faults: qemu deps-guest $(GUEST_DEPS_6.12) \
		$(if $(filter %:6.1,$(E2E_FAULT_RUNS)),$(GUEST_DEPS_6.1))
	@set -e; for r in $(E2E_FAULT_RUNS); do \
		f=$${r#*:}; k=$${f#*:}; [ "$$k" != "$$f" ] || k=6.12; \
		QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode faults --kernel $$k \
			--machine $${r%%:*} --fault $${f%%:*}; \
	done

check-e2e: check-e2e-faults

# VIRTIO_F_SUSPEND on virtio-mmio: the 6.12 guest on microvm, virtio-gpu-
# device with suspend=on, suspend to idle (microvm has no S3), woken
# through ttyS1; then the stock path (suspend off) must lose the display.
E2E_MICROVM_CYCLES ?= 10

.PHONY: check-e2e-microvm
check-e2e-microvm: qemu deps-guest $(GUEST_DEPS_6.12)
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode e2e --kernel 6.12 --machine microvm \
		--cycles $(E2E_MICROVM_CYCLES)
	@QEMU=$(GUEST_QEMU) $(GUEST_PY) --mode stock --kernel 6.12 --machine microvm \
		--stock-variant patched

check-e2e: check-e2e-microvm

# The 6.1 replacement modules refuse to load beside a stock virtio_ring
# (patches/linux/6.1 patch 0004); run by check-e2e when it runs 6.1.
.PHONY: check-mixed-modules
check-mixed-modules: qemu deps-guest $(GUEST_DEPS_6.1)
	@QEMU=$(GUEST_QEMU) $(GUEST_DIR)/check-mixed-modules.sh

check-e2e: $(if $(filter 6.1,$(E2E_KERNELS)),check-mixed-modules)

# The desktop VM's resume of devices: freeze_mode, stock (every device
# reset) and, on q35, upstream's No_Soft_Reset alternative; part of
# bench-s3.
.PHONY: bench-s3-desktop
bench-s3-desktop: qemu deps-guest $(GUEST_DEPS_6.12)
	@set -e; for m in $(BENCH_MACHINES); do \
		QEMU=$(GUEST_QEMU) $(GUEST_DESKTOP_PY) --mode bench --machine $$m \
			--cycles $(BENCH_CYCLES) $(E2E_STOCK_ARGS_6.12); \
	done

bench-s3: bench-s3-desktop
