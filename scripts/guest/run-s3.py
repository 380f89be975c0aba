#!/usr/bin/python3
"""Boot a Linux guest with virtio-gpu under TCG, draw a picture, do S3
(echo mem > /sys/power/state, then QMP system_wakeup) and check that the
display survives.  Standard library only.  See docs/guest.md.

Kernels (--kernel):
  6.1    Debian 12's kernel with the patched virtio modules in the initramfs
         (variant patched) or the stock ones (variant stock)
  6.12   build/guest/bzImage-6.12 (build-kernel.sh, series applied, virtio
         built in) or bzImage-6.12-stock (variant stock: unpatched), with
         the module-less initramfs-builtin.cpio.gz

Modes:
  e2e    freeze path (patched modules, freeze_mode=on): every cycle must
         keep the display pixel-identical, redraw after resume, advance the
         virtio-gpu interrupt count and answer.  Exit 1 on any failure.
  stock  today's path (stock modules, no freeze_mode): runs one cycle and
         asserts the display IS broken after resume (proves the difference).
  demo   one cycle on the chosen path, writes before/after/side-by-side PNGs
         and prints what it saw; never fails on a broken display.
  bench  N cycles per path without redrawing: the S3 round trip
         (system_wakeup -> guest userspace answer), the guest's "resume of
         devices" time and whether the display was kept (pixel diff), for
         the freeze path, the stock path and (6.12, q35) upstream's
         No_Soft_Reset alternative: virtio-gpu behind a pcie-root-port with
         x-pcie-pm-no-soft-reset=on, without freeze_mode.

Examples:
  run-s3.py --mode e2e --machine q35 --cycles 20
  run-s3.py --mode stock --machine pc
  run-s3.py --mode demo --path freeze --out build/demo
  run-s3.py --kernel 6.12 --mode e2e --machine pc --cycles 20
  run-s3.py --kernel 6.12 --mode stock --stock-variant patched --stock-freeze-mode off
"""
import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

# ---------------------------------------------------------------- picture
# Must match scripts/guest/fbdraw.c exactly.
PALETTE = [0xff0000, 0x00ff00, 0x0000ff, 0xffff00,
           0xff00ff, 0x00ffff, 0xff8000, 0x808080]
FONT = [[7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7],
        [5, 5, 7, 1, 1], [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1],
        [7, 5, 7, 5, 7], [7, 5, 7, 1, 7]]
BOX_X, BOX_Y, SCALE = 64, 64, 16


def rgb(c):
    return bytes(((c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff))


def pattern(w, h, step):
    """RGB bytes of the picture fbdraw draws for step on a w x h screen."""
    digits = str(step)
    nd = len(digits)
    sw = w // 8
    base = bytearray()
    for x in range(w):
        stripe = min(x // sw, 7)
        base += rgb(PALETTE[(stripe + step) % 8])
    bw, bh = (nd * 4 + 1) * SCALE, 7 * SCALE
    rows = []
    for y in range(h):
        if BOX_Y <= y < BOX_Y + bh:
            row = bytearray(base)
            cy = (y - BOX_Y) // SCALE
            for x in range(BOX_X, min(BOX_X + bw, w)):
                cx = (x - BOX_X) // SCALE
                black = False
                if cx >= 1 and 1 <= cy <= 5:
                    d, col = (cx - 1) // 4, (cx - 1) % 4
                    if d < nd and col < 3 and \
                            (FONT[ord(digits[d]) - 48][cy - 1] >> (2 - col)) & 1:
                        black = True
                row[3 * x:3 * x + 3] = b"\0\0\0" if black else b"\xff\xff\xff"
            rows.append(bytes(row))
        else:
            rows.append(bytes(base))
    return b"".join(rows)


# ---------------------------------------------------------------- images
class Image:
    def __init__(self, w, h, data):
        self.w, self.h, self.data = w, h, data

    @staticmethod
    def read_ppm(path):
        with open(path, "rb") as f:
            raw = f.read()
        toks, pos = [], 0
        while len(toks) < 4:
            m = re.compile(rb"\s*(#[^\n]*\n\s*)*(\S+)").match(raw, pos)
            toks.append(m.group(2))
            pos = m.end()
        assert toks[0] == b"P6", "not a P6 ppm"
        w, h, mx = int(toks[1]), int(toks[2]), int(toks[3])
        assert mx == 255
        data = raw[pos + 1:pos + 1 + 3 * w * h]
        return Image(w, h, data)

    def write_png(self, path):
        def chunk(t, d):
            c = t + d
            return struct.pack(">I", len(d)) + c + \
                struct.pack(">I", zlib.crc32(c) & 0xffffffff)
        stride = 3 * self.w
        raw = b"".join(b"\0" + self.data[y * stride:(y + 1) * stride]
                       for y in range(self.h))
        png = b"\x89PNG\r\n\x1a\n" + \
            chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)) + \
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
        with open(path, "wb") as f:
            f.write(png)

    @staticmethod
    def side_by_side(imgs, gap=16, bg=b"\x20\x20\x20"):
        h = max(i.h for i in imgs)
        w = sum(i.w for i in imgs) + gap * (len(imgs) - 1)
        rows = []
        for y in range(h):
            row = bytearray()
            for n, i in enumerate(imgs):
                if n:
                    row += bg * gap
                row += i.data[3 * i.w * y:3 * i.w * (y + 1)] if y < i.h else bg * i.w
            rows.append(bytes(row))
        return Image(w, h, b"".join(rows))

    def diff_count(self, other):
        if (self.w, self.h) != (other.w, other.h):
            return None
        a, b = self.data, other.data
        if a == b:
            return 0
        return sum(1 for i in range(0, len(a), 3) if a[i:i + 3] != b[i:i + 3])


# ---------------------------------------------------------------- QEMU
def log(msg):
    print(msg, flush=True)


class Fail(Exception):
    pass


def connect_unix(path, timeout, what):
    """Connect to a listening unix socket of QEMU's, retrying until it is up."""
    deadline = time.time() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            if time.time() > deadline:
                raise Fail("cannot connect to %s at %s" % (what, path))
            time.sleep(0.1)


class QMP:
    def __init__(self, path, timeout=30):
        self.sock = connect_unix(path, timeout, "QMP")
        self.buf = b""
        self.events = []
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self, timeout=60):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("QMP timeout")
            if not d:
                raise Fail("QMP connection closed (QEMU died?)")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=60, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read(timeout)
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise Fail("QMP %s: %s" % (name, r["error"]))
            return r.get("return")

    def status(self):
        return self.cmd("query-status")["status"]


class Guest:
    """The ttyS1 command protocol of scripts/guest/init.sh."""

    def __init__(self, path, timeout=30):
        self.sock = connect_unix(path, timeout, "the guest serial")
        self.buf = b""
        self.seq = 0
        self.proc = None

    def readline(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(4096)
            except socket.timeout:
                return None
            if not d:
                raise Fail("guest serial closed (QEMU died?)")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").rstrip("\r")

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        last_ping = 0
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise Fail("QEMU exited with status %s" % self.proc.returncode)
            if time.time() - last_ping > 5:
                # READY may have been printed before we connected: ping.
                self.send("ping")
                last_ping = time.time()
            line = self.readline(min(deadline, time.time() + 1))
            if line is None:
                continue
            if line.startswith("READY") or line == "pong":
                return line
        raise Fail("guest did not come up within %ds" % timeout)

    def send(self, cmd):
        self.seq += 1
        self.sock.sendall(("%d %s\n" % (self.seq, cmd)).encode())
        return self.seq

    def wait_end(self, seq, timeout):
        deadline = time.time() + timeout
        out = []
        while True:
            line = self.readline(deadline)
            if line is None:
                raise Fail("guest did not answer within %ds (hung?)" % timeout)
            m = re.match(r"END (\d+) (\d+)$", line)
            if m and int(m.group(1)) == seq:
                return int(m.group(2)), out
            if m:
                continue  # answer of an earlier, timed-out command
            out.append(line)

    def run(self, cmd, timeout=60):
        return self.wait_end(self.send(cmd), timeout)


def guest_env():
    out = subprocess.run([os.path.join(HERE, "fetch-guest.sh"), "--print-only"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return dict(l.split("=", 1) for l in out.split() if "=" in l)


def kernel_and_initrd(args, variant):
    """The guest kernel image and the initramfs of a path's variant."""
    if args.kernel == "6.12":
        name = "bzImage-6.12" + ("-stock" if variant == "stock" else "")
        kernel = os.path.join(TOP, "build/guest", name)
        if not os.path.exists(kernel):
            raise Fail("missing %s (run scripts/guest/build-kernel.sh%s)" %
                       (kernel, " --stock" if variant == "stock" else ""))
        variant = "builtin"
    else:
        kernel = guest_env()["GUEST_VMLINUZ"]
    initrd = os.path.join(TOP, "build/guest/initramfs-%s.cpio.gz" % variant)
    if not os.path.exists(initrd):
        raise Fail("missing %s (run mkinitramfs.sh %s)" % (initrd, variant))
    return kernel, initrd


class VM:
    def __init__(self, args, variant, freeze_mode, tag, gpu_opts="",
                 root_port=False):
        self.args = args
        self.tag = tag
        self.dir = tempfile.mkdtemp(prefix="s3-%s-" % tag.replace("/", "-"),
                                    dir=os.path.join(TOP, "build", "guest"))
        qemu = os.environ.get("QEMU") or os.path.join(TOP, "build/obj/qemu-system-x86_64")
        if not os.path.exists(qemu):
            raise Fail("no QEMU binary at %s (set QEMU=)" % qemu)
        kernel, initrd = kernel_and_initrd(args, variant)
        self.console = os.path.join(self.dir, "console.log")
        qmp = os.path.join(self.dir, "qmp.sock")
        ser = os.path.join(self.dir, "cmd.sock")
        gpu = "virtio-gpu-pci" + gpu_opts
        if freeze_mode is not None:
            gpu += ",freeze_mode=" + freeze_mode
        dev = ["-device", gpu]
        if root_port:
            dev = ["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
                   "-device", gpu + ",bus=rp0"]
        machine = args.machine
        s3 = "ICH9-LPC.disable_s3=0" if machine == "q35" else "PIIX4_PM.disable_s3=0"
        cmd = [qemu, "-machine", machine, "-accel", "tcg", "-m", "512",
               "-smp", "1", "-nodefaults", "-no-reboot",
               "-kernel", kernel, "-initrd", initrd,
               "-append", "console=ttyS0 loglevel=6 mem_sleep_default=deep "
                          "no_console_suspend panic=-1 " +
                          args.append,
               ] + dev + ["-vga", "none", "-display", "none",
               "-global", s3,
               "-qmp", "unix:%s,server=on,wait=off" % qmp,
               "-serial", "file:" + self.console,
               "-chardev", "socket,id=cmd,path=%s,server=on,wait=off" % ser,
               "-serial", "chardev:cmd"]
        for d in (os.path.join(TOP, "build/obj/pc-bios/optionrom"),
                  # fallback copy of linuxboot_dma.bin/kvmvapic.bin
                  os.path.join(TOP, "build/guest/optionrom"),
                  os.path.join(TOP, "build/obj/qemu-bundle/usr/local/share/qemu"),
                  "/usr/share/seabios", "/usr/lib/ipxe/qemu",
                  os.path.join(TOP, "build/qemu/pc-bios")):
            if args.firmware_dirs and os.path.isdir(d):
                cmd += ["-L", d]
        self.cmdline = cmd
        log("[%s] boot: %s" % (tag, " ".join(cmd)))
        self.stderr = open(os.path.join(self.dir, "qemu.stderr"), "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        t0 = time.time()
        try:
            self.qmp = QMP(qmp)
            self.guest = Guest(ser)
            self.guest.proc = self.proc
            ready = self.guest.wait_ready(args.boot_timeout)
        except Fail:
            self.dump_tail()
            self.proc.kill()
            self.proc.wait()
            raise
        log("[%s] guest up after %.1fs: %s" % (tag, time.time() - t0, ready))

    def dump_tail(self, n=25):
        self.stderr.flush()
        for name in ("qemu.stderr", "console.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    lines = f.read().splitlines()[-n:]
                log("[%s] --- last lines of %s:" % (self.tag, name))
                for l in lines:
                    log("    " + l)

    def screendump(self, name):
        p = os.path.join(self.dir, name + ".ppm")
        self.qmp.cmd("screendump", filename=p)
        return Image.read_ppm(p)

    def close(self):
        try:
            self.qmp.cmd("quit", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- steps
def draw(vm, step, timeout=20):
    """Draw step in the guest and wait until the screendump shows it."""
    rc, out = vm.guest.run("draw %d" % step, 30)
    if rc != 0:
        raise Fail("draw failed: %s" % out)
    m = re.search(r"fbdraw: (\d+)x(\d+) bpp=(\d+)", " ".join(out))
    w, h = int(m.group(1)), int(m.group(2))
    want = pattern(w, h, step)
    deadline = time.time() + timeout
    while True:
        img = vm.screendump("draw%d" % step)
        if (img.w, img.h) == (w, h) and img.data == want:
            return True, img
        if time.time() > deadline:
            return False, img
        time.sleep(0.3)


def irq_total(vm):
    rc, out = vm.guest.run("irq", 30)
    for l in out:
        if l.startswith("IRQTOTAL"):
            return int(l.split()[1]), out
    raise Fail("irq: %s" % out)


def s3_cycle(vm, timeout):
    """echo mem, wait until QEMU is suspended, system_wakeup; returns the
    round trip (wakeup -> guest answer) and the guest's output."""
    seq = vm.guest.send("suspend")
    deadline = time.time() + timeout
    early = []
    while vm.qmp.status() != "suspended":
        if time.time() > deadline:
            raise Fail("guest did not enter S3 within %ds: %s" % (timeout, early))
        line = vm.guest.readline(time.time() + 0.1)
        if line is not None:
            early.append(line)
            if line.startswith("END %d " % seq):
                vm.qmp.cmd("query-status")  # collect pending events
                ev = ["%s@%.3f" % (e["event"], e["timestamp"]["seconds"] % 1000 +
                                    e["timestamp"]["microseconds"] / 1e6)
                      for e in vm.qmp.events[-6:]]
                log("[%s] QMP events: %s" % (vm.tag, " ".join(ev)))
                rc, dm = vm.guest.run("dmesg", 30)
                raise Fail("suspend returned without entering S3: %s; dmesg: %s"
                           % (early, "\n    ".join(dm[-15:])))
    time.sleep(0.2)
    t0 = time.time()
    vm.qmp.cmd("system_wakeup")
    rc, out = vm.guest.wait_end(seq, timeout)
    rt = time.time() - t0
    out = early + out
    if rc != 0:
        raise Fail("suspend command failed rc=%d: %s" % (rc, out))
    return rt, out


RESUME_RE = re.compile(r"PM: resume (?:of devices complete after ([\d.]+) msecs|"
                       r"devices took ([\d.]+) seconds)")


def guest_resume_ms(vm):
    rc, out = vm.guest.run("dmesg -c", 30)  # read and clear
    ms = None
    for l in out:
        m = RESUME_RE.search(l)
        if m:
            ms = float(m.group(1)) if m.group(1) else float(m.group(2)) * 1000
    return ms, out


def clear_dmesg(vm):
    vm.guest.run("sh dmesg -c >/dev/null", 30)


def info(vm):
    rc, out = vm.guest.run("info", 30)
    d = {}
    for l in out:
        if "=" in l:
            k, v = l.split("=", 1)
            d[k] = v
    return d, out


def boot(args, path):
    gpu_opts, root_port = "", False
    if path == "freeze":
        variant, fm = args.freeze_variant, "on"
    elif path == "noreset":
        # upstream's alternative: PCIe PM No_Soft_Reset, no freeze_mode
        variant, fm = args.stock_variant, None
        gpu_opts, root_port = ",x-pcie-pm-no-soft-reset=on", True
    else:
        variant = args.stock_variant
        fm = args.stock_freeze_mode if args.stock_freeze_mode != "absent" else None
    tag = "%s/%s/%s" % (args.machine, args.kernel, path)
    vm = VM(args, variant, fm, tag, gpu_opts, root_port)
    d, out = info(vm)
    log("[%s] virtio-gpu %s status=%s freeze_mode_negotiated=%s" %
        (tag, d.get("device"), d.get("status"), d.get("freeze_mode_negotiated")))
    return vm, d


def one_cycle(vm, tag, n, step, args, results):
    """One S3 cycle with checks; returns dict of outcomes."""
    r = {"cycle": n}
    ok, before = draw(vm, step)
    if not ok:
        raise Fail("[%s] picture %d never reached the screendump before suspend" % (tag, step))
    irq0, _ = irq_total(vm)
    clear_dmesg(vm)
    rt, out = s3_cycle(vm, args.s3_timeout)
    r["roundtrip"] = rt
    time.sleep(args.settle)
    after = vm.screendump("after%d" % n)
    r["before"], r["after"] = before, after
    r["preserved"] = after.w == before.w and after.h == before.h and after.data == before.data
    try:
        ok2, redrawn = draw(vm, step + 1, timeout=args.redraw_timeout)
        r["redraw"] = ok2
        r["redrawn"] = redrawn
        irq1, _ = irq_total(vm)
        r["irq"] = (irq0, irq1)
        r["irq_advanced"] = irq1 > irq0
        ms, dm = guest_resume_ms(vm)
        r["resume_ms"] = ms
        r["dmesg"] = dm
        r["answered"] = True
    except Fail as e:
        r.update(redraw=False, irq_advanced=False, answered=False, error=str(e))
    results.append(r)
    ms = r.get("resume_ms")
    log("[%s] cycle %d: wakeup->answer %.2fs, guest resume devices %s, display "
        "%s, redraw %s, virtio-gpu irqs %s, guest %s" %
        (tag, n, rt, "%.1f ms" % ms if ms is not None else "?",
         "identical" if r["preserved"] else "CHANGED (%s)" % describe(before, after),
         "reached screen" if r["redraw"] else "did NOT reach screen",
         "%d->%d" % r["irq"] if "irq" in r else "?",
         "answered" if r["answered"] else "did NOT answer: " + r.get("error", "")))
    return r


def describe(before, after):
    if (before.w, before.h) != (after.w, after.h):
        return "%dx%d -> %dx%d, e.g. 'Display output is not active'" % (
            before.w, before.h, after.w, after.h)
    return "%d pixels differ" % before.diff_count(after)


def save_pngs(outdir, prefix, r):
    os.makedirs(outdir, exist_ok=True)
    b, a = r["before"], r["after"]
    paths = []
    for name, img in (("before", b), ("after", a)):
        p = os.path.join(outdir, "%s-%s.png" % (prefix, name))
        img.write_png(p)
        paths.append(p)
    imgs = [b, a] + ([r["redrawn"]] if r.get("redrawn") else [])
    p = os.path.join(outdir, "%s-side-by-side.png" % prefix)
    Image.side_by_side(imgs).write_png(p)
    paths.append(p)
    log("[%s] wrote %s" % (prefix, " ".join(os.path.relpath(x, TOP) for x in paths)))


def cycle_ok(r):
    return r["preserved"] and r["redraw"] and r["irq_advanced"] and r["answered"]


# ---------------------------------------------------------------- modes
def mode_e2e(args):
    vm, d = boot(args, "freeze")
    tag = vm.tag
    try:
        if d.get("freeze_mode_negotiated") != "1":
            raise Fail("[%s] VIRTIO_F_FREEZE_MODE (bit 45) was not negotiated" % tag)
        results, passed = [], 0
        for n in range(1, args.cycles + 1):
            r = one_cycle(vm, tag, n, 10 * n, args, results)
            if cycle_ok(r):
                passed += 1
            else:
                save_pngs(os.path.join(TOP, "build/guest"), "e2e-fail-%s-%s" %
                          (args.machine, args.kernel), r)
                vm.dump_tail()
                raise Fail("[%s] cycle %d failed" % (tag, n))
            r.pop("before"), r.pop("after"), r.pop("redrawn", None)
        rts = [r["roundtrip"] for r in results]
        log("[%s] %d/%d cycles passed; wakeup->answer min %.2fs avg %.2fs max %.2fs" %
            (tag, passed, args.cycles, min(rts), sum(rts) / len(rts), max(rts)))
    finally:
        vm.close()


def mode_stock(args):
    vm, d = boot(args, "stock")
    tag = vm.tag
    try:
        if d.get("freeze_mode_negotiated") == "1":
            raise Fail("[%s] stock path negotiated VIRTIO_F_FREEZE_MODE" % tag)
        r = one_cycle(vm, tag, 1, 10, args, [])
        if cycle_ok(r):
            raise Fail("[%s] stock path kept the display: the test proves nothing" % tag)
        log("[%s] stock path is broken as expected (display %s, redraw %s)" %
            (tag, "kept" if r["preserved"] else "lost",
             "ok" if r["redraw"] else "lost"))
    finally:
        vm.close()


def mode_demo(args):
    paths = [args.path] if args.path != "both" else ["freeze", "stock"]
    for path in paths:
        vm, d = boot(args, path)
        try:
            r = one_cycle(vm, vm.tag, 1, 10, args, [])
            save_pngs(args.out, "%s-%s-%s" % (path, args.machine, args.kernel), r)
            for l in r.get("dmesg", []):
                if re.search(r"PM: (suspend|resume)|virtio|blocked|hung", l):
                    log("[%s] guest: %s" % (vm.tag, l))
            log("[%s] SAW: display after resume %s; a new drawing after resume "
                "%s the screen" % (vm.tag, "is pixel-identical to before suspend"
                                   if r["preserved"] else "is LOST (%s)" %
                                   describe(r["before"], r["after"]),
                                   "reached" if r["redraw"] else "did NOT reach"))
        finally:
            vm.close()


def mode_bench(args):
    rows = []
    paths = args.bench_paths.split(",")
    for path in paths:
        if path == "noreset" and (args.machine != "q35" or args.kernel != "6.12"):
            log("[%s/%s/noreset] skipped: needs PCIe (q35) and a kernel that "
                "honours No_Soft_Reset (6.12)" % (args.machine, args.kernel))
            continue
        try:
            vm, d = boot(args, path)
        except Fail as e:
            log("[%s/%s/%s] boot failed: %s" % (args.machine, args.kernel, path, e))
            rows.append((path, [], [], 0))
            continue
        try:
            ok, before = draw(vm, 7)
            rts, mss, kept = [], [], 0
            for n in range(1, args.cycles + 1):
                clear_dmesg(vm)
                try:
                    rt, _ = s3_cycle(vm, args.s3_timeout)
                    ms, _ = guest_resume_ms(vm)
                except Fail as e:
                    log("[%s] cycle %d: %s" % (vm.tag, n, e))
                    break
                time.sleep(args.settle)
                after = vm.screendump("bench%d" % n)
                same = (after.w, after.h) == (before.w, before.h) and \
                    after.data == before.data
                kept += same
                rts.append(rt)
                if ms is not None:
                    mss.append(ms)
                log("[%s] cycle %d: wakeup->answer %.3fs, guest resume devices %s ms, "
                    "display %s" % (vm.tag, n, rt, ms, "kept" if same else
                                    "CHANGED (%s)" % describe(before, after)))
            rows.append((path, rts, mss, kept))
        finally:
            vm.close()
    log("bench-s3 (%s, %s guest, TCG): path, cycles, wakeup->guest answer "
        "avg/min/max [s], guest resume devices avg [ms], display kept" %
        (args.machine, args.kernel))
    for path, rts, mss, kept in rows:
        if rts:
            log("  %-7s %2d  %.3f / %.3f / %.3f   %8s   %d/%d" % (
                path, len(rts), sum(rts) / len(rts), min(rts), max(rts),
                "%.1f" % (sum(mss) / len(mss)) if mss else "?", kept, len(rts)))
        else:
            log("  %-7s  no completed cycle" % path)


def mode_cmd(args):
    """Boot one path and run guest commands (debugging)."""
    vm, d = boot(args, args.path if args.path != "both" else "freeze")
    try:
        for c in args.cmd:
            rc, out = vm.guest.run(c, args.s3_timeout)
            log("$ %s  (rc=%d)" % (c, rc))
            for l in out:
                log("  " + l)
    finally:
        vm.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("e2e", "stock", "demo", "bench", "cmd"),
                    default="e2e")
    ap.add_argument("--cmd", action="append", default=[],
                    help="cmd mode: guest command to run (repeatable)")
    ap.add_argument("--machine", choices=("q35", "pc"), default="q35")
    ap.add_argument("--kernel", choices=("6.1", "6.12"), default="6.1",
                    help="guest kernel (see above)")
    ap.add_argument("--bench-paths", default="freeze,stock,noreset",
                    help="bench: comma-separated paths (freeze, stock, noreset)")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--path", choices=("freeze", "stock", "noreset", "both"),
                    default="both",
                    help="demo: which path(s)")
    ap.add_argument("--out", default=os.path.join(TOP, "build/demo"))
    ap.add_argument("--freeze-variant", default="patched",
                    help="initramfs variant for the freeze path")
    ap.add_argument("--stock-variant", default="stock",
                    help="variant for the stock path (stock|patched): 6.1: the "
                         "initramfs's modules, 6.12: bzImage-6.12-stock or "
                         "bzImage-6.12")
    ap.add_argument("--stock-freeze-mode", choices=("absent", "off", "on"),
                    default="absent",
                    help="freeze_mode property on the stock path (absent: not "
                         "given, works with an unpatched QEMU)")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--boot-timeout", type=int, default=180)
    ap.add_argument("--s3-timeout", type=int, default=60)
    ap.add_argument("--redraw-timeout", type=int, default=20)
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the guest's answer and the screendump")
    ap.add_argument("--no-firmware-dirs", dest="firmware_dirs", action="store_false",
                    help="do not pass -L for optionrom/seabios/ipxe dirs")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    args = ap.parse_args()
    t0 = time.time()
    try:
        {"e2e": mode_e2e, "stock": mode_stock, "demo": mode_demo,
         "bench": mode_bench, "cmd": mode_cmd}[args.mode](args)
    except Fail as e:
        log("FAIL: %s (%s %s %s, %.0f s)" % (e, args.mode, args.machine,
                                              args.kernel, time.time() - t0))
        return 1
    log("PASS: %s %s %s (%.0f s)" % (args.mode, args.machine, args.kernel,
                                    time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
