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

# A second QEMU tree beside the main one, for builds of other commits:
# OUT/qemu, a worktree of the assembled TREE checked out at REV, built in
# OUT/obj with the main build's configure flags (configured again when
# they change).  The OUT/{qemu,obj} layout matches build/{qemu,obj}, so
# that ccache finds what the main build compiled.
side_tree() {
    local top=$1 tree=$2 out=$3 rev=$4 flags
    flags=$(cat "$top/build/obj/configure.flags")
    mkdir -p "$out"
    if [ ! -d "$out/qemu" ]; then
        git -C "$tree" worktree prune
        git -C "$tree" worktree add -q --detach "$out/qemu" prep
    fi
    git -C "$out/qemu" checkout -q -f --detach "$rev"
    if [ ! -f "$out/obj/build.ninja" ] ||
       [ "$(cat "$out/obj/configure.flags" 2>/dev/null)" != "$flags" ]; then
        mkdir -p "$out/obj"
        # shellcheck disable=SC2086
        (cd "$out/obj" && "$out/qemu/configure" $flags) \
            > "$out/configure.log" 2>&1
        echo "$flags" > "$out/obj/configure.flags"
    fi
}
