# Helpers shared by the series scripts (sourced).

# Where a new file kept whole in this repository lives in the QEMU tree.
#   hw-virtio/include/P -> include/P     (headers)
#   hw-virtio/docs/P    -> docs/P        (rST documentation)
#   hw-virtio/P         -> hw/virtio/P
#   tests-qtest/P       -> tests/qtest/P
repo_to_qemu_path() {
    case "$1" in
    hw-virtio/include/*) echo "include/${1#hw-virtio/include/}" ;;
    hw-virtio/docs/*) echo "docs/${1#hw-virtio/docs/}" ;;
    hw-virtio/*) echo "hw/virtio/${1#hw-virtio/}" ;;
    tests-qtest/*) echo "tests/qtest/${1#tests-qtest/}" ;;
    *) echo "series-lib: $1 is not under hw-virtio/ or tests-qtest/" >&2; return 1 ;;
    esac
}

qemu_to_repo_path() {
    case "$1" in
    include/*) echo "hw-virtio/include/${1#include/}" ;;
    docs/*) echo "hw-virtio/docs/${1#docs/}" ;;
    hw/virtio/*) echo "hw-virtio/${1#hw/virtio/}" ;;
    tests/qtest/*) echo "tests-qtest/${1#tests/qtest/}" ;;
    *) return 1 ;;
    esac
}

# The entries of a series file: "patch [newfile...]", comments and blank
# lines dropped.
series_entries() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"
}
