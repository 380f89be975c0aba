/*
 * QTest: a misbehaving virtio driver against freeze_mode
 *
 * A seeded PRNG drives virtio-blk, virtio-net, virtio-rng and virtio-gpu
 * (virtio-pci, freeze_mode=on) through random sequences: writes of any
 * value to every common configuration register, freeze_mode values valid
 * and reserved, device_status in any order, queues set up on guest memory
 * and kicked with valid or garbage descriptors, MSI-X vector changes,
 * driver resets, system_reset, and S3 with system_wakeup, in every freeze
 * state.  After every step it checks that QEMU answers, that freeze_mode
 * reads a defined value, that BUSY clears within a bound, and that a
 * frozen device neither changes its used ring nor raises an interrupt.
 * virtio-blk's disk is throttled on the virtual clock, so its requests
 * stay in flight until the checks step the clock and freezes go through
 * BUSY.
 *
 * QTEST_FREEZE_SEED and QTEST_FREEZE_STEPS (default 10000) choose the
 * run; a failure prints the seed and the step that reproduce it.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/pci_regs.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "libqos/pc-s3.h"
#include "libqos/virtio-freeze.h"

/* Short names for the register values (standard-headers/linux/virtio_pci.h) */
#define FREEZE_UNFREEZE         VIRTIO_PCI_FREEZE_MODE_UNFREEZE
#define FREEZE_S3               VIRTIO_PCI_FREEZE_MODE_FREEZE_S3
#define FREEZE_BUSY             VIRTIO_PCI_FREEZE_MODE_BUSY
#define COMMON_FREEZE_MODE      VIRTIO_PCI_COMMON_FREEZE_MODE
#define RING_SIZE               16
#define BUSY_BOUND              2000    /* reads until BUSY must clear */
#define AVAIL_OFF               (16 * RING_SIZE)
#define USED_OFF                ROUND_UP(AVAIL_OFF + 6 + 2 * RING_SIZE, 4)
#define RING_BYTES              (16 * RING_SIZE + 2 * 4096)
#define BUF_BYTES               (4 * 512)

typedef struct RDev {
    const char *name;
    int slot;
    QVirtioPCIDevice *dev;
    QPCISavedHeader pci;
    uint64_t ring;              /* desc, avail, used of queue 0 */
    uint64_t buf;               /* data buffers the descriptors point to */
} RDev;

typedef struct RState {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    GRand *rand;
    guint32 seed;
    int step;
    RDev devs[4];
    /* What the run went through, to show it is not trivial */
    unsigned frozen_seen, busy_seen, quiet_checked, s3_done, resets_done;
} RState;

static RState *cur;

static void print_seed(void *data)
{
    if (cur) {
        fprintf(stderr, "freeze-random: failed at step %d of seed %u: "
                "rerun with QTEST_FREEZE_SEED=%u QTEST_FREEZE_STEPS=%d\n",
                cur->step, cur->seed, cur->seed, cur->step + 1);
    }
}

/* ---- register access ------------------------------------------------ */

static uint64_t cfg_read(RDev *d, int off, int size)
{
    uint64_t a = d->dev->common_cfg_offset + off;

    switch (size) {
    case 1:
        return qpci_io_readb(d->dev->pdev, d->dev->bar, a);
    case 2:
        return qpci_io_readw(d->dev->pdev, d->dev->bar, a);
    default:
        return qpci_io_readl(d->dev->pdev, d->dev->bar, a);
    }
}

static void cfg_write(RDev *d, int off, int size, uint32_t val)
{
    uint64_t a = d->dev->common_cfg_offset + off;

    switch (size) {
    case 1:
        qpci_io_writeb(d->dev->pdev, d->dev->bar, a, val);
        break;
    case 2:
        qpci_io_writew(d->dev->pdev, d->dev->bar, a, val);
        break;
    default:
        qpci_io_writel(d->dev->pdev, d->dev->bar, a, val);
        break;
    }
}

static uint8_t isr_read(RDev *d)
{
    return qpci_io_readb(d->dev->pdev, d->dev->bar, d->dev->isr_cfg_offset);
}

static void kick(RDev *d, uint16_t queue)
{
    uint32_t off;

    cfg_write(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, queue);
    off = cfg_read(d, VIRTIO_PCI_COMMON_Q_NOFF, 2);
    qpci_io_writew(d->dev->pdev, d->dev->bar, d->dev->notify_cfg_offset +
                   off * d->dev->notify_off_multiplier, queue);
}

/* The fields of struct virtio_pci_common_cfg, with their sizes */
static const struct {
    int off;
    int size;
} fields[] = {
    { VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_DF, 4 },
    { VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
    { VIRTIO_PCI_COMMON_MSIX, 2 }, { VIRTIO_PCI_COMMON_NUMQ, 2 },
    { VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
    { VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
    { VIRTIO_PCI_COMMON_Q_MSIX, 2 }, { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
    { VIRTIO_PCI_COMMON_Q_NOFF, 2 }, { VIRTIO_PCI_COMMON_Q_DESCLO, 4 },
    { VIRTIO_PCI_COMMON_Q_DESCHI, 4 }, { VIRTIO_PCI_COMMON_Q_AVAILLO, 4 },
    { VIRTIO_PCI_COMMON_Q_AVAILHI, 4 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 4 },
    { VIRTIO_PCI_COMMON_Q_USEDHI, 4 }, { VIRTIO_PCI_COMMON_Q_NDATA, 2 },
    { VIRTIO_PCI_COMMON_Q_RESET, 2 }, { VIRTIO_PCI_COMMON_ADM_Q_IDX, 2 },
    { VIRTIO_PCI_COMMON_ADM_Q_NUM, 2 }, { COMMON_FREEZE_MODE, 2 },
};

/* ---- steps ---------------------------------------------------------- */

/* A well-behaved initialisation, so that the device often runs */
static void step_init(RState *s, RDev *d)
{
    uint64_t desc = d->ring, avail = desc + AVAIL_OFF;
    uint64_t used = desc + USED_OFF;

    cfg_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    cfg_write(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
              VIRTIO_CONFIG_S_DRIVER);
    cfg_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    cfg_write(d, VIRTIO_PCI_COMMON_GF, 4, 0);
    cfg_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    cfg_write(d, VIRTIO_PCI_COMMON_GF, 4,
              (1u << (VIRTIO_F_VERSION_1 - 32)) |
              (1u << (VIRTIO_F_FREEZE_MODE - 32)));
    cfg_write(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
              VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    qtest_memset(s->qts, d->ring, 0, RING_BYTES);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, RING_SIZE);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, desc);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, desc >> 32);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, avail);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, avail >> 32);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, used);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, used >> 32);
    cfg_write(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    cfg_write(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
              VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
              VIRTIO_CONFIG_S_DRIVER_OK);
}

/*
 * Make a chain of descriptors available on queue 0: sane ones pointing
 * into the device's buffer, or garbage (any address, length, flags, next).
 * A sane chain of three is a valid virtio-blk read: a 16-byte header, 512
 * bytes of data, the status byte.  @n descriptors, or 1 to 3 if 0.
 */
static void step_publish(RState *s, RDev *d, bool garbage, int n)
{
    uint64_t desc = d->ring, avail = desc + AVAIL_OFF;
    int i;
    uint16_t head, idx = qtest_readw(s->qts, avail + 2);

    n = n ? n : g_rand_int_range(s->rand, 1, 4);
    head = g_rand_int_range(s->rand, 0, RING_SIZE);

    for (i = 0; i < n; i++) {
        uint16_t this = (head + i) % RING_SIZE;
        uint64_t addr = garbage ? ((uint64_t)g_rand_int(s->rand) << 12) ^
                                  g_rand_int(s->rand) :
                                  d->buf + 512 * i;
        uint32_t len = garbage ? g_rand_int(s->rand) :
                       i == 0 ? 16 : i + 1 < n ? 512 : 1;
        uint16_t flags = garbage ? g_rand_int(s->rand) & 0xffff :
                         (i + 1 < n ? 1 : 0) | (i ? 2 : 0);
        uint16_t next = garbage ? g_rand_int(s->rand) & 0xffff :
                        (this + 1) % RING_SIZE;

        qtest_writeq(s->qts, desc + 16 * this, addr);
        qtest_writel(s->qts, desc + 16 * this + 8, len);
        qtest_writew(s->qts, desc + 16 * this + 12, flags);
        qtest_writew(s->qts, desc + 16 * this + 14, next);
    }
    /* The request header a virtio-blk read would have */
    qtest_writel(s->qts, d->buf, 0);
    qtest_writeq(s->qts, d->buf + 8, g_rand_int_range(s->rand, 0, 64));
    qtest_writew(s->qts, avail + 4 + 2 * (idx % RING_SIZE), head);
    qtest_writew(s->qts, avail + 2, idx + 1);
}

static void step_s3(RState *s, bool full_reset)
{
    int i;

    for (i = 0; i < ARRAY_SIZE(s->devs); i++) {
        qpci_save_header(s->devs[i].dev->pdev, &s->devs[i].pci);
    }
    s->s3_done += !full_reset;
    s->resets_done += full_reset;
    if (full_reset) {
        qtest_qmp_assert_success(s->qts, "{'execute': 'system_reset'}");
        qtest_qmp_eventwait(s->qts, "RESET");
    } else {
        qtest_pc_suspend_s3(s->qts, s->bus, "pc");
        qtest_pc_wakeup(s->qts);
    }
    for (i = 0; i < ARRAY_SIZE(s->devs); i++) {
        qpci_restore_header(s->devs[i].dev->pdev, &s->devs[i].pci);
    }
}

/* ---- invariants ----------------------------------------------------- */

static bool mode_defined(uint16_t v)
{
    return v == FREEZE_UNFREEZE || v == FREEZE_S3 ||
           v == (FREEZE_S3 | FREEZE_BUSY) ||
           v == (FREEZE_UNFREEZE | FREEZE_BUSY);
}

static void check_device(RState *s, RDev *d)
{
    uint16_t v = qvirtio_freeze_read(d->dev);
    int polls = 0;

    g_assert_true(mode_defined(v));
    s->frozen_seen += v == FREEZE_S3;
    s->busy_seen += !!(v & FREEZE_BUSY);
    while (v & FREEZE_BUSY) {
        g_assert_cmpint(++polls, <, BUSY_BOUND);
        qtest_clock_step_next(s->qts);
        v = qvirtio_freeze_read(d->dev);
        g_assert_true(mode_defined(v));
    }
}

/*
 * A frozen device touches no virtqueue memory and raises no interrupt:
 * kick it and look at the whole ring (descriptors, available ring with
 * used_event, used ring with its flags and avail_event) and the buffers,
 * byte for byte.  (Reading the ISR clears it; the device raised nothing
 * while frozen, so there is nothing to lose.)
 */
static void check_frozen_quiet(RState *s, RDev *d)
{
    uint8_t ring[2][RING_BYTES], buf[2][BUF_BYTES];
    int i;

    if (qvirtio_freeze_read(d->dev) != FREEZE_S3) {
        return;
    }
    s->quiet_checked++;
    isr_read(d);
    step_publish(s, d, g_rand_boolean(s->rand), 0);
    for (i = 0; i < 2; i++) {
        qtest_memread(s->qts, d->ring, ring[i], RING_BYTES);
        qtest_memread(s->qts, d->buf, buf[i], BUF_BYTES);
        if (i == 0) {
            kick(d, 0);
            qtest_clock_step(s->qts, 10 * 1000 * 1000);
        }
    }
    g_assert_cmphex(qvirtio_freeze_read(d->dev), ==, FREEZE_S3);
    g_assert_cmpmem(ring[0], RING_BYTES, ring[1], RING_BYTES);
    g_assert_cmpmem(buf[0], BUF_BYTES, buf[1], BUF_BYTES);
    g_assert_cmphex(isr_read(d), ==, 0);
}

static void one_step(RState *s)
{
    RDev *d = &s->devs[g_rand_int_range(s->rand, 0, ARRAY_SIZE(s->devs))];
    int what = g_rand_int_range(s->rand, 0, 100);
    int f;

    if (what < 3) {                     /* freeze with requests in flight */
        step_init(s, d);
        step_publish(s, d, false, 3);
        kick(d, 0);
        step_publish(s, d, false, 3);
        kick(d, 0);
        cfg_write(d, COMMON_FREEZE_MODE, 2, FREEZE_S3);
    } else if (what < 25) {             /* any value to any field */
        f = g_rand_int_range(s->rand, 0, ARRAY_SIZE(fields));
        cfg_write(d, fields[f].off, fields[f].size, g_rand_int(s->rand));
    } else if (what < 40) {             /* freeze_mode, mostly valid */
        static const uint16_t vals[] = {
            FREEZE_S3, FREEZE_UNFREEZE, FREEZE_S3, FREEZE_UNFREEZE,
            0x0001, 0x0002, 0x0004, 0x8000, 0x8003, 0xffff,
        };
        cfg_write(d, COMMON_FREEZE_MODE, 2,
                  vals[g_rand_int_range(s->rand, 0, ARRAY_SIZE(vals))]);
        if (g_rand_boolean(s->rand)) {
            check_device(s, d);
            check_frozen_quiet(s, d);
        }
    } else if (what < 50) {             /* device_status in any order */
        cfg_write(d, VIRTIO_PCI_COMMON_STATUS, 1,
                  g_rand_int_range(s->rand, 0, 256));
    } else if (what < 62) {
        step_init(s, d);
    } else if (what < 82) {             /* requests, valid or garbage */
        step_publish(s, d, g_rand_int_range(s->rand, 0, 3) == 0, 0);
        kick(d, g_rand_int_range(s->rand, 0, 4) ? 0 :
                g_rand_int_range(s->rand, 0, 0x10000));
    } else if (what < 88) {             /* MSI-X vectors */
        cfg_write(d, g_rand_boolean(s->rand) ? VIRTIO_PCI_COMMON_MSIX :
                  VIRTIO_PCI_COMMON_Q_MSIX, 2,
                  g_rand_int_range(s->rand, 0, 8) ?
                  g_rand_int_range(s->rand, 0, 4) : 0xffff);
    } else if (what < 94) {             /* driver reset */
        cfg_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    } else if (what < 96) {
        check_frozen_quiet(s, d);
    } else if (what < 99) {
        step_s3(s, false);
    } else {
        step_s3(s, true);
    }
}

static void test_random(void)
{
    static const struct {
        const char *name;
        const char *args;
    } devices[] = {
        { "virtio-blk-pci", "drive=drv0,id=blk0" },
        { "virtio-net-pci", "netdev=net0" },
        { "virtio-rng-pci", NULL },
        { "virtio-gpu-pci", NULL },
    };
    const char *env_seed = g_getenv("QTEST_FREEZE_SEED");
    const char *env_steps = g_getenv("QTEST_FREEZE_STEPS");
    int steps = env_steps ? g_ascii_strtoll(env_steps, NULL, 10) : 10000;
    g_autoptr(GString) args = g_string_new("-M pc -vga none "
        "-drive if=none,id=drv0,driver=null-co,read-zeroes=on,size=32768 "
        "-netdev hubport,id=net0,hubid=0");
    RState s = { 0 };
    int i;

    s.seed = env_seed ? g_ascii_strtoull(env_seed, NULL, 0) : g_test_rand_int();
    s.rand = g_rand_new_with_seed(s.seed);
    g_test_message("freeze-random: seed %u, %d steps", s.seed, steps);

    for (i = 0; i < ARRAY_SIZE(devices); i++) {
        g_string_append_printf(args, " -device %s,addr=%d.0,freeze_mode=on%s%s",
                               devices[i].name, 4 + i,
                               devices[i].args ? "," : "",
                               devices[i].args ? devices[i].args : "");
    }
    s.qts = qtest_init(args->str);
    /*
     * Throttle the disk.  Set up now rather than on the command line, the
     * throttle group runs on the virtual clock under qtest: requests stay
     * in flight until check_device() steps the clock, so freezes go
     * through BUSY, the same way for the same seed.
     */
    qtest_qmp_assert_success(s.qts, "{'execute': 'block_set_io_throttle',"
        " 'arguments': {'id': '/machine/peripheral/blk0/virtio-backend',"
        " 'bps': 0, 'bps_rd': 0, 'bps_wr': 0,"
        " 'iops': 10, 'iops_rd': 0, 'iops_wr': 0}}");
    cur = &s;
    qtest_add_abrt_handler(print_seed, &s);
    pc_alloc_init(&s.alloc, s.qts, ALLOC_NO_FLAGS);
    s.bus = qpci_new_pc(s.qts, &s.alloc);
    for (i = 0; i < ARRAY_SIZE(devices); i++) {
        QPCIAddress addr = { .devfn = QPCI_DEVFN(4 + i, 0) };
        RDev *d = &s.devs[i];

        d->name = devices[i].name;
        d->slot = 4 + i;
        d->dev = virtio_pci_new(s.bus, &addr);
        g_assert_nonnull(d->dev);
        qvirtio_pci_device_enable(d->dev);
        d->ring = guest_alloc(&s.alloc, RING_BYTES);
        d->buf = guest_alloc(&s.alloc, BUF_BYTES);
        step_init(&s, d);
    }

    for (s.step = 0; s.step < steps; s.step++) {
        one_step(&s);
        for (i = 0; i < ARRAY_SIZE(s.devs); i++) {
            check_device(&s, &s.devs[i]);
        }
    }
    g_test_message("freeze-random: %d steps of seed %u passed: a device read"
                   " frozen %u times, BUSY %u times; %u frozen devices were"
                   " kicked and stayed quiet; %u S3 cycles, %u system"
                   " resets", steps, s.seed, s.frozen_seen, s.busy_seen,
                   s.quiet_checked, s.s3_done, s.resets_done);

    cur = NULL;
    qtest_remove_abrt_handler(&s);
    for (i = 0; i < ARRAY_SIZE(s.devs); i++) {
        g_free(s.devs[i].dev);
    }
    qpci_free_pc(s.bus);
    alloc_destroy(&s.alloc);
    g_rand_free(s.rand);
    qtest_quit(s.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (qtest_has_machine("pc") && qtest_has_device("virtio-gpu-pci")) {
        qtest_add_func("virtio-freeze/random", test_random);
    }
    return g_test_run();
}
