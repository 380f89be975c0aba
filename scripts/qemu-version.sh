# The pinned QEMU release the series applies to (sourced by the scripts).
QEMU_VERSION=10.0.2
# sha256 of Debian's qemu_10.0.2+ds.orig.tar.xz (the upstream release with
# the prebuilt firmware blobs removed).
QEMU_ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
