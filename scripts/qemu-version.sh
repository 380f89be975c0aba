# The pinned QEMU release (sourced by the scripts), and the sha256 of Debian's
# qemu_10.0.2+ds.orig.tar.xz (the release with the prebuilt firmware removed)
QEMU_VERSION=10.0.2
QEMU_ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
