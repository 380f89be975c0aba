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
# The sanitizer tree: make check-asan and make fuzz (mk/fuzz.mk)
SAN_BUILD := $(BUILD)/san
TARBALL := $(TOP)/downloads/qemu-10.0.2.tar.xz
SERIES_OUT ?= $(BUILD)/series

# ccache, through Debian's compiler links, once it is installed (`deps`
# installs it before the first configure, after this line is read); paths
# relative to the checkout and the working directory left out of the hash
# (-g would put it in), so that another clone hits the same cache.  Depend
# mode: a miss reads the compiler's -MD file instead of running the
# preprocessor again, so a cold build pays about 5% for the cache, not 30%.
export PATH := /usr/lib/ccache:$(PATH)
export CCACHE_BASEDIR := $(TOP)
export CCACHE_NOHASHDIR := 1
export CCACHE_DEPEND := 1

QEMU_CONFIGURE_FLAGS := \
	--python=/usr/bin/python3 \
	--target-list=x86_64-softmmu \
	--enable-slirp --enable-pixman \
	--enable-opengl --enable-virglrenderer --enable-sdl \
	--disable-docs --disable-install-blobs --disable-plugins \
	--disable-user --enable-trace-backends=log \
	$(EXTRA_CONFIGURE_FLAGS)

# The series' own qtests: every tests-qtest/*-test.c it adds
OWN_QTESTS := $(sort $(basename $(notdir $(wildcard $(TOP)/tests-qtest/*-test.c))))

# What `make` builds in the QEMU tree (qemu-storage-daemon and
# vhost-user-bridge: the vhost-user back-ends of our qtests)
NINJA_TARGETS := qemu-system-x86_64 qemu-img storage-daemon/qemu-storage-daemon \
	tests/vhost-user-bridge tests/qtest/qos-test $(OWN_QTESTS:%=tests/qtest/%)

SERIES_INPUTS := $(TOP)/patches/series \
	$(addprefix $(TOP)/patches/,$(shell sed -e 's/\#.*//' $(TOP)/patches/series)) \
	$(TOP)/scripts/assemble.sh $(TOP)/scripts/prepare-qemu.sh

NINJA ?= ninja

.PHONY: all qemu deps check check-qtest checkpatch series \
	clean distclean
all: qemu

# The packages of scripts/deps.txt, installed when missing: `deps` for the
# build, deps-GROUP for the targets that need more.
DEPS_GROUPS := docs fuzz bench guest seabios ovmf
.PHONY: $(DEPS_GROUPS:%=deps-%)
deps:
	@$(TOP)/scripts/deps.sh build gl
$(DEPS_GROUPS:%=deps-%): deps-%:
	@$(TOP)/scripts/deps.sh $*

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

# $(call configure-tree,DIR,FLAGS-VARIABLE[,ROMS[,SOURCE]]): configure a
# build tree in DIR of the QEMU source in SOURCE (default: the assembled
# tree) with the flags in FLAGS-VARIABLE, and again whenever they change
# or the last configure failed: DIR/configure.flags holds the flags of a
# configure that succeeded.
# ROMS: the tree builds the x86 option ROMs, so configure must have found
# a compiler for them.
define configure-tree
$(1)/configure.flags: FORCE | $(BUILD)/assembled.stamp $(4)
	@mkdir -p $(1)
	@test -f $(1)/build.ninja && echo '$$($(2))' | cmp -s - $$@ || { \
		echo "configure ($(notdir $(1))): $$($(2))"; \
		rm -f $$@; cd $(1) && $(or $(4),$(QEMU_TREE))/configure $$($(2)) \
			> $(BUILD)/configure-$(notdir $(1)).log 2>&1 || \
		{ tail -30 $(BUILD)/configure-$(notdir $(1)).log; exit 1; }; \
		$(if $(3),test -f $(1)/pc-bios/optionrom/config.mak || \
		{ echo "configure: no x86 option ROM compiler (gcc-multilib)"; exit 1; }; ) \
		echo '$$($(2))' > $$@; }
endef

$(eval $(call configure-tree,$(QEMU_BUILD),QEMU_CONFIGURE_FLAGS,roms))

qemu: $(QEMU_BUILD)/configure.flags $(BUILD)/assembled.stamp seabios
	@$(NINJA) -C $(QEMU_BUILD) $(NINJA_TARGETS)
	@$(MAKE) -s -C $(QEMU_BUILD) pc-bios/optionrom/all
	@$(TOP)/scripts/link-firmware.sh $(QEMU_BUILD) $(SEABIOS_OUT) >/dev/null

# The project's SeaBIOS: Debian's seabios source package + patches/seabios/
# (scripts/build-seabios.sh), linked into the build tree in front of the
# seabios package's images, which stay in /usr/share/seabios.
SEABIOS_OUT := $(BUILD)/seabios
SEABIOS_INPUTS := $(TOP)/patches/seabios/series \
	$(wildcard $(TOP)/patches/seabios/*.patch) \
	$(TOP)/scripts/build-seabios.sh $(TOP)/scripts/seabios-version.sh
.PHONY: seabios
seabios: $(SEABIOS_OUT)/bios-256k.bin
$(SEABIOS_OUT)/bios-256k.bin: $(SEABIOS_INPUTS) | deps-seabios
	@$(TOP)/scripts/build-seabios.sh $(SEABIOS_OUT)
	@touch $@

FORCE:

include $(TOP)/mk/check.mk
include $(TOP)/mk/fuzz.mk
-include $(TOP)/mk/guest.mk

clean:
	rm -rf $(QEMU_BUILD) $(BUILD)/series $(BUILD)/*.log

distclean:
	rm -rf $(BUILD) $(TOP)/downloads
