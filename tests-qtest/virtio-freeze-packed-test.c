/*
 * QTest testcases for freeze_mode and virtio 1.4 Device Suspend with
 * packed virtqueues (VIRTIO_F_RING_PACKED)
 *
 * virtio-blk-pci with packed=on, its one queue eight descriptors long
 * and every read a chain of three, so that chains straddle the end of
 * the ring and the wrap counters flip every few requests.  The device is
 * stopped (FREEZE_S3, or SUSPEND) with a read held in flight by the
 * drive's throttle group, which runs on the virtual clock under qtest:
 * the transition stays BUSY until the read completes.  While stopped,
 * reads made available and notified are not served and all of guest RAM
 * stays as it is; the device runs them when it resumes, from where it
 * stopped in the ring, with the wrap counters it had, also across an S3
 * cycle of the machine.
 *
 * The split ring's consistency check (a driver that moved the available
 * index more than a ring ahead while the device was stopped) has no
 * packed equivalent: a packed ring has no index for the driver to move.
 * The device resumes by reading the descriptor at its own position, and
 * whatever the driver left there is either a chain made available in the
 * device's lap, which it serves as it would have while running, or
 * nothing available yet; every other descriptor, the ones behind the
 * device included, may legally hold anything (see
 * hw/virtio/virtio-freeze.c).  The corruption cases check just that:
 * descriptors behind the device rewritten while it is frozen change
 * nothing, the event suppression areas neither, and a malformed chain at
 * its position is refused on resume as it would be while running, with
 * DEVICE_NEEDS_RESET; the device reads and writes nothing while frozen.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/units.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "libqos/virtio-packed.h"
#include "libqos/pc-s3.h"
#include "libqos/virtio-freeze.h"

#define PK_RAM                  (64 * MiB)
#define PK_QUEUE_SIZE           8
#define PK_FEATURES             ((1ull << VIRTIO_F_VERSION_1) | \
                                 (1ull << VIRTIO_F_FREEZE_MODE) | \
                                 (1ull << VIRTIO_F_SUSPEND) | \
                                 (1ull << VIRTIO_F_RING_PACKED))
#define PK_THROTTLE(iops)       "{'execute': 'block_set_io_throttle', " \
    "'arguments': {'id': '/machine/peripheral/blk0/virtio-backend', " \
    "'bps': 0, 'bps_rd': 0, 'bps_wr': 0, 'iops': " #iops ", " \
    "'iops_rd': 0, 'iops_wr': 0}}"
#define PK_DRIVER_OK            (VIRTIO_CONFIG_S_ACKNOWLEDGE | \
                                 VIRTIO_CONFIG_S_DRIVER | \
                                 VIRTIO_CONFIG_S_FEATURES_OK | \
                                 VIRTIO_CONFIG_S_DRIVER_OK)
#define PK_DEVICE               "virtio-blk-pci,id=blk0,drive=drv0," \
                                "packed=on,freeze_mode=on,suspend=on"
#define PK_NULL_DRIVE           "-blockdev driver=null-co,node-name=drv0," \
                                "read-zeroes=on,size=1048576"

typedef struct Pk {
    QVirtioMachine m;
    QTestState *qts;
    QVirtioPCIDevice *dev;
    QVirtQueuePacked *vq;
} Pk;

/* A one-sector read on the packed ring */
typedef struct PkReq {
    uint64_t addr;              /* header, 512 bytes of data, status */
    uint16_t id;
} PkReq;

/* The machine, with @drive ("drv0") under the device */
static void pk_start(Pk *p, const char *drive)
{
    qvirtio_machine_start(&p->m, "pc", PK_DEVICE, "%s", drive);
    p->qts = p->m.qts;
    p->dev = p->m.pci;

    g_assert_cmphex(qvirtio_freeze_negotiate(p->dev, PK_FEATURES), ==,
                    PK_FEATURES);
    p->vq = qvirtqueue_packed_setup(p->dev, &p->m.alloc, 0, PK_QUEUE_SIZE);
    qvirtio_set_driver_ok(&p->dev->vdev);
    g_assert_cmphex(qvirtio_pci_common_status(p->dev), ==, PK_DRIVER_OK);
}

static void pk_stop(Pk *p)
{
    qvirtqueue_packed_cleanup(p->vq, &p->m.alloc);
    qvirtio_machine_stop(&p->m);
}

/* Make a read of @sector available and notify the device */
static PkReq pk_read(Pk *p, uint64_t sector)
{
    struct virtio_blk_outhdr hdr = {
        .type = cpu_to_le32(VIRTIO_BLK_T_IN),
        .sector = cpu_to_le64(sector),
    };
    PkReq r = {
        .addr = guest_alloc(&p->m.alloc, sizeof(hdr) + 512 + 1),
    };
    QVirtQueuePackedBuf bufs[] = {
        { r.addr, sizeof(hdr), false },
        { r.addr + sizeof(hdr), 512, true },
        { r.addr + sizeof(hdr) + 512, 1, true },
    };

    qtest_memwrite(p->qts, r.addr, &hdr, sizeof(hdr));
    qtest_memset(p->qts, r.addr + sizeof(hdr), 0x5a, 512);
    qtest_writeb(p->qts, r.addr + sizeof(hdr) + 512, 0xff);
    r.id = qvirtqueue_packed_add(p->qts, p->vq, bufs, ARRAY_SIZE(bufs));
    qvirtqueue_packed_kick(p->dev, p->vq);
    return r;
}

/* The next used chain is @r, a read of zeroes that succeeded */
static void pk_check_done(Pk *p, PkReq *r)
{
    uint16_t pos = p->vq->next_used;
    bool wrap = p->vq->used_wrap;
    uint16_t id;
    uint32_t len;
    uint8_t data[512];

    g_assert(qvirtqueue_packed_get_used(p->qts, p->vq, &id, &len));
    g_assert_cmpint(id, ==, r->id);
    g_assert_cmphex(qvirtqueue_packed_desc_flags(p->qts, p->vq, pos), ==,
                    qvirtqueue_packed_used_flags(wrap));
    g_assert_cmpint(len, ==, 512 + 1);
    qtest_memread(p->qts, r->addr + sizeof(struct virtio_blk_outhdr), data,
                  sizeof(data));
    g_assert(buffer_is_zero(data, sizeof(data)));
    g_assert_cmpint(qtest_readb(p->qts, r->addr +
                                sizeof(struct virtio_blk_outhdr) + 512),
                    ==, VIRTIO_BLK_S_OK);
    guest_free(&p->m.alloc, r->addr);
}

/* Wait for the next used chain, stepping the virtual clock; it is @r */
static void pk_wait_done(Pk *p, PkReq *r)
{
    gint64 start = g_get_monotonic_time();
    uint16_t flags;

    for (;;) {
        flags = qvirtqueue_packed_desc_flags(p->qts, p->vq, p->vq->next_used);
        if (flags == qvirtqueue_packed_used_flags(p->vq->used_wrap)) {
            break;
        }
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        qtest_clock_step(p->qts, 100 * 1000);
        g_usleep(100);
    }
    pk_check_done(p, r);
}

static void pk_request(Pk *p, uint64_t sector)
{
    PkReq r = pk_read(p, sector);

    pk_wait_done(p, &r);
}

/* Nothing used: the device has not written the next used descriptor */
static void pk_assert_nothing_used(Pk *p)
{
    g_assert_false(qvirtqueue_packed_get_used(p->qts, p->vq, NULL, NULL));
}

/* Requests complete, chains wrapping around the ring again and again */
static void test_requests(void)
{
    Pk p;
    int i;

    pk_start(&p, PK_NULL_DRIVE);
    for (i = 0; i < 4 * PK_QUEUE_SIZE; i++) {
        pk_request(&p, i);
    }
    /* 96 descriptors: twelve laps, and back at position 0 */
    g_assert_cmpint(p.vq->next_avail, ==, 0);
    g_assert_true(p.vq->avail_wrap);
    pk_stop(&p);
}

typedef enum PkStop {
    PK_RUNNING,                 /* not stopped at all */
    PK_FREEZE,
    PK_SUSPEND,
    PK_FREEZE_S3_CYCLE,
} PkStop;

/*
 * Begin stopping the device, which has a request in flight: it must stay
 * BUSY (SUSPEND presented with DRIVER_OK still set)
 */
static void pk_stop_begin(Pk *p, PkStop how)
{
    QVirtioPCIDevice *d = p->dev;

    if (how == PK_SUSPEND) {
        qpci_io_writeb(d->pdev, d->bar,
                       d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS,
                       PK_DRIVER_OK | VIRTIO_CONFIG_S_SUSPEND);
        g_assert_cmphex(qvirtio_pci_common_status(d), ==,
                        PK_DRIVER_OK | VIRTIO_CONFIG_S_SUSPEND);
    } else {
        qvirtio_freeze_write(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
        g_assert_cmphex(qvirtio_freeze_read(d), ==,
                        VIRTIO_PCI_FREEZE_MODE_FREEZE_S3 |
                        VIRTIO_PCI_FREEZE_MODE_BUSY);
    }
}

/* Wait until the device is stopped */
static void pk_stop_wait(Pk *p, PkStop how)
{
    if (how == PK_SUSPEND) {
        g_assert_cmphex(qvirtio_pci_suspend(p->dev, true), ==,
                        (PK_DRIVER_OK & ~VIRTIO_CONFIG_S_DRIVER_OK) |
                        VIRTIO_CONFIG_S_SUSPEND);
    } else {
        g_assert_cmphex(qvirtio_freeze_wait(p->dev), ==,
                        VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    }
}

static void pk_resume(Pk *p, PkStop how)
{
    if (how == PK_SUSPEND) {
        g_assert_cmphex(qvirtio_pci_suspend(p->dev, false), ==,
                        PK_DRIVER_OK);
    } else {
        g_assert_cmphex(qvirtio_freeze_set(p->dev,
                                           VIRTIO_PCI_FREEZE_MODE_UNFREEZE),
                        ==, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
        g_assert_cmphex(qvirtio_pci_common_status(p->dev), ==, PK_DRIVER_OK);
    }
}

/*
 * Let the device run for a while, virtual clock and main loop, and check
 * that it did not touch guest RAM nor use a buffer
 */
static void pk_assert_untouched(Pk *p)
{
    g_autoptr(GByteArray) before = qvirtio_mem_snapshot(p->qts, PK_RAM);
    g_autoptr(GByteArray) after = NULL;
    int i;

    for (i = 0; i < 20; i++) {
        qtest_clock_step(p->qts, 100 * 1000 * 1000);
        g_usleep(1000);
    }
    after = qvirtio_mem_snapshot(p->qts, PK_RAM);
    qvirtio_mem_assert_same(before, after);
    pk_assert_nothing_used(p);
}

/*
 * Wrap the ring, stop the device with a read in flight, make two reads
 * available while it is stopped, resume it and go on around the ring
 */
static void test_stop(const void *data)
{
    PkStop how = GPOINTER_TO_INT(data);
    PkReq held, waiting[2];
    bool wrap;
    Pk p;
    int i;

    pk_start(&p, PK_NULL_DRIVE);
    for (i = 0; i < 3; i++) {
        pk_request(&p, i);
    }
    /* Nine descriptors: the ring wrapped, the wrap counters are 0 */
    g_assert_cmpint(p.vq->next_avail, ==, 1);
    g_assert_false(p.vq->avail_wrap);
    g_assert_false(p.vq->used_wrap);

    /*
     * One read per second: the first goes through, the second waits for
     * the virtual clock, which only the test moves
     */
    qtest_qmp_assert_success(p.qts, PK_THROTTLE(1));
    pk_request(&p, 3);
    held = pk_read(&p, 4);
    pk_stop_begin(&p, how);
    pk_assert_nothing_used(&p);
    pk_stop_wait(&p, how);
    /* The held read completed before the device said it is stopped */
    pk_check_done(&p, &held);
    qtest_qmp_assert_success(p.qts, PK_THROTTLE(0));

    /* Two reads while stopped, the second across the end of the ring */
    wrap = p.vq->avail_wrap;
    waiting[0] = pk_read(&p, 5);
    waiting[1] = pk_read(&p, 6);
    g_assert_cmpint(p.vq->avail_wrap, !=, wrap);
    pk_assert_untouched(&p);

    if (how == PK_FREEZE_S3_CYCLE) {
        qtest_pc_s3_cycle(p.qts, p.m.bus, "pc", p.dev->pdev);
        g_assert_cmphex(qvirtio_pci_common_status(p.dev), ==, PK_DRIVER_OK);
        g_assert_cmphex(qvirtio_freeze_read(p.dev), ==,
                        VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
        pk_assert_untouched(&p);
    }

    pk_resume(&p, how);
    pk_wait_done(&p, &waiting[0]);
    pk_wait_done(&p, &waiting[1]);

    /* And on around the ring, through both wrap counter values again */
    for (i = 0; i < 2 * PK_QUEUE_SIZE; i++) {
        pk_request(&p, i);
    }
    g_assert_cmphex(qvirtio_pci_common_status(p.dev), ==, PK_DRIVER_OK);
    pk_stop(&p);
}

/*
 * A read that failed with rerror=stop stays in flight, held by the
 * device, across a migration, and the destination retries it when it
 * runs: running, or while the device stops, BUSY until the read is done,
 * with a read made available meanwhile that it serves once resumed.
 * (Before "virtio: load a migrated element's descriptor count where it
 * was saved", the destination could not load the held read.)
 */
static void test_migrate_held(const void *data)
{
    PkStop how = GPOINTER_TO_INT(data);
    const char *file = qvirtio_drive_file();
    /* the first read of sector 4 fails: rerror=stop holds it */
    g_autofree char *held_drive = qvirtio_held_drive(file, 4);
    g_autofree char *drive = g_strdup_printf(
        "-drive if=none,id=drv0,format=raw,file=%s", file);
    g_autoptr(GByteArray) stream = NULL;
    PkReq held, later;
    Pk src, dst;
    int i;

    pk_start(&src, held_drive);
    for (i = 0; i < 3; i++) {
        pk_request(&src, i);
    }
    held = pk_read(&src, 4);
    qtest_qmp_eventwait(src.qts, "STOP");
    if (how != PK_RUNNING) {
        pk_stop_begin(&src, how);
        later = pk_read(&src, 5);
    }
    stream = qvirtio_machine_save(&src.m);
    g_assert_true(qvirtio_machine_load(&src.m, &dst.m, PK_DEVICE, drive,
                                       stream));
    dst.qts = dst.m.qts;
    dst.dev = dst.m.pci;
    dst.vq = g_steal_pointer(&src.vq);
    pk_assert_nothing_used(&dst);

    qtest_qmp_assert_success(dst.qts, "{'execute': 'cont'}");
    if (how == PK_RUNNING) {
        pk_wait_done(&dst, &held);
    } else {
        pk_stop_wait(&dst, how);
        pk_check_done(&dst, &held);
        pk_assert_untouched(&dst);
        pk_resume(&dst, how);
        pk_wait_done(&dst, &later);
    }
    for (i = 0; i < 2 * PK_QUEUE_SIZE; i++) {
        pk_request(&dst, i);
    }
    pk_stop(&dst);
    qvirtio_machine_stop(&src.m);
}

/* Write @flags into descriptor @i */
static void pk_set_flags(Pk *p, uint16_t i, uint16_t flags)
{
    qtest_writew(p->qts, p->vq->pci.vq.desc +
                 i * sizeof(struct vring_packed_desc) +
                 offsetof(struct vring_packed_desc, flags), flags);
}

/*
 * Frozen, the driver rewrites every descriptor behind the device's
 * position as a chain available in the device's lap, and the event
 * suppression areas with reserved values, and makes a malformed chain
 * (one that never ends) available at its position.  The device reads
 * and writes none of it while frozen.  The driver puts back the
 * descriptor at its position; the device resumes as if nothing had
 * happened: what is behind it it never reads again in this lap.
 */
static void test_corrupt_behind(void)
{
    uint16_t avail = qvirtqueue_packed_avail_flags(false);
    g_autofree uint16_t *saved = NULL;
    PkReq waiting;
    uint16_t pos;
    Pk p;
    int i;

    pk_start(&p, PK_NULL_DRIVE);
    for (i = 0; i < 4; i++) {
        pk_request(&p, i);
    }
    /* Twelve descriptors: the device is at 4, in the lap of wrap 0 */
    pos = p.vq->next_used;
    g_assert_cmpint(pos, ==, 4);
    g_assert_false(p.vq->used_wrap);
    g_assert_cmphex(qvirtio_freeze_set(p.dev, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3),
                    ==, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);

    saved = g_new(uint16_t, PK_QUEUE_SIZE);
    for (i = 0; i < PK_QUEUE_SIZE; i++) {
        saved[i] = qvirtqueue_packed_desc_flags(p.qts, p.vq, i);
    }
    /* Behind the device and at its position: a chain that never ends */
    for (i = 0; i < PK_QUEUE_SIZE; i++) {
        pk_set_flags(&p, i, avail | VRING_DESC_F_NEXT);
    }
    qtest_memset(p.qts, p.vq->pci.vq.avail, 0xff,
                 2 * sizeof(struct vring_packed_desc_event));
    qvirtqueue_packed_kick(p.dev, p.vq);
    pk_assert_untouched(&p);

    /* The driver puts back what is at and after the device's position */
    for (i = pos; i < PK_QUEUE_SIZE; i++) {
        pk_set_flags(&p, i, saved[i]);
    }
    qtest_memset(p.qts, p.vq->pci.vq.avail, 0,
                 2 * sizeof(struct vring_packed_desc_event));
    waiting = pk_read(&p, 7);
    pk_assert_untouched(&p);

    pk_resume(&p, PK_FREEZE);
    pk_wait_done(&p, &waiting);
    for (i = 0; i < PK_QUEUE_SIZE; i++) {
        pk_request(&p, i);
    }
    g_assert_cmphex(qvirtio_pci_common_status(p.dev), ==, PK_DRIVER_OK);
    pk_stop(&p);
}

/*
 * Frozen, the driver makes a malformed chain available at the device's
 * position, one whose descriptors all say NEXT.  The device reads none
 * of it while frozen; on resume it refuses it as it does while running
 * (PK_RUNNING), and sets DEVICE_NEEDS_RESET.  A reset makes it work
 * again.  (Before "virtio: a broken device's packed virtqueues are
 * empty", virtio-blk spun for good on such a chain, running or resumed.)
 */
static void test_corrupt_next(const void *data)
{
    PkStop how = GPOINTER_TO_INT(data);
    uint16_t avail;
    uint8_t status;
    PkReq waiting;
    Pk p;
    int i;

    pk_start(&p, PK_NULL_DRIVE);
    for (i = 0; i < 3; i++) {
        pk_request(&p, i);
    }
    if (how == PK_SUSPEND) {
        pk_stop_wait(&p, how);
    } else if (how == PK_FREEZE) {
        g_assert_cmphex(qvirtio_freeze_set(p.dev,
                                           VIRTIO_PCI_FREEZE_MODE_FREEZE_S3),
                        ==, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    }

    avail = qvirtqueue_packed_avail_flags(p.vq->avail_wrap);
    for (i = 0; i < PK_QUEUE_SIZE; i++) {
        pk_set_flags(&p, i, avail | VRING_DESC_F_NEXT);
    }
    qvirtqueue_packed_kick(p.dev, p.vq);

    if (how == PK_SUSPEND) {
        pk_assert_untouched(&p);
        qpci_io_writeb(p.dev->pdev, p.dev->bar, p.dev->common_cfg_offset +
                       VIRTIO_PCI_COMMON_STATUS, PK_DRIVER_OK);
    } else if (how == PK_FREEZE) {
        pk_assert_untouched(&p);
        qvirtio_freeze_write(p.dev, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    }
    for (i = 0; i < 20; i++) {
        qtest_clock_step(p.qts, 100 * 1000 * 1000);
        g_usleep(1000);
    }
    status = qvirtio_pci_common_status(p.dev);
    g_assert_cmphex(status, ==, PK_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(qvirtio_freeze_read(p.dev), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    pk_assert_nothing_used(&p);

    /* The driver resets the device and starts again */
    qvirtqueue_packed_cleanup(p.vq, &p.m.alloc);
    g_assert_cmphex(qvirtio_freeze_negotiate(p.dev, PK_FEATURES), ==,
                    PK_FEATURES);
    p.vq = qvirtqueue_packed_setup(p.dev, &p.m.alloc, 0, PK_QUEUE_SIZE);
    qvirtio_set_driver_ok(&p.dev->vdev);
    waiting = pk_read(&p, 1);
    pk_wait_done(&p, &waiting);
    pk_stop(&p);
}

int main(int argc, char **argv)
{
    static const char *names[] = {
        [PK_RUNNING] = "running",
        [PK_FREEZE] = "freeze",
        [PK_SUSPEND] = "suspend",
    };
    PkStop how;

    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/virtio-freeze-packed/blk/requests", test_requests);
    qtest_add_data_func("/virtio-freeze-packed/blk/freeze",
                        GINT_TO_POINTER(PK_FREEZE), test_stop);
    qtest_add_data_func("/virtio-freeze-packed/blk/suspend",
                        GINT_TO_POINTER(PK_SUSPEND), test_stop);
    qtest_add_data_func("/virtio-freeze-packed/blk/freeze-s3",
                        GINT_TO_POINTER(PK_FREEZE_S3_CYCLE), test_stop);
    qtest_add_func("/virtio-freeze-packed/blk/corrupt-behind",
                   test_corrupt_behind);
    for (how = PK_RUNNING; how <= PK_SUSPEND; how++) {
        g_autofree char *held = g_strdup_printf(
            "/virtio-freeze-packed/blk/migrate-held/%s", names[how]);
        g_autofree char *next = g_strdup_printf(
            "/virtio-freeze-packed/blk/corrupt-next/%s", names[how]);

        qtest_add_data_func(held, GINT_TO_POINTER(how), test_migrate_held);
        qtest_add_data_func(next, GINT_TO_POINTER(how), test_corrupt_next);
    }

    return g_test_run();
}
