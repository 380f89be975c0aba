# The Debian seabios source package of the project's SeaBIOS (sourced by
# build-seabios.sh): bookworm's, as the seabios binary package of the control
# runs, so that the two differ only by patches/seabios/ (backports' .dsc is gone)
SEABIOS_DEB_VERSION=1.16.2-1
# sha256 of its .dsc, against which dpkg-source checks the tarballs
SEABIOS_DSC_SHA256=32bcfddb7c78fab3d983ab3c557398a4013a11e55dcd8a9c3de273e74a56b9c3
# Our revision, appended to the Debian version (the BIOS prints it)
SEABIOS_LOCAL_SUFFIX=+freezemode1
