#!/usr/bin/python3
"""Seed inputs for the generic-fuzz freeze_mode configs.

    fuzz-seeds.py OUTDIR CONFIG

Writes, for the generic-fuzz config named (virtio-blk-freeze, ...), the
directory OUTDIR of inputs in generic-fuzz's own format
(tests/qtest/fuzz/generic_fuzz.c: an opcode byte and its operands per
command, commands separated by "FUZZ").  Each seed brings a device as far
as a driver would (feature negotiation with VIRTIO_F_FREEZE_MODE and
VIRTIO_F_SUSPEND, queues set up, DRIVER_OK) and then drives one
freeze_mode or SUSPEND scenario, so that
libFuzzer starts from inputs that reach the freeze_mode code and mutates
from there instead of first having to find bit 45 and FEATURES_OK.

Operands address a memory region by its index among the fuzzed regions in
the order of the flat view, which for one virtio-pci device on q35 after
generic-fuzz mapped its BARs (BAR1 MSI-X, then the 64-bit BAR4) is:
MSI-X table, MSI-X PBA, then the virtio capabilities of BAR4 in address
order: common, ISR, device (if the device type has a config space),
notify.  `make fuzz` checks afterwards that the run covered
virtio_freeze_mode_write(), which it cannot do unless these are right.

The register offsets and values come from the assembled QEMU tree's
include/standard-headers (build/qemu, or $QEMU_TREE).
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
    tree = os.environ.get("QEMU_TREE",
                          os.path.join(os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__))), "build", "qemu"))
    defs = {}
    for name in names:
        path = os.path.join(tree, "include", "standard-headers", "linux", name)
        with open(path) as f:
            for line in f:
                m = re.match(r"#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", line)
                if m:
                    defs[m.group(1)] = int(m.group(2), 0)
    return defs


H = header_defines("virtio_pci.h", "virtio_config.h")
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
# The high feature word: VIRTIO_F_VERSION_1, VIRTIO_F_FREEZE_MODE and
# VIRTIO_F_SUSPEND (the configs set both freeze_mode=on and suspend=on)
FEATURES_HI = sum(1 << (H[n] - 32) for n in (
    "VIRTIO_F_VERSION_1", "VIRTIO_F_FREEZE_MODE", "VIRTIO_F_SUSPEND"))

# config: (common, isr, notify region index, number of queues,
#          low feature word the seeds accept)
LAYOUT = {
    "virtio-blk-freeze": (2, 3, 5, 1, 0),
    "virtio-blk-freeze-throttled": (2, 3, 5, 1, 0),
    "virtio-net-freeze": (2, 3, 5, 3, (1 << 5) | (1 << 16) | (1 << 17)),
    "virtio-rng-freeze": (2, 3, 4, 1, 0),
    "virtio-gpu-freeze": (2, 3, 5, 2, 0),
}

RING_BASE = 0x100000


class Seed:
    def __init__(self, common, notify):
        self.cmds = []
        self.common, self.notify = common, notify

    def _add(self, op, operands=b""):
        cmd = bytes([op]) + operands
        assert SEP not in cmd, cmd
        self.cmds.append(cmd)

    def write(self, region, off, val, size):
        self._add(OP_WRITE, struct.pack("<BBxxIQ", size, region, off, val))

    def read(self, region, off, size):
        self._add(OP_READ, struct.pack("<BBxxI", size, region, off))

    def cfg(self, off, val, size=LONG):
        self.write(self.common, off, val, size)

    def status(self, val):
        self.cfg(STATUS, val, BYTE)

    def freeze(self, mode):
        self.cfg(FREEZE_MODE, mode, WORD)

    def read_freeze(self):
        self.read(self.common, FREEZE_MODE, WORD)

    def kick(self, q):
        self.write(self.notify, q * 4, q, WORD)

    def pci_write(self, off, val, size):
        self._add(OP_PCI_WRITE, struct.pack("<BBBxI", size, 0, off, val))

    def pattern(self, index, stride, data):
        self._add(OP_ADD_DMA_PATTERN, struct.pack("<BB", index, stride) + data)

    def clear_patterns(self):
        self._add(OP_CLEAR_DMA_PATTERNS)

    def clock_step(self):
        self._add(OP_CLOCK_STEP)

    def bytes(self):
        return SEP.join(self.cmds)


def driver_init(s, nqueues, features_lo):
    """What a driver does up to DRIVER_OK, with VIRTIO_F_FREEZE_MODE."""
    s.status(ACK | DRIVER)
    s.cfg(GFSELECT, 0)
    s.cfg(GF, features_lo)
    s.cfg(GFSELECT, 1)
    s.cfg(GF, FEATURES_HI)
    s.status(ACK | DRIVER | FEATURES_OK)
    for q in range(nqueues):
        base = RING_BASE + q * 0x10000
        s.cfg(Q_SELECT, q, WORD)
        s.cfg(Q_SIZE, 16, WORD)
        s.cfg(Q_DESCLO, base)
        s.cfg(Q_DESCHI, 0)
        s.cfg(Q_AVAILLO, base + 0x4000)
        s.cfg(Q_AVAILHI, 0)
        s.cfg(Q_USEDLO, base + 0x8000)
        s.cfg(Q_USEDHI, 0)
        s.cfg(Q_ENABLE, 1, WORD)
    s.status(RUNNING)
    s.requests = 0


def request(s):
    """Make one request available and notify queue 0.

    generic-fuzz fills each DMA read with the next DMA pattern, round
    robin from the first after a clear.  For virtio-blk the reads of a
    notification come in this order, and the five patterns make them one
    512-byte write to sector 0: used flags (A, ignored), avail idx (B:
    one more buffer), avail entry (C: head 0), descriptor 0 (D: the
    16-byte header, next 1), the header (E: VIRTIO_BLK_T_OUT, sector 0),
    descriptor 1 (A: 512 readable bytes, next 2), the data (B),
    descriptor 2 (C: the writable status byte).  The other device types
    read the same patterns as whatever they fetch.
    """
    s.requests += 1
    s.clear_patterns()
    s.pattern(0, 0, struct.pack("<QIHH", RING_BASE + 0x20000, 512, 1, 2))
    s.pattern(0, 0, struct.pack("<QIHH", RING_BASE + 0x30000 + s.requests,
                                0, 0, 0))
    s.pattern(0, 0, struct.pack("<QIHH", RING_BASE + 0x40000, 1, 2, 0))
    s.pattern(0, 0, struct.pack("<QIHH", RING_BASE + 0x50000, 16, 1, 1))
    s.pattern(0, 0, struct.pack("<IIQ", 1, 0, 0))
    s.kick(0)


def seeds_for(config):
    common, isr, notify, nqueues, features_lo = LAYOUT[config]
    out = {}

    def new(name):
        s = Seed(common, notify)
        driver_init(s, nqueues, features_lo)
        out[name] = s
        return s

    # Freeze, kicks and config writes while frozen, unfreeze.
    s = new("freeze-unfreeze")
    request(s)
    s.freeze(FREEZE_S3)
    s.read_freeze()
    for q in range(nqueues):
        s.kick(q)
    s.cfg(Q_SELECT, 0, WORD)
    s.cfg(Q_DESCLO, RING_BASE + 0x40000)
    s.cfg(Q_RESET, 1, WORD)
    s.cfg(MSIX_CONFIG, 1, WORD)
    s.clock_step()
    s.freeze(UNFREEZE)
    s.read_freeze()
    s.read(isr, 0, BYTE)
    s.clock_step()

    # Requests in flight (virtio-blk-freeze-throttled: all but the first
    # stay in flight until a reset), then freeze: BUSY, writes while BUSY.
    s = new("freeze-busy")
    for _ in range(4):
        request(s)
    s.freeze(FREEZE_S3)
    s.read_freeze()
    s.freeze(UNFREEZE)
    s.freeze(FREEZE_S3 | BUSY)
    s.clock_step()
    s.read_freeze()
    s.clock_step()
    s.clock_step()
    s.read_freeze()
    s.freeze(UNFREEZE)
    s.read_freeze()

    # A driver reset while frozen, then the device is used again.
    s = new("freeze-reset")
    s.freeze(FREEZE_S3)
    s.kick(0)
    s.status(0)
    s.read_freeze()
    driver_init(s, nqueues, features_lo)
    request(s)
    s.freeze(FREEZE_S3)

    # The guest's PCI core on suspend and resume: bus mastering off while
    # frozen, the command register restored, unfreeze.
    s = new("freeze-bus-master")
    s.freeze(FREEZE_S3)
    s.pci_write(0x04, 0x0000, WORD)
    request(s)
    s.pci_write(0x04, 0x0006, WORD)
    s.freeze(UNFREEZE)
    s.read_freeze()

    # Reserved values, the BUSY flag written, byte-wide accesses.
    s = new("freeze-reserved")
    for val in (0x0001, 0x0002, 0x0004, 0x00ff, 0x8000, 0x8003, 0xffff):
        s.freeze(val)
        s.read_freeze()
    s.write(common, FREEZE_MODE, FREEZE_S3, BYTE)
    s.write(common, FREEZE_MODE + 1, 0x80, BYTE)
    s.write(common, FREEZE_MODE, FREEZE_S3, LONG)
    s.read(common, FREEZE_MODE + 1, BYTE)
    s.status(ACK | DRIVER | FEATURES_OK | DRIVER_OK | 0x40)
    s.freeze(FREEZE_S3)
    s.read_freeze()

    # SUSPEND with requests in flight, kicks and writes while suspended,
    # freeze_mode while suspended, resume through DRIVER_OK.
    s = new("suspend-resume")
    for _ in range(2):
        request(s)
    s.status(RUNNING | SUSPEND)
    s.read(s.common, STATUS, BYTE)
    s.clock_step()
    s.read(s.common, STATUS, BYTE)
    for q in range(nqueues):
        s.kick(q)
    s.cfg(Q_SELECT, 0, WORD)
    s.cfg(Q_DESCLO, RING_BASE + 0x40000)
    s.freeze(FREEZE_S3)
    s.status(RUNNING)
    s.status(RUNNING | SUSPEND)
    s.read(s.common, STATUS, BYTE)
    s.status(ACK | DRIVER | FEATURES_OK | SUSPEND)
    s.read(s.common, STATUS, BYTE)
    request(s)
    s.status(RUNNING | SUSPEND)
    s.status(0)
    s.read(s.common, STATUS, BYTE)

    # SUSPEND while frozen, and before DRIVER_OK.
    s = new("suspend-frozen")
    s.freeze(FREEZE_S3)
    s.status(RUNNING | SUSPEND)
    s.read_freeze()
    s.freeze(UNFREEZE)
    s.status(0)
    s.status(ACK | DRIVER | SUSPEND)
    driver_init(s, nqueues, features_lo)
    s.status(RUNNING | SUSPEND)
    s.freeze(FREEZE_S3)
    s.read_freeze()
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
            f.write(seed.bytes())


if __name__ == "__main__":
    main()
