#!/usr/bin/env bash
# check-spec.sh VIRTIO_SPEC_DIR
#
# Check that the virtio specification patches in docs/spec/*.patch apply to
# the virtio specification sources in VIRTIO_SPEC_DIR (a git checkout or a
# plain directory holding content.tex, transport-pci.tex, conformance.tex at
# its root), and sanity-check the patched LaTeX:
#   - every patch applies with `git apply --check` / `git apply` (paths are
#     relative to the spec root), and with `patch -p1` if patch(1) exists;
#   - every \ref / \nameref the patches add points at a label that exists
#     (\label{...}, or the labels made by \devicenormative/\drivernormative);
#   - no label is defined twice in the patched files;
#   - VIRTIO_F_FREEZE_MODE and freeze_mode appear in content.tex,
#     transport-pci.tex and conformance.tex;
#   - braces and \begin{...}/\end{...} pairs are balanced in every patched
#     .tex file;
#   - conformance: every line the patches add or change that holds an
#     RFC 2119 keyword in capitals (MUST, SHOULD, MAY, ...) is inside a
#     \devicenormative/\drivernormative block that conformance.tex
#     references; the failure names the file, line and block.  Only the
#     lines the patches touch are checked, so the spec's own text (which
#     has normative keywords outside such blocks) never fails it;
#   - every normative block the patches add is referenced from
#     conformance.tex and listed by its full label in docs/spec/README.md
#     (the statement -> label table).
# The directory itself is never modified: everything happens in a copy.
# The PDF is not built (TeX is not required).

set -euo pipefail

die() { echo "check-spec: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 VIRTIO_SPEC_DIR"
spec_src=$1
[ -d "$spec_src" ] || die "$spec_src: not a directory"
for f in content.tex transport-pci.tex conformance.tex; do
    [ -f "$spec_src/$f" ] || die "$spec_src/$f: missing (not a virtio spec source tree?)"
done
command -v git >/dev/null || die "git is required"
command -v python3 >/dev/null || die "python3 is required"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shopt -s nullglob
patches=("$repo_root"/docs/spec/*.patch)
shopt -u nullglob
[ ${#patches[@]} -gt 0 ] || die "no patches in $repo_root/docs/spec/"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-spec.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Pristine copy (for comparisons) and working copy (patched).
cp -R "$spec_src" "$tmp/orig"
chmod -R u+w "$tmp/orig"
cp -R "$tmp/orig" "$tmp/spec"
# git apply applies paths relative to the top of the enclosing work tree;
# make sure the copy is its own top level even if it is not a git checkout.
if [ ! -e "$tmp/spec/.git" ]; then
    git -C "$tmp/spec" init -q
fi

changed_list="$tmp/changed-files"
: >"$changed_list"
for p in "${patches[@]}"; do
    name=$(basename "$p")
    if ! out=$(cd "$tmp/spec" && git apply --check "$p" 2>&1); then
        echo "$out" >&2
        die "$name does not apply to $spec_src (git apply --check failed)"
    fi
    (cd "$tmp/spec" && git apply --numstat "$p") | cut -f3 >>"$changed_list"
    (cd "$tmp/spec" && git apply "$p") || die "$name: git apply failed"
    echo "applied: $name"
done

# The same patches must also apply with patch -p1, and give the same result.
if command -v patch >/dev/null; then
    cp -R "$tmp/orig" "$tmp/spec-patch"
    for p in "${patches[@]}"; do
        if ! out=$(patch -p1 --batch --forward -s -d "$tmp/spec-patch" <"$p" 2>&1); then
            echo "$out" >&2
            die "$(basename "$p") does not apply with patch -p1"
        fi
    done
    while read -r f; do
        cmp -s "$tmp/spec/$f" "$tmp/spec-patch/$f" ||
            die "$f: git apply and patch -p1 give different results"
    done < <(sort -u "$changed_list")
fi

nfiles=$(sort -u "$changed_list" | grep -c . || true)

if ! python3 - "$tmp/orig" "$tmp/spec" "$changed_list" "$repo_root/docs/spec/README.md" <<'PYEOF'
import os, re, sys

orig_dir, spec_dir, changed_list, readme = sys.argv[1:5]
changed = sorted({l.strip() for l in open(changed_list) if l.strip()})
errors = []

def read(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()

def strip_comments(text):
    out = []
    for line in text.split("\n"):
        m = re.search(r"(?<!\\)%", line)
        out.append(line[:m.start()] if m else line)
    return "\n".join(out)

def norm(arg):
    # LaTeX turns a line break inside an argument into a space.
    return re.sub(r"\s+", " ", arg).strip()

LABEL_RE = re.compile(r"\\label\{([^{}]*)\}")
NORMATIVE_RE = re.compile(
    r"\\(devicenormative|drivernormative)\{[^{}]*\}\{[^{}]*\}\{([^{}]*)\}")
REF_RE = re.compile(r"\\(?:name)?ref\{([^{}]*)\}")

def labels(text):
    text = strip_comments(text)
    found = [norm(l) for l in LABEL_RE.findall(text)]
    found += ["%s:%s" % (k, norm(l)) for k, l in NORMATIVE_RE.findall(text)]
    return found

def refs(text):
    return [norm(r) for r in REF_RE.findall(strip_comments(text))]

def tex_files(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".git"]
        for f in files:
            if f.endswith(".tex"):
                yield os.path.relpath(os.path.join(d, f), root)

# All labels of the patched tree (every .tex file, not only changed ones).
all_labels = {}
for f in tex_files(spec_dir):
    for l in labels(read(os.path.join(spec_dir, f))):
        all_labels.setdefault(l, []).append(f)

# References added by the patches: patched minus original, per file.
from collections import Counter
for f in changed:
    if not f.endswith(".tex"):
        continue
    new = Counter(refs(read(os.path.join(spec_dir, f))))
    opath = os.path.join(orig_dir, f)
    old = Counter(refs(read(opath))) if os.path.exists(opath) else Counter()
    for r in (new - old):
        if r not in all_labels:
            errors.append("%s: \\ref{%s} added, but no such label exists" % (f, r))

# Labels the patches added must be unique.
orig_label_count = Counter()
for f in tex_files(orig_dir):
    orig_label_count.update(labels(read(os.path.join(orig_dir, f))))
for l, where in sorted(all_labels.items()):
    if len(where) > 1 and len(where) > orig_label_count[l]:
        errors.append("label defined %d times (%s): %s"
                      % (len(where), ", ".join(where), l))

# The feature must be present in each of the three files.
for f in ("content.tex", "transport-pci.tex", "conformance.tex"):
    text = read(os.path.join(spec_dir, f))
    for word in ("VIRTIO_F_FREEZE_MODE", "freeze_mode"):
        if word not in text:
            errors.append("%s: %s does not appear" % (f, word))

# Balanced braces and \begin/\end pairs.
VERBATIM = ("lstlisting", "verbatim")
def balance_errors(text):
    errs = []
    text = strip_comments(text)
    # Drop verbatim-like bodies: braces there are not TeX groups.
    text = re.sub(r"\\begin\{(%s)\}.*?\\end\{\1\}" % "|".join(VERBATIM),
                  lambda m: "\\begin{%s}\\end{%s}" % (m.group(1), m.group(1)),
                  text, flags=re.S)
    depth = 0
    line = 1
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            line += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                errs.append("line %d: unmatched }" % line)
                depth = 0
        i += 1
    if depth:
        errs.append("%d unclosed {" % depth)
    stack = []
    for m in re.finditer(r"\\(begin|end)\{([^{}]*)\}", text):
        ln = text.count("\n", 0, m.start()) + 1
        if m.group(1) == "begin":
            stack.append((m.group(2), ln))
        elif not stack:
            errs.append("line %d: \\end{%s} without \\begin" % (ln, m.group(2)))
        else:
            env, bl = stack.pop()
            if env != m.group(2):
                errs.append("line %d: \\end{%s} closes \\begin{%s} of line %d"
                            % (ln, m.group(2), env, bl))
    for env, bl in stack:
        errs.append("line %d: \\begin{%s} never closed" % (bl, env))
    return errs

for f in changed:
    if not f.endswith(".tex"):
        continue
    errs = balance_errors(read(os.path.join(spec_dir, f)))
    opath = os.path.join(orig_dir, f)
    if errs and os.path.exists(opath) and balance_errors(read(opath)):
        # Already unbalanced before the patch: only complain if it got worse.
        if len(errs) > len(balance_errors(read(opath))):
            errors.append("%s: LaTeX balance got worse: %s" % (f, "; ".join(errs)))
    else:
        errors.extend("%s: %s" % (f, e) for e in errs)

# Every normative statement the patches add (a line of new text with an
# RFC 2119 keyword in capitals) must sit in a \devicenormative or
# \drivernormative block, and conformance.tex must reference that block:
# that is how a statement becomes part of a conformance clause.  Only lines
# the patches add or change are checked, never the rest of the spec.  Each
# normative block the patches add must also be listed in the README next to
# the patches (the statement -> label table).
import difflib
KEYWORD_RE = re.compile(
    r"(?<![A-Za-z0-9_])(MUST|SHOULD|MAY|SHALL|REQUIRED|RECOMMENDED|OPTIONAL)(?![A-Za-z0-9_])")
HEADING_RE = re.compile(
    r"\\(?:chapter|section|subsection|subsubsection|paragraph|subparagraph)\*?\s*\{"
    r"|\\(devicenormative|drivernormative)\{[^{}]*\}\{[^{}]*\}\{([^{}]*)\}")

def blank_listings(text):
    # Keep the line count, drop the contents of verbatim-like environments.
    return re.sub(r"(\\begin\{(%s)\}.*?\\end\{\2\})" % "|".join(VERBATIM),
                  lambda m: "\n" * m.group(1).count("\n"), text, flags=re.S)

conf_text = read(os.path.join(spec_dir, "conformance.tex"))
conf_refs = set(refs(conf_text))
readme_text = read(readme) if os.path.exists(readme) else ""

n_statements = 0
blocks_used = set()
for f in changed:
    if not f.endswith(".tex"):
        continue
    new_text = read(os.path.join(spec_dir, f))
    opath = os.path.join(orig_dir, f)
    old_lines = read(opath).split("\n") if os.path.exists(opath) else []
    new_lines = new_text.split("\n")
    added = set()
    sm = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag in ("replace", "insert"):
            added.update(range(j1, j2))
    clean = blank_listings(strip_comments(new_text))
    clean_lines = clean.split("\n")
    starts = [0]
    for l in clean_lines[:-1]:
        starts.append(starts[-1] + len(l) + 1)
    headings = [(m.start(), m.group(1), m.group(2)) for m in HEADING_RE.finditer(clean)]
    for ln in sorted(added):
        line = clean_lines[ln]
        if not KEYWORD_RE.search(line):
            continue
        n_statements += 1
        block = None
        for pos, kind, label in headings:
            if pos > starts[ln]:
                break
            block = (kind, label)
        where = "%s:%d: %s" % (f, ln + 1, new_lines[ln].strip())
        if block is None or block[0] is None:
            errors.append("normative keyword outside a \\devicenormative/"
                          "\\drivernormative block: " + where)
            continue
        key = "%s:%s" % (block[0], norm(block[1]))
        blocks_used.add(key)
        if key not in conf_refs:
            errors.append("normative statement in %s, which no conformance.tex "
                          "entry references: %s" % (key, where))

# Normative blocks the patches add must be listed in the README.
orig_blocks = Counter()
for f in tex_files(orig_dir):
    orig_blocks.update("%s:%s" % (k, norm(l))
                       for k, l in NORMATIVE_RE.findall(strip_comments(read(os.path.join(orig_dir, f)))))
new_blocks = Counter()
for f in tex_files(spec_dir):
    new_blocks.update("%s:%s" % (k, norm(l))
                      for k, l in NORMATIVE_RE.findall(strip_comments(read(os.path.join(spec_dir, f)))))
added_blocks = sorted(new_blocks - orig_blocks)
for b in added_blocks:
    if b not in readme_text:
        errors.append("normative block %s is not listed in %s" % (b, os.path.basename(readme)))
    if b not in conf_refs:
        errors.append("normative block %s is not referenced from conformance.tex" % b)

if errors:
    for e in errors:
        print("check-spec: " + e, file=sys.stderr)
    sys.exit(1)
print("normative lines added: %d, in %d blocks, all referenced from "
      "conformance.tex (%d new blocks)" % (n_statements, len(blocks_used), len(added_blocks)))
PYEOF
then
    die "sanity checks failed"
fi

if command -v latexmk >/dev/null || command -v pdflatex >/dev/null; then
    echo "note: TeX is installed, but the PDF is not built by this check"
fi
echo "spec patch: OK ($nfiles files changed)"
