#!/usr/bin/python3
"""Seed inputs for the generic-fuzz freeze_mode configs.

    fuzz-seeds.py OUTDIR CONFIG

Inputs in generic-fuzz's format (tests/qtest/fuzz/generic_fuzz.c: an opcode
and its operands, commands separated by "FUZZ") that drive the device of
CONFIG as a driver would, to DRIVER_OK with VIRTIO_F_FREEZE_MODE and
VIRTIO_F_SUSPEND, then through one freeze_mode or SUSPEND scenario, so that
libFuzzer starts where the freeze_mode code is.  Regions are numbered in flat
view order, for one virtio-pci device on q35: MSI-X table and PBA (BAR1), then
BAR4's common, ISR, device (if any) and notify; make fuzz checks that the run
reached virtio_freeze_mode_write().  Register offsets and values come from
include/standard-headers of the assembled tree (build/qemu, or $QEMU_TREE).
"""

import os
import re
import struct
import sys

SEP = b"FUZZ"
OP_READ, OP_WRITE, OP_PCI_WRITE = 2, 3, 5
OP_ADD_DMA_PATTERN, OP_CLEAR_DMA_PATTERNS, OP_CLOCK_STEP = 7, 8, 9
BYTE, WORD, LONG = 0, 1, 2


def header_defines(*names):
    """The numeric #defines of QEMU's standard-headers: the one place the
    register layout and the freeze_mode constants are written down."""
    tree = os.environ.get("QEMU_TREE", os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "qemu"))
    defs = {}
    for name in names:
        with open(os.path.join(tree, "include", "standard-headers", "linux", name)) as f:
            for m in re.finditer(r"^#define[ \t]+(\w+)[ \t]+(0x[0-9a-fA-F]+|\d+)\b", f.read(), re.M):
                defs[m[1]] = int(m[2], 0)
    return defs


H = header_defines("virtio_pci.h", "virtio_config.h", "virtio_ring.h")
# struct virtio_pci_common_cfg, freeze_mode included
(GFSELECT, GF, MSIX_CONFIG, STATUS, Q_SELECT, Q_SIZE, Q_ENABLE, Q_DESCLO,
 Q_DESCHI, Q_AVAILLO, Q_AVAILHI, Q_USEDLO, Q_USEDHI, Q_RESET, FREEZE_MODE) = (
    H["VIRTIO_PCI_COMMON_" + n] for n in (
        "GFSELECT", "GF", "MSIX", "STATUS", "Q_SELECT", "Q_SIZE", "Q_ENABLE",
        "Q_DESCLO", "Q_DESCHI", "Q_AVAILLO", "Q_AVAILHI", "Q_USEDLO",
        "Q_USEDHI", "Q_RESET", "FREEZE_MODE"))
UNFREEZE, FREEZE_S3, BUSY = (H["VIRTIO_PCI_FREEZE_MODE_" + n]
                             for n in ("UNFREEZE", "FREEZE_S3", "BUSY"))
ACK, DRIVER, FEATURES_OK, DRIVER_OK, SUSPEND = (
    H["VIRTIO_CONFIG_S_" + n] for n in (
        "ACKNOWLEDGE", "DRIVER", "FEATURES_OK", "DRIVER_OK", "SUSPEND"))
RUNNING = ACK | DRIVER | FEATURES_OK | DRIVER_OK
# The high feature word: VERSION_1, FREEZE_MODE and SUSPEND (the configs set
# both freeze_mode=on and suspend=on)
FEATURES_HI = sum(1 << (H[n] - 32) for n in (
    "VIRTIO_F_VERSION_1", "VIRTIO_F_FREEZE_MODE", "VIRTIO_F_SUSPEND"))

# config: (common, isr, notify region index, number of queues,
#          low feature word the seeds accept)
LAYOUT = {
    "virtio-blk-freeze": (2, 3, 5, 1, 0),
    "virtio-blk-freeze-throttled": (2, 3, 5, 1, 0),
    "virtio-net-freeze": (2, 3, 5, 3, (1 << 5) | (1 << 16) | (1 << 17)),
    "virtio-rng-freeze": (2, 3, 5, 1, 0),
    "virtio-gpu-freeze": (2, 3, 5, 2, 0),
}
RING_BASE = 0x100000


class Seed:
    """One input: a device driven up to DRIVER_OK, then the scenario."""

    def __init__(self, config):
        self.common, self.isr, self.notify, self.nqueues, self.features_lo = LAYOUT[config]
        self.cmds = []
        self.driver_init()

    def add(self, op, operands=b""):
        cmd = bytes([op]) + operands
        assert SEP not in cmd, cmd
        self.cmds.append(cmd)

    def write(self, region, off, val, size):
        self.add(OP_WRITE, struct.pack("<BBxxIQ", size, region, off, val))

    def read(self, region, off, size):
        self.add(OP_READ, struct.pack("<BBxxI", size, region, off))

    def cfg(self, off, val, size=LONG):
        self.write(self.common, off, val, size)

    def status(self, val, read=False):
        self.cfg(STATUS, val, BYTE)
        if read:
            self.read(self.common, STATUS, BYTE)

    def freeze(self, mode, read=False):
        self.cfg(FREEZE_MODE, mode, WORD)
        if read:
            self.read_freeze()

    def read_freeze(self):
        self.read(self.common, FREEZE_MODE, WORD)

    def kick(self, q):
        self.write(self.notify, q * 4, q, WORD)

    def kick_all(self):
        for q in range(self.nqueues):
            self.kick(q)

    def pci_write(self, off, val, size):
        self.add(OP_PCI_WRITE, struct.pack("<BBBxI", size, 0, off, val))

    def clock_step(self):
        self.add(OP_CLOCK_STEP)

    def driver_init(self):
        """What a driver does up to DRIVER_OK, with VIRTIO_F_FREEZE_MODE."""
        self.status(ACK | DRIVER)
        for word, features in ((0, self.features_lo), (1, FEATURES_HI)):
            self.cfg(GFSELECT, word)
            self.cfg(GF, features)
        self.status(ACK | DRIVER | FEATURES_OK)
        for q in range(self.nqueues):
            base = RING_BASE + q * 0x10000
            self.cfg(Q_SELECT, q, WORD)
            self.cfg(Q_SIZE, 16, WORD)
            for lo, hi, off in ((Q_DESCLO, Q_DESCHI, 0), (Q_AVAILLO, Q_AVAILHI, 0x4000),
                                (Q_USEDLO, Q_USEDHI, 0x8000)):
                self.cfg(lo, base + off)
                self.cfg(hi, 0)
            self.cfg(Q_ENABLE, 1, WORD)
        self.status(RUNNING)
        self.requests = 0

    def request(self):
        """One request made available, queue 0 notified.  generic-fuzz fills
        each DMA read with the next pattern, round robin: for virtio-blk, one
        512-byte write to sector 0 (used flags A, avail idx B, avail entry C,
        descriptor 0 D: header, the header E: VIRTIO_BLK_T_OUT, descriptor 1 A:
        data, the data B, descriptor 2 C: status).  Other types read the same."""
        self.requests += 1
        self.add(OP_CLEAR_DMA_PATTERNS)
        for pattern in (struct.pack("<QIHH", RING_BASE + 0x20000, 512, 1, 2),
                        struct.pack("<QIHH", RING_BASE + 0x30000 + self.requests, 0, 0, 0),
                        struct.pack("<QIHH", RING_BASE + 0x40000, 1, 2, 0),
                        struct.pack("<QIHH", RING_BASE + 0x50000, 16, 1, 1),
                        struct.pack("<IIQ", 1, 0, 0)):
            self.add(OP_ADD_DMA_PATTERN, struct.pack("<BB", 0, 0) + pattern)
        self.kick(0)


def seeds_for(config):
    out = {}

    def new(name):
        out[name] = Seed(config)
        return out[name]

    # Freeze, kicks and config writes while frozen, unfreeze.
    s = new("freeze-unfreeze")
    s.request()
    s.freeze(FREEZE_S3, read=True)
    s.kick_all()
    s.cfg(Q_SELECT, 0, WORD)
    s.cfg(Q_DESCLO, RING_BASE + 0x40000)
    s.cfg(Q_RESET, 1, WORD)
    s.cfg(MSIX_CONFIG, 1, WORD)
    s.clock_step()
    s.freeze(UNFREEZE, read=True)
    s.read(s.isr, 0, BYTE)
    s.clock_step()

    # Requests in flight (virtio-blk-freeze-throttled: all but the first
    # stay in flight until a reset), then freeze: BUSY, writes while BUSY.
    s = new("freeze-busy")
    for _ in range(4):
        s.request()
    s.freeze(FREEZE_S3, read=True)
    s.freeze(UNFREEZE)
    s.freeze(FREEZE_S3 | BUSY)
    s.clock_step()
    s.read_freeze()
    s.clock_step()
    s.clock_step()
    s.read_freeze()
    s.freeze(UNFREEZE, read=True)

    # A driver reset while frozen, then the device is used again.
    s = new("freeze-reset")
    s.freeze(FREEZE_S3)
    s.kick(0)
    s.status(0)
    s.read_freeze()
    s.driver_init()
    s.request()
    s.freeze(FREEZE_S3)

    # The guest's PCI core on suspend and resume: bus mastering off while
    # frozen, the command register restored, unfreeze.
    s = new("freeze-bus-master")
    s.freeze(FREEZE_S3)
    s.pci_write(0x04, 0x0000, WORD)
    s.request()
    s.pci_write(0x04, 0x0006, WORD)
    s.freeze(UNFREEZE, read=True)

    # Reserved values, the BUSY flag written, byte-wide accesses.
    s = new("freeze-reserved")
    for val in (0x0001, 0x0002, 0x0004, 0x00ff, 0x8000, 0x8003, 0xffff):
        s.freeze(val, read=True)
    s.write(s.common, FREEZE_MODE, FREEZE_S3, BYTE)
    s.write(s.common, FREEZE_MODE + 1, 0x80, BYTE)
    s.write(s.common, FREEZE_MODE, FREEZE_S3, LONG)
    s.read(s.common, FREEZE_MODE + 1, BYTE)
    s.status(RUNNING | 0x40)
    s.freeze(FREEZE_S3, read=True)

    # SUSPEND with requests in flight, kicks and writes while suspended,
    # freeze_mode while suspended, resume through DRIVER_OK.
    s = new("suspend-resume")
    for _ in range(2):
        s.request()
    s.status(RUNNING | SUSPEND, read=True)
    s.clock_step()
    s.read(s.common, STATUS, BYTE)
    s.kick_all()
    s.cfg(Q_SELECT, 0, WORD)
    s.cfg(Q_DESCLO, RING_BASE + 0x40000)
    s.freeze(FREEZE_S3)
    s.status(RUNNING)
    s.status(RUNNING | SUSPEND, read=True)
    s.status(ACK | DRIVER | FEATURES_OK | SUSPEND, read=True)
    s.request()
    s.status(RUNNING | SUSPEND)
    s.status(0, read=True)

    # SUSPEND while frozen, and before DRIVER_OK.
    s = new("suspend-frozen")
    s.freeze(FREEZE_S3)
    s.status(RUNNING | SUSPEND)
    s.read_freeze()
    s.freeze(UNFREEZE)
    s.status(0)
    s.status(ACK | DRIVER | SUSPEND)
    s.driver_init()
    s.status(RUNNING | SUSPEND)
    s.freeze(FREEZE_S3, read=True)

    # One request (avail idx, avail entry, descriptor, then the indirect
    # table) whose indirect table is 256 MiB of zero-length descriptors
    # that loop: virtio-rng counts the bytes a chain offers before it pops,
    # on a notify and on every status write, also once the device is
    # broken, and must give up as soon as virtqueue_pop() would.  Walked
    # to the end, the 100 status writes take minutes under ASan, beyond
    # fuzz.sh's 30 s hang limit.
    s = new("long-chain")
    s.add(OP_CLEAR_DMA_PATTERNS)
    for pattern in (struct.pack("<H", 1), struct.pack("<H", 0),
                    struct.pack("<QIHH", 0x1000000, 0x10000000, H["VRING_DESC_F_INDIRECT"], 0),
                    struct.pack("<QIHH", 0, 0, H["VRING_DESC_F_NEXT"] | H["VRING_DESC_F_WRITE"], 1)):
        s.add(OP_ADD_DMA_PATTERN, struct.pack("<BB", 0, 0) + pattern)
    s.kick(0)
    for _ in range(100):
        s.status(RUNNING)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    outdir, config = sys.argv[1:]
    if config not in LAYOUT:
        sys.exit(f"fuzz-seeds: no layout for config '{config}'")
    os.makedirs(outdir, exist_ok=True)
    for name, seed in seeds_for(config).items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(SEP.join(seed.cmds))


if __name__ == "__main__":
    main()
