#!/usr/bin/python3
"""Boot a Linux guest with virtio-gpu under TCG on QEMU's own Python
package (build/qemu/python), draw a picture with fbdraw, do S3 (echo mem,
then QMP system_wakeup) and check the display with Pillow.  docs/guest.md
describes the kernels, devices, firmware and modes in full.

Modes:
  e2e     freeze path: every cycle keeps the display pixel-identical,
          redraws, advances the virtio-gpu interrupt count and answers
          (on q35 the firmware must have restored the chipset)
  stock   today's path: one cycle that must lose the display
  demo    one cycle per path: before/after PNGs, a labelled side by side
  firmware-bug  stock SeaBIOS on q35: the second suspend never reaches S3
  bench   S3 round trip and the guest's resume of devices per path
  faults  the freeze path when a device breaks its promise (--fault)
  cmd     boot and run guest commands (--cmd, debugging)

Examples:
  run-s3.py --mode e2e --machine q35 --cycles 20
  run-s3.py --kernel 6.12 --mode stock --stock-variant patched --stock-freeze-mode off
  xvfb-run.sh build/guest run-s3.py --kernel 6.12 --gpu virtio-vga-gl --cycles 3
  run-s3.py --kernel 6.12 --firmware ovmf-smm --mode e2e --cycles 20
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

from PIL import Image, ImageChops, ImageDraw, ImageFont

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


class Machine:
    """What a --machine differs in: -machine, the -global that lets it
    sleep, the sleep, the kernel command line's extra, the virtio-gpu
    device (None: --gpu) and its property for the freeze path with the
    feature bit that property negotiates, fixed firmware (None:
    --firmware), and whether it is an ACPI PC: S3 and the power button
    through QMP, a PS/2 keyboard, SeaBIOS's resume path."""

    def __init__(self, machine, sleep_global, sleep="deep", append="", gpu=None,
                 prop="freeze_mode", bit=(45, "VIRTIO_F_FREEZE_MODE"), bios=None):
        self.machine, self.globals, self.sleep = machine, ["-global", sleep_global], sleep
        self.append, self.gpu, self.prop, self.bit, self.bios = append, gpu, prop, bit, bios
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
                       (43, "VIRTIO_F_SUSPEND"), "/usr/share/seabios/bios-microvm.bin"),
}
FBDRAW = os.path.join(TOP, "build/guest/fbdraw")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


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


def font(size):
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default()


PANELS = ("before suspend", "right after resume", "after the guest draws again")


def labelled(imgs, title, subtitle, scale=1.0, gap=16):
    """The panels side by side, each captioned (PANELS), under a title."""
    imgs = [i.resize((round(i.width * scale), round(i.height * scale)),
                     Image.Resampling.BOX) if scale != 1 else i for i in imgs]
    big, small = font(round(48 * scale)), font(round(36 * scale))
    top = round(150 * scale)
    out = Image.new("RGB", (sum(i.width for i in imgs) + gap * (len(imgs) - 1),
                            top + max(i.height for i in imgs)), (32, 32, 32))
    d = ImageDraw.Draw(out)
    d.text((gap, round(8 * scale)), title, font=big, fill="white")
    d.text((gap, round(62 * scale)), subtitle, font=small, fill=(200, 200, 200))
    x = 0
    for img, cap in zip(imgs, PANELS):
        d.text((x + gap, round(106 * scale)), cap, font=small, fill="yellow")
        out.paste(img, (x, top))
        x += img.width + gap
    return out


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
            if line is None:
                continue
            if line.startswith("READY") or line == "pong":
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
    """A guest on QEMUMachine: QMP on its socketpair, ttyS0 (the kernel
    console) into console.log, ttyS1 the command channel.  VM(args, tag)
    makes the run directory; launch() boots the guest with the devices of
    the caller (this script's virtio-gpu, run-desktop.py's desktop)."""

    def __init__(self, args, tag, gl=False):
        self.args, self.tag, self.gl = args, tag, gl
        self.m = MACHINES[args.machine]
        self.dir = tempfile.mkdtemp(prefix="s3-%s-" % tag.replace("/", "-"),
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
        m = self.m
        qargs = ["-accel", "tcg", "-m", "512", "-smp", "1", "-nodefaults",
                 "-no-reboot", "-name", "s3",
                 "-kernel", kernel, "-initrd", initrd,
                 "-append", "console=ttyS0 loglevel=6 mem_sleep_default=deep "
                 "no_console_suspend panic=-1 sysrq_always_enabled " + args.append +
                 m.append, "-serial", "file:" + self.console] + m.globals + dev
        # the firmware: -bios or pflash; the option ROMs come from the
        # build tree's qemu-bundle (scripts/link-firmware.sh)
        qargs += self.firmware_args(args)
        self.machine = QEMUMachine(qemu, qargs, name="qemu", log_dir=self.dir,
                                   base_temp_dir=self.dir)
        self.machine.set_machine(m.machine)
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
            fw += ["-machine", "smm=on",
                   "-global", "driver=cfi.pflash01,property=secure,value=on"]
        else:
            fw += ["-machine", "smm=off"]
        return fw

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
        ours = "+freezemode" in m.group(1)
        log("[%s] firmware: SeaBIOS %s (%s)" % (self.tag, m.group(1),
                                                SEABIOS[self.args.firmware]))
        if ours != (self.args.firmware == "seabios"):
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
        """A guest that does not answer: what QEMU says of it, and the
        guest's own account on the console (SysRq on the PS/2 keyboard,
        which microvm has not: console loglevel 9, blocked tasks, the
        CPU's backtrace), for dump_tail()."""
        try:
            log("[%s] QEMU: %s" % (self.tag, self.machine.cmd("query-status")))
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
            if self.args.vga:
                self.machine.cmd("screendump", filename=p, device="gpu0")
            else:
                self.machine.cmd("screendump", filename=p)
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
def draw(vm, step, timeout=20):
    """Draw step in the guest and wait until the display shows it."""
    rc, out = vm.guest.run("draw %d" % step, 30)
    if rc != 0:
        raise Fail("draw failed: %s" % out)
    m = re.search(r"fbdraw: (\d+)x(\d+) bpp=(\d+)", " ".join(out))
    want = expected(int(m.group(1)), int(m.group(2)), step)
    deadline = time.time() + timeout
    while True:
        img = vm.screen("draw%d" % step)
        if same(img, want):
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


def s3_cycle(vm, timeout, mem_sleep="deep", asleep=None):
    """echo mem, wait until QEMU is suspended, system_wakeup; returns the
    round trip (wakeup -> guest answer) and the guest's output.  With
    mem_sleep s2idle, suspend to idle: QEMU runs on, the guest says it is
    suspending, and the ACPI power button wakes it.  asleep(): what the
    host does while the guest sleeps."""
    s2idle = mem_sleep == "s2idle"
    seq = vm.guest.send("suspend " + mem_sleep)
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
                rc, dm = vm.guest.run("dmesg", 30)
                raise Fail("suspend returned without entering S3: %s; dmesg: %s"
                           % (early, "\n    ".join(dm[-15:])))
    # s2idle: the devices are suspended after "suspend entry"; a wakeup
    # that came too early would abort the suspend (the caller checks), or
    # on a loaded machine come before the guest sleeps: then wake it again
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
                raise
            log("[%s] no answer 5 s after the wakeup: waking it again" % vm.tag)
    rt = time.time() - t0
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


def check_virgl(vm, d):
    """A GL device must have negotiated virgl (VIRTIO_GPU_F_VIRGL, bit 0),
    and the DRM driver must use it ("[drm] features: +virgl ...")."""
    rc, out = vm.guest.run("dmesg features:", 30)
    rc, dbg = vm.guest.run("sh grep virgl /sys/kernel/debug/dri/0/"
                           "virtio-gpu-features", 30)
    log("[%s] virgl feature bit=%s; guest: %s; debugfs: %s" %
        (vm.tag, d.get("virgl"), "; ".join(out) or "nothing",
         " ".join(" ".join(dbg).split())))
    if d.get("virgl") != "1" or not any("+virgl" in l for l in out):
        raise Fail("[%s] the guest did not negotiate virgl" % vm.tag)


def q35_chipset(vm):
    """What the firmware restores on resume, as the guest reads it through
    0xcf8: PMBASE and ACPI_CNTL of the ICH9 LPC bridge (00:1f.0, 0x40 and
    0x44), the low half of the MCH's PCIEXBAR (00:00.0, 0x60).  Returns
    whether PM I/O space (PMBASE, ACPI_EN) and MMCONFIG are enabled, and
    the three as text."""
    rc, out = vm.guest.run(
        "sh od -An -tx4 -j64 -N8 /sys/bus/pci/devices/0000:00:1f.0/config;"
        " od -An -tx4 -j96 -N4 /sys/bus/pci/devices/0000:00:00.0/config", 30)
    words = " ".join(out).split()
    if rc != 0 or len(words) != 3:
        raise Fail("[%s] reading the chipset from the guest: %s" % (vm.tag, out))
    pmbase, acpi_cntl, pciexbar = (int(w, 16) for w in words)
    ok = pmbase & 0xff80 and acpi_cntl & 0x80 and pciexbar & 1
    return bool(ok), "PMBASE %#x ACPI_CNTL %#x PCIEXBAR %#x" % (
        pmbase, acpi_cntl & 0xff, pciexbar)


def negotiated(vm, d, want):
    """Whether the path negotiated VIRTIO_F_FREEZE_MODE (bit 45), or on
    microvm's virtio-mmio VIRTIO_F_SUSPEND (bit 43), is want"""
    bit, name = vm.m.bit
    if (d.get("features", "")[bit:bit + 1] == "1") != want:
        raise Fail("[%s] %s (bit %d) was %snegotiated"
                   % (vm.tag, name, bit, "not " if want else ""))


def boot(args, path, extra=()):
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
    tag = "%s/%s/%s%s%s%s" % (args.machine, args.kernel, path,
                              "" if args.gpu == "virtio-gpu-pci" else "/" + args.gpu,
                              "+VGA" if args.vga else "",
                              "" if args.firmware == "seabios" else "/" + args.firmware)
    kernel, initrd = kernel_and_initrd(args, variant)
    vm = VM(args, tag, gl=args.gpu in GL_GPUS)
    m = vm.m
    gpu = args.gpu + gpu_opts
    if vm.gl:
        # SDL centres its window for QEMU's first 640x480 surface and,
        # without a window manager, never moves it when the guest sets
        # its mode: at 800x600 the window (+320+272) stays all on
        # xvfb-run.sh's 1280x1024 screen.
        gpu += ",xres=800,yres=600"
    if m.gpu:
        gpu = m.gpu
    if fm is not None:
        gpu += ",%s=%s" % (m.prop, fm)
    if args.vga:
        gpu += ",id=gpu0"  # screendump must name it: VGA comes first
    dev = ["-device", gpu]
    if root_port:
        dev = ["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
               "-device", gpu + ",bus=rp0"]
    if vm.gl:
        # after QEMUMachine's "-display none": the last one counts
        dev += ["-display", "sdl,gl=on"]
    if args.vga:
        dev += ["-device", "VGA"]
    vm.launch(kernel, initrd, dev + list(extra))
    try:
        if not m.pc:
            vm.run("sh echo enabled >/sys/class/tty/ttyS1/power/wakeup", 30)
        d, out = info(vm)
        log("[%s] %s: virtio-gpu %s status=%s freeze_mode_negotiated=%s" %
            (tag, args.gpu, d.get("device"), d.get("status"),
             d.get("freeze_mode_negotiated")))
        if vm.gl:
            check_virgl(vm, d)
    except BaseException:
        vm.close()
        raise
    return vm, d


def one_cycle(vm, tag, n, step, args, results, asleep=None):
    """One S3 cycle with checks; returns dict of outcomes."""
    r = {"cycle": n}
    ok, before = draw(vm, step)
    if not ok:
        raise Fail("[%s] picture %d never reached the display before suspend" % (tag, step))
    irq0, _ = irq_total(vm)
    clear_dmesg(vm)
    rt, out = s3_cycle(vm, args.s3_timeout, vm.m.sleep, asleep=asleep)
    r["roundtrip"] = rt
    time.sleep(args.settle)
    after = vm.screen("after%d" % n)
    r["before"], r["after"] = before, after
    r["preserved"] = same(after, before)
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
         "identical (%dx%d pixels compared)" % before.size if r["preserved"]
         else "CHANGED (%s)" % describe(before, after),
         "reached screen" if r["redraw"] else "did NOT reach screen",
         "%d->%d" % r["irq"] if "irq" in r else "?",
         "answered" if r["answered"] else "did NOT answer: " + r.get("error", "")))
    return r


def saw(r):
    return "display after resume %s; the next drawing %s the screen" % (
        "pixel-identical to before suspend" if r["preserved"] else
        "LOST (%s)" % describe(r["before"], r["after"]),
        "reached" if r["redraw"] else "did NOT reach")


def save_pngs(outdir, prefix, r, title=None, docs=None):
    """before/after PNGs and the labelled side by side; docs: also a half
    size copy of that under this name (docs/images)."""
    os.makedirs(outdir, exist_ok=True)
    imgs = [r["before"], r["after"]] + ([r["redrawn"]] if r.get("redrawn") else [])
    title = title or prefix
    paths = [os.path.join(outdir, "%s-%s.png" % (prefix, n))
             for n in ("before", "after", "side-by-side")]
    imgs[0].save(paths[0])
    imgs[1].save(paths[1])
    labelled(imgs, title, saw(r)).save(paths[2], optimize=True)
    if docs:
        paths.append(os.path.join(outdir, docs))
        labelled(imgs, title, saw(r), scale=0.5).save(paths[3], optimize=True)
    log("[%s] wrote %s" % (prefix, " ".join(paths)))


def cycle_ok(r):
    return r["preserved"] and r["redraw"] and r["irq_advanced"] and r["answered"]


# ---------------------------------------------------------------- modes
def mode_e2e(args):
    # fbdraw's pictures for consecutive steps differ (else "kept" and
    # "redrawn" could not be told apart)
    if same(expected(1280, 800, 10), expected(1280, 800, 11)):
        raise Fail("fbdraw draws the same picture for steps 10 and 11")
    vm, d = boot(args, "freeze")
    tag = vm.tag
    with vm:
        negotiated(vm, d, True)
        results, passed = [], 0
        for n in range(1, args.cycles + 1):
            r = one_cycle(vm, tag, n, 10 * n, args, results)
            dm = " ".join(r.get("dmesg", []))
            if not vm.m.pc and not (
                    "suspend entry (s2idle)" in dm and "resumed in place" in dm):
                r["answered"] = False  # no suspend to idle, or not SUSPEND
                log("[%s] cycle %d: guest: %s" % (tag, n, dm))
            if cycle_ok(r) and args.machine == "q35":
                # the firmware's resume path restored the chipset
                ok, c = q35_chipset(vm)
                if not ok:
                    r["answered"] = False
                    log("[%s] cycle %d: chipset NOT restored by the firmware: %s"
                        % (tag, n, c))
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
        if args.machine == "q35":
            log("[%s] chipset after the last resume: %s" % (tag, c))
        if args.firmware in SEABIOS and vm.m.pc:
            # every wakeup went through SeaBIOS's S3 resume path
            n = vm.firmware_log().count("Jump to resume vector")
            log("[%s] SeaBIOS resumed the guest %d times" % (tag, n))
            if n != args.cycles:
                raise Fail("[%s] SeaBIOS jumped to the resume vector %d times "
                           "in %d cycles" % (tag, n, args.cycles))


def mode_stock(args):
    vm, d = boot(args, "stock")
    tag = vm.tag
    with vm:
        negotiated(vm, d, False)
        r = one_cycle(vm, tag, 1, 10, args, [])
        if cycle_ok(r):
            raise Fail("[%s] stock path kept the display: the test proves nothing" % tag)
        log("[%s] stock path is broken as expected (display %s, redraw %s)" %
            (tag, "kept" if r["preserved"] else "lost",
             "ok" if r["redraw"] else "lost"))


def mode_firmware_bug(args):
    """Stock SeaBIOS on q35: the first S3 cycle works, the firmware leaves
    the chipset as the wakeup reset left it, the second suspend never
    reaches S3 (Linux's SLP_EN write goes to the unmapped PM I/O space and
    it reads WAK_STS as set from there: suspend returns at once)."""
    if args.machine != "q35" or args.firmware != "seabios-stock":
        raise Fail("firmware-bug is stock SeaBIOS on q35 "
                   "(--machine q35 --firmware seabios-stock)")
    vm, d = boot(args, "freeze")
    tag = vm.tag
    with vm:
        negotiated(vm, d, True)
        ok, c = q35_chipset(vm)
        log("[%s] chipset after boot: %s" % (tag, c))
        if not ok:
            raise Fail("[%s] SeaBIOS did not set the chipset up at boot" % tag)
        r = one_cycle(vm, tag, 1, 10, args, [])
        if not cycle_ok(r):
            raise Fail("[%s] the first S3 cycle failed: not the documented "
                       "failure" % tag)
        n = vm.firmware_log().count("Jump to resume vector")
        if n != 1:
            raise Fail("[%s] SeaBIOS jumped to the resume vector %d times" % (tag, n))
        ok, c = q35_chipset(vm)
        log("[%s] chipset after the first resume: %s" % (tag, c))
        if ok:
            raise Fail("[%s] stock SeaBIOS restored the chipset: the documented "
                       "failure is gone (docs/guest.md, \"Firmware\")" % tag)
        try:
            s3_cycle(vm, args.s3_timeout)
        except Fail as e:
            if "suspend returned without entering S3" not in str(e):
                raise
            log("[%s] second suspend: returned without entering S3, as "
                "documented" % tag)
        else:
            raise Fail("[%s] the second suspend reached S3 on stock SeaBIOS" % tag)
        rc, out = vm.guest.run("ping", 30)
        if rc != 0:
            raise Fail("[%s] the guest no longer answers" % tag)


def mode_demo(args):
    paths = [args.path] if args.path != "both" else ["freeze", "stock"]
    for path in paths:
        vm, d = boot(args, path)
        with vm:
            r = one_cycle(vm, vm.tag, 1, 10, args, [])
            title = "%s path: %s, Linux %s, %s, S3 cycle %d" % (
                "freeze_mode" if path == "freeze" else
                "stock (no freeze_mode)" if path == "stock" else path,
                args.machine, args.kernel, args.gpu, r["cycle"])
            save_pngs(args.out, "%s-%s-%s" % (path, args.machine, args.kernel),
                      r, title, "demo-%s-%s.png" % (path, args.machine))
            for l in r.get("dmesg", []):
                if re.search(r"PM: (suspend|resume)|virtio|blocked|hung", l):
                    log("[%s] guest: %s" % (vm.tag, l))
            log("[%s] SAW: %s" % (vm.tag, saw(r)))


def mode_bench(args):
    rows = []
    for path in args.bench_paths.split(","):
        if path == "noreset" and (args.machine != "q35" or args.kernel != "6.12"):
            log("[%s/%s/noreset] skipped: needs PCIe (q35) and a kernel that "
                "honours No_Soft_Reset (6.12)" % (args.machine, args.kernel))
            continue
        rts, mss, kept = [], [], 0
        rows.append((path, rts, mss))
        try:
            vm, d = boot(args, path)
        except Fail as e:
            log("[%s/%s/%s] boot failed: %s" % (args.machine, args.kernel, path, e))
            continue
        with vm:
            ok, before = draw(vm, 7)
            for n in range(1, args.cycles + 1):
                clear_dmesg(vm)
                try:
                    rt, _ = s3_cycle(vm, args.s3_timeout)
                    ms, _ = guest_resume_ms(vm)
                except Fail as e:
                    log("[%s] cycle %d: %s" % (vm.tag, n, e))
                    break
                time.sleep(args.settle)
                after = vm.screen("bench%d" % n)
                kept += same(after, before)
                rts.append(rt)
                mss += [ms] if ms is not None else []
                log("[%s] cycle %d: wakeup->answer %.3fs, guest resume devices %s ms, "
                    "display %s" % (vm.tag, n, rt, ms, "kept" if same(after, before)
                                    else "CHANGED (%s)" % describe(before, after)))
        rows[-1] += (kept,)
    log("bench-s3 (%s, %s guest, %s, TCG): path, cycles, wakeup->guest answer "
        "avg/min/max [s], guest resume devices avg [ms], display kept" %
        (args.machine, args.kernel, args.gpu))
    for path, rts, mss, *kept in rows:
        if rts:
            log("  %-7s %2d  %.3f / %.3f / %.3f   %8s   %d/%d" % (
                path, len(rts), sum(rts) / len(rts), min(rts), max(rts),
                "%.1f" % (sum(mss) / len(mss)) if mss else "?", kept[0], len(rts)))
        else:
            log("  %-7s  no completed cycle" % path)


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


def pci_device(vm, which):
    """query-pci's entry of a function: by qdev id or PCI device ID"""
    for d in (d for bus in vm.machine.cmd("query-pci") for d in bus["devices"]):
        if which in (d.get("qdev_id"), d["id"]["device"]):
            return d
    raise Fail("[%s] no PCI function %s" % (vm.tag, which))


def net_up(vm, tag, peer):
    """eth0 sends: pings reach the stream peer"""
    vm.run("sh ip link set eth0 up && ip addr flush dev eth0 && ip addr add "
           "10.0.2.15/24 dev eth0 && arp -s 10.0.2.2 52:54:00:12:34:02", 30)
    n = peer.frames
    vm.run("sh ping -c 3 -W 1 -s %d 10.0.2.2; true" % (PING_LEN - 42), 30)
    time.sleep(0.5)
    log("[%s] the peer read %d of the guest's pings" % (tag, peer.frames - n))
    if peer.frames - n < 3:
        raise Fail("[%s] the guest's pings did not reach the peer" % tag)


# virtio-pci's modern BAR 4: common cfg at 0, device_status at 20 in it
COMMON_STATUS, COMMON_FREEZE_MODE, VIRTIO_GPU_PCI_ID = 20, 64, 0x1050
PIIX4_PCIHP_EJ, PIIX4_PCIHP_SEL = 0xae08, 0xae10
HWRNG_CURRENT = "/sys/class/misc/hw_random/rng_current"
PING_LEN = 165  # Ethernet, IPv4 and ICMP headers, 123 bytes of data
FAULT_WANT = {"lost": "lost its state", "gone": "device is gone",
              "stall": "did not stop", "refuse": "refused to stop"}


def mode_faults(args):
    """The freeze path when a device breaks its promise (docs/guest.md,
    "Failure paths").  lost: while the guest sleeps the host resets
    virtio-gpu through device_status; the guest must reset it, probe it
    again and draw.  gone (pc): while it sleeps the PIIX4 hot-plug
    controller ejects a frozen virtio-rng; the guest must give it up.
    stall: virtio-net's stream peer stops reading, a transmit stays in
    flight, FREEZE_S3 never completes; the guest must reset the device
    before virtio-net's .freeze and bring it back on resume.  refuse: a
    stray write (the host's, into guest memory) makes virtio-rng's
    available ring inconsistent, QEMU refuses FREEZE_S3; the guest must
    take the reset path for it, and it gives bytes after resume.
    virtio-gpu keeps its display (gone, stall, refuse), the next S3 cycle
    keeps it, and the guest logs no hung task."""
    fault, tmp = args.fault, tempfile.mkdtemp(prefix="qt", dir="/tmp")
    if fault == "gone" and args.machine != "pc":
        raise Fail("--fault gone ejects through PIIX4's hot-plug controller: pc")
    extra = ["-qtest", "unix:%s/qtest,server=on,wait=off" % tmp,
             "-trace", "virtio_freeze_refused"]
    if fault in ("gone", "refuse"):
        extra += ["-device", "virtio-rng-pci,freeze_mode=on,id=rng0,addr=6"]
    elif fault == "stall":
        peer = StreamPeer(tmp + "/net")
        extra += ["-netdev", "stream,id=n0,server=off,addr.type=unix,"
                  "addr.path=%s/net" % tmp, "-device", "virtio-net-pci,"
                  "netdev=n0,id=net0,freeze_mode=on,mac=52:54:00:12:34:56"]
    else:
        args.settle = max(args.settle, 5.0)  # the re-probe, once tasks thaw
    vm, d = boot(args, "freeze", extra)
    tag, results, asleep = vm.tag + "/" + fault, [], None
    with vm:
        negotiated(vm, d, True)
        qt = QEMUQtestProtocol(tmp + "/qtest")
        qt.settimeout(10)
        qt.connect()
        shutil.rmtree(tmp, ignore_errors=True)
        if fault == "lost":
            gpu = pci_device(vm, VIRTIO_GPU_PCI_ID)
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
            slot = pci_device(vm, "rng0")["slot"]
            log("[%s] guest read %s bytes of /dev/hwrng" %
                (tag, vm.run("sh head -c 64 /dev/hwrng | wc -c", 30)))

            def asleep():
                qtest(qt, "outl %#x 0" % PIIX4_PCIHP_SEL)
                qtest(qt, "outl %#x %#x" % (PIIX4_PCIHP_EJ, 1 << slot))
                vm.machine.event_wait("DEVICE_DELETED", timeout=10,
                                      match={"data": {"device": "rng0"}})
                log("[%s] host ejected virtio-rng (slot %d)" % (tag, slot))
        elif fault == "refuse":
            # No reads but the test's, which would rewrite avail idx: no
            # current hwrng, so the core's fill thread stops.
            log("[%s] guest read %s bytes of /dev/hwrng" % (tag, *vm.run(
                "sh head -c 64 /dev/hwrng | wc -c && echo none >" + HWRNG_CURRENT, 30)))
            q = vm.machine.cmd("x-query-virtio-queue-status", queue=0,
                               path="/machine/peripheral/rng0/virtio-backend")
            idx = (q["last-avail-idx"] + q["vring-num"] + 1) & 0xffff
            qtest(qt, "writew %#x %#x" % (q["vring-avail"] + 2, idx))
            log("[%s] host set virtio-rng's avail idx to %d (device at %d, %d "
                "entries)" % (tag, idx, q["last-avail-idx"], q["vring-num"]))
        else:
            net_up(vm, tag, peer)
            peer.reading.clear()
            vm.run("sh ping -q -c 300 -i 0.01 -s 1400 -W 1 10.0.2.2; true", 60)
            q = vm.machine.cmd("x-query-virtio-queue-status", queue=1,
                               path="/machine/peripheral/net0/virtio-backend")
            log("[%s] the peer stopped reading: transmit queue inuse %d" %
                (tag, q["inuse"]))
            if q["inuse"] == 0:
                raise Fail("[%s] no transmit held in flight" % tag)
        r = one_cycle(vm, tag, 1, 10, args, results, asleep=asleep)
        dm = r.get("dmesg", []) + vm.run("dmesg", 30)
        seen = [line for line in dm if FAULT_WANT[fault] in line]
        log("[%s] guest: %s" % (tag, " | ".join(seen) or "nothing"))
        if not seen:
            raise Fail("[%s] the guest did not report '%s': %s" %
                       (tag, FAULT_WANT[fault], " | ".join(dm)))
        if not (r["answered"] and r["redraw"] and (fault == "lost" or cycle_ok(r))):
            raise Fail("[%s] display %s, redraw %s, guest %s" % (
                tag, "kept" if r["preserved"] else "lost", r["redraw"],
                "answered" if r["answered"] else "hung"))
        if fault == "stall":
            peer.reading.set()
            net_up(vm, tag, peer)
        elif fault == "refuse":
            with open(os.path.join(vm.dir, "qemu.log"), errors="replace") as f:
                qemu = [l for l in f if "virtio_freeze_refused" in l]
            n = vm.run("sh echo >%s && head -c 64 /dev/hwrng | wc -c" % HWRNG_CURRENT, 30)
            log("[%s] QEMU: %s; guest read %s bytes of /dev/hwrng" %
                (tag, " | ".join(qemu).strip(), " ".join(n)))
            if not qemu or n != ["64"]:
                raise Fail("[%s] QEMU did not refuse, or virtio-rng is lost" % tag)
        r = one_cycle(vm, tag, 2, 20, args, results)
        # (a device that is gone stays gone: the guest was not told)
        if not cycle_ok(r) or fault != "gone" and any(
                FAULT_WANT[fault] in l for l in r.get("dmesg", [])):
            raise Fail("[%s] the next S3 cycle did not keep the display, or "
                       "took the fault's path again: %s" %
                       (tag, " | ".join(r.get("dmesg", []))))
        dm = vm.run("dmesg -c hung|blocked|BUG|WARNING", 30)
        if dm:
            raise Fail("[%s] guest: %s" % (tag, " | ".join(dm)))


def mode_cmd(args):
    """Boot one path and run guest commands (debugging)."""
    vm, d = boot(args, args.path if args.path != "both" else "freeze")
    with vm:
        for c in args.cmd:
            rc, out = vm.guest.run(c, args.s3_timeout)
            log("$ %s  (rc=%d)" % (c, rc))
            for l in out:
                log("  " + l)


def arguments(doc):
    """The options of a VM run, run-desktop.py's too."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--machine", choices=tuple(MACHINES), default="q35")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--boot-timeout", type=int, default=180)
    ap.add_argument("--s3-timeout", type=int, default=60)
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the guest's answer and the screendump")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    return ap


def report(what, run, args):
    """run(args), then PASS or FAIL with what and the time: the exit status"""
    t0 = time.time()
    try:
        run(args)
    except (Fail, QMPError, QEMUMachineError) as e:
        log("FAIL: %s (%s, %.0f s)" % (e, what, time.time() - t0))
        return 1
    log("PASS: %s (%.0f s)" % (what, time.time() - t0))
    return 0


def main():
    ap = arguments(__doc__)
    ap.add_argument("--mode", choices=("e2e", "stock", "demo", "bench", "cmd",
                                       "firmware-bug", "faults"),
                    default="e2e")
    ap.add_argument("--fault", choices=("lost", "gone", "stall", "refuse"), default="lost",
                    help="faults: how the host breaks the device")
    ap.add_argument("--cmd", action="append", default=[],
                    help="cmd mode: guest command to run (repeatable)")
    ap.add_argument("--kernel", choices=("6.1", "6.12"), default="6.1",
                    help="guest kernel (see above)")
    ap.add_argument("--gpu", choices=("virtio-gpu-pci", "virtio-vga") + GL_GPUS,
                    default="virtio-gpu-pci",
                    help="the virtio-gpu device (GL ones on Xvfb, see above)")
    ap.add_argument("--bench-paths", default="freeze,stock,noreset",
                    help="bench: comma-separated paths (freeze, stock, noreset)")
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
    ap.add_argument("--redraw-timeout", type=int, default=20)
    ap.add_argument("--firmware", choices=tuple(SEABIOS) + tuple(OVMF),
                    default="seabios", help="firmware (see above)")
    ap.add_argument("--vga", action="store_true",
                    help="also q35's standard VGA, -device VGA (see above)")
    args = ap.parse_args()
    what = "%s %s %s%s%s%s" % (args.mode + (" " + args.fault if args.mode == "faults"
                                            else ""), args.machine, args.kernel,
                               "" if args.gpu == "virtio-gpu-pci" else " " + args.gpu,
                               " +VGA" if args.vga else "",
                               "" if args.firmware == "seabios" else " " + args.firmware)
    if args.gpu in GL_GPUS and "QTEST_XVFB_SCREEN" not in os.environ:
        log("FAIL: %s needs the Xvfb display of scripts/xvfb-run.sh, with no "
            "DISPLAY set (build/guest/xvfb.log) (%s)" % (args.gpu, what))
        return 1
    return report(what, {"e2e": mode_e2e, "stock": mode_stock, "demo": mode_demo,
                         "bench": mode_bench, "cmd": mode_cmd,
                         "firmware-bug": mode_firmware_bug,
                         "faults": mode_faults}[args.mode], args)


if __name__ == "__main__":
    sys.exit(main())
