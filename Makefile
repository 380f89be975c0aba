# freeze_mode for QEMU: build, test and export the patch series.
#
#   make             fetch QEMU 10.0.2, assemble the series, build
#                    qemu-system-x86_64 and the qtests
#   make check       build if needed, then checkpatch, the series' qtests
#                    and the upstream qos-test graph
#   make series      the upstream-format series in build/series/
#   make checkpatch  scripts/checkpatch.pl on every patch of the series
#   make clean       remove the QEMU build tree (keeps the assembled tree)
#   make distclean   remove everything that is not in git
#
# QEMU_TARBALL=/path/qemu-10.0.2.tar.xz or QEMU_SRC=/path/qemu-10.0.2 use
# a tarball or source tree you already have instead of Debian's.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
QEMU_TREE := $(BUILD)/qemu
QEMU_BUILD := $(BUILD)/obj
TARBALL := $(TOP)/downloads/qemu-10.0.2.tar.xz
SERIES_OUT ?= $(BUILD)/series

# ccache, through Debian's compiler links, when it is installed; paths
# relative to the checkout and the working directory left out of the hash
# (-g would put it in), so that another clone hits the same cache.
export PATH := $(if $(wildcard /usr/lib/ccache/cc),/usr/lib/ccache:)$(PATH)
export CCACHE_BASEDIR := $(TOP)
export CCACHE_NOHASHDIR := 1

QEMU_CONFIGURE_FLAGS := \
	--python=/usr/bin/python3 \
	--target-list=x86_64-softmmu \
	--enable-slirp --enable-pixman \
	--enable-opengl --enable-virglrenderer --enable-sdl \
	--disable-docs --disable-install-blobs --disable-plugins \
	--disable-user --enable-trace-backends=log \
	$(EXTRA_CONFIGURE_FLAGS)

# What `make` builds in the QEMU tree
NINJA_TARGETS := qemu-system-x86_64 qemu-img storage-daemon/qemu-storage-daemon \
	tests/qtest/qos-test tests/qtest/virtio-freeze-test \
	tests/qtest/virtio-gpu-freeze-test tests/qtest/virtio-freeze-random-test \
	tests/qtest/virtio-freeze-types-test tests/qtest/virtio-gpu-gl-freeze-test

SERIES_INPUTS := $(TOP)/patches/series $(wildcard $(TOP)/patches/*.patch) \
	$(shell find $(TOP)/hw-virtio $(TOP)/tests-qtest -type f 2>/dev/null) \
	$(TOP)/scripts/assemble.sh $(TOP)/scripts/prepare-qemu.sh

NINJA ?= ninja
MESON := $(QEMU_BUILD)/pyvenv/bin/meson

.PHONY: all qemu deps check check-qtest checkpatch series \
	clean distclean
all: qemu

deps:
	@$(TOP)/scripts/deps.sh build

ifeq ($(QEMU_SRC),)
QEMU_INPUT := $(TARBALL)
$(TARBALL): | deps
	@$(TOP)/scripts/fetch-qemu.sh $@
else
QEMU_INPUT := $(QEMU_SRC)
endif

$(BUILD)/assembled.stamp: $(SERIES_INPUTS) | $(QEMU_INPUT) deps
	@$(TOP)/scripts/assemble.sh $(QEMU_INPUT) $(QEMU_TREE)
	@touch $@

$(QEMU_BUILD)/configure.flags: FORCE
	@mkdir -p $(QEMU_BUILD)
	@echo '$(QEMU_CONFIGURE_FLAGS)' | cmp -s - $@ || echo '$(QEMU_CONFIGURE_FLAGS)' > $@

$(QEMU_BUILD)/config-host.mak: $(QEMU_BUILD)/configure.flags | $(BUILD)/assembled.stamp
	@echo "configure: $(QEMU_CONFIGURE_FLAGS)"
	@cd $(QEMU_BUILD) && $(QEMU_TREE)/configure $(QEMU_CONFIGURE_FLAGS) > $(BUILD)/configure.log 2>&1 || \
		{ tail -30 $(BUILD)/configure.log; exit 1; }
	@test -f $(QEMU_BUILD)/pc-bios/optionrom/config.mak || \
		{ echo "configure: no x86 option ROM compiler (gcc-multilib)"; exit 1; }
	@touch $@

qemu: $(QEMU_BUILD)/config-host.mak $(BUILD)/assembled.stamp
	@$(NINJA) -C $(QEMU_BUILD) $(NINJA_TARGETS)
	@$(MAKE) -s -C $(QEMU_BUILD) pc-bios/optionrom/all
	@$(TOP)/scripts/link-firmware.sh $(QEMU_BUILD) >/dev/null

FORCE:

include $(TOP)/mk/check.mk
include $(TOP)/mk/fuzz.mk
-include $(TOP)/mk/guest.mk

clean:
	rm -rf $(QEMU_BUILD) $(BUILD)/series $(BUILD)/*.log

distclean:
	rm -rf $(BUILD) $(TOP)/downloads
