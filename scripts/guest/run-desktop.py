#!/usr/bin/python3
"""The desktop-VM guest (6.12; docs/guest.md, "The desktop VM", has the
checks in full) on run-s3.py's VM runner, guest protocol, pictures and QMP
helpers: S3 cycles with every virtio device a desktop VM has, each checked on
every cycle, and the path each took as the guest reports it: gpu, blk, net
and rng (freeze_mode=on) kept in place, console, tablet and balloon (QEMU or
the driver decline freeze_mode) reset.

Scenarios (--scenario):
  desktop  S3 (mem_sleep deep)
  resize   desktop, and QMP block_resize grows the disk while the guest
           sleeps: the guest must see the new size after resume
  suspend  q35: gpu, blk, net, rng with VIRTIO_F_SUSPEND instead of
           freeze_mode, behind PCIe root ports with No_Soft_Reset
  s2idle   suspend to idle, woken by the ACPI power button
  bench-freeze, bench-stock, bench-noreset: resume times only (see bench())
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
            dev += ["-device", "pcie-root-port,id=rp%d,chassis=%d,slot=%d" % (i, i + 1, i + 1),
                    "-device", d + ",bus=rp%d,%sx-pcie-pm-no-soft-reset=on"
                    % (i, "suspend=on," if args.scenario == "suspend" else "")]
        else:
            dev += ["-device", d + ("" if args.scenario == "bench-stock" else ",freeze_mode=on")]
    dev += ["-drive", "if=none,id=d0,format=raw,file=" + vm.disk,
            "-netdev", "user,id=n0",
            "-object", "rng-random,id=rng0,filename=/dev/urandom",
            "-device", "virtio-tablet-pci",
            "-device", "virtio-serial-pci",
            "-chardev", "file,id=hvc0,path=" + vm.hvc,
            "-device", "virtconsole,chardev=hvc0",
            "-device", "virtio-balloon-pci,freeze_mode=on"]
    return vm.launch(kernel, initrd, dev)


def by_driver(vm, cmd, regex):
    """The guest's answer to cmd: driver (group 2 of regex) -> the match"""
    return {m[2]: m for m in map(re.compile(regex).match, vm.run(cmd)) if m}


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


def wait_for(what, timeout, interval=0.1):
    """Poll what() until it is true; False if timeout seconds pass first"""
    deadline = time.time() + timeout
    while not what():
        if time.time() > deadline:
            return False
        time.sleep(interval)
    return True


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
        elif line.startswith("END %d " % seq):
            if not line.endswith(" 0"):
                raise Fail("[%s] tablet: no event reached the guest" % vm.tag)
            return
        elif line.startswith("TABLET"):
            log("[%s]   %s" % (vm.tag, line))


def check_devices(vm, n):
    """Every device works: blk data read back, DHCP, rng bytes, a tablet
    event, a console line that reaches the host."""
    out = vm.run("blkcheck", 60)
    vm.run("net", 60)
    vm.run("rng", 30)
    tablet(vm)
    word = "hvc-cycle-%d-%d" % (n, os.getpid())
    vm.run("hvc " + word)

    def arrived():
        with open(vm.hvc, errors="replace") as f:
            return word in f.read()
    if not wait_for(arrived, 10):
        raise Fail("[%s] the virtio console line %s never reached the host" % (vm.tag, word))
    return out


def resume_summary(mss):
    """The guest's "resume of devices" times over the cycles"""
    return "avg %s ms (min %s, max %s)" % (
        "%.1f" % (sum(mss) / len(mss)) if mss else "?",
        min(mss) if mss else "?", max(mss) if mss else "?")


def run(args):
    vm = desktop_vm(args)
    tag = vm.tag
    try:
        devs = by_driver(vm, "devices", r"DEV (\S+) driver=(\S+) device=\S+ status=\S+ "
                         r"freeze_mode=(\d) suspend=(\d)")
        log("[%s] devices: %s" % (tag, ", ".join(
            "%s=%s(fm %s, susp %s)" % ((k,) + m.group(1, 3, 4))
            for k, m in sorted(devs.items()))))
        for drv in KEPT_DRIVERS + RESET_DRIVERS:
            if drv not in devs:
                raise Fail("[%s] no device bound to %s" % (tag, drv))
        want_bit = 4 if args.scenario == "suspend" else 3
        for drv in KEPT_DRIVERS:
            if devs[drv][want_bit] != "1":
                raise Fail("[%s] %s did not negotiate %s" % (
                    tag, drv, "VIRTIO_F_SUSPEND" if want_bit == 4 else "VIRTIO_F_FREEZE_MODE"))
        for drv in RESET_DRIVERS:
            if "1" in devs[drv].group(3, 4):
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
            rts.append(sleep_cycle(vm, n, args))
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
                raise Fail("[%s] cycle %d: the redraw never reached the display" % (tag, n))
            blk += check_devices(vm, n)
            want = ((DISK_MIB + n) << 20) // 512
            if args.scenario == "resize" and \
                    not wait_for(lambda: int(vm.run("blksize")[0]) == want, 10, 0.2):
                raise Fail("[%s] cycle %d: the guest still sees %s sectors, not %d, "
                           "after the resize" % (tag, n, vm.run("blksize")[0], want))
            p = {d: m[3] for d, m in by_driver(vm, "paths", r"PATH (\S+) (\S+) (\S+)").items()}
            for drivers, path in ((KEPT_DRIVERS, "kept"), (RESET_DRIVERS, "reset")):
                for drv in drivers:
                    if p.get(drv) != path:
                        raise Fail("[%s] cycle %d: %s took path %s, not %s" %
                                   (tag, n, drv, p.get(drv), path))
            _, dm = vm.guest.run("dmesg hung|blocked for more|BUG|WARNING|Oops", 30)
            if dm:
                raise Fail("[%s] cycle %d: the guest logged %s" % (tag, n, dm))
            ms, _ = s3.guest_resume_ms(vm)
            if ms is not None:
                mss.append(ms)
            log("[%s] cycle %d: wakeup->answer %.2fs, resume of devices %s ms, "
                "display kept, redraw ok, %s; paths: %s" % (
                    tag, n, rts[-1], ms,
                    " ".join(l for l in blk if l.startswith("BLK wrote")),
                    " ".join("%s=%s" % kv for kv in sorted(p.items()))))
        log("[%s] %d/%d cycles passed; wakeup->answer avg %.2fs; guest resume of "
            "devices %s" % (tag, len(rts), args.cycles, sum(rts) / len(rts),
                            resume_summary(mss)))
    except Fail:
        vm.dump_tail(80)
        raise
    finally:
        vm.close()


def bench(args):
    """The guest's "resume of devices" time over N S3 cycles, no checks:
    bench-freeze (freeze_mode), bench-stock (no property: every device
    reset), bench-noreset (q35: PCIe root ports with No_Soft_Reset and no
    freeze_mode: upstream's alternative)."""
    with desktop_vm(args) as vm:
        rts, mss = [], []
        for n in range(1, args.cycles + 1):
            s3.clear_dmesg(vm)
            rts.append(sleep_cycle(vm, n, args))
            ms, _ = s3.guest_resume_ms(vm)
            if ms is not None:
                mss.append(ms)
        log("bench %s %s: %d cycles, wakeup->answer avg %.3fs, guest resume of "
            "devices %s" % (args.scenario, args.machine, len(rts), sum(rts) / len(rts),
                            resume_summary(mss)))


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
