#!/usr/bin/python3
"""check-spec.py VIRTIO_SPEC_DIR

Apply docs/spec/*.patch to a copy of the virtio specification sources in
VIRTIO_SPEC_DIR (git apply and patch -p1 must agree) and check the patched
LaTeX: added references resolve, added labels are unique, the feature is in
the three files, braces and environments balance, every normative line added
sits in a \\devicenormative/\\drivernormative block that conformance.tex
references, and every block added is listed in docs/spec/README.md ("How to
check" there says each step in full).  No TeX needed: no PDF is built.
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
FILES = ("content.tex", "transport-pci.tex", "conformance.tex")
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
# Verbatim-like environments: braces there are not TeX groups
VERBATIM_RE = re.compile(r"\\begin\{(lstlisting|verbatim)\}.*?\\end\{\1\}", re.S)


def die(msg):
    print("check-spec: " + msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def strip_comments(text):
    return re.sub(r"(?<!\\)%.*", "", text)


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
    return sum((Counter(what(read(os.path.join(root, f)))) for f in tex_files(root)),
               Counter())


def balance_errors(text):
    errs, depth, line = [], 0, 1
    text = VERBATIM_RE.sub(lambda m: "\\begin{%s}\\end{%s}" % (m[1], m[1]),
                           strip_comments(text))
    for m in re.finditer(r"\\.|[{}\n]", text, flags=re.S):  # \x: no group
        if m[0] == "\n":
            line += 1
        elif m[0] == "{":
            depth += 1
        elif m[0] == "}" and depth == 0:
            errs.append("line %d: unmatched }" % line)
        elif m[0] == "}":
            depth -= 1
    if depth:
        errs.append("%d unclosed {" % depth)
    stack = []
    for m in re.finditer(r"\\(begin|end)\{([^{}]*)\}", text):
        ln = text.count("\n", 0, m.start()) + 1
        if m[1] == "begin":
            stack.append((m[2], ln))
        elif not stack:
            errs.append("line %d: \\end{%s} without \\begin" % (ln, m[2]))
        else:
            env, bl = stack.pop()
            if env != m[2]:
                errs.append("line %d: \\end{%s} closes \\begin{%s} of line %d"
                            % (ln, m[2], env, bl))
    return errs + ["line %d: \\begin{%s} never closed" % (bl, env) for env, bl in stack]


def normative_errors(f, old_text, new_text, conf_refs, blocks_used):
    """Each normative line the patches add or change (an RFC 2119 keyword in
    capitals) must sit in a block that conformance.tex references, to be part
    of a conformance clause.  Returns the errors and the number of lines."""
    errors, n = [], 0
    new_lines = new_text.split("\n")
    sm = difflib.SequenceMatcher(None, old_text.split("\n") if old_text else [],
                                 new_lines, autojunk=False)
    added = sorted(j for tag, _, _, j1, j2 in sm.get_opcodes()
                   if tag in ("replace", "insert") for j in range(j1, j2))
    # Comments and listings blanked, the line count kept
    clean = VERBATIM_RE.sub(lambda m: "\n" * m[0].count("\n"), strip_comments(new_text))
    clean_lines = clean.split("\n")
    starts = [m.start() for m in re.finditer("^", clean, re.M)]
    headings = [(m.start(), m[1], m[2]) for m in HEADING_RE.finditer(clean)]
    for ln in added:
        if not KEYWORD_RE.search(clean_lines[ln]):
            continue
        n += 1
        kind, label = ([(None, None)] +
                       [(k, l) for pos, k, l in headings if pos <= starts[ln]])[-1]
        where = "%s:%d: %s" % (f, ln + 1, new_lines[ln].strip())
        if kind is None:
            errors.append("normative keyword outside a \\devicenormative/"
                          "\\drivernormative block: " + where)
            continue
        key = "%s:%s" % (kind, norm(label))
        blocks_used.add(key)
        if key not in conf_refs:
            errors.append("normative statement in %s, which no conformance.tex "
                          "entry references: %s" % (key, where))
    return errors, n


def sanity(orig_dir, spec_dir, changed):
    """The checks of the patched tree against the original one: the errors,
    and the summary line."""
    errors = []
    tex = [f for f in changed if f.endswith(".tex")]

    def old(f):
        p = os.path.join(orig_dir, f)
        return read(p) if os.path.exists(p) else None

    def new(f):
        return read(os.path.join(spec_dir, f))

    # References the patches add, per file, must name a label of any file.
    all_labels = {}
    for f in tex_files(spec_dir):
        for l in labels(new(f)):
            all_labels.setdefault(l, []).append(f)
    for f in tex:
        for r in Counter(refs(new(f))) - Counter(refs(old(f) or "")):
            if r not in all_labels:
                errors.append("%s: \\ref{%s} added, but no such label exists" % (f, r))
    # Labels the patches add must be unique.
    orig_labels = count(orig_dir, labels)
    for l, where in sorted(all_labels.items()):
        if len(where) > max(1, orig_labels[l]):
            errors.append("label defined %d times (%s): %s"
                          % (len(where), ", ".join(where), l))
    for f in FILES:
        errors += ["%s: %s does not appear" % (f, word)
                   for word in ("VIRTIO_F_FREEZE_MODE", "freeze_mode") if word not in new(f)]
    for f in tex:
        errs, o = balance_errors(new(f)), old(f)
        old_errs = balance_errors(o) if errs and o is not None else []
        if not old_errs:
            errors += ["%s: %s" % (f, e) for e in errs]
        elif len(errs) > len(old_errs):  # unbalanced before the patch: worse?
            errors.append("%s: LaTeX balance got worse: %s" % (f, "; ".join(errs)))
    conf_refs = set(refs(new("conformance.tex")))
    n_statements, blocks_used = 0, set()
    for f in tex:
        errs, n = normative_errors(f, old(f), new(f), conf_refs, blocks_used)
        errors += errs
        n_statements += n
    # Each normative block added: referenced from conformance.tex, and listed
    # in the README next to the patches (the statement -> label table)
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


def run(cmd, cwd, stdin=None, error=None):
    """cmd's result; with error: what to die with, after its output, if it fails"""
    r = subprocess.run(cmd, cwd=cwd, stdin=stdin, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if error and r.returncode:
        print(r.stdout, end="", file=sys.stderr)
        die(error)
    return r


def apply_patches(spec_src, patches, tmp):
    """Copies of spec_src: orig, and spec with the patches applied; the
    files the patches change."""
    orig, spec, other = (os.path.join(tmp, d) for d in ("orig", "spec", "spec-patch"))
    shutil.copytree(spec_src, orig, symlinks=True)
    subprocess.run(["chmod", "-R", "u+w", orig], check=True)
    shutil.copytree(orig, spec, symlinks=True)
    # git apply works relative to the top of the enclosing work tree
    if not os.path.exists(os.path.join(spec, ".git")):
        run(["git", "init", "-q"], spec)
    changed = set()
    for p in patches:
        name = os.path.basename(p)
        run(["git", "apply", "--check", p], spec,
            error="%s does not apply to %s (git apply --check failed)" % (name, spec_src))
        changed.update(l.split("\t")[2] for l in
                       run(["git", "apply", "--numstat", p], spec).stdout.splitlines())
        if run(["git", "apply", p], spec).returncode:
            die("%s: git apply failed" % name)
        print("applied: " + name, flush=True)
    # patch -p1 must apply them too, with the same result
    if shutil.which("patch"):
        shutil.copytree(orig, other, symlinks=True)
        for p in patches:
            with open(p) as fh:
                run(["patch", "-p1", "--batch", "--forward", "-s", "-d", other], None, fh,
                    "%s does not apply with patch -p1" % os.path.basename(p))
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
    for f in FILES:
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
