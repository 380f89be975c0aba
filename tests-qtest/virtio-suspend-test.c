/*
 * QTest cases for virtio Device Suspend (VIRTIO_F_SUSPEND)
 *
 * One case per normative statement of the virtio 1.4 "Device Suspend"
 * section, on virtio-blk behind virtio-pci (pc, q35) and virtio-mmio
 * (microvm): the SUSPEND bit of device status is transport independent,
 * and so are these cases, which drive the device through libqos's
 * QVirtioBus only, except for reading the interrupt status.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/virtio_ring.h"
#include "libqos/virtio.h"
#include "libqos/virtio-mmio.h"
#include "libqos/virtio-pci.h"
#include "libqos/virtio-machine.h"
#include "migration/migration-qmp.h"

#define SP_TIMEOUT_US           QVIRTIO_MACHINE_TIMEOUT_US
#define SP_RAM                  QVIRTIO_MACHINE_RAM
#define SP_MMIO_BASE            QVIRTIO_MACHINE_MMIO_BASE
#define SP_ISR_QUEUE            1
#define SP_ISR_CONFIG           2
/* What QEMU sets for a configuration change (virtio_notify_config()) */
#define SP_ISR_CONFIG_CHANGE    (SP_ISR_QUEUE | SP_ISR_CONFIG)

#define SP_SUSPEND              VIRTIO_CONFIG_S_SUSPEND
#define SP_DRIVER_OK            VIRTIO_CONFIG_S_DRIVER_OK
#define SP_F_SUSPEND            (1ull << VIRTIO_F_SUSPEND)

/* A machine with a virtio-blk, and the driver's request queue */
typedef struct SpDev {
    QVirtioMachine m;
    QVirtQueue *vq;
} SpDev;

/*
 * Start @machine with "-drive ...,id=drv0" from @drive and a virtio-blk
 * on it with the options @opts (",suspend=on" ...), as a driver finds it.
 */
static void sp_start(SpDev *d, const char *machine, const char *drive,
                     const char *opts, const char *extra)
{
    g_autofree char *dev = g_strdup_printf("virtio-blk-pci,id=blk0,"
                                           "drive=drv0%s", opts);

    d->vq = NULL;
    qvirtio_machine_start(&d->m, machine, dev, "%s %s", drive,
                          extra ? extra : "");
}

static void sp_stop(SpDev *d)
{
    qvirtio_machine_stop(&d->m);
}

/*
 * Migrate the guest of @src to @dst, a QEMU started with "-incoming
 * @uri", and move the driver over with the guest's memory
 */
static void sp_migrate(SpDev *src, SpDev *dst, const char *uri)
{
    migrate_qmp(src->m.qts, dst->m.qts, uri, NULL, "{}");
    wait_for_migration_complete(src->m.qts);
    qvirtio_machine_wait_incoming(dst->m.qts);
    qvirtio_machine_migrated(&src->m, &dst->m);
    dst->vq = src->vq;
    src->vq = NULL;
}

static uint8_t sp_status(SpDev *d)
{
    return d->m.vdev->bus->get_status(d->m.vdev);
}

static void sp_set_status(SpDev *d, uint8_t status)
{
    d->m.vdev->bus->set_status(d->m.vdev, status);
}

/* The interrupt status, read and acknowledged as a driver does */
static uint8_t sp_isr(SpDev *d)
{
    uint32_t isr;

    if (d->m.pci) {
        return qpci_io_readb(d->m.pci->pdev, d->m.pci->bar,
                             d->m.pci->isr_cfg_offset);
    }
    isr = qtest_readl(d->m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_INTERRUPT_STATUS);
    qtest_writel(d->m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_INTERRUPT_ACK, isr);
    return isr;
}

/* config_generation, as the driver reads it */
static uint8_t sp_generation(SpDev *d)
{
    if (d->m.pci) {
        return qpci_io_readb(d->m.pci->pdev, d->m.pci->bar,
                             d->m.pci->common_cfg_offset +
                             VIRTIO_PCI_COMMON_CFGGENERATION);
    }
    return qtest_readl(d->m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_CONFIG_GENERATION);
}

/* Resize the disk to @mib MiB, and let virtio-blk's resize callback run */
static void sp_resize(SpDev *d, int mib)
{
    int i;

    qtest_qmp_assert_success(d->m.qts, "{'execute': 'block_resize', "
                             "'arguments': {'device': 'drv0', 'size': %d}}",
                             mib << 20);
    for (i = 0; i < 10; i++) {
        qtest_clock_step(d->m.qts, 1000);
    }
}

/*
 * Driver initialisation up to FEATURES_OK with VERSION_1 and those of
 * @want the device offers; returns the features negotiated.
 */
static uint64_t sp_negotiate(SpDev *d, uint64_t want)
{
    uint64_t f;

    qvirtio_start_device(d->m.vdev);
    f = qvirtio_get_features(d->m.vdev) &
        ((1ull << VIRTIO_F_VERSION_1) | want);
    qvirtio_set_features(d->m.vdev, f);
    return f;
}

/* ... and on to DRIVER_OK with the request queue */
static void sp_init(SpDev *d, uint64_t want)
{
    g_assert_cmphex(sp_negotiate(d, want) & want, ==, want);
    d->vq = qvirtqueue_setup(d->m.vdev, &d->m.alloc, 0);
    qvirtio_set_driver_ok(d->m.vdev);
}

static void sp_reset(SpDev *d)
{
    if (d->vq) {
        qvirtqueue_cleanup(d->m.vdev->bus, d->vq, &d->m.alloc);
        d->vq = NULL;
    }
    qvirtio_reset(d->m.vdev);
}

static uint16_t sp_used_idx(SpDev *d)
{
    return qtest_readw(d->m.qts,
                       d->vq->used + offsetof(struct vring_used, idx));
}

/* Queue a one-sector read and kick; returns the head descriptor. */
static uint32_t sp_read(SpDev *d, uint64_t sector, uint64_t *req)
{
    return qvirtio_blk_req_read(d->m.qts, &d->m.alloc, d->m.vdev, d->vq, sector,
                                   req);
}

/* The next used buffer is @head, completed with VIRTIO_BLK_S_OK */
static void sp_check_done(SpDev *d, uint32_t head, uint64_t req)
{
    qvirtio_blk_req_check_done(d->m.qts, &d->m.alloc, d->vq, head, req);
}

static void sp_wait_done(SpDev *d, uint32_t head, uint64_t req)
{
    gint64 start = g_get_monotonic_time();

    while (sp_used_idx(d) == d->vq->last_used_idx) {
        g_assert(g_get_monotonic_time() - start <= SP_TIMEOUT_US);
        qtest_clock_step(d->m.qts, 100);
        g_usleep(100);
    }
    sp_check_done(d, head, req);
}

/* A read of @sector that the device completes: it is running */
static void sp_request(SpDev *d, uint64_t sector)
{
    uint64_t req;
    uint32_t head = sp_read(d, sector, &req);

    sp_wait_done(d, head, req);
}

/* Poll device status until (status & @mask) == @want; returns it. */
static uint8_t sp_wait_status(SpDev *d, uint8_t mask, uint8_t want)
{
    gint64 start = g_get_monotonic_time();
    uint8_t st;

    while (((st = sp_status(d)) & mask) != want) {
        g_assert(g_get_monotonic_time() - start <= SP_TIMEOUT_US);
        qtest_clock_step(d->m.qts, 100);
        g_usleep(100);
    }
    return st;
}

/* The driver's side of suspend: set SUSPEND, wait for DRIVER_OK = 0 */
static uint8_t sp_suspend(SpDev *d)
{
    sp_set_status(d, sp_status(d) | SP_SUSPEND);
    return sp_wait_status(d, SP_SUSPEND | SP_DRIVER_OK, SP_SUSPEND);
}

/* ... and of resume: set DRIVER_OK, wait for SUSPEND = 0 */
static uint8_t sp_resume(SpDev *d)
{
    sp_set_status(d, sp_status(d) | SP_DRIVER_OK);
    return sp_wait_status(d, SP_SUSPEND | SP_DRIVER_OK, SP_DRIVER_OK);
}

#define SP_NULL_DRIVE "-drive if=none,id=drv0,driver=null-co,read-zeroes=on," \
                      "size=1M"

/*
 * "The device MUST ignore any operations on the SUSPEND bit from the
 * driver if the device has not been completely initialized", and with
 * VIRTIO_F_SUSPEND not negotiated; the feature is offered only with
 * suspend=on.  The legacy interface of a transitional virtio-pci device
 * has no SUSPEND bit: a driver suspends through the modern one.
 */
static void test_not_initialised(const void *data)
{
    const char *machine = data;
    const uint8_t init = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    SpDev d;
    uint8_t st;

    sp_start(&d, machine, SP_NULL_DRIVE, ",suspend=on", NULL);
    g_assert(qvirtio_get_features(d.m.vdev) & SP_F_SUSPEND);

    /* Before FEATURES_OK */
    qvirtio_start_device(d.m.vdev);
    sp_set_status(&d, init | SP_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, init);

    /* Before DRIVER_OK */
    g_assert(sp_negotiate(&d, SP_F_SUSPEND) & SP_F_SUSPEND);
    st = sp_status(&d);
    sp_set_status(&d, st | SP_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, st);
    d.vq = qvirtqueue_setup(d.m.vdev, &d.m.alloc, 0);
    qvirtio_set_driver_ok(d.m.vdev);
    sp_request(&d, 0);
    sp_reset(&d);

    /* Not negotiated */
    sp_init(&d, 0);
    st = sp_status(&d);
    sp_set_status(&d, st | SP_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, st);
    sp_request(&d, 0);
    sp_reset(&d);

    /* Negotiated, but written to the legacy device status */
    if (d.m.pci) {
        QPCIBar legacy = qpci_iomap(d.m.pci->pdev, 0, NULL);

        sp_init(&d, SP_F_SUSPEND);
        st = sp_status(&d);
        qpci_io_writeb(d.m.pci->pdev, legacy, VIRTIO_PCI_STATUS,
                       st | SP_SUSPEND);
        g_assert_cmphex(sp_status(&d), ==, st);
        sp_request(&d, 0);
        sp_reset(&d);
    }
    sp_stop(&d);

    /*
     * suspend=off (the default): not offered, and the bit means nothing
     * (the device keeps it as it always did, and goes on running)
     */
    sp_start(&d, machine, SP_NULL_DRIVE, "", NULL);
    g_assert_cmphex(qvirtio_get_features(d.m.vdev) & SP_F_SUSPEND, ==, 0);
    sp_init(&d, 0);
    st = sp_status(&d);
    sp_set_status(&d, st | SP_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, st | SP_SUSPEND);
    sp_request(&d, 0);
    sp_reset(&d);
    sp_stop(&d);
}

/*
 * "When the driver sets the SUSPEND bit to 1, the device SHOULD [stop
 * consuming buffers, wait until all buffers that are being processed
 * have been used, send used buffer notifications] before presenting the
 * SUSPEND bit as 1 and DRIVER_OK bit as 0"; suspended, it "MUST NOT send
 * any notifications for any virtqueues, access any virtqueues"; resumed
 * by DRIVER_OK, it "MUST ... resume normal operation".
 *
 * blkdebug holds a read at the backend, so the suspend has a request to
 * wait for.  Suspended, the device gets a new request and kicks (which
 * a driver must not do) and must leave all guest memory alone: a QMP
 * pmemsave before and after is compared byte for byte.
 */
static void test_held_request(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    g_autofree char *drive = g_strdup_printf(
        "-drive if=none,id=drv0,format=raw,file.driver=blkdebug,"
        "file.image.filename=%s", file);
    g_autoptr(GByteArray) before = NULL;
    g_autoptr(GByteArray) after = NULL;
    SpDev d;
    uint64_t req, req2;
    uint32_t head, head2;
    uint8_t st;
    int i;

    sp_start(&d, machine, drive, ",suspend=on", NULL);
    sp_init(&d, SP_F_SUSPEND);
    st = sp_status(&d);
    sp_isr(&d);

    qvirtio_qemu_io(d.m.qts, "break read_aio held");
    head = sp_read(&d, 0, &req);
    sp_set_status(&d, st | SP_SUSPEND);

    /* Suspending: SUSPEND with DRIVER_OK still set, nothing used yet */
    for (i = 0; i < 20; i++) {
        g_assert_cmphex(sp_status(&d), ==, st | SP_SUSPEND);
        qtest_clock_step(d.m.qts, 1000);
    }
    g_assert_cmpint(sp_used_idx(&d), ==, d.vq->last_used_idx);
    g_assert_cmphex(sp_isr(&d), ==, 0);
    /* A status write other than a reset changes nothing meanwhile */
    sp_set_status(&d, st | SP_SUSPEND);
    sp_set_status(&d, st);
    g_assert_cmphex(sp_status(&d), ==, st | SP_SUSPEND);

    /* A buffer made available now is not consumed */
    head2 = sp_read(&d, 1, &req2);

    qvirtio_qemu_io(d.m.qts, "resume held");
    g_assert_cmphex(sp_wait_status(&d, SP_SUSPEND | SP_DRIVER_OK, SP_SUSPEND),
                    ==, (st & ~SP_DRIVER_OK) | SP_SUSPEND);
    /* The held request was used, and notified, before */
    g_assert_cmphex(sp_isr(&d), ==, SP_ISR_QUEUE);
    sp_check_done(&d, head, req);
    g_assert_cmpint(sp_used_idx(&d), ==, d.vq->last_used_idx);

    /*
     * Suspended: the device touches no guest memory and notifies nothing,
     * however often the driver notifies it
     */
    before = qvirtio_mem_snapshot(d.m.qts, SP_RAM);
    for (i = 0; i < 10; i++) {
        d.m.vdev->bus->virtqueue_kick(d.m.vdev, d.vq);
        qtest_clock_step(d.m.qts, 1000);
    }
    after = qvirtio_mem_snapshot(d.m.qts, SP_RAM);
    qvirtio_mem_assert_same(before, after);
    g_assert_cmphex(sp_isr(&d), ==, 0);
    g_assert_cmphex(sp_status(&d), ==, (st & ~SP_DRIVER_OK) | SP_SUSPEND);

    /*
     * Transport registers that would change the queue are ignored too:
     * processed, either write would break the queue (virtio-pci takes
     * queue_enable 0 for an error, virtio-mmio QueueReady 0 unsets it)
     */
    if (d.m.pci) {
        qpci_io_writew(d.m.pci->pdev, d.m.pci->bar, d.m.pci->common_cfg_offset +
                       VIRTIO_PCI_COMMON_Q_SELECT, 0);
        qpci_io_writew(d.m.pci->pdev, d.m.pci->bar, d.m.pci->common_cfg_offset +
                       VIRTIO_PCI_COMMON_Q_ENABLE, 0);
    } else {
        qtest_writel(d.m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_QUEUE_SEL, 0);
        qtest_writel(d.m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_QUEUE_READY, 0);
    }
    g_assert_cmphex(sp_status(&d), ==, (st & ~SP_DRIVER_OK) | SP_SUSPEND);

    /* Resumed, the device serves what was made available meanwhile */
    g_assert_cmphex(sp_resume(&d), ==, st);
    sp_wait_done(&d, head2, req2);
    sp_request(&d, 2);

    /* And suspends again, at once when idle */
    sp_suspend(&d);
    sp_resume(&d);

    sp_reset(&d);
    sp_stop(&d);
}

/*
 * "The device SHOULD ignore any write access to its Configuration Space
 * while suspended"; it MUST NOT "modify any fields in its Configuration
 * Space while suspended"; "If changes occur in the Configuration Space
 * during suspended period, the device MUST NOT send any configuration
 * change notifications. Instead, the device MUST send the notification
 * when it resumes running."
 */
static void test_config(const void *data)
{
    const char *machine = data;
    const uint64_t wce_off = offsetof(struct virtio_blk_config, wce);
    const uint64_t f = SP_F_SUSPEND | (1ull << VIRTIO_BLK_F_CONFIG_WCE);
    const char *file = qvirtio_drive_file();
    g_autofree char *drive = g_strdup_printf(
        "-drive if=none,id=drv0,format=raw,file=%s", file);
    SpDev d;
    uint64_t capacity;
    uint8_t wce, gen;

    sp_start(&d, machine, drive, ",suspend=on", NULL);
    sp_init(&d, f);
    capacity = qvirtio_config_readq(d.m.vdev, 0);
    g_assert_cmpuint(capacity, ==, 1024 * 1024 / 512);
    wce = qvirtio_config_readb(d.m.vdev, wce_off);
    sp_isr(&d);

    /*
     * config_generation changes whenever what a configuration read
     * returns may have changed: not for a suspend and resume that
     * changed nothing
     */
    gen = sp_generation(&d);
    sp_suspend(&d);
    g_assert_cmpuint(sp_generation(&d), ==, gen);
    sp_resume(&d);
    g_assert_cmpuint(sp_generation(&d), ==, gen);
    g_assert_cmphex(sp_isr(&d), ==, 0);

    sp_suspend(&d);

    sp_resize(&d, 2);
    g_assert_cmphex(sp_isr(&d), ==, 0);
    g_assert_cmpuint(qvirtio_config_readq(d.m.vdev, 0), ==, capacity);
    /* What a read returns did not change, nor does the generation */
    g_assert_cmpuint(sp_generation(&d), ==, gen);

    /* A driver write is ignored (libqos has no config write: do it raw) */
    if (d.m.pci) {
        qpci_io_writeb(d.m.pci->pdev, d.m.pci->bar,
                       d.m.pci->device_cfg_offset + wce_off, !wce);
    } else {
        qtest_writeb(d.m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_DEVICE_SPECIFIC +
                     wce_off, !wce);
    }
    g_assert_cmpint(qvirtio_config_readb(d.m.vdev, wce_off), ==, wce);

    /*
     * Resumed: the change shows, is notified, and the generation says
     * that a driver which read it while suspended read an old value
     */
    sp_resume(&d);
    g_assert_cmphex(sp_isr(&d), ==, SP_ISR_CONFIG_CHANGE);
    g_assert_cmpuint(sp_generation(&d), !=, gen);
    g_assert_cmpuint(qvirtio_config_readq(d.m.vdev, 0), ==, 2 * capacity);
    g_assert_cmpint(qvirtio_config_readb(d.m.vdev, wce_off), ==, wce);

    /* Running, the same write takes effect */
    if (d.m.pci) {
        qpci_io_writeb(d.m.pci->pdev, d.m.pci->bar,
                       d.m.pci->device_cfg_offset + wce_off, !wce);
    } else {
        qtest_writeb(d.m.qts, SP_MMIO_BASE + QVIRTIO_MMIO_DEVICE_SPECIFIC +
                     wce_off, !wce);
    }
    g_assert_cmpint(qvirtio_config_readb(d.m.vdev, wce_off), ==, !wce);

    sp_reset(&d);
    sp_stop(&d);
}

/*
 * "If the driver sets the SUSPEND bit in device status to 1, the device
 * MUST either suspend itself or set the DEVICE_NEEDS_RESET bit in device
 * status to 1 when it fails to suspend."  "If the device has been
 * suspended and the driver resumes the device running by setting the
 * DRIVER_OK bit in device status to 1, the device MUST either resume
 * normal operation or set the DEVICE_NEEDS_RESET bit".  A device whose
 * ring the driver corrupted cannot say which buffers it used: it fails.
 * A reset then brings it back.
 */
static void test_needs_reset(const void *data)
{
    const char *machine = data;
    SpDev d;
    uint8_t st;

    sp_start(&d, machine, SP_NULL_DRIVE, ",suspend=on", NULL);

    /* Failing to suspend */
    sp_init(&d, SP_F_SUSPEND);
    st = sp_status(&d);
    sp_isr(&d);
    qvirtqueue_corrupt_avail(d.m.qts, d.vq);
    sp_set_status(&d, st | SP_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, st | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(sp_isr(&d) & SP_ISR_CONFIG, ==, SP_ISR_CONFIG);
    /* ... and a second request is ignored: it needs a reset */
    sp_set_status(&d, sp_status(&d) | SP_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, st | VIRTIO_CONFIG_S_NEEDS_RESET);
    sp_reset(&d);
    g_assert_cmphex(sp_status(&d), ==, 0);

    /* Failing to resume */
    sp_init(&d, SP_F_SUSPEND);
    sp_request(&d, 0);
    sp_suspend(&d);
    sp_isr(&d);
    qvirtqueue_corrupt_avail(d.m.qts, d.vq);
    sp_set_status(&d, sp_status(&d) | SP_DRIVER_OK);
    g_assert_cmphex(sp_status(&d), ==, st | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(sp_isr(&d) & SP_ISR_CONFIG, ==, SP_ISR_CONFIG);
    sp_reset(&d);

    /* A driver reset of a suspended device resets it */
    sp_init(&d, SP_F_SUSPEND);
    sp_suspend(&d);
    sp_reset(&d);
    g_assert_cmphex(sp_status(&d), ==, 0);
    sp_init(&d, SP_F_SUSPEND);
    g_assert_cmphex(sp_status(&d), ==, st);
    sp_request(&d, 0);
    sp_reset(&d);
    sp_stop(&d);
}

/*
 * A suspend that waits for a request the device then cannot use: it did
 * not use every buffer it took, so it does not suspend: "the device MUST
 * either suspend itself or set the DEVICE_NEEDS_RESET bit", with the
 * configuration change notification that "MUST" follow while DRIVER_OK is
 * set.  A reset brings it back.  The request is held by rerror=stop until
 * the VM runs again (a blkdebug breakpoint would hold up the drain of bus
 * mastering off).  The causes:
 * - @bus_master_off: bus mastering turned off (virtio-pci keeps DRIVER_OK
 *   for a device that is stopping); the request completes, but the device
 *   cannot write it to its used ring and drops the completion, as a device
 *   without bus mastering does;
 * - else the device breaks: the driver overwrote the request's type
 *   meanwhile, and the header is too short for a discard (virtio_error()).
 */
static void sp_request_lost(const char *machine, bool bus_master_off)
{
    const char *file = qvirtio_drive_file();
    g_autofree char *drive = qvirtio_held_drive(file, 1);
    SpDev d;
    uint64_t req;
    uint16_t cmd = 0;
    uint8_t st;

    sp_start(&d, machine, drive, ",suspend=on", NULL);
    sp_init(&d, SP_F_SUSPEND);
    st = sp_status(&d);
    sp_isr(&d);
    if (bus_master_off) {
        cmd = qpci_config_readw(d.m.pci->pdev, PCI_COMMAND);
    }

    sp_read(&d, 1, &req);
    qtest_qmp_eventwait(d.m.qts, "STOP");
    sp_set_status(&d, st | SP_SUSPEND);
    if (bus_master_off) {
        qpci_config_writew(d.m.pci->pdev, PCI_COMMAND,
                           cmd & ~PCI_COMMAND_MASTER);
    } else {
        qtest_writel(d.m.qts, req, VIRTIO_BLK_T_DISCARD);
    }
    g_assert_cmphex(sp_status(&d), ==, st | SP_SUSPEND);

    qtest_qmp_assert_success(d.m.qts, "{'execute': 'cont'}");
    g_assert_cmphex(sp_wait_status(&d, SP_SUSPEND | VIRTIO_CONFIG_S_NEEDS_RESET,
                                   VIRTIO_CONFIG_S_NEEDS_RESET),
                    ==, st | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(sp_isr(&d) & SP_ISR_CONFIG, ==, SP_ISR_CONFIG);
    g_assert_cmpint(sp_used_idx(&d), ==, d.vq->last_used_idx);

    if (bus_master_off) {
        qpci_config_writew(d.m.pci->pdev, PCI_COMMAND, cmd);
    }
    sp_reset(&d);
    sp_init(&d, SP_F_SUSPEND);
    sp_request(&d, 1);
    sp_suspend(&d);
    sp_resume(&d);

    sp_reset(&d);
    sp_stop(&d);
}

static void test_bus_master_off(const void *data)
{
    sp_request_lost(data, true);
}

static void test_broken(const void *data)
{
    sp_request_lost(data, false);
}

/* ---- migration of a suspended device ------------------------------- */

/*
 * The suspended state, and a kick and a configuration change latched
 * while suspended, migrate: the destination presents the device as
 * suspended, with the configuration and config_generation the driver
 * read before it suspended the device, and when the driver resumes it
 * there, serves the request and notifies the change with a new
 * generation.
 */
static void test_migrate(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    g_autofree char *uri = g_strdup_printf("unix:%s/mig", qvirtio_tmp_dir());
    g_autofree char *drive = g_strdup_printf(
        "-drive if=none,id=drv0,format=raw,file=%s", file);
    g_autofree char *incoming = g_strdup_printf("-incoming %s", uri);
    SpDev src, dst;
    uint64_t req;
    uint32_t head;
    uint16_t used;
    uint8_t st, gen;

    sp_start(&src, machine, drive, ",suspend=on", NULL);
    sp_init(&src, SP_F_SUSPEND);
    sp_request(&src, 0);
    /* A change while running: the generation is not the initial one */
    sp_resize(&src, 2);
    g_assert_cmphex(sp_isr(&src), ==, SP_ISR_CONFIG_CHANGE);
    gen = sp_generation(&src);
    st = sp_suspend(&src);
    head = sp_read(&src, 1, &req);
    used = sp_used_idx(&src);
    sp_resize(&src, 4);
    g_assert_cmpuint(sp_generation(&src), ==, gen);
    /*
     * The used index is the device's: a driver that writes it while the
     * device is suspended, and puts it back before the resume, changes
     * nothing, migrated or not
     */
    qtest_writew(src.m.qts, src.vq->used + 2, used - 2);

    /* The driver moves over with the guest's memory */
    sp_start(&dst, machine, drive, ",suspend=on", incoming);
    sp_migrate(&src, &dst, uri);
    g_assert_cmphex(sp_status(&dst), ==, st);
    g_assert_cmpint(sp_used_idx(&dst), ==, (uint16_t)(used - 2));
    qtest_writew(dst.m.qts, dst.vq->used + 2, used);
    g_assert_cmpuint(sp_generation(&dst), ==, gen);
    g_assert_cmpuint(qvirtio_config_readq(dst.m.vdev, 0), ==,
                     2 * 1024 * 1024 / 512);
    sp_resume(&dst);
    sp_wait_done(&dst, head, req);
    g_assert_cmphex(sp_isr(&dst) & SP_ISR_CONFIG, ==, SP_ISR_CONFIG);
    g_assert_cmpuint(sp_generation(&dst), !=, gen);
    g_assert_cmpuint(qvirtio_config_readq(dst.m.vdev, 0), ==,
                     4 * 1024 * 1024 / 512);
    sp_request(&dst, 2);
    sp_reset(&dst);

    sp_stop(&dst);
    sp_stop(&src);
}

/*
 * A driver that corrupts the ring while the device is suspended: the
 * device does not look at the ring before it resumes, migrated or not,
 * and the resume fails.  A failed resume leaves nothing latched behind:
 * the device needs a reset and says so, and it migrates like any device
 * that does.  Here a configuration change was latched while it was
 * suspended.
 */
static void test_needs_reset_migrate(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    g_autofree char *uri = g_strdup_printf("unix:%s/mig", qvirtio_tmp_dir());
    g_autofree char *uri2 = g_strdup_printf("unix:%s/mig2", qvirtio_tmp_dir());
    g_autofree char *drive = g_strdup_printf(
        "-drive if=none,id=drv0,format=raw,file=%s", file);
    g_autofree char *incoming = g_strdup_printf("-incoming %s", uri);
    g_autofree char *incoming2 = g_strdup_printf("-incoming %s", uri2);
    SpDev src, mid, dst;
    uint8_t st, suspended, gen;

    sp_start(&src, machine, drive, ",suspend=on", NULL);
    sp_init(&src, SP_F_SUSPEND);
    st = sp_status(&src);
    sp_request(&src, 0);
    sp_suspend(&src);
    sp_isr(&src);
    gen = sp_generation(&src);
    sp_resize(&src, 2);
    qvirtqueue_corrupt_avail(src.m.qts, src.vq);
    suspended = sp_status(&src);
    g_assert_cmphex(sp_isr(&src), ==, 0);

    /* Migrated while suspended: the destination is what the source was */
    sp_start(&mid, machine, drive, ",suspend=on", incoming);
    sp_migrate(&src, &mid, uri);
    g_assert_cmphex(sp_status(&mid), ==, suspended);
    g_assert_cmphex(sp_isr(&mid), ==, 0);
    g_assert_cmpuint(sp_generation(&mid), ==, gen);

    /* The resume finds the corrupted ring */
    sp_set_status(&mid, sp_status(&mid) | SP_DRIVER_OK);
    g_assert_cmphex(sp_status(&mid), ==, st | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(sp_isr(&mid) & SP_ISR_CONFIG, ==, SP_ISR_CONFIG);

    sp_start(&dst, machine, drive, ",suspend=on", incoming2);
    sp_migrate(&mid, &dst, uri2);
    g_assert_cmphex(sp_status(&dst), ==, st | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmpuint(qvirtio_config_readq(dst.m.vdev, 0), ==,
                     2 * 1024 * 1024 / 512);

    /* A reset on the destination brings it back */
    sp_reset(&dst);
    sp_init(&dst, SP_F_SUSPEND);
    sp_request(&dst, 1);
    sp_reset(&dst);

    sp_stop(&dst);
    sp_stop(&mid);
    sp_stop(&src);
}

/*
 * The destination checks the stopped state it loads against what the
 * device could have been in: a stream of a suspended device loads as it
 * was saved (SP_STREAM_SAVED); one changed to hold a reserved state, the
 * state of a device whose driver did not negotiate VIRTIO_F_SUSPEND, or
 * of one that never had DRIVER_OK, which no driver can bring about, is
 * refused.
 */
typedef enum SpStream {
    SP_STREAM_SAVED,
    SP_STREAM_RESERVED,
    SP_STREAM_NO_FEATURE,
    SP_STREAM_NO_DRIVER_OK,
} SpStream;

/* A queue_select value to find device status by in the stream */
#define SP_QUEUE_SEL_MARK       0x03a5

static void test_checked_load(const void *data)
{
    SpStream how = GPOINTER_TO_INT(data);
    const char *file = qvirtio_drive_file();
    g_autofree char *drive = g_strdup_printf(
        "-drive if=none,id=drv0,format=raw,file=%s", file);
    g_autoptr(GByteArray) stream = NULL;
    const uint8_t bit = 1 << (VIRTIO_F_SUSPEND % 8);
    uint32_t lo;
    uint8_t *f, st;
    SpDev src, dst;

    sp_start(&src, "pc", drive, ",suspend=on", NULL);
    sp_init(&src, SP_F_SUSPEND);
    lo = src.m.vdev->features;
    sp_request(&src, 0);
    st = sp_suspend(&src);
    sp_isr(&src);
    src.m.vdev->bus->queue_select(src.m.vdev, SP_QUEUE_SEL_MARK);
    stream = qvirtio_machine_save(&src.m);

    if (how == SP_STREAM_RESERVED) {
        /* mode and target, be16 */
        f = qvirtio_stream_subsection(stream, "virtio/stopped");
        f[0] = f[2] = 0;
        f[1] = f[3] = 0x05;
    } else if (how == SP_STREAM_NO_FEATURE) {
        /* the guest features, be64 */
        f = qvirtio_stream_subsection(stream, "virtio/64bit_features");
        g_assert_cmphex(f[7 - VIRTIO_F_SUSPEND / 8] & bit, ==, bit);
        f[7 - VIRTIO_F_SUSPEND / 8] &= ~bit;
    } else if (how == SP_STREAM_NO_DRIVER_OK) {
        /* virtio_save(): status, ISR, queue_sel (be16), features (be32) */
        uint8_t head[] = {
            VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
            VIRTIO_CONFIG_S_FEATURES_OK | SP_DRIVER_OK, 0,
            SP_QUEUE_SEL_MARK >> 8, SP_QUEUE_SEL_MARK & 0xff,
            lo >> 24, lo >> 16, lo >> 8, lo,
        };

        f = qvirtio_stream_find(stream, head, sizeof(head));
        f[0] &= ~SP_DRIVER_OK;
    }
    g_assert(qvirtio_machine_load(&src.m, &dst.m, "virtio-blk-pci,id=blk0,"
                                  "drive=drv0,suspend=on", drive, stream) ==
             (how == SP_STREAM_SAVED));
    if (how == SP_STREAM_SAVED) {
        dst.vq = g_steal_pointer(&src.vq);
        g_assert_cmphex(sp_status(&dst), ==, st);
        sp_resume(&dst);
        sp_request(&dst, 1);
    }
    sp_stop(&dst);
    sp_stop(&src);
}

/*
 * QMP x-query-virtio-status shows device status as the driver reads it:
 * SUSPEND, and no DRIVER_OK, while the device is suspended.
 */
static bool sp_qmp_status_has(SpDev *d, const char *bit)
{
    const char *path = d->m.pci ? "/machine/peripheral/blk0/virtio-backend"
                              : "/machine/peripheral/blk0";
    QDict *rsp = qtest_qmp_assert_success_ref(d->m.qts,
        "{'execute': 'x-query-virtio-status', 'arguments': {'path': %s}}",
        path);
    QList *bits = qdict_get_qlist(qdict_get_qdict(rsp, "status"), "statuses");
    const QListEntry *e;
    bool found = false;

    for (e = qlist_first(bits); e; e = qlist_next(e)) {
        found |= g_str_has_prefix(qstring_get_str(qobject_to(QString,
                                                             e->value)), bit);
    }
    qobject_unref(rsp);
    return found;
}

static void test_qmp_status(const void *data)
{
    const char *machine = data;
    SpDev d;

    sp_start(&d, machine, SP_NULL_DRIVE, ",suspend=on", NULL);
    sp_init(&d, SP_F_SUSPEND);
    g_assert_true(sp_qmp_status_has(&d, "VIRTIO_CONFIG_S_DRIVER_OK:"));
    g_assert_false(sp_qmp_status_has(&d, "VIRTIO_CONFIG_S_SUSPEND:"));
    sp_suspend(&d);
    g_assert_false(sp_qmp_status_has(&d, "VIRTIO_CONFIG_S_DRIVER_OK:"));
    g_assert_true(sp_qmp_status_has(&d, "VIRTIO_CONFIG_S_SUSPEND:"));
    sp_resume(&d);
    g_assert_true(sp_qmp_status_has(&d, "VIRTIO_CONFIG_S_DRIVER_OK:"));
    g_assert_false(sp_qmp_status_has(&d, "VIRTIO_CONFIG_S_SUSPEND:"));
    sp_reset(&d);
    sp_stop(&d);
}

/*
 * A device type that did not opt in refuses suspend=on at realize; the
 * same device without it plugs.
 */
static void test_refused(const void *data)
{
    QTestState *qts = qtest_init("-M pc");
    QDict *rsp;

    rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': "
                    "{'driver': 'virtio-scsi-pci', 'id': 's0', "
                    "'suspend': true}}");
    g_assert(qdict_haskey(rsp, "error"));
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"), "desc"), ==,
                    "suspend is not supported by device type "
                    "virtio-scsi-device");
    qobject_unref(rsp);
    qtest_qmp_assert_success(qts, "{'execute': 'device_add', 'arguments': "
                             "{'driver': 'virtio-scsi-pci', 'id': 's0'}}");
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    static const char *pci_machines[] = { "pc", "q35" };
    static const struct {
        const char *name;
        GTestDataFunc fn;
    } cases[] = {
        { "not-initialised", test_not_initialised },
        { "held-request", test_held_request },
        { "config", test_config },
        { "needs-reset", test_needs_reset },
        { "needs-reset-migrate", test_needs_reset_migrate },
        { "broken-while-suspending", test_broken },
        { "qmp-status", test_qmp_status },
        { "migrate", test_migrate },
    };
    static const char *streams[] = {
        [SP_STREAM_SAVED] = "saved",
        [SP_STREAM_RESERVED] = "reserved-state",
        [SP_STREAM_NO_FEATURE] = "no-feature",
        [SP_STREAM_NO_DRIVER_OK] = "no-driver-ok",
    };
    const char *machines[3];
    int nm = 0, i, j;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < ARRAY_SIZE(pci_machines); i++) {
        if (qtest_has_machine(pci_machines[i])) {
            machines[nm++] = pci_machines[i];
        }
    }
    if (qtest_has_machine("microvm") && qtest_has_device("virtio-blk-device")) {
        machines[nm++] = "microvm";
    }
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        for (j = 0; j < nm; j++) {
            g_autofree char *path = g_strdup_printf(
                "virtio-suspend/%s/%s", machines[j], cases[i].name);
            qtest_add_data_func(path, machines[j], cases[i].fn);
        }
    }
    for (i = 0; i < ARRAY_SIZE(pci_machines); i++) {
        if (qtest_has_machine(pci_machines[i])) {
            g_autofree char *path = g_strdup_printf(
                "virtio-suspend/%s/bus-master-off", pci_machines[i]);
            qtest_add_data_func(path, pci_machines[i], test_bus_master_off);
        }
    }
    if (qtest_has_machine("pc") && qtest_has_device("virtio-scsi-pci")) {
        qtest_add_data_func("virtio-suspend/pc/refused", NULL, test_refused);
    }
    for (i = 0; qtest_has_machine("pc") && i < ARRAY_SIZE(streams); i++) {
        g_autofree char *path = g_strdup_printf("virtio-suspend/pc/load/%s",
                                                streams[i]);
        qtest_add_data_func(path, GINT_TO_POINTER(i), test_checked_load);
    }
    return g_test_run();
}
