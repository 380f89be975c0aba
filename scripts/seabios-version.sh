# The Debian seabios source package that the project's SeaBIOS is built
# from (sourced by scripts/build-seabios.sh).  bookworm's 1.16.2-1, the
# same version as the seabios binary package that the control runs use,
# so that the two builds differ only by patches/seabios/.  (The bug is
# the same in 1.16.3 and upstream master; bookworm-backports' 1.16.3
# source package can no longer be downloaded as a whole, its .dsc is
# gone from the archive.)
SEABIOS_DEB_VERSION=1.16.2-1
# sha256 of seabios_1.16.2-1.dsc; dpkg-source checks the tarballs against it
SEABIOS_DSC_SHA256=32bcfddb7c78fab3d983ab3c557398a4013a11e55dcd8a9c3de273e74a56b9c3
# Our revision, appended to the Debian version (the BIOS prints it)
SEABIOS_LOCAL_SUFFIX=+freezemode1
