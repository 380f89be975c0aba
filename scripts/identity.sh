# The sender's git identity, which authors and signs every series (sourced by
# make-series.sh and guest/export-linux.sh): sets name and email, or exits if
# either is unset or a placeholder ($top: the checkout).
name=$(git -C "$top" config user.name || true)
email=$(git -C "$top" config user.email || true)
if [ -z "$name" ] || [ -z "$email" ]; then
    echo "set git config user.name and user.email: they sign the series" >&2
    exit 1
fi
case "$email" in
*@localhost | *@localhost.* | *@localdomain | *@example.com | *@example.org | \
    *@example.net | build@* | freeze-mode@*) bad="<$email>" ;;
esac
case "$name" in
build | "Freeze Mode Developers" | "freeze-mode project" | "Your Name") bad="\"$name\"" ;;
esac
if [ -n "${bad:-}" ]; then
    echo "$bad is a placeholder identity: set your own git user.name/user.email" >&2
    exit 1
fi
