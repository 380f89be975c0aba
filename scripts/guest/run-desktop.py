#!/usr/bin/python3
"""The desktop-VM guest (6.12): every virtio device a desktop VM has, S3
cycles, every device checked on every cycle, and the path each device took
as the guest reports it.  Uses run-s3.py's guest protocol, pictures and QMP
helpers.  See docs/guest.md, "The desktop VM".

Devices: virtio-gpu-pci (q35) or virtio-vga (pc); virtio-blk on a raw file
(8 MiB of fresh random data written with O_DIRECT across each suspend and
read back); virtio-net on a user netdev (DHCP after each resume); virtio-rng
(64 bytes from /dev/hwrng); a virtio tablet (an event from QMP
input-send-event); a virtio console (a line the host reads from the
chardev's file); virtio-balloon.  gpu, blk, net, rng and balloon have
freeze_mode=on; QEMU refuses it for console and input, which keep the reset
path; the balloon driver does not opt in.

Scenarios (--scenario):
  desktop  S3 (mem_sleep deep); gpu, blk, net, rng must be kept in place
           (display pixel-identical after resume), console, input and
           balloon reset, every device working after every cycle
  resize   as desktop, and while the guest sleeps QMP block_resize grows the
           disk: the guest must see the new size after resume (a
           configuration change during the transition is not lost)
  suspend  q35: gpu, blk, net, rng with VIRTIO_F_SUSPEND instead of
           freeze_mode, behind PCIe root ports with No_Soft_Reset: the guest
           suspends them through the device status for S3 (SUSPEND is used
           for S3 only with No_Soft_Reset), the functions go to D3hot, and
           QEMU keeps a D3hot function with No_Soft_Reset across the wakeup:
           gpu, blk, net, rng kept in place
  s2idle   suspend to idle (mem_sleep s2idle), woken by the ACPI power
           button (QMP system_powerdown): gpu, blk, net, rng kept in place
"""
import argparse
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location("run_s3", os.path.join(HERE, "run-s3.py"))
s3 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(s3)
# pylint: disable=wrong-import-position
from qemu.machine import QEMUMachine  # noqa: E402
from qemu.machine.machine import QEMUMachineError  # noqa: E402
from qemu.qmp import QMPError  # noqa: E402

Fail, log = s3.Fail, s3.log
KEPT_DRIVERS = ("virtio_gpu", "virtio_blk", "virtio_net", "virtio_rng")
RESET_DRIVERS = ("virtio_console", "virtio_input", "virtio_balloon")
DISK_MIB = 16


class DesktopVM:
    """A 6.12 guest with the desktop devices; the interface run-s3.py's
    draw() expects (guest, screen, tag)."""

    def __init__(self, args, scenario):
        self.args, self.scenario = args, scenario
        self.tag = "%s/6.12/desktop-%s" % (args.machine, scenario)
        self.gl = False
        self.dir = tempfile.mkdtemp(prefix="desktop-%s-%s-" % (args.machine, scenario),
                                    dir=os.path.join(TOP, "build", "guest"))
        qemu = os.environ.get("QEMU") or os.path.join(TOP, "build/obj/qemu-system-x86_64")
        kernel = os.path.join(TOP, "build/guest/bzImage-6.12")
        initrd = os.path.join(TOP, "build/guest/initramfs-builtin.cpio.gz")
        for f in (qemu, kernel, initrd):
            if not os.path.exists(f):
                raise Fail("missing %s" % f)
        self.disk = os.path.join(self.dir, "disk.img")
        with open(self.disk, "wb") as f:
            f.truncate(DISK_MIB << 20)
        self.hvc = os.path.join(self.dir, "hvc.log")
        self.console = os.path.join(self.dir, "console.log")
        gpu = "virtio-vga" if args.machine == "pc" else "virtio-gpu-pci"
        kept = [gpu, "virtio-blk-pci,drive=d0", "virtio-net-pci,netdev=n0",
                "virtio-rng-pci,rng=rng0"]
        dev = []
        if scenario == "bench-stock":
            for d in kept:
                dev += ["-device", d]
        elif scenario == "bench-noreset":
            for i, d in enumerate(kept):
                dev += ["-device", "pcie-root-port,id=rp%d,chassis=%d,slot=%d"
                        % (i, i + 1, i + 1),
                        "-device", d + ",bus=rp%d,x-pcie-pm-no-soft-reset=on" % i]
        elif scenario == "suspend":
            for i, d in enumerate(kept):
                dev += ["-device", "pcie-root-port,id=rp%d,chassis=%d,slot=%d"
                        % (i, i + 1, i + 1),
                        "-device", d + ",bus=rp%d,suspend=on,"
                        "x-pcie-pm-no-soft-reset=on" % i]
        else:
            for d in kept:
                dev += ["-device", d + ",freeze_mode=on"]
        dev += ["-drive", "if=none,id=d0,format=raw,file=" + self.disk,
                "-netdev", "user,id=n0",
                "-object", "rng-random,id=rng0,filename=/dev/urandom",
                "-device", "virtio-tablet-pci",
                "-device", "virtio-serial-pci",
                "-chardev", "file,id=hvc0,path=" + self.hvc,
                "-device", "virtconsole,chardev=hvc0",
                "-device", "virtio-balloon-pci,freeze_mode=on"]
        s3reg = "ICH9-LPC.disable_s3=0" if args.machine == "q35" else "PIIX4_PM.disable_s3=0"
        qargs = ["-accel", "tcg", "-m", "512", "-smp", "1", "-nodefaults",
                 "-no-reboot", "-name", "s3", "-kernel", kernel, "-initrd", initrd,
                 "-append", "console=ttyS0 loglevel=6 mem_sleep_default=deep "
                 "no_console_suspend panic=-1",
                 "-global", s3reg, "-serial", "file:" + self.console] + dev
        # the project's SeaBIOS, as run-s3.py's runs use it (-bios: the
        # search path below would find the seabios package's first)
        qargs += s3.VM.firmware_args(self, args)
        for d in (os.path.join(TOP, "build/obj/pc-bios/optionrom"),
                  os.path.join(TOP, "build/obj/qemu-bundle/usr/local/share/qemu"),
                  "/usr/share/seabios", "/usr/lib/ipxe/qemu"):
            if os.path.isdir(d):
                qargs += ["-L", d]
        self.machine = QEMUMachine(qemu, qargs, name="qemu", log_dir=self.dir,
                                   base_temp_dir=self.dir)
        self.machine.set_machine(args.machine)
        self.machine.set_console(device_type="isa-serial,index=1")
        t0 = time.time()
        log("[%s] boot: %s -machine %s %s" % (self.tag, qemu, args.machine,
                                             " ".join(qargs)))
        try:
            self.machine.launch()
            self.guest = s3.Guest(self.machine.console_socket, self.machine)
            ready = self.guest.wait_ready(args.boot_timeout)
        except (Fail, QEMUMachineError) as e:
            self.dump_tail()
            self.machine.kill()
            raise Fail("[%s] boot: %s" % (self.tag, e)) from e
        log("[%s] guest up after %.1fs: %s" % (self.tag, time.time() - t0, ready))

    dump_tail = s3.VM.dump_tail
    screen = s3.VM.screen

    def close(self):
        try:
            self.machine.shutdown(timeout=10)
        except QEMUMachineError:
            pass
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, cmd, timeout=60, check=True):
        try:
            rc, out = self.guest.run(cmd, timeout)
        except Fail as e:
            raise Fail("[%s] guest '%s': %s" % (self.tag, cmd, e)) from e
        if check and rc != 0:
            raise Fail("[%s] guest '%s' failed (rc %d): %s" %
                       (self.tag, cmd, rc, " | ".join(out)))
        return out


def devices(vm):
    """driver -> (virtio device, freeze_mode bit, suspend bit)"""
    d = {}
    for l in vm.run("devices"):
        m = re.match(r"DEV (\S+) driver=(\S+) device=\S+ status=\S+ "
                     r"freeze_mode=(\d) suspend=(\d)", l)
        if m:
            d[m.group(2)] = (m.group(1), m.group(3), m.group(4))
    return d


def sleep_cycle(vm, n, args):
    """Suspend (deep, or s2idle), the host's action while the guest sleeps,
    wake up; returns the round trip wakeup -> guest answer."""
    s2idle = vm.scenario == "s2idle"
    seq = vm.guest.send("s2idle" if s2idle else "deep")
    deadline = time.time() + args.s3_timeout
    early = []

    said = []

    def asleep():
        if s2idle:
            # QEMU runs on in s2idle: the guest said it is suspending; the
            # sleep below lets it get there (a wakeup that came too early
            # aborts the suspend, which the rc and the paths would show)
            return "SUSPENDING" in said
        return vm.machine.cmd("query-status")["status"] == "suspended"

    while not asleep():
        if time.time() > deadline:
            raise Fail("[%s] guest did not go to sleep: %s" % (vm.tag, early))
        line = vm.guest.readline(time.time() + 0.1)
        if line is not None:
            early.append(line)
            said.append(line)
            if line.startswith("END %d " % seq):
                raise Fail("[%s] the suspend returned early: %s" % (vm.tag, early))
    # s2idle: the devices are suspended after "suspend entry"; an early
    # wakeup aborts the suspend, which the rc and the paths would show.
    time.sleep(4.0 if s2idle else 0.2)
    if vm.scenario == "resize":
        size = (DISK_MIB + n) << 20
        vm.machine.cmd("block_resize", device="d0", size=size)
        log("[%s] cycle %d: block_resize d0 to %d MiB while the guest sleeps"
            % (vm.tag, n, size >> 20))
    t0 = time.time()
    vm.machine.cmd("system_powerdown" if s2idle else "system_wakeup")
    rc, out = vm.guest.wait_end(seq, args.s3_timeout)
    rt = time.time() - t0
    if rc != 0 or not any(l.startswith("RESUMED rc=0") for l in out):
        raise Fail("[%s] suspend failed rc=%d: %s" % (vm.tag, rc, early + out))
    if s2idle:
        _, dm = vm.guest.run("dmesg suspend entry|suspend exit|abort|failed to suspend", 30)
        if not any("suspend entry (s2idle)" in l for l in dm) or \
                any("abort" in l or "failed to suspend" in l for l in dm):
            raise Fail("[%s] cycle %d: not a complete suspend to idle: %s" % (vm.tag, n, dm))
    return rt


def tablet(vm):
    seq = vm.guest.send("tablet")
    deadline = time.time() + 15
    i = 0
    while True:
        i += 1
        vm.machine.cmd("input-send-event", events=[
            {"type": "abs", "data": {"axis": "x", "value": 1000 + 97 * i % 20000}},
            {"type": "abs", "data": {"axis": "y", "value": 2000 + 89 * i % 20000}}])
        line = vm.guest.readline(time.time() + 0.3)
        if line is None:
            if time.time() > deadline:
                raise Fail("[%s] tablet: no answer" % vm.tag)
            continue
        if line.startswith("END %d " % seq):
            if not line.endswith(" 0"):
                raise Fail("[%s] tablet: no event reached the guest" % vm.tag)
            return
        if line.startswith("TABLET"):
            last = line
            log("[%s]   %s" % (vm.tag, last))


def hvc(vm, n):
    word = "hvc-cycle-%d-%d" % (n, os.getpid())
    vm.run("hvc " + word)
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(vm.hvc, errors="replace") as f:
            if word in f.read():
                return
        time.sleep(0.1)
    raise Fail("[%s] the virtio console line %s never reached the host" % (vm.tag, word))


def check_devices(vm, n):
    """Every device works: blk data read back, DHCP, rng bytes, a tablet
    event, a console line."""
    out = vm.run("blkcheck", 60)
    vm.run("net", 60)
    vm.run("rng", 30)
    tablet(vm)
    hvc(vm, n)
    return out


def paths(vm):
    p = {}
    for l in vm.run("paths"):
        m = re.match(r"PATH (\S+) (\S+) (\S+)", l)
        if m:
            p[m.group(2)] = m.group(3)
    return p


def run(args):
    vm = DesktopVM(args, args.scenario)
    tag = vm.tag
    try:
        devs = devices(vm)
        log("[%s] devices: %s" % (tag, ", ".join(
            "%s=%s(fm %s, susp %s)" % ((k,) + v) for k, v in sorted(devs.items()))))
        for drv in KEPT_DRIVERS + RESET_DRIVERS:
            if drv not in devs:
                raise Fail("[%s] no device bound to %s" % (tag, drv))
        want_bit = 2 if args.scenario == "suspend" else 1
        for drv in KEPT_DRIVERS:
            if devs[drv][want_bit] != "1":
                raise Fail("[%s] %s did not negotiate %s" % (
                    tag, drv, "VIRTIO_F_SUSPEND" if want_bit == 2 else "VIRTIO_F_FREEZE_MODE"))
        for drv in RESET_DRIVERS:
            if "1" in devs[drv][1:]:
                raise Fail("[%s] %s negotiated a suspend feature" % (tag, drv))
        vm.run("net", 60)
        want_path = "kept"
        rts, mss = [], []
        for n in range(1, args.cycles + 1):
            step = 10 * n
            ok, before = s3.draw(vm, step)
            if not ok:
                raise Fail("[%s] picture %d never reached the display" % (tag, step))
            blk = vm.run("blkstart")
            s3.clear_dmesg(vm)
            rt = sleep_cycle(vm, n, args)
            time.sleep(args.settle)
            after = vm.screen("after%d" % n)
            kept = s3.same(after, before)
            if want_path == "kept" and not kept:
                raise Fail("[%s] cycle %d: display changed across the sleep (%s)"
                           % (tag, n, s3.describe(before, after)))
            if want_path == "recovered":
                vm.run("gpuwait", 60)
            try:
                ok, _ = s3.draw(vm, step + 1)
            except Fail as e:
                raise Fail("[%s] cycle %d: redraw: %s" % (tag, n, e)) from e
            if not ok:
                raise Fail("[%s] cycle %d: the redraw never reached the display"
                           % (tag, n))
            blk += check_devices(vm, n)
            if args.scenario == "resize":
                want = ((DISK_MIB + n) << 20) // 512
                deadline = time.time() + 10
                while int(vm.run("blksize")[0]) != want:
                    if time.time() > deadline:
                        raise Fail("[%s] cycle %d: the guest still sees %s sectors, "
                                   "not %d, after the resize" %
                                   (tag, n, vm.run("blksize")[0], want))
                    time.sleep(0.2)
            p = paths(vm)
            for drv in KEPT_DRIVERS:
                if p.get(drv) != want_path:
                    raise Fail("[%s] cycle %d: %s took path %s, not %s" %
                               (tag, n, drv, p.get(drv), want_path))
            for drv in RESET_DRIVERS:
                if p.get(drv) != "reset":
                    raise Fail("[%s] cycle %d: %s took path %s, not reset" %
                               (tag, n, drv, p.get(drv)))
            _, dm = vm.guest.run("dmesg hung|blocked for more|BUG|WARNING|Oops", 30)
            if dm:
                raise Fail("[%s] cycle %d: the guest logged %s" % (tag, n, dm))
            ms, _ = s3.guest_resume_ms(vm)
            rts.append(rt)
            if ms is not None:
                mss.append(ms)
            log("[%s] cycle %d: wakeup->answer %.2fs, resume of devices %s ms, "
                "display %s, redraw ok, %s; paths: %s" % (
                    tag, n, rt, ms, "kept" if kept else "lost (expected)",
                    " ".join(l for l in blk if l.startswith("BLK wrote")),
                    " ".join("%s=%s" % kv for kv in sorted(p.items()))))
        log("[%s] %d/%d cycles passed; wakeup->answer avg %.2fs; guest resume of "
            "devices avg %s ms (min %s, max %s)" % (
                tag, len(rts), args.cycles, sum(rts) / len(rts),
                "%.1f" % (sum(mss) / len(mss)) if mss else "?",
                min(mss) if mss else "?", max(mss) if mss else "?"))
    except Fail:
        vm.dump_tail(40)
        raise
    finally:
        vm.close()


def bench(args):
    """The guest's "resume of devices" time over N S3 cycles, no checks:
    bench-freeze (freeze_mode), bench-stock (no property: every device
    reset), bench-noreset (q35: PCIe root ports with No_Soft_Reset and no
    freeze_mode: upstream's alternative)."""
    vm = DesktopVM(args, args.scenario)
    try:
        rts, mss = [], []
        for n in range(1, args.cycles + 1):
            s3.clear_dmesg(vm)
            rts.append(sleep_cycle(vm, n, args))
            ms, _ = s3.guest_resume_ms(vm)
            if ms is not None:
                mss.append(ms)
        log("bench %s %s: %d cycles, wakeup->answer avg %.3fs, guest resume of "
            "devices avg %s ms (min %s, max %s)" % (
                args.scenario, args.machine, len(rts), sum(rts) / len(rts),
                "%.1f" % (sum(mss) / len(mss)) if mss else "?",
                min(mss) if mss else "?", max(mss) if mss else "?"))
    finally:
        vm.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--machine", choices=("q35", "pc"), default="q35")
    ap.add_argument("--scenario", choices=("desktop", "resize", "suspend", "s2idle",
                                           "bench-freeze", "bench-stock",
                                           "bench-noreset"),
                    default="desktop")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--boot-timeout", type=int, default=180)
    ap.add_argument("--s3-timeout", type=int, default=60)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--keep", action="store_true")
    # run-s3.py's VM methods borrowed above read these of its options:
    # the desktop VM has no second (std VGA) display, and boots the
    # project's SeaBIOS
    ap.set_defaults(vga=False, firmware="seabios")
    args = ap.parse_args()
    if args.scenario == "suspend" and args.machine != "q35":
        log("FAIL: the suspend scenario needs PCIe root ports (q35)")
        return 1
    t0 = time.time()
    what = "desktop %s %s, %d cycles" % (args.scenario, args.machine, args.cycles)
    try:
        (bench if args.scenario.startswith("bench") else run)(args)
    except (Fail, QMPError, QEMUMachineError) as e:
        log("FAIL: %s (%s, %.0f s)" % (e, what, time.time() - t0))
        return 1
    log("PASS: %s (%.0f s)" % (what, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
