#!/usr/bin/python3
"""The desktop-VM guest (6.12): every virtio device a desktop VM has, S3
cycles, every device checked on every cycle, and the path each device took
as the guest reports it.  Uses run-s3.py's VM runner, guest protocol, pictures and QMP
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
import importlib.util
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("run_s3", os.path.join(HERE, "run-s3.py"))
s3 = importlib.util.module_from_spec(_spec)
sys.dont_write_bytecode = True  # no __pycache__ in scripts/guest
_spec.loader.exec_module(s3)

Fail, log = s3.Fail, s3.log
KEPT_DRIVERS = ("virtio_gpu", "virtio_blk", "virtio_net", "virtio_rng")
RESET_DRIVERS = ("virtio_console", "virtio_input", "virtio_balloon")
DISK_MIB = 16


def desktop_vm(args):
    """run-s3.py's VM with the desktop devices; vm.disk is the virtio-blk
    disk, vm.hvc the file the virtio console writes to."""
    kernel, initrd = s3.kernel_and_initrd(args, "patched")
    vm = s3.VM(args, "%s/6.12/desktop-%s" % (args.machine, args.scenario))
    vm.disk = os.path.join(vm.dir, "disk.img")
    with open(vm.disk, "wb") as f:
        f.truncate(DISK_MIB << 20)
    vm.hvc = os.path.join(vm.dir, "hvc.log")
    gpu = "virtio-vga" if args.machine == "pc" else "virtio-gpu-pci"
    kept = [gpu, "virtio-blk-pci,drive=d0", "virtio-net-pci,netdev=n0",
            "virtio-rng-pci,rng=rng0"]
    dev = []
    for i, d in enumerate(kept):
        if args.scenario in ("bench-noreset", "suspend"):
            # behind a PCIe root port, No_Soft_Reset; suspend: and SUSPEND
            dev += ["-device", "pcie-root-port,id=rp%d,chassis=%d,slot=%d"
                    % (i, i + 1, i + 1),
                    "-device", d + ",bus=rp%d,%sx-pcie-pm-no-soft-reset=on"
                    % (i, "suspend=on," if args.scenario == "suspend" else "")]
        else:
            dev += ["-device", d + ("" if args.scenario == "bench-stock"
                                    else ",freeze_mode=on")]
    dev += ["-drive", "if=none,id=d0,format=raw,file=" + vm.disk,
            "-netdev", "user,id=n0",
            "-object", "rng-random,id=rng0,filename=/dev/urandom",
            "-device", "virtio-tablet-pci",
            "-device", "virtio-serial-pci",
            "-chardev", "file,id=hvc0,path=" + vm.hvc,
            "-device", "virtconsole,chardev=hvc0",
            "-device", "virtio-balloon-pci,freeze_mode=on"]
    return vm.launch(kernel, initrd, dev)


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
    s2idle = args.scenario == "s2idle"

    def resize():
        size = (DISK_MIB + n) << 20
        vm.machine.cmd("block_resize", device="d0", size=size)
        log("[%s] cycle %d: block_resize d0 to %d MiB while the guest sleeps"
            % (vm.tag, n, size >> 20))
    try:
        rt, out = s3.s3_cycle(vm, args.s3_timeout, "s2idle" if s2idle else "deep",
                              resize if args.scenario == "resize" else None)
    except Fail as e:
        raise Fail("[%s] cycle %d: %s" % (vm.tag, n, e)) from e
    if not any(l.startswith("RESUMED rc=0") for l in out):
        raise Fail("[%s] suspend failed: %s" % (vm.tag, out))
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
    vm = desktop_vm(args)
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
            if not s3.same(after, before):
                raise Fail("[%s] cycle %d: display changed across the sleep (%s)"
                           % (tag, n, s3.describe(before, after)))
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
                if p.get(drv) != "kept":
                    raise Fail("[%s] cycle %d: %s took path %s, not kept" %
                               (tag, n, drv, p.get(drv)))
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
                "display kept, redraw ok, %s; paths: %s" % (
                    tag, n, rt, ms,
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
    vm = desktop_vm(args)
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
    ap = s3.arguments(__doc__)
    ap.add_argument("--scenario", choices=("desktop", "resize", "suspend", "s2idle",
                                           "bench-freeze", "bench-stock",
                                           "bench-noreset"),
                    default="desktop")
    # the options of run-s3.py's VM that the desktop VM does not offer:
    # no second (std VGA) display, the project's SeaBIOS
    ap.set_defaults(vga=False, firmware="seabios", append="", kernel="6.12")
    args = ap.parse_args()
    if args.scenario == "suspend" and args.machine != "q35":
        log("FAIL: the suspend scenario needs PCIe root ports (q35)")
        return 1
    return s3.report("desktop %s %s, %d cycles" % (args.scenario, args.machine, args.cycles),
                     bench if args.scenario.startswith("bench") else run, args)


if __name__ == "__main__":
    sys.exit(main())
