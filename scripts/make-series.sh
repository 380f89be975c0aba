#!/bin/bash
# make series (README.md): each set of patches/series as mailed, signed by the
# sender's git identity (an unset or placeholder one is refused); a patch
# listed in patches/SET/security goes to security/, To the QEMU security contact.
#   make-series.sh TREE OUTDIR [VERSION]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$(realpath "$1")
out=$(realpath -m "$2")
version=${3:-1}
g() { git -C "$tree" "$@"; }

. "$top/scripts/identity.sh"

rm -rf "$out"
mkdir -p "$out"
mapfile -t patches < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/patches/series")
mapfile -t commits < <(g rev-list --reverse prep..series)
if [ "${#patches[@]}" != "${#commits[@]}" ]; then
    echo "series: $tree does not hold patches/series: make first" >&2
    exit 1
fi
# The commits again, by the sender: same trees, author and sign-off replaced
parent=$(g rev-parse prep)
declare -A signed=()
for i in "${!commits[@]}"; do
    c=${commits[$i]}
    parent=$(printf '%s\nSigned-off-by: %s <%s>\n' \
                    "$(g log -1 --format=%B "$c" | sed '/^Signed-off-by: /d')" "$name" "$email" |
        GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email \
        GIT_AUTHOR_DATE=$(g log -1 --format=%aD "$c") \
        GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email \
        g commit-tree "$c^{tree}" -p "$parent")
    signed[${patches[$i]}]=$parent
done

# send_set SET BASE TIP N: on a branch whose description is the cover letter
send_set() {
    local set=$1 base=$2 dir=$out/$1 prefix=PATCH cc addr
    [ -f "$top/patches/$set/prefix" ] && prefix=$(head -n1 "$top/patches/$set/prefix")
    g branch -f "send-$set" "$3"
    g config "branch.send-$set.description" "$(cat "$top/patches/$set/cover-letter.txt")"
    mkdir -p "$dir/tmp"
    g format-patch -q -o "$dir/tmp" "$base..send-$set"
    cc=$(cd "$tree" && for p in "$dir"/tmp/*.patch; do
            ./scripts/get_maintainer.pl --noroles --norolestats --nogit \
                --nogit-fallback "$p" 2>/dev/null
         done | grep -v '^qemu-devel@nongnu.org$' | sort -u)
    rm -rf "$dir/tmp"
    args=(--thread=shallow --subject-prefix="$prefix" --to=qemu-devel@nongnu.org)
    [ "$4" -gt 1 ] && args+=(--cover-letter --cover-from-description=subject)
    [ "$version" -gt 1 ] && args+=(--reroll-count="$version")
    while IFS= read -r addr; do
        [ -n "$addr" ] && args+=(--cc="$addr")
    done <<< "$cc"
    g format-patch -q "${args[@]}" -o "$dir" "$base..send-$set"
    g branch -D -q "send-$set"
    echo "series: $set: $(ls "$dir" | wc -l) files in $dir"
}

# Set by set; a security patch (alone, on its tree) must be last in its set
set=
base=$(g rev-parse prep)
last=$base
count=0
flush() { [ "$count" = 0 ] || send_set "$set" "$base" "$tip" "$count"; }
for p in "${patches[@]}"; do
    s=${p%%/*}
    if [ "$s" != "$set" ]; then
        flush
        base=$last set=$s count=0 secret=0
    fi
    last=${signed[$p]}
    if grep -qxF "${p#*/}" "$top/patches/$s/security" 2>/dev/null; then
        mkdir -p "$out/security"
        g format-patch -q -1 --subject-prefix=PATCH --to=qemu-security@nongnu.org \
            -o "$out/security" "$last"
        echo "series: security: ${p#*/} for qemu-security@nongnu.org (not public)"
        secret=1
    elif [ "$secret" = 1 ]; then
        echo "series: $p follows a security patch of its set: put that one last" >&2
        exit 1
    else
        tip=$last
        count=$((count + 1))
    fi
done
flush
