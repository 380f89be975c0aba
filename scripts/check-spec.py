#!/usr/bin/python3
"""check-spec.py VIRTIO_SPEC_DIR

Check that the virtio specification patches in docs/spec/*.patch apply to
the virtio specification sources in VIRTIO_SPEC_DIR (a git checkout or a
plain directory holding content.tex, transport-pci.tex, conformance.tex at
its root), with git apply and patch -p1 alike, and sanity-check the
patched LaTeX: added references resolve, labels are unique, the feature
appears in the three files, braces and environments balance, every
normative line the patches add sits in a \devicenormative/\drivernormative
block that conformance.tex references, and every block they add is listed
in docs/spec/README.md ("How to check" there says each step in full).
The directory itself is never modified: everything happens in a copy.
The PDF is not built (TeX is not required).
"""
import difflib
import filecmp
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(TOP, "docs", "spec", "README.md")
LABEL_RE = re.compile(r"\\label\{([^{}]*)\}")
NORMATIVE_RE = re.compile(
    r"\\(devicenormative|drivernormative)\{[^{}]*\}\{[^{}]*\}\{([^{}]*)\}")
REF_RE = re.compile(r"\\(?:name)?ref\{([^{}]*)\}")
KEYWORD_RE = re.compile(
    r"(?<![A-Za-z0-9_])(MUST|SHOULD|MAY|SHALL|REQUIRED|RECOMMENDED|OPTIONAL)"
    r"(?![A-Za-z0-9_])")
HEADING_RE = re.compile(
    r"\\(?:chapter|section|subsection|subsubsection|paragraph|subparagraph)\*?\s*\{"
    r"|" + NORMATIVE_RE.pattern)
VERBATIM = ("lstlisting", "verbatim")


def die(msg):
    print("check-spec: " + msg, file=sys.stderr)
    sys.exit(1)


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


def blocks(text):
    return ["%s:%s" % (k, norm(l))
            for k, l in NORMATIVE_RE.findall(strip_comments(text))]


def labels(text):
    return [norm(l) for l in LABEL_RE.findall(strip_comments(text))] + blocks(text)


def refs(text):
    return [norm(r) for r in REF_RE.findall(strip_comments(text))]


def tex_files(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".git"]
        for f in files:
            if f.endswith(".tex"):
                yield os.path.relpath(os.path.join(d, f), root)


def count(root, what):
    """Counter of what(text) over every .tex file below root."""
    c = Counter()
    for f in tex_files(root):
        c.update(what(read(os.path.join(root, f))))
    return c


def balance_errors(text):
    errs = []
    text = strip_comments(text)
    # Drop verbatim-like bodies: braces there are not TeX groups.
    text = re.sub(r"\\begin\{(%s)\}.*?\\end\{\1\}" % "|".join(VERBATIM),
                  lambda m: "\\begin{%s}\\end{%s}" % (m.group(1), m.group(1)),
                  text, flags=re.S)
    depth, line = 0, 1
    for m in re.finditer(r"\\.|[{}\n]", text, flags=re.S):  # \x: no group
        c = m.group()
        if c == "\n":
            line += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                errs.append("line %d: unmatched }" % line)
                depth = 0
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


def blank_listings(text):
    # Keep the line count, drop the contents of verbatim-like environments.
    return re.sub(r"(\\begin\{(%s)\}.*?\\end\{\2\})" % "|".join(VERBATIM),
                  lambda m: "\n" * m.group(1).count("\n"), text, flags=re.S)


def normative_errors(f, old_text, new_text, conf_refs, blocks_used):
    """Every normative statement the patches add (a line of new text with
    an RFC 2119 keyword in capitals) must sit in a \\devicenormative or
    \\drivernormative block, and conformance.tex must reference that
    block: that is how a statement becomes part of a conformance clause.
    Only lines the patches add or change are checked.  Returns the errors
    and the number of statements."""
    errors, n = [], 0
    new_lines = new_text.split("\n")
    sm = difflib.SequenceMatcher(None, old_text.split("\n") if old_text else [],
                                 new_lines, autojunk=False)
    added = set()
    for tag, _, _, j1, j2 in sm.get_opcodes():
        if tag in ("replace", "insert"):
            added.update(range(j1, j2))
    clean = blank_listings(strip_comments(new_text))
    clean_lines = clean.split("\n")
    starts = [0]
    for l in clean_lines[:-1]:
        starts.append(starts[-1] + len(l) + 1)
    headings = [(m.start(), m.group(1), m.group(2)) for m in HEADING_RE.finditer(clean)]
    for ln in sorted(added):
        if not KEYWORD_RE.search(clean_lines[ln]):
            continue
        n += 1
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
    return errors, n


def sanity(orig_dir, spec_dir, changed):
    """The checks of the patched tree against the original one: the
    errors, and the summary line."""
    errors = []
    tex = [f for f in changed if f.endswith(".tex")]

    def old(f):
        p = os.path.join(orig_dir, f)
        return read(p) if os.path.exists(p) else None
    new = lambda f: read(os.path.join(spec_dir, f))  # noqa: E731

    # All labels of the patched tree (every .tex file, not only changed ones).
    all_labels = {}
    for f in tex_files(spec_dir):
        for l in labels(new(f)):
            all_labels.setdefault(l, []).append(f)
    # References added by the patches: patched minus original, per file.
    for f in tex:
        o = old(f)
        for r in Counter(refs(new(f))) - Counter(refs(o) if o is not None else []):
            if r not in all_labels:
                errors.append("%s: \\ref{%s} added, but no such label exists" % (f, r))
    # Labels the patches added must be unique.
    orig_label_count = count(orig_dir, labels)
    for l, where in sorted(all_labels.items()):
        if len(where) > 1 and len(where) > orig_label_count[l]:
            errors.append("label defined %d times (%s): %s"
                          % (len(where), ", ".join(where), l))
    # The feature must be present in each of the three files.
    for f in ("content.tex", "transport-pci.tex", "conformance.tex"):
        for word in ("VIRTIO_F_FREEZE_MODE", "freeze_mode"):
            if word not in new(f):
                errors.append("%s: %s does not appear" % (f, word))
    # Balanced braces and \begin/\end pairs.
    for f in tex:
        errs, o = balance_errors(new(f)), old(f)
        old_errs = balance_errors(o) if errs and o is not None else []
        if old_errs:
            # Already unbalanced before the patch: only complain if it got worse.
            if len(errs) > len(old_errs):
                errors.append("%s: LaTeX balance got worse: %s" % (f, "; ".join(errs)))
        else:
            errors.extend("%s: %s" % (f, e) for e in errs)
    # Normative statements, and the blocks they are in.
    conf_refs = set(refs(new("conformance.tex")))
    n_statements, blocks_used = 0, set()
    for f in tex:
        errs, n = normative_errors(f, old(f), new(f), conf_refs, blocks_used)
        errors += errs
        n_statements += n
    # Each normative block the patches add must be referenced from
    # conformance.tex and listed in the README next to the patches (the
    # statement -> label table).
    readme_text = read(README) if os.path.exists(README) else ""
    added_blocks = sorted(count(spec_dir, blocks) - count(orig_dir, blocks))
    for b in added_blocks:
        if b not in readme_text:
            errors.append("normative block %s is not listed in %s"
                          % (b, os.path.basename(README)))
        if b not in conf_refs:
            errors.append("normative block %s is not referenced from conformance.tex" % b)
    return errors, ("normative lines added: %d, in %d blocks, all referenced from "
                    "conformance.tex (%d new blocks)"
                    % (n_statements, len(blocks_used), len(added_blocks)))


def run(cmd, cwd, stdin=None):
    return subprocess.run(cmd, cwd=cwd, stdin=stdin, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def apply_patches(spec_src, patches, tmp):
    """Copies of spec_src: orig, and spec with the patches applied; the
    files the patches change."""
    orig, spec = os.path.join(tmp, "orig"), os.path.join(tmp, "spec")
    shutil.copytree(spec_src, orig, symlinks=True)
    subprocess.run(["chmod", "-R", "u+w", orig], check=True)
    shutil.copytree(orig, spec, symlinks=True)
    # git apply applies paths relative to the top of the enclosing work
    # tree: make the copy its own top level even if it is not a checkout.
    if not os.path.exists(os.path.join(spec, ".git")):
        run(["git", "init", "-q"], spec)
    changed = set()
    for p in patches:
        name = os.path.basename(p)
        r = run(["git", "apply", "--check", p], spec)
        if r.returncode:
            print(r.stdout, end="", file=sys.stderr)
            die("%s does not apply to %s (git apply --check failed)" % (name, spec_src))
        changed.update(l.split("\t")[2] for l in
                       run(["git", "apply", "--numstat", p], spec).stdout.splitlines())
        if run(["git", "apply", p], spec).returncode:
            die("%s: git apply failed" % name)
        print("applied: " + name, flush=True)
    # The same patches must also apply with patch -p1, and give the same result.
    if shutil.which("patch"):
        other = os.path.join(tmp, "spec-patch")
        shutil.copytree(orig, other, symlinks=True)
        for p in patches:
            with open(p) as fh:
                r = run(["patch", "-p1", "--batch", "--forward", "-s", "-d", other], None, fh)
            if r.returncode:
                print(r.stdout, end="", file=sys.stderr)
                die("%s does not apply with patch -p1" % os.path.basename(p))
        for f in sorted(changed):
            a, b = os.path.join(spec, f), os.path.join(other, f)
            if os.path.exists(a) != os.path.exists(b) or \
                    os.path.exists(a) and not filecmp.cmp(a, b, shallow=False):
                die("%s: git apply and patch -p1 give different results" % f)
    return orig, spec, sorted(changed)


def main():
    if len(sys.argv) != 2:
        die("usage: %s VIRTIO_SPEC_DIR" % sys.argv[0])
    spec_src = sys.argv[1]
    if not os.path.isdir(spec_src):
        die("%s: not a directory" % spec_src)
    for f in ("content.tex", "transport-pci.tex", "conformance.tex"):
        if not os.path.isfile(os.path.join(spec_src, f)):
            die("%s/%s: missing (not a virtio spec source tree?)" % (spec_src, f))
    if not shutil.which("git"):
        die("git is required")
    patches = sorted(glob.glob(os.path.join(TOP, "docs", "spec", "*.patch")))
    if not patches:
        die("no patches in %s/docs/spec/" % TOP)
    with tempfile.TemporaryDirectory(prefix="check-spec.") as tmp:
        orig, spec, changed = apply_patches(spec_src, patches, tmp)
        errors, summary = sanity(orig, spec, changed)
    for e in errors:
        print("check-spec: " + e, file=sys.stderr)
    if errors:
        die("sanity checks failed")
    print(summary)
    if shutil.which("latexmk") or shutil.which("pdflatex"):
        print("note: TeX is installed, but the PDF is not built by this check")
    print("spec patch: OK (%d files changed)" % len(changed))


if __name__ == "__main__":
    main()
