#!/usr/bin/python3
"""Boot a Linux guest under TCG on QEMU's own Python package (build/qemu/
python), draw a picture with fbdraw, put it to sleep (echo mem, then QMP
system_wakeup), and check the display with Pillow and every device the VM
has.  docs/guest.md describes the kernels, VMs, paths, firmware and modes.

VMs: virtio-gpu alone, or with --desktop the desktop VM's gpu, blk, net,
rng, tablet, console and balloon, each checked on every cycle.
Paths (--path): freeze (freeze_mode=on; microvm: suspend=on), stock (today's,
every device reset), noreset (q35: PCIe root ports with No_Soft_Reset, no
freeze_mode), suspend (q35: root ports, No_Soft_Reset and VIRTIO_F_SUSPEND).

Modes:
  e2e     every cycle keeps the display pixel-identical, redraws, advances
          virtio-gpu's interrupt count, each device works and took its path
          (6.12), the guest answers; q35: the firmware restored the chipset
  stock   today's path: one cycle that must lose the display
  bench   resume times per path (--bench-paths), display kept or not
  faults  the freeze path when a device breaks its promise (--fault)
  firmware-bug  stock SeaBIOS on q35: the second suspend never reaches S3
  cmd     boot and run guest commands (--cmd, debugging)
--out DIR: e2e and stock write cycle 1's pictures (make demo).

Examples:
  run-s3.py --mode e2e --machine q35 --cycles 20
  run-s3.py --kernel 6.12 --mode stock --stock-variant patched --stock-freeze-mode off
  run-s3.py --kernel 6.12 --desktop --machine pc --sleep s2idle --cycles 3
  xvfb-run.sh build/guest run-s3.py --kernel 6.12 --gpu virtio-vga-gl --cycles 3
"""
import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from PIL import Image, ImageChops

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "build/qemu/python"))
# pylint: disable=wrong-import-position
from qemu.machine import QEMUMachine  # noqa: E402
from qemu.machine.machine import QEMUMachineError  # noqa: E402
from qemu.machine.qtest import QEMUQtestProtocol  # noqa: E402
from qemu.qmp import QMPError  # noqa: E402

GL_GPUS = ("virtio-vga-gl", "virtio-gpu-gl-pci")
SEABIOS = {"seabios": os.path.join(TOP, "build/seabios/bios-256k.bin"),
           "seabios-stock": "/usr/share/seabios/bios-256k.bin"}
OVMF = {"ovmf": "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "ovmf-smm": "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"}
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
FBDRAW = os.path.join(TOP, "build/guest/fbdraw")


class Machine:
    """What a --machine differs in: -machine, the -global that lets it
    sleep, its default sleep, the kernel command line's extra, the
    virtio-gpu device (None: --gpu) and its property for the freeze path
    with the feature bit that property negotiates, fixed firmware (None:
    --firmware), and whether it is an ACPI PC: S3 and the power button
    through QMP, a PS/2 keyboard, SeaBIOS's resume path."""

    def __init__(self, machine, sleep_global, sleep="deep", append="", gpu=None,
                 prop="freeze_mode", bios=None):
        self.machine, self.globals, self.sleep = machine, ["-global", sleep_global], sleep
        self.append, self.gpu, self.prop, self.bios = append, gpu, prop, bios
        self.pc = bios is None


MACHINES = {
    "q35": Machine("q35", "ICH9-LPC.disable_s3=0"),
    "pc": Machine("pc", "PIIX4_PM.disable_s3=0"),
    # no S3, and virtio-mmio in version 2 (SUSPEND is a version 2 status
    # bit); TCG's TSC cannot be calibrated against the PIT every time, so
    # the 6.12 guest is given its frequency; no PS/2 keyboard, ttyS1 wakes
    "microvm": Machine("microvm,pit=on,pic=on,rtc=on", "virtio-mmio.force-legacy=false",
                       "s2idle", " tsc_early_khz=2000000 lpj=4000000 tsc=unstable "
                       "virtio.dyndbg=+p", "virtio-gpu-device", "suspend",
                       "/usr/share/seabios/bios-microvm.bin"),
}
# The feature bit each path's property negotiates
BITS = {"freeze_mode": (45, "VIRTIO_F_FREEZE_MODE"), "suspend": (43, "VIRTIO_F_SUSPEND")}
# The desktop VM: the devices beside virtio-gpu that the freeze path keeps,
# and the drivers the guest resets (QEMU or the driver decline freeze_mode)
DESKTOP_KEPT = ("virtio-blk-pci,drive=d0", "virtio-net-pci,netdev=n0",
                "virtio-rng-pci,rng=rng0")
KEPT_DRIVERS = ("virtio_gpu", "virtio_blk", "virtio_net", "virtio_rng")
RESET_DRIVERS = ("virtio_console", "virtio_input", "virtio_balloon")
DISK_MIB = 16


def log(msg):
    print(msg, flush=True)


class Fail(Exception):
    pass


# ---------------------------------------------------------------- pictures
def expected(w, h, step):
    """The picture fbdraw draws for step on a w x h screen, from fbdraw."""
    src = os.path.join(HERE, "fbdraw.c")
    if not os.access(FBDRAW, os.X_OK) or \
            os.path.getmtime(FBDRAW) < os.path.getmtime(src):
        raise Fail("%s is missing or older than fbdraw.c (make guest-initramfs)"
                   % FBDRAW)
    ppm = subprocess.run([FBDRAW, "--ppm", str(w), str(h), str(step)],
                         check=True, stdout=subprocess.PIPE).stdout
    return Image.open(io.BytesIO(ppm)).convert("RGB")


def diff_count(a, b):
    """Pixels that differ in any channel; None if the sizes differ."""
    if a.size != b.size:
        return None
    r, g, b_ = ImageChops.difference(a, b).split()
    most = ImageChops.lighter(ImageChops.lighter(r, g), b_)
    return a.width * a.height - most.histogram()[0]


def same(a, b):
    return diff_count(a, b) == 0


def describe(before, after):
    if before.size != after.size:
        return "%dx%d -> %dx%d, e.g. 'Display output is not active'" % (
            before.size + after.size)
    return "%d pixels differ" % diff_count(before, after)


def save_pngs(outdir, prefix, r, docs=None):
    """Cycle r's pictures: before suspend, right after resume, after the
    guest drew again, and the three side by side (docs: also at half size
    under that name, for docs/images; docs/guest.md captions them)."""
    os.makedirs(outdir, exist_ok=True)
    imgs = [r["before"], r["after"]] + ([r["redrawn"]] if r.get("redrawn") else [])
    side = Image.new("RGB", (sum(i.width + 16 for i in imgs) - 16,
                             max(i.height for i in imgs)), (32, 32, 32))
    x = 0
    for img, name in zip(imgs, ("before", "after", "redrawn")):
        img.save(os.path.join(outdir, "%s-%s.png" % (prefix, name)))
        side.paste(img, (x, 0))
        x += img.width + 16
    side.save(os.path.join(outdir, prefix + "-side-by-side.png"), optimize=True)
    if docs:
        side.reduce(2).save(os.path.join(outdir, docs), optimize=True)
    log("[%s] wrote %s/%s-*.png%s" % (prefix, outdir, prefix, " and " + docs if docs else ""))


# ---------------------------------------------------------------- Xvfb
def xvfb_screen():
    """Xvfb's screen, from the XWD file it keeps with -fbdir: a header of
    big-endian words, the colormap, then 32-bit B, G, R, X pixels."""
    with open(os.environ["QTEST_XVFB_SCREEN"], "rb") as f:
        data = f.read()
    hdr = [int.from_bytes(data[4 * i:4 * i + 4], "big") for i in range(25)]
    if hdr[11] != 32 or hdr[7] != 0 or hdr[14] != 0xff0000:
        raise Fail("unexpected XWD format: bpp %d, byte order %d, red mask %#x"
                   % (hdr[11], hdr[7], hdr[14]))
    off = hdr[0] + 12 * hdr[19]  # header, colormap entries
    return Image.frombuffer("RGB", (hdr[4], hdr[5]), data[off:], "raw",
                            "BGRX", hdr[12], 1)


def sdl_window(title):
    """Absolute geometry (x, y, w, h) of QEMU's SDL window; the title starts
    with title ("QEMU (s3-0)", "... [Stopped]")."""
    if not shutil.which("xwininfo"):
        raise Fail("xwininfo (Debian package x11-utils) is needed for GL devices")
    out = subprocess.run(["xwininfo", "-root", "-tree"], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    for line in out.splitlines():
        m = re.search(r'"%s[^"]*":.*\s(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+'
                      r'\+(-?\d+)\+(-?\d+)$' % re.escape(title), line)
        if m and int(m.group(1)) > 1:
            w, h, x, y = map(int, m.groups())
            return x, y, w, h
    raise Fail("no SDL window %r on the Xvfb display: %s" % (title, out))


# ---------------------------------------------------------------- guest
class Guest:
    """The ttyS1 command protocol of scripts/guest/init.sh, on the console
    socket of QEMUMachine (a socketpair; QEMUMachine's own console helpers
    are a byte drain and a log, not a request/answer line protocol)."""

    def __init__(self, sock, machine):
        self.sock, self.machine = sock, machine
        self.buf = b""
        self.seq = 0

    def readline(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(4096)
            except TimeoutError:
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
            if not self.machine.is_running():
                raise Fail("QEMU exited with status %s" % self.machine.exitcode())
            if time.time() - last_ping > 5:
                # READY may have been printed before we connected: ping.
                self.send("ping")
                last_ping = time.time()
            line = self.readline(min(deadline, time.time() + 1))
            if line is not None and (line.startswith("READY") or line == "pong"):
                return line
        raise Fail("guest did not come up within %ds" % timeout)

    def send(self, cmd):
        self.seq += 1
        self.sock.sendall(("%d %s\n" % (self.seq, cmd)).encode())
        return self.seq

    def wait_end(self, seq, timeout, out=None):
        """The answer to command seq; its lines go to out"""
        deadline = time.time() + timeout
        out = [] if out is None else out
        while True:
            line = self.readline(deadline)
            if line is None:
                raise Fail("guest did not answer within %ds (hung?); it said: %s"
                           % (timeout, " | ".join(out) or "nothing"))
            m = re.match(r"END (\d+) (\d+)$", line)
            if m and int(m.group(1)) == seq:
                return int(m.group(2)), out
            if not m:  # (else the answer of an earlier, timed-out command)
                out.append(line)

    def run(self, cmd, timeout=60):
        return self.wait_end(self.send(cmd), timeout)


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
        out = subprocess.run([os.path.join(HERE, "fetch-guest.sh"), "--print-only"],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        kernel = dict(l.split("=", 1) for l in out.split() if "=" in l)["GUEST_VMLINUZ"]
    initrd = os.path.join(TOP, "build/guest/initramfs-%s.cpio.gz" % variant)
    if not os.path.exists(initrd):
        raise Fail("missing %s (run mkinitramfs.sh %s)" % (initrd, variant))
    return kernel, initrd


class VM:
    """A guest on QEMUMachine: QMP on its socketpair, ttyS0 (the kernel
    console) into console.log, ttyS1 the command channel.  VM(args, path)
    makes the run directory; launch() boots the guest with the devices of
    the path (devices())."""

    def __init__(self, args, path):
        self.args, self.path = args, path
        self.m = MACHINES[args.machine]
        self.gl = args.gpu in GL_GPUS
        self.tag = "%s/%s/%s%s%s%s%s" % (
            args.machine, args.kernel, path, "/desktop" if args.desktop else "",
            "" if args.gpu == "virtio-gpu-pci" else "/" + args.gpu, "+VGA" if args.vga else "",
            "" if args.firmware == "seabios" else "/" + args.firmware)
        self.dir = tempfile.mkdtemp(prefix="s3-%s-" % self.tag.replace("/", "-"),
                                    dir=os.path.join(TOP, "build", "guest"))
        self.console = os.path.join(self.dir, "console.log")

    def launch(self, kernel, initrd, dev):
        try:
            return self._launch(kernel, initrd, dev)
        except BaseException:
            self.close()  # the run directory too, unless --keep
            raise

    def _launch(self, kernel, initrd, dev):
        args = self.args
        qemu = os.environ.get("QEMU") or os.path.join(TOP, "build/obj/qemu-system-x86_64")
        if not os.path.exists(qemu):
            raise Fail("no QEMU binary at %s (set QEMU=)" % qemu)
        qargs = ["-accel", "tcg", "-m", "512", "-smp", "1", "-nodefaults",
                 "-no-reboot", "-name", "s3",
                 "-kernel", kernel, "-initrd", initrd,
                 "-append", "console=ttyS0 loglevel=6 mem_sleep_default=deep "
                 "no_console_suspend panic=-1 sysrq_always_enabled " + args.append +
                 self.m.append, "-serial", "file:" + self.console] + self.m.globals + dev
        # the firmware: -bios or pflash; the option ROMs come from the
        # build tree's qemu-bundle (scripts/link-firmware.sh)
        qargs += self.firmware_args(args)
        self.machine = QEMUMachine(qemu, qargs, name="qemu", log_dir=self.dir,
                                   base_temp_dir=self.dir)
        self.machine.set_machine(self.m.machine)
        # ttyS1, the command channel: "-device isa-serial,index=1"
        self.machine.set_console(device_type="isa-serial,index=1")
        t0 = time.time()
        try:
            log("[%s] boot: %s -machine %s %s (QEMUMachine adds -display none "
                "-vga none, QMP and ttyS1)" % (self.tag, qemu, args.machine,
                                               " ".join(qargs)))
            self.machine.launch()
            self.guest = Guest(self.machine.console_socket, self.machine)
            ready = self.guest.wait_ready(args.boot_timeout)
        except (Fail, QEMUMachineError) as e:
            self.dump_tail()
            self.machine.kill()
            raise Fail("[%s] boot: %s" % (self.tag, e)) from e
        log("[%s] guest up after %.1fs: %s" % (self.tag, time.time() - t0, ready))
        self.check_firmware()
        return self

    def firmware_args(self, args):
        """-bios or the pflash drives of --firmware, and the debug port"""
        self.fwlog = os.path.join(self.dir, "firmware.log")
        fw = ["-debugcon", "file:" + self.fwlog,
              "-global", "isa-debugcon.iobase=0x402"]
        if not self.m.pc:
            return fw + ["-bios", self.m.bios]
        if args.firmware in SEABIOS:
            if not os.path.exists(SEABIOS[args.firmware]):
                raise Fail("missing %s (%s)" % (
                    SEABIOS[args.firmware], "make seabios"
                    if args.firmware == "seabios" else "package seabios"))
            return fw + ["-bios", SEABIOS[args.firmware]]
        if args.machine != "q35" and args.firmware == "ovmf-smm":
            raise Fail("ovmf-smm is a q35 firmware")
        for f in (OVMF[args.firmware], OVMF_VARS):
            if not os.path.exists(f):
                raise Fail("missing %s (package ovmf: make deps-ovmf)" % f)
        vars_ = os.path.join(self.dir, "OVMF_VARS_4M.fd")
        shutil.copyfile(OVMF_VARS, vars_)
        fw += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" +
               OVMF[args.firmware],
               "-drive", "if=pflash,format=raw,unit=1,file=" + vars_]
        if args.firmware == "ovmf-smm":
            # SMRAM, and flash writes only from SMM (the variable store)
            return fw + ["-machine", "smm=on",
                         "-global", "driver=cfi.pflash01,property=secure,value=on"]
        return fw + ["-machine", "smm=off"]

    def firmware_log(self):
        with open(self.fwlog, "rb") as f:
            return f.read().decode(errors="replace")

    def check_firmware(self):
        """A SeaBIOS run is the SeaBIOS it asked for: the version it
        announces on the debug port (the project's build says
        +freezemode, scripts/seabios-version.sh)."""
        if self.args.firmware not in SEABIOS or not self.m.pc:
            return
        m = re.search(r"SeaBIOS \(version ([^)]*)\)", self.firmware_log())
        if not m:
            raise Fail("[%s] no SeaBIOS banner in %s" % (self.tag, self.fwlog))
        log("[%s] firmware: SeaBIOS %s (%s)" % (self.tag, m.group(1),
                                                SEABIOS[self.args.firmware]))
        if ("+freezemode" in m.group(1)) != (self.args.firmware == "seabios"):
            raise Fail("[%s] %s runs SeaBIOS %s" % (self.tag, self.args.firmware,
                                                    m.group(1)))

    def dump_tail(self, n=25):
        for name in ("qemu.log", "console.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    lines = f.read().splitlines()[-n:]
                log("[%s] --- last lines of %s:" % (self.tag, name))
                for l in lines:
                    log("    " + l)

    def diagnose(self):
        """A guest that does not answer: what QEMU says of it and of
        ttyS1, the command channel (IER, and LSR: data ready means the
        guest left a byte unread), and the guest's own account on the
        console (SysRq on the PS/2 keyboard, which microvm has not:
        console loglevel 9, blocked tasks, the CPU's backtrace), for
        dump_tail()."""
        try:
            log("[%s] QEMU: %s; ttyS1: %s" % (
                self.tag, self.machine.cmd("query-status"), ", ".join(
                    self.machine.cmd("human-monitor-command", command_line="i/b %#x"
                                     % port).strip() for port in (0x2f9, 0x2fd))))
            if self.m.pc:
                for k in "9wl":
                    self.machine.cmd("send-key", keys=[
                        {"type": "qcode", "data": q} for q in ("alt", "sysrq", k)])
                time.sleep(5)
        except (QMPError, QEMUMachineError) as e:
            log("[%s] QEMU does not answer either: %s" % (self.tag, e))

    def screen(self, name):
        """What the display shows: QMP screendump, or for GL the SDL
        window's pixels on Xvfb's screen (read until two reads agree, so
        that a frame being written is never taken)."""
        if not self.gl:
            p = os.path.join(self.dir, name + ".ppm")
            self.machine.cmd("screendump", filename=p,
                             **({"device": "gpu0"} if self.args.vga else {}))
            with Image.open(p) as img:
                return img.convert("RGB")
        prev = None
        for _ in range(20):
            x, y, w, h = sdl_window("QEMU (s3")
            scr = xvfb_screen()
            if x < 0 or y < 0 or x + w > scr.width or y + h > scr.height:
                raise Fail("the SDL window (%dx%d+%d+%d) is not all on the "
                           "%dx%d screen" % ((w, h, x, y) + scr.size))
            img = scr.crop((x, y, x + w, y + h))
            if prev is not None and same(prev, img):
                return img
            prev = img
            time.sleep(0.1)
        raise Fail("the SDL window never showed the same picture twice")

    def run(self, cmd, timeout=60, check=True):
        """A guest command's output; a failure of it fails the run."""
        try:
            rc, out = self.guest.run(cmd, timeout)
        except Fail as e:
            self.diagnose()
            raise Fail("[%s] guest '%s': %s" % (self.tag, cmd, e)) from e
        if check and rc != 0:
            raise Fail("[%s] guest '%s' failed (rc %d): %s" %
                       (self.tag, cmd, rc, " | ".join(out)))
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and issubclass(exc[0], Fail):
            self.dump_tail(80 if self.args.desktop else 25)
        self.close()

    def close(self):
        try:
            if hasattr(self, "machine"):
                self.machine.shutdown(timeout=10)
        except QEMUMachineError:
            pass
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- steps
def draw(vm, step, timeout=20, must=True):
    """Draw step in the guest and wait until the display shows it; must:
    fail the run if it never does (else the bool says)."""
    out = vm.run("draw %d" % step, 30)
    m = re.search(r"fbdraw: (\d+)x(\d+) bpp=(\d+)", " ".join(out))
    want = expected(int(m.group(1)), int(m.group(2)), step)
    deadline = time.time() + timeout
    while True:
        img = vm.screen("draw%d" % step)
        if same(img, want):
            return True, img
        if time.time() > deadline:
            if must:
                raise Fail("[%s] picture %d never reached the display" % (vm.tag, step))
            return False, img
        time.sleep(0.3)


def irq_total(vm):
    for l in vm.run("irq", 30):
        if l.startswith("IRQTOTAL"):
            return int(l.split()[1])
    raise Fail("[%s] irq: no total" % vm.tag)


def s3_cycle(vm, timeout, asleep=None):
    """echo mem, wait until QEMU is suspended, system_wakeup; returns the
    round trip (wakeup -> guest answer).  With --sleep s2idle, suspend to
    idle: QEMU runs on, the guest says it is suspending, and the ACPI power
    button (microvm: ttyS1) wakes it.  asleep(): what the host does while
    the guest sleeps."""
    s2idle = vm.args.sleep == "s2idle"
    seq = vm.guest.send("suspend " + vm.args.sleep)
    deadline = time.time() + timeout
    early = []
    while ("SUSPENDING" not in early if s2idle else
           vm.machine.cmd("query-status")["status"] != "suspended"):
        if time.time() > deadline:
            raise Fail("guest did not enter S3 within %ds: %s" % (timeout, early))
        line = vm.guest.readline(time.time() + 0.1)
        if line is not None:
            early.append(line)
            if line.startswith("END %d " % seq):
                ev = ["%s@%.3f" % (e["event"], e["timestamp"]["seconds"] % 1000 +
                                    e["timestamp"]["microseconds"] / 1e6)
                      for e in vm.machine.get_qmp_events()[-6:]]
                log("[%s] QMP events: %s" % (vm.tag, " ".join(ev)))
                raise Fail("suspend returned without entering S3: %s; dmesg: %s"
                           % (early, "\n    ".join(vm.run("dmesg", 30)[-15:])))
    # s2idle: the devices are suspended after "suspend entry"; a wakeup
    # that came too early would abort the suspend (cycle() checks), or on
    # a loaded machine come before the guest sleeps: then wake it again
    time.sleep(4.0 if s2idle else 0.2)
    if asleep:
        asleep()
    t0, out = time.time(), early
    while True:
        if not vm.m.pc:
            vm.guest.sock.sendall(b"\n")  # ttyS1 is a wakeup source (boot())
        else:
            vm.machine.cmd("system_powerdown" if s2idle else "system_wakeup")
        try:
            rc, out = vm.guest.wait_end(seq, 5 if s2idle else timeout, out)
            break
        except Fail:
            if not s2idle or time.time() - t0 > timeout:
                vm.diagnose()
                raise
            log("[%s] no answer 5 s after the wakeup: waking it again" % vm.tag)
    if rc != 0 or not any(l.startswith("RESUMED rc=0") for l in out):
        raise Fail("suspend command failed rc=%d: %s" % (rc, out))
    return time.time() - t0


RESUME_RE = re.compile(r"PM: resume (?:of devices complete after ([\d.]+) msecs|"
                       r"devices took ([\d.]+) seconds)")


def guest_resume_ms(vm):
    """The guest's "resume of devices" time, and its kernel log since the
    last call (read and cleared)"""
    out = vm.run("dmesg -c PM:|virtio|freeze|hung|blocked|resume|suspend|abort|"
                 "BUG|WARNING|Oops|I/O error", 30)
    ms = None
    for l in out:
        m = RESUME_RE.search(l)
        if m:
            ms = float(m.group(1)) if m.group(1) else float(m.group(2)) * 1000
    return ms, out


def clear_dmesg(vm):
    vm.run("sh dmesg -c >/dev/null", 30)


def q35_chipset(vm):
    """What the firmware restores on resume, as the guest reads it through
    0xcf8: PMBASE and ACPI_CNTL of the ICH9 LPC bridge (00:1f.0, 0x40 and
    0x44), the low half of the MCH's PCIEXBAR (00:00.0, 0x60).  Returns
    whether PM I/O space (PMBASE, ACPI_EN) and MMCONFIG are enabled, and
    the three as text."""
    words = " ".join(vm.run(
        "sh od -An -tx4 -j64 -N8 /sys/bus/pci/devices/0000:00:1f.0/config;"
        " od -An -tx4 -j96 -N4 /sys/bus/pci/devices/0000:00:00.0/config", 30)).split()
    if len(words) != 3:
        raise Fail("[%s] reading the chipset from the guest: %s" % (vm.tag, words))
    pmbase, acpi_cntl, pciexbar = (int(w, 16) for w in words)
    ok = pmbase & 0xff80 and acpi_cntl & 0x80 and pciexbar & 1
    return bool(ok), "PMBASE %#x ACPI_CNTL %#x PCIEXBAR %#x" % (
        pmbase, acpi_cntl & 0xff, pciexbar)


def by_driver(vm, cmd, regex):
    """The guest's answer to cmd: driver (group 2 of regex) -> the match"""
    return {m[2]: m for m in map(re.compile(regex).match, vm.run(cmd, 30)) if m}


# ---------------------------------------------------------------- the VM
def devices(vm, path):
    """The -device options of path: virtio-gpu, with --desktop the desktop
    VM's devices (vm.disk: the disk, vm.hvc: the virtio console's file)"""
    args, m = vm.args, vm.m
    gpu = m.gpu or args.gpu + (",xres=800,yres=600" if vm.gl else "")
    # (GL: SDL centres its window for QEMU's first 640x480 surface and,
    # without a window manager, never moves it when the guest sets its
    # mode: at 800x600 the window stays all on xvfb-run.sh's screen.)
    props = {"freeze": ",%s=on" % m.prop, "noreset": ",x-pcie-pm-no-soft-reset=on",
             "suspend": ",suspend=on,x-pcie-pm-no-soft-reset=on", "unkept": ",suspend=on",
             "stock": "" if args.stock_freeze_mode == "absent"
             else ",freeze_mode=" + args.stock_freeze_mode}[path]
    kept = [gpu + (",id=gpu0" if args.vga else "")]  # screendump names it
    dev = []
    if args.desktop:
        kept += DESKTOP_KEPT
        vm.disk, vm.hvc = (os.path.join(vm.dir, f) for f in ("disk.img", "hvc.log"))
        with open(vm.disk, "wb") as f:
            f.truncate(DISK_MIB << 20)
        dev = ["-drive", "if=none,id=d0,format=raw,file=" + vm.disk,
               "-netdev", "user,id=n0",
               "-object", "rng-random,id=rng0,filename=/dev/urandom",
               "-device", "virtio-tablet-pci", "-device", "virtio-serial-pci",
               "-chardev", "file,id=hvc0,path=" + vm.hvc,
               "-device", "virtconsole,chardev=hvc0",
               "-device", "virtio-balloon-pci,freeze_mode=on"]
    for i, d in enumerate(kept):
        if path in ("noreset", "suspend", "unkept"):
            if args.machine != "q35":
                raise Fail("the %s path needs PCIe root ports (q35)" % path)
            dev += ["-device", "pcie-root-port,id=rp%d,chassis=%d,slot=%d" % (i, i + 1, i + 1)]
            d += ",bus=rp%d" % i
        dev += ["-device", d + props]
    if vm.gl:
        dev += ["-display", "sdl,gl=on"]  # after QEMUMachine's "-display none"
    return dev + (["-device", "VGA"] if args.vga else [])


def boot(args, path, extra=(), check=True):
    """The VM of path, booted; check: its devices checked (each bound,
    each negotiated the feature bit of its path or none, virgl for a GL
    device) and the path each must take on a sleep in vm.expect."""
    variant = args.stock_variant if path in ("stock", "noreset") else args.freeze_variant
    kernel, initrd = kernel_and_initrd(args, variant)
    vm = VM(args, path)
    vm.launch(kernel, initrd, devices(vm, path) + list(extra))
    if not check:
        return vm
    try:
        if not vm.m.pc:
            vm.run("sh echo enabled >/sys/class/tty/ttyS1/power/wakeup", 30)
        bit = {"freeze": vm.m.prop, "suspend": "suspend", "unkept": "suspend"}.get(path)
        devs = by_driver(vm, "devices", r"DEV (\S+) driver=(\S+) device=\S+ status=(\S+) "
                         r"features=(\S+)")
        log("[%s] devices: %s" % (vm.tag, ", ".join(
            "%s %s status %s" % (k, m[1], m[3]) for k, m in sorted(devs.items()))))
        kept = KEPT_DRIVERS if args.desktop else ("virtio_gpu",)
        for drv in kept + (RESET_DRIVERS if args.desktop else ()):
            if drv not in devs:
                raise Fail("[%s] no device bound to %s" % (vm.tag, drv))
            for prop, (n, name) in BITS.items():
                if (devs[drv][4][n] == "1") != (prop == bit and drv in kept):
                    raise Fail("[%s] %s: %s (bit %d) %snegotiated" % (
                        vm.tag, drv, name, n, "" if devs[drv][4][n] == "1" else "not "))
        if vm.gl:
            # VIRTIO_GPU_F_VIRGL (bit 0), and the DRM driver uses it
            out = vm.run("dmesg features:", 30)
            log("[%s] virgl: %s" % (vm.tag, "; ".join(out) or "nothing"))
            if devs["virtio_gpu"][4][0] != "1" or not any("+virgl" in l for l in out):
                raise Fail("[%s] the guest did not negotiate virgl" % vm.tag)
        if args.desktop:
            vm.run("net", 60)
        # the path each device takes on a sleep (6.12 reports it: the core's log)
        vm.expect = dict.fromkeys(kept, "kept" if bit else "reset") | dict.fromkeys(
            RESET_DRIVERS if args.desktop else (), "reset")
    except BaseException:
        vm.close()
        raise
    return vm


def tablet(vm):
    """A tablet event, sent with QMP until the guest reads one"""
    seq = vm.guest.send("tablet")
    deadline = time.time() + 15
    i = 0
    while True:
        i += 1
        vm.machine.cmd("input-send-event", events=[
            {"type": "abs", "data": {"axis": "x", "value": 1000 + 97 * i % 20000}},
            {"type": "abs", "data": {"axis": "y", "value": 2000 + 89 * i % 20000}}])
        line = vm.guest.readline(time.time() + 0.3)
        if line is None and time.time() > deadline:
            raise Fail("[%s] tablet: no answer" % vm.tag)
        if line and line.startswith("END %d " % seq):
            if not line.endswith(" 0"):
                raise Fail("[%s] tablet: no event reached the guest" % vm.tag)
            return


def wait_for(what, timeout, interval=0.1):
    """Poll what() until it is true; False if timeout seconds pass first"""
    deadline = time.time() + timeout
    while not what():
        if time.time() > deadline:
            return False
        time.sleep(interval)
    return True


def check_desktop(vm, n):
    """Every desktop device works: blkstart's data read back, DHCP, rng
    bytes, a tablet event, a console line that reaches the host; with
    --resize the disk's new size.  Returns blk's line."""
    blk = vm.run("blkcheck", 60)
    vm.run("net", 60)
    vm.run("rng", 30)
    tablet(vm)
    word = "hvc-cycle-%d-%d" % (n, os.getpid())
    vm.run("hvc " + word)

    def arrived():
        with open(vm.hvc, errors="replace") as f:
            return word in f.read()
    if not wait_for(arrived, 10):
        raise Fail("the virtio console line %s never reached the host" % word)
    want = ((DISK_MIB + n) << 20) // 512
    if vm.args.resize and not wait_for(lambda: int(vm.run("blksize")[0]) == want, 10, 0.2):
        raise Fail("the guest still sees %s sectors, not %d, after the resize"
                   % (vm.run("blksize")[0], want))
    return [l for l in blk if l.startswith("BLK wrote")]


def cycle(vm, n, step, asleep=None, expect=None, prepare=None):
    """One sleep (prepare(): what the host does just before it), and what it
    must keep: the display (r["kept"]), and what
    must work after it (r["bad"] lists what did not): the next picture
    reaches the display, virtio-gpu interrupts, every desktop device, the
    path of each device (6.12, expect: driver -> path, default vm.expect),
    a complete suspend to idle, a kernel log without hung tasks or
    warnings, the guest's answer."""
    args, bad = vm.args, []
    expect = vm.expect if expect is None else expect
    before = draw(vm, step)[1]
    irq0 = irq_total(vm)
    if args.desktop:
        vm.run("blkstart")
    clear_dmesg(vm)
    if prepare:
        prepare()
    if args.resize:
        def asleep():
            vm.machine.cmd("block_resize", device="d0", size=(DISK_MIB + n) << 20)
            log("[%s] cycle %d: block_resize d0 to %d MiB" % (vm.tag, n, DISK_MIB + n))
    try:
        rt = s3_cycle(vm, args.s3_timeout, asleep)
    except Fail as e:
        raise Fail("[%s] cycle %d: %s" % (vm.tag, n, e)) from e
    time.sleep(args.settle)
    r = {"rt": rt, "before": before, "after": vm.screen("after%d" % n), "ms": None,
         "bad": bad, "dmesg": [], "paths": {}, "blk": []}
    r["kept"] = same(r["after"], before)
    try:
        ok, r["redrawn"] = draw(vm, step + 1, args.redraw_timeout, must=False)
        if not ok:
            bad.append("the redraw did NOT reach the display")
        irq = irq_total(vm)
        # (a virtio-gpu probed again has new interrupts, counted from 0)
        if irq <= irq0 and expect.get("virtio_gpu") != "recovered":
            bad.append("virtio-gpu interrupts %d -> %d" % (irq0, irq))
        if args.desktop:
            r["blk"] = check_desktop(vm, n)
        if args.kernel == "6.12":  # (6.1's backport does not report it)
            r["paths"] = {d: m[3] for d, m in by_driver(
                vm, "paths", r"PATH (\S+) (\S+) (\S+)").items()}
            for drv, path in expect.items():
                if r["paths"].get(drv) != path:
                    bad.append("%s took path %s, not %s" % (drv, r["paths"].get(drv), path))
        r["ms"], r["dmesg"] = guest_resume_ms(vm)
        bad += [l for l in r["dmesg"] if re.search(
            r"hung|blocked for more|BUG|WARNING|Oops|abort|failed to suspend|I/O error", l)]
        if args.sleep == "s2idle" and not any("suspend entry (s2idle)" in l
                                              for l in r["dmesg"]):
            bad.append("no suspend to idle in the guest's log")
    except Fail as e:
        bad.append("guest did NOT answer: %s" % e)
    log("[%s] cycle %d: wakeup->answer %.2fs, resume of devices %s ms, display %s, "
        "%s%s; paths: %s" % (
            vm.tag, n, rt, r["ms"], "kept (%dx%d pixels compared)" % before.size
            if r["kept"] else "CHANGED (%s)" % describe(before, r["after"]),
            "; ".join(bad) or "everything works", "".join("; " + l for l in r["blk"]),
            " ".join("%s=%s" % kv for kv in sorted(r["paths"].items())) or "not reported"))
    return r


def summary(tag, rs):
    """The round trips and the guest's resume times of cycles rs"""
    rts, mss = [r["rt"] for r in rs], [r["ms"] for r in rs if r["ms"] is not None]
    return ("[%s] %d cycles; wakeup->answer avg %.3fs (min %.3f, max %.3f); guest "
            "resume of devices avg %s ms (min %s, max %s); display kept %d/%d" % (
                tag, len(rs), sum(rts) / len(rts), min(rts), max(rts),
                "%.1f" % (sum(mss) / len(mss)) if mss else "?", min(mss, default="?"),
                max(mss, default="?"), sum(r["kept"] for r in rs), len(rs)))


# ---------------------------------------------------------------- modes
def mode_e2e(args):
    # fbdraw's pictures for consecutive steps differ (else "kept" and
    # "redrawn" could not be told apart)
    if same(expected(1280, 800, 10), expected(1280, 800, 11)):
        raise Fail("fbdraw draws the same picture for steps 10 and 11")
    with boot(args, args.path) as vm:
        rs = []
        for n in range(1, args.cycles + 1):
            r = cycle(vm, n, 10 * n)
            rs.append(r)
            if not r["bad"] and r["kept"] and args.machine == "q35":
                # the firmware's resume path restored the chipset
                ok, c = q35_chipset(vm)
                if not ok:
                    r["bad"].append("chipset NOT restored by the firmware: " + c)
            if n == 1 and args.out:
                save_pngs(args.out, "%s-%s-%s" % (vm.path, args.machine, args.kernel),
                          r, "demo-%s-%s.png" % (vm.path, args.machine))
            if r["bad"] or not r["kept"]:
                save_pngs(os.path.join(TOP, "build/guest"), "e2e-fail-%s-%s" %
                          (args.machine, args.kernel), r)
                raise Fail("[%s] cycle %d failed" % (vm.tag, n))
            r.pop("before"), r.pop("after"), r.pop("redrawn", None)
        log(summary(vm.tag, rs))
        if args.machine == "q35":
            log("[%s] chipset after the last resume: %s" % (vm.tag, c))
        if args.firmware in SEABIOS and vm.m.pc and args.sleep == "deep":
            # every wakeup went through SeaBIOS's S3 resume path
            n = vm.firmware_log().count("Jump to resume vector")
            log("[%s] SeaBIOS resumed the guest %d times" % (vm.tag, n))
            if n != args.cycles:
                raise Fail("[%s] SeaBIOS jumped to the resume vector %d times "
                           "in %d cycles" % (vm.tag, n, args.cycles))


def mode_stock(args):
    with boot(args, "stock") as vm:
        r = cycle(vm, 1, 10)
        if args.out:
            save_pngs(args.out, "stock-%s-%s" % (args.machine, args.kernel), r,
                      "demo-stock-%s.png" % args.machine)
        if r["kept"] and not r["bad"]:
            raise Fail("[%s] stock path kept the display: the test proves nothing" % vm.tag)
        log("[%s] stock path is broken as expected: display %s; %s" % (
            vm.tag, "kept" if r["kept"] else "lost", "; ".join(r["bad"]) or "redraw ok"))


def mode_firmware_bug(args):
    """Stock SeaBIOS on q35: the first S3 cycle works, the firmware leaves
    the chipset as the wakeup reset left it, the second suspend never
    reaches S3 (Linux's SLP_EN write goes to the unmapped PM I/O space and
    it reads WAK_STS as set from there: suspend returns at once)."""
    if args.machine != "q35" or args.firmware != "seabios-stock":
        raise Fail("firmware-bug is stock SeaBIOS on q35 "
                   "(--machine q35 --firmware seabios-stock)")
    with boot(args, "freeze") as vm:
        ok, c = q35_chipset(vm)
        log("[%s] chipset after boot: %s" % (vm.tag, c))
        if not ok:
            raise Fail("[%s] SeaBIOS did not set the chipset up at boot" % vm.tag)
        r = cycle(vm, 1, 10)
        if r["bad"] or not r["kept"]:
            raise Fail("[%s] the first S3 cycle failed: not the documented "
                       "failure" % vm.tag)
        n = vm.firmware_log().count("Jump to resume vector")
        if n != 1:
            raise Fail("[%s] SeaBIOS jumped to the resume vector %d times" % (vm.tag, n))
        ok, c = q35_chipset(vm)
        log("[%s] chipset after the first resume: %s" % (vm.tag, c))
        if ok:
            raise Fail("[%s] stock SeaBIOS restored the chipset: the documented "
                       "failure is gone (docs/guest.md, \"Firmware\")" % vm.tag)
        try:
            s3_cycle(vm, args.s3_timeout)
        except Fail as e:
            if "suspend returned without entering S3" not in str(e):
                raise
            log("[%s] second suspend: returned without entering S3, as "
                "documented" % vm.tag)
        else:
            raise Fail("[%s] the second suspend reached S3 on stock SeaBIOS" % vm.tag)
        vm.run("ping", 30)


def mode_bench(args):
    """Per path, the round trip, the guest's resume of devices and whether
    the display was kept, over --cycles sleeps; no other checks."""
    rows = []
    for path in args.bench_paths.split(","):
        if path == "noreset" and (args.machine != "q35" or args.kernel != "6.12"):
            log("[%s/%s/noreset] skipped: needs PCIe (q35) and a kernel that "
                "honours No_Soft_Reset (6.12)" % (args.machine, args.kernel))
            continue
        with boot(args, path) as vm:
            before = draw(vm, 7)[1]
            rs = []
            for n in range(1, args.cycles + 1):
                clear_dmesg(vm)
                rs.append({"rt": s3_cycle(vm, args.s3_timeout)})
                rs[-1]["ms"] = guest_resume_ms(vm)[0]
                time.sleep(args.settle)
                rs[-1]["kept"] = same(vm.screen("bench%d" % n), before)
            rows.append(summary(vm.tag, rs))
    log("bench-s3 (%s, %s guest, %s%s, TCG):" % (args.machine, args.kernel, args.gpu,
                                                 ", desktop VM" if args.desktop else ""))
    for row in rows:
        log("  " + row)


def qtest(qt, line):
    """One command on QEMU's qtest protocol (served beside TCG, -qtest):
    the host reads and writes device registers and I/O ports behind the
    sleeping guest's back.  Returns the value read, if any."""
    ans = qt.cmd(line).split()
    if not ans or ans[0] != "OK":
        raise Fail("qtest '%s': %s" % (line, " ".join(ans)))
    return int(ans[1], 16) if len(ans) > 1 else None


class StreamPeer:
    """The host end of "-netdev stream" (4-byte length, then the frame):
    counts the frames of net_up()'s pings (IPv4, PING_LEN bytes), and can
    stop reading, as a back-end that no longer takes packets."""

    def __init__(self, path):
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(1)
        self.frames, self.reading = 0, threading.Event()
        self.reading.set()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.srv.accept()
        buf = b""
        while self.reading.wait() and (d := conn.recv(65536)):
            buf += d
            while len(buf) >= 4 and len(buf) >= 4 + (n := int.from_bytes(buf[:4], "big")):
                self.frames += n == PING_LEN and buf[16:18] == b"\x08\x00"
                buf = buf[4 + n:]


def net_up(vm, peer):
    """eth0 sends: pings reach the stream peer"""
    vm.run("sh ip link set eth0 up && ip addr flush dev eth0 && ip addr add "
           "10.0.2.15/24 dev eth0 && arp -s 10.0.2.2 52:54:00:12:34:02", 30)
    n = peer.frames
    vm.run("sh ping -c 3 -W 1 -s %d 10.0.2.2; true" % (PING_LEN - 42), 30)
    time.sleep(0.5)
    log("[%s] the peer read %d of the guest's pings" % (vm.tag, peer.frames - n))
    if peer.frames - n < 3:
        raise Fail("[%s] the guest's pings did not reach the peer" % vm.tag)


# virtio-pci's modern BAR 4: common cfg at 0, device_status at 20 in it
COMMON_STATUS, COMMON_FREEZE_MODE, VIRTIO_GPU_PCI_ID = 20, 64, 0x1050
PIIX4_PCIHP_EJ, PIIX4_PCIHP_SEL = 0xae08, 0xae10
HWRNG_CURRENT = "/sys/class/misc/hw_random/rng_current"
PING_LEN = 165  # Ethernet, IPv4 and ICMP headers, 123 bytes of data
# fault: what the guest logs, and the path of the device it breaks
FAULTS = {"lost": ("lost its state", "virtio_gpu", "recovered"),
          "gone": ("device is gone", "virtio_rng", "gone"),
          "stall": ("did not stop", "virtio_net", "reset"),
          "stall-blk": ("did not stop", "virtio_blk", "reset"),
          "refuse": ("refused to stop", "virtio_rng", "reset"),
          "refuse-gpu": ("refused to stop|did not freeze", "virtio_gpu", "recovered"),
          "unkept": ("cannot be kept across this sleep", "virtio_gpu", "recovered")}


def corrupt_avail(vm, qt, tag, path):
    """Queue 0's available ring index, num + 1 entries ahead of the
    device's: a ring no driver can have made, so QEMU refuses FREEZE_S3"""
    q = vm.machine.cmd("x-query-virtio-queue-status", queue=0, path=path)
    idx = (q["last-avail-idx"] + q["vring-num"] + 1) & 0xffff
    qtest(qt, "writew %#x %#x" % (q["vring-avail"] + 2, idx))
    log("[%s] host set %s's avail idx to %d (device at %d, %d entries)" % (
        tag, q["name"], idx, q["last-avail-idx"], q["vring-num"]))


def in_flight(vm, tag, dev, queue):
    """A request of dev's queue held in flight: FREEZE_S3 stays BUSY"""
    q = vm.machine.cmd("x-query-virtio-queue-status", queue=queue,
                       path="/machine/peripheral/%s/virtio-backend" % dev)
    log("[%s] %s queue %d: inuse %d" % (tag, dev, queue, q["inuse"]))
    if q["inuse"] == 0:
        raise Fail("[%s] no request of %s held in flight" % (tag, dev))


def throttle(vm, bps):
    """virtio-blk's reads limited to bps bytes per second (0: none)"""
    vm.machine.cmd("block_set_io_throttle", dict(
        device="d1", bps_rd=bps, **dict.fromkeys(("bps", "bps_wr", "iops", "iops_rd", "iops_wr"), 0)))


def mode_faults(args):
    """The freeze path when a device breaks its promise: --fault, broken
    from the host through qtest while the guest runs or sleeps, and what
    the guest must do; the table of docs/guest.md, "Failure paths", says
    each case and what it asserts."""
    fault, tmp = args.fault, tempfile.mkdtemp(prefix="qt", dir="/tmp")
    want, drv, path = FAULTS[fault]
    if fault == "gone" and args.machine != "pc":
        raise Fail("--fault gone ejects through PIIX4's hot-plug controller: pc")
    if drv != "virtio_gpu" and args.kernel != "6.12":
        raise Fail("the 6.1 backport keeps virtio-gpu alone: --fault lost, refuse-gpu")
    extra = ["-qtest", "unix:%s/qtest,server=on,wait=off" % tmp,
             "-trace", "virtio_freeze_refused"]
    if fault in ("gone", "refuse"):
        extra += ["-device", "virtio-rng-pci,freeze_mode=on,id=rng0,addr=6"]
    elif fault == "stall-blk":
        with open(tmp + "/disk.img", "wb") as f:
            f.truncate(DISK_MIB << 20)
        extra += ["-drive", "if=none,id=d1,format=raw,file=%s/disk.img" % tmp,
                  "-device", "virtio-blk-pci,drive=d1,id=blk0,freeze_mode=on"]
    elif fault == "stall":
        peer = StreamPeer(tmp + "/net")
        extra += ["-netdev", "stream,id=n0,server=off,addr.type=unix,"
                  "addr.path=%s/net" % tmp, "-device", "virtio-net-pci,"
                  "netdev=n0,id=net0,freeze_mode=on,mac=52:54:00:12:34:56"]
    else:
        args.settle = max(args.settle, 5.0)  # the re-probe, once tasks thaw
    with boot(args, "unkept" if fault == "unkept" else "freeze", extra) as vm:
        tag, asleep, prepare = vm.tag + "/" + fault, None, None
        expect = dict(vm.expect, **{drv: "kept"})
        qt = QEMUQtestProtocol(tmp + "/qtest")
        qt.settimeout(10)
        qt.connect()
        shutil.rmtree(tmp, ignore_errors=True)
        if fault == "lost":
            gpu = next(d for bus in vm.machine.cmd("query-pci") for d in bus["devices"]
                       if d["id"]["device"] == VIRTIO_GPU_PCI_ID)
            bar = [r for r in gpu["regions"] if r["bar"] == 4][0]["address"]

            def asleep():
                qtest(qt, "writeb %#x 0" % (bar + COMMON_STATUS))
                st, fm = (qtest(qt, "read%s %#x" % (w, bar + o)) for w, o in
                          (("b", COMMON_STATUS), ("w", COMMON_FREEZE_MODE)))
                log("[%s] host reset virtio-gpu: status %#x freeze_mode %#x"
                    % (tag, st, fm))
                if st or fm:
                    raise Fail("[%s] the reset did not take" % tag)
        elif fault == "gone":
            slot = next(d for bus in vm.machine.cmd("query-pci") for d in bus["devices"]
                        if d.get("qdev_id") == "rng0")["slot"]
            log("[%s] guest read %s bytes of /dev/hwrng" %
                (tag, *vm.run("sh head -c 64 /dev/hwrng | wc -c", 30)))

            def asleep():
                qtest(qt, "outl %#x 0" % PIIX4_PCIHP_SEL)
                qtest(qt, "outl %#x %#x" % (PIIX4_PCIHP_EJ, 1 << slot))
                vm.machine.event_wait("DEVICE_DELETED", timeout=10,
                                      match={"data": {"device": "rng0"}})
                log("[%s] host ejected virtio-rng (slot %d)" % (tag, slot))
            expect[drv] = "gone"  # and on every later sleep
        elif fault == "refuse":
            # No reads but the test's, which would rewrite avail idx: no
            # current hwrng, so the core's fill thread stops.
            log("[%s] guest read %s bytes of /dev/hwrng" % (tag, *vm.run(
                "sh head -c 64 /dev/hwrng | wc -c && echo none >" + HWRNG_CURRENT, 30)))
            corrupt_avail(vm, qt, tag, "/machine/peripheral/rng0/virtio-backend")
        elif fault == "refuse-gpu":
            # just before the sleep, once the picture is on the screen:
            # the next command would find the ring inconsistent
            def prepare():
                corrupt_avail(vm, qt, tag, next(d["path"] for d in vm.machine.cmd(
                    "x-query-virtio") if d["name"] == "virtio-gpu"))
        elif fault == "stall":
            net_up(vm, peer)
            peer.reading.clear()
            vm.run("sh ping -q -c 300 -i 0.01 -s 1400 -W 1 10.0.2.2; true", 60)
            in_flight(vm, tag, "net0", 1)
        elif fault == "stall-blk":
            # With vda held open (its page cache kept), a sequential read
            # leaves a readahead mark at page 2050, a direct read fills the
            # throttle's bucket, and reading the marked page starts a
            # readahead that nothing waits for: it stays in flight
            for cmd in ("( (sleep 900 </dev/vda) & ); dd bs=4k skip=2048 count=2",
                        "dd bs=64k skip=16 count=1 iflag=direct", "dd bs=4k skip=2050 count=1"):
                vm.run("sh %s if=/dev/vda of=/dev/null 2>/dev/null" % cmd, 30)
                if "sleep" in cmd:
                    throttle(vm, 1024)
            in_flight(vm, tag, "blk0", 0)

            def asleep():
                throttle(vm, 0)
        r = cycle(vm, 1, 10, asleep, dict(expect, **{drv: path}), prepare)
        seen = [line for line in r["dmesg"] + vm.run("dmesg", 30) if re.search(want, line)]
        log("[%s] guest: %s" % (tag, " | ".join(seen) or "nothing"))
        if not seen:
            raise Fail("[%s] the guest did not report '%s': %s" %
                       (tag, want, " | ".join(r["dmesg"])))
        # only a device the host reset lost its state (not one the guest reset)
        if fault != "lost" and any(FAULTS["lost"][0] in l for l in r["dmesg"]):
            raise Fail("[%s] the guest says a device lost its state" % tag)
        if r["bad"] or not (r["kept"] or (drv, path) == ("virtio_gpu", "recovered")):
            raise Fail("[%s] display %s; %s" % (tag, "kept" if r["kept"] else "lost",
                                                "; ".join(r["bad"])))
        if fault == "stall":
            peer.reading.set()
            net_up(vm, peer)
        elif fault == "stall-blk":
            # the read the reset took back was served again (cycle(): and
            # no I/O error)
            n = vm.run("sh dd if=/dev/vda bs=4k skip=2048 count=64 2>/dev/null | wc -c", 30)
            log("[%s] guest read %s bytes of vda again" % (tag, " ".join(n)))
            if n != [str(64 << 12)]:
                raise Fail("[%s] virtio-blk lost a request" % tag)
        elif fault.startswith("refuse"):
            with open(os.path.join(vm.dir, "qemu.log"), errors="replace") as f:
                qemu = [l for l in f if "virtio_freeze_refused" in l]
            log("[%s] QEMU: %s" % (tag, " | ".join(qemu).strip()))
            if not qemu:
                raise Fail("[%s] QEMU did not refuse" % tag)
            if drv == "virtio_rng":
                n = vm.run("sh echo >%s && head -c 64 /dev/hwrng | wc -c" % HWRNG_CURRENT, 30)
                log("[%s] guest read %s bytes of /dev/hwrng" % (tag, " ".join(n)))
                if n != ["64"]:
                    raise Fail("[%s] virtio-rng is lost" % tag)
        elif fault == "unkept":
            return  # every sleep takes this path
        r = cycle(vm, 2, 20, expect=expect)
        if r["bad"] or not r["kept"] or fault != "gone" and any(
                re.search(want, l) for l in r["dmesg"]):
            raise Fail("[%s] the next S3 cycle did not keep the display and every "
                       "device, or took the fault's path again: %s" %
                       (tag, " | ".join(r["bad"] + r["dmesg"])))


def mode_cmd(args):
    """Boot one path and run guest commands (debugging)."""
    with boot(args, args.path, check=False) as vm:
        for c in args.cmd:
            rc, out = vm.guest.run(c, args.s3_timeout)
            log("$ %s  (rc=%d)" % (c, rc))
            for l in out:
                log("  " + l)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("e2e", "stock", "bench", "faults",
                                       "firmware-bug", "cmd"), default="e2e")
    ap.add_argument("--machine", choices=tuple(MACHINES), default="q35")
    ap.add_argument("--kernel", choices=("6.1", "6.12"), default="6.1")
    ap.add_argument("--path", choices=("freeze", "stock", "noreset", "suspend"),
                    default="freeze", help="e2e and cmd: the path")
    ap.add_argument("--desktop", action="store_true", help="the desktop VM (6.12)")
    ap.add_argument("--sleep", choices=("deep", "s2idle"),
                    help="mem_sleep (default: the machine's; s2idle: suspend to "
                         "idle, woken by the ACPI power button)")
    ap.add_argument("--resize", action="store_true",
                    help="desktop: QMP block_resize grows the disk during each sleep")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--gpu", choices=("virtio-gpu-pci", "virtio-vga") + GL_GPUS,
                    help="the virtio-gpu device (GL ones on Xvfb; default "
                         "virtio-gpu-pci, the desktop VM on pc: virtio-vga)")
    ap.add_argument("--firmware", choices=tuple(SEABIOS) + tuple(OVMF), default="seabios")
    ap.add_argument("--vga", action="store_true",
                    help="also q35's standard VGA, -device VGA")
    ap.add_argument("--fault", choices=tuple(FAULTS), default="lost",
                    help="faults: how the host breaks the device")
    ap.add_argument("--bench-paths", default="freeze,stock,noreset",
                    help="bench: comma-separated paths")
    ap.add_argument("--cmd", action="append", default=[],
                    help="cmd mode: guest command to run (repeatable)")
    ap.add_argument("--out", help="e2e, stock: write cycle 1's pictures here")
    ap.add_argument("--freeze-variant", default="patched",
                    help="initramfs variant for the freeze path")
    ap.add_argument("--stock-variant", default="stock",
                    help="the other paths' variant (stock|patched): 6.1: the "
                         "initramfs's modules, 6.12: bzImage-6.12-stock or bzImage-6.12")
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
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    args = ap.parse_args()
    m = MACHINES[args.machine]
    args.sleep = args.sleep or m.sleep
    args.gpu = args.gpu or ("virtio-vga" if args.desktop and args.machine == "pc"
                            else "virtio-gpu-pci")
    what = "%s %s" % (args.mode + (" " + args.fault if args.mode == "faults" else "") +
                      (" " + args.path if args.mode in ("e2e", "cmd") else ""),
                      " ".join(a for a in (
                          args.machine, args.kernel, m.gpu or args.gpu, "+VGA" * args.vga,
                          os.path.basename(m.bios) if m.bios else args.firmware,
                          "desktop" * args.desktop,
                          "resize" * args.resize, args.sleep) if a))
    t0 = time.time()
    try:
        if args.gpu in GL_GPUS and "QTEST_XVFB_SCREEN" not in os.environ:
            raise Fail("%s needs the Xvfb display of scripts/xvfb-run.sh, with no "
                       "DISPLAY set (build/guest/xvfb.log)" % args.gpu)
        if (args.desktop or args.resize) and args.kernel != "6.12":
            raise Fail("the desktop VM runs the 6.12 kernel (--kernel 6.12)")
        {"e2e": mode_e2e, "stock": mode_stock, "bench": mode_bench, "cmd": mode_cmd,
         "firmware-bug": mode_firmware_bug, "faults": mode_faults}[args.mode](args)
    except (Fail, QMPError, QEMUMachineError) as e:
        log("FAIL: %s (%s, %.0f s)" % (e, what, time.time() - t0))
        return 1
    log("PASS: %s (%.0f s)" % (what, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
