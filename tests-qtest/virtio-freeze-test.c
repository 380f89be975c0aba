/*
 * QTest cases for virtio freeze_mode (VIRTIO_F_FREEZE_MODE)
 *
 * The register protocol is tested through the libqos graph, for every
 * virtio-pci device node that this file registers it on; the cases that
 * need a real request in flight, S3, resets of the machine or two QEMU
 * processes use virtio-blk on the pc and q35 machines.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qobject/qdict.h"
#include "standard-headers/linux/virtio_balloon.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/pci_regs.h"
#include "libqos/qgraph.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "libqos/virtio-pci-modern.h"
#include "libqos/pc-s3.h"
#include "libqos/virtio-freeze.h"
#include "migration/migration-qmp.h"

/* Short names for the register values (standard-headers/linux/virtio_pci.h) */
#define FREEZE_UNFREEZE         VIRTIO_PCI_FREEZE_MODE_UNFREEZE
#define FREEZE_S3               VIRTIO_PCI_FREEZE_MODE_FREEZE_S3
#define FREEZE_BUSY             VIRTIO_PCI_FREEZE_MODE_BUSY
#define FZ_FEATURE_HI                   (1u << (VIRTIO_F_FREEZE_MODE - 32))

#define FZ_TIMEOUT_US                           (30 * 1000 * 1000)
#define FZ_BLK_SLOT                             4
#define FZ_BLK2_SLOT                            5
#define FZ_ISR_CONFIG                           2

/* ---- register access ------------------------------------------------ */

static uint16_t fz_cfg_readw(QVirtioPCIDevice *d, int off)
{
    return qpci_io_readw(d->pdev, d->bar, d->common_cfg_offset + off);
}

static uint32_t fz_cfg_readl(QVirtioPCIDevice *d, int off)
{
    return qpci_io_readl(d->pdev, d->bar, d->common_cfg_offset + off);
}

static uint64_t fz_cfg_readq(QVirtioPCIDevice *d, int off)
{
    return qpci_io_readq(d->pdev, d->bar, d->common_cfg_offset + off);
}

static void fz_cfg_writew(QVirtioPCIDevice *d, int off, uint16_t val)
{
    qpci_io_writew(d->pdev, d->bar, d->common_cfg_offset + off, val);
}

static void fz_cfg_writel(QVirtioPCIDevice *d, int off, uint32_t val)
{
    qpci_io_writel(d->pdev, d->bar, d->common_cfg_offset + off, val);
}

static uint8_t fz_find_vendor_cap(QPCIDevice *pdev, uint8_t cfg_type)
{
    uint8_t cap = 0;

    while ((cap = qpci_find_capability(pdev, PCI_CAP_ID_VNDR, cap))) {
        if (qpci_config_readb(pdev, cap + offsetof(struct virtio_pci_cap,
                                                   cfg_type)) == cfg_type) {
            return cap;
        }
    }
    return 0;
}

/* The graph's virtio device, which libqos drives through virtio 1.0 */
static QVirtioPCIDevice *fz_pci(QVirtioDevice *vdev)
{
    QVirtioPCIDevice *d = container_of(vdev, QVirtioPCIDevice, vdev);

    g_assert_cmpint(fz_find_vendor_cap(d->pdev, VIRTIO_PCI_CAP_COMMON_CFG),
                    !=, 0);
    return d;
}

/* Reading the ISR clears it, as for a driver */
static uint8_t fz_generation(QVirtioPCIDevice *d)
{
    return qpci_io_readb(d->pdev, d->bar, d->common_cfg_offset +
                         VIRTIO_PCI_COMMON_CFGGENERATION);
}

static uint8_t fz_isr(QVirtioPCIDevice *d)
{
    return qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
}

static uint32_t fz_device_features_hi(QVirtioPCIDevice *d)
{
    fz_cfg_writel(d, VIRTIO_PCI_COMMON_DFSELECT, 1);
    return fz_cfg_readl(d, VIRTIO_PCI_COMMON_DF);
}

static uint32_t fz_driver_features_hi(QVirtioPCIDevice *d)
{
    fz_cfg_writel(d, VIRTIO_PCI_COMMON_GFSELECT, 1);
    return fz_cfg_readl(d, VIRTIO_PCI_COMMON_GF);
}

/*
 * Reset and initialise the device up to FEATURES_OK, negotiating
 * VERSION_1 and, if @freeze and offered, FREEZE_MODE.
 */
static void fz_negotiate(QVirtioPCIDevice *d, bool freeze)
{
    QVirtioDevice *vdev = &d->vdev;
    uint64_t features;

    qvirtio_start_device(vdev);
    features = qvirtio_get_features(vdev) & (1ull << VIRTIO_F_VERSION_1);
    if (freeze) {
        g_assert(qvirtio_get_features(vdev) & (1ull << VIRTIO_F_FREEZE_MODE));
        features |= 1ull << VIRTIO_F_FREEZE_MODE;
    }
    qvirtio_set_features(vdev, features);
}

/* Write @val and expect @expect, without a transition in between. */
static void fz_expect_write(QVirtioPCIDevice *d, uint16_t val, uint16_t expect)
{
    qvirtio_freeze_write(d, val);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, expect);
}

/* Poll for the end of a transition; returns the number of reads. */
static int fz_wait_not_busy(QVirtioPCIDevice *d)
{
    gint64 start = g_get_monotonic_time();
    int polls = 1;

    while (qvirtio_freeze_read(d) & FREEZE_BUSY) {
        g_assert(g_get_monotonic_time() - start <= FZ_TIMEOUT_US);
        polls++;
        g_usleep(100);
    }
    return polls;
}

/* ---- register protocol, on every device node ------------------------ */

static void test_layout(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);
    uint8_t cap = fz_find_vendor_cap(d->pdev, VIRTIO_PCI_CAP_COMMON_CFG);
    uint32_t len;

    g_assert_cmpint(cap, !=, 0);
    len = qpci_config_readl(d->pdev, cap + offsetof(struct virtio_pci_cap,
                                                    length));
    /* The capability covers freeze_mode, after admin_queue_num at 62 */
    g_assert_cmpuint(len, >=, VIRTIO_PCI_COMMON_FREEZE_MODE + 2);

    fz_negotiate(d, true);
    qvirtio_set_driver_ok(&d->vdev);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, FREEZE_UNFREEZE);

    /* Nothing before offset 64 moves or changes with it */
    fz_cfg_writew(d, VIRTIO_PCI_COMMON_Q_SELECT, 0);
    fz_expect_write(d, FREEZE_S3, FREEZE_S3);
    g_assert_cmpint(fz_cfg_readw(d, VIRTIO_PCI_COMMON_Q_SELECT), ==, 0);
    g_assert_cmpint(fz_cfg_readw(d, VIRTIO_PCI_COMMON_ADM_Q_NUM), ==, 0);
    fz_expect_write(d, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    qvirtio_reset(&d->vdev);
}

static void test_feature_offered(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);

    g_assert_cmphex(fz_device_features_hi(d) & FZ_FEATURE_HI,
                    !=, 0);
}

/* freeze_mode=off (the default): not offered, and the register is inert */
static void test_feature_off(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);

    g_assert_cmphex(fz_device_features_hi(d) & FZ_FEATURE_HI,
                    ==, 0);

    /* Even a driver that sets the bit does not get the feature */
    qvirtio_start_device(&d->vdev);
    qvirtio_set_features(&d->vdev, (1ull << VIRTIO_F_VERSION_1) |
                                   (1ull << VIRTIO_F_FREEZE_MODE));
    fz_expect_write(d, FREEZE_S3, FREEZE_UNFREEZE);
    qvirtio_set_driver_ok(&d->vdev);
    fz_expect_write(d, FREEZE_S3, FREEZE_UNFREEZE);
    qvirtio_reset(&d->vdev);
}

static void test_not_negotiated(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);
    QVirtioDevice *vdev = &d->vdev;

    /* Before FEATURES_OK, even with the bit written */
    qvirtio_start_device(vdev);
    fz_expect_write(d, FREEZE_S3, FREEZE_UNFREEZE);
    fz_cfg_writel(d, VIRTIO_PCI_COMMON_GFSELECT, 1);
    qpci_io_writel(d->pdev, d->bar, d->common_cfg_offset + VIRTIO_PCI_COMMON_GF,
                   (1u << (VIRTIO_F_VERSION_1 - 32)) |
                   (1u << (VIRTIO_F_FREEZE_MODE - 32)));
    fz_expect_write(d, FREEZE_S3, FREEZE_UNFREEZE);

    /* FEATURES_OK without the bit */
    fz_negotiate(d, false);
    fz_expect_write(d, FREEZE_S3, FREEZE_UNFREEZE);
    qvirtio_set_driver_ok(vdev);
    fz_expect_write(d, FREEZE_S3, FREEZE_UNFREEZE);
    qvirtio_reset(vdev);
}

static void test_reserved(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);
    static const uint16_t reserved[] = {
        0x0001, 0x0002, 0x0004, 0x00ff, 0x0100, 0x8000, 0x8003, 0xffff,
    };
    int i;

    fz_negotiate(d, true);
    qvirtio_set_driver_ok(&d->vdev);
    for (i = 0; i < ARRAY_SIZE(reserved); i++) {
        fz_expect_write(d, reserved[i], FREEZE_UNFREEZE);
    }
    fz_expect_write(d, FREEZE_S3, FREEZE_S3);
    for (i = 0; i < ARRAY_SIZE(reserved); i++) {
        fz_expect_write(d, reserved[i], FREEZE_S3);
    }
    fz_expect_write(d, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    qvirtio_reset(&d->vdev);
}

static void test_round_trip(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);
    QVirtioDevice *vdev = &d->vdev;
    QVirtQueue *vq;
    uint8_t status;
    uint16_t vector;
    uint32_t gf;

    fz_negotiate(d, true);
    vq = qvirtqueue_setup(vdev, alloc, 0);
    qvirtio_set_driver_ok(vdev);
    status = qvirtio_pci_common_status(d);
    gf = fz_driver_features_hi(d);

    /* Idle: acknowledged at once, no BUSY, no notification needed */
    fz_expect_write(d, FREEZE_S3, FREEZE_S3);
    fz_expect_write(d, FREEZE_S3, FREEZE_S3);          /* no-op */

    /* Frozen: configuration writes are ignored, reads work */
    vector = fz_cfg_readw(d, VIRTIO_PCI_COMMON_MSIX);
    fz_cfg_writew(d, VIRTIO_PCI_COMMON_MSIX, 0);
    fz_cfg_writel(d, VIRTIO_PCI_COMMON_GFSELECT, 1);
    fz_cfg_writel(d, VIRTIO_PCI_COMMON_GF, 0);
    fz_cfg_writew(d, VIRTIO_PCI_COMMON_Q_SELECT, 0);
    fz_cfg_writew(d, VIRTIO_PCI_COMMON_Q_SIZE, 2);
    g_assert_cmphex(fz_cfg_readw(d, VIRTIO_PCI_COMMON_MSIX), ==, vector);
    g_assert_cmphex(fz_driver_features_hi(d), ==, gf);
    g_assert_cmpint(fz_cfg_readw(d, VIRTIO_PCI_COMMON_Q_SIZE), ==, vq->size);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, status);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, FREEZE_S3);

    fz_expect_write(d, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, status);
    g_assert_cmphex(fz_driver_features_hi(d), ==, gf);

    /* And again: the cycle repeats */
    fz_expect_write(d, FREEZE_S3, FREEZE_S3);
    fz_expect_write(d, FREEZE_UNFREEZE, FREEZE_UNFREEZE);

    qvirtqueue_cleanup(vdev->bus, vq, alloc);
    qvirtio_reset(vdev);
}

static void test_driver_reset(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);

    fz_negotiate(d, true);
    qvirtio_set_driver_ok(&d->vdev);
    fz_expect_write(d, FREEZE_S3, FREEZE_S3);
    qvirtio_reset(&d->vdev);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, FREEZE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, 0);
    /* The next driver starts from scratch */
    fz_negotiate(d, true);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, FREEZE_UNFREEZE);
    qvirtio_reset(&d->vdev);
}

/* Bus-master disable, as the guest's PCI core does on suspend */
static void test_bus_master(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioPCIDevice *d = fz_pci(*(QVirtioDevice **)obj);
    uint16_t cmd = qpci_config_readw(d->pdev, PCI_COMMAND);
    uint8_t status;

    fz_negotiate(d, true);
    qvirtio_set_driver_ok(&d->vdev);
    status = qvirtio_pci_common_status(d);
    g_assert(status & VIRTIO_CONFIG_S_DRIVER_OK);

    fz_expect_write(d, FREEZE_S3, FREEZE_S3);
    qpci_config_writew(d->pdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
    qpci_config_writew(d->pdev, PCI_COMMAND, cmd);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, status);
    fz_expect_write(d, FREEZE_UNFREEZE, FREEZE_UNFREEZE);

    /* Unfrozen, the device behaves as it always did */
    qpci_config_writew(d->pdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
    qpci_config_writew(d->pdev, PCI_COMMAND, cmd);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==,
                    status & ~VIRTIO_CONFIG_S_DRIVER_OK);
    qvirtio_reset(&d->vdev);
}

/* ---- virtio-blk machines for the cases that need a real request ----- */

typedef struct FzBlk {
    QTestState *qts;
    QGuestAllocator *alloc;
    QVirtioPCIDevice *dev;
    QVirtQueue *vq;
    QPCISavedHeader pci;
} FzBlk;

static void fz_blk_find(FzBlk *b, QVirtioMachine *m, int slot)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(slot, 0) };

    b->qts = m->qts;
    b->alloc = &m->alloc;
    b->dev = virtio_pci_new(m->bus, &addr);
    g_assert_nonnull(b->dev);
    g_assert_cmpint(fz_find_vendor_cap(b->dev->pdev, VIRTIO_PCI_CAP_COMMON_CFG),
                    !=, 0);
    qvirtio_pci_device_enable(b->dev);
}

/* Driver initialisation: features, one request queue, DRIVER_OK */
static void fz_blk_init(FzBlk *b, QVirtioMachine *m, int slot, bool freeze)
{
    fz_blk_find(b, m, slot);
    fz_negotiate(b->dev, freeze);
    b->vq = qvirtqueue_setup(&b->dev->vdev, &m->alloc, 0);
    qvirtio_set_driver_ok(&b->dev->vdev);
}

/*
 * ... with MSI-X: the configuration change on vector 0, the request queue
 * on vector 1, so that a test tells one notification from the other (the
 * ISR says 0x3 for a configuration change, queue bit included)
 */
static void fz_blk_init_msix(FzBlk *b, QVirtioMachine *m, int slot)
{
    fz_blk_find(b, m, slot);
    qpci_msix_enable(b->dev->pdev);
    fz_negotiate(b->dev, true);
    qvirtio_pci_set_msix_configuration_vector(b->dev, &m->alloc, 0);
    b->vq = qvirtqueue_setup(&b->dev->vdev, &m->alloc, 0);
    qvirtqueue_pci_msix_setup(b->dev, (QVirtQueuePCI *)b->vq, &m->alloc, 1);
    qvirtio_set_driver_ok(&b->dev->vdev);
}

/* The driver's reset path: reset the device and initialise it again */
static void fz_blk_reinit(FzBlk *b, QVirtioMachine *m)
{
    qvirtio_reset(&b->dev->vdev);
    qvirtqueue_cleanup(b->dev->vdev.bus, b->vq, b->alloc);
    fz_negotiate(b->dev, true);
    b->vq = qvirtqueue_setup(&b->dev->vdev, &m->alloc, 0);
    qvirtio_set_driver_ok(&b->dev->vdev);
}

/* Did the device notify a used buffer (MSI-X)?  Acknowledges it. */
static bool fz_queue_notified(FzBlk *b)
{
    return b->dev->vdev.bus->get_queue_isr_status(&b->dev->vdev, b->vq);
}

/* ... a configuration change (MSI-X)?  Acknowledges it. */
static bool fz_config_notified(FzBlk *b)
{
    QVirtioPCIDevice *d = b->dev;

    g_assert_true(d->pdev->msix_enabled);
    g_assert_false(qpci_msix_masked(d->pdev, d->config_msix_entry));
    if (qtest_readl(b->qts, d->config_msix_addr) != d->config_msix_data) {
        return false;
    }
    qtest_writel(b->qts, d->config_msix_addr, 0);
    return true;
}

static void fz_blk_free(FzBlk *b)
{
    if (b->vq) {
        qvirtqueue_cleanup(b->dev->vdev.bus, b->vq, b->alloc);
    }
    qvirtio_pci_device_disable(b->dev);
    g_free(b->dev);
}

static uint16_t fz_used_idx(FzBlk *b)
{
    return qtest_readw(b->qts, b->vq->used + 2);
}

/* Queue a one-sector read and kick; returns the head descriptor. */
static uint32_t fz_blk_read(FzBlk *b, uint64_t sector, uint64_t *req)
{
    return qvirtio_blk_req_read(b->qts, b->alloc, &b->dev->vdev, b->vq,
                                   sector, req);
}

/* The request completed, with VIRTIO_BLK_S_OK */
static void fz_blk_check_done(FzBlk *b, uint32_t head, uint64_t req)
{
    qvirtio_blk_req_check_done(b->qts, b->alloc, b->vq, head, req);
}

static void fz_blk_wait_done(FzBlk *b, uint32_t head, uint64_t req)
{
    gint64 start = g_get_monotonic_time();
    uint16_t last = b->vq->last_used_idx;

    while (fz_used_idx(b) == last) {
        g_assert(g_get_monotonic_time() - start <= FZ_TIMEOUT_US);
        qtest_clock_step(b->qts, 100);
        g_usleep(100);
    }
    fz_blk_check_done(b, head, req);
}

/* ---- asynchronous acknowledge with a request held in flight --------- */

/* What QMP reports, for the device with id=blk0 */
static uint16_t fz_qmp_freeze_mode(QTestState *qts)
{
    QDict *rsp = qtest_qmp_assert_success_ref(qts,
        "{'execute': 'x-query-virtio-status', 'arguments':"
        " {'path': '/machine/peripheral/blk0/virtio-backend'}}");
    uint16_t mode = qdict_get_int(rsp, "freeze-mode");

    qobject_unref(rsp);
    return mode;
}

static void test_async_freeze(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head;
    int i;

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,format=raw,"
                          "file.driver=blkdebug,"
                          "file.image.filename=%s "
                          "-device virtio-blk-pci,id=blk0,drive=drv0,addr=%d.0,"
                          "freeze_mode=on", file, FZ_BLK_SLOT);
    fz_blk_init_msix(&b, &m, FZ_BLK_SLOT);
    g_assert_cmphex(fz_qmp_freeze_mode(m.qts), ==, FREEZE_UNFREEZE);

    /* Hold the next read at the backend */
    qvirtio_qemu_io(m.qts, "break read_aio held");
    head = fz_blk_read(&b, 0, &req);

    qvirtio_freeze_write(b.dev, FREEZE_S3);
    for (i = 0; i < 20; i++) {
        g_assert_cmphex(qvirtio_freeze_read(b.dev), ==,
                        FREEZE_S3 | FREEZE_BUSY);
        qtest_clock_step(m.qts, 1000);
    }
    /* Writes while BUSY are ignored, UNFREEZE included */
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_S3 | FREEZE_BUSY);
    g_assert_cmphex(fz_qmp_freeze_mode(m.qts), ==, FREEZE_S3 | FREEZE_BUSY);
    g_assert_cmpint(fz_used_idx(&b), ==, b.vq->last_used_idx);
    g_assert_false(fz_queue_notified(&b));
    g_assert_false(fz_config_notified(&b));

    /* Completing the request completes the freeze, in that order */
    qvirtio_qemu_io(m.qts, "resume held");
    fz_wait_not_busy(b.dev);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3);
    /*
     * Both the used buffer and the end of the transition were notified,
     * each on its own vector
     */
    g_assert_true(fz_queue_notified(&b));
    g_assert_true(fz_config_notified(&b));
    fz_blk_check_done(&b, head, req);
    g_assert_cmphex(fz_qmp_freeze_mode(m.qts), ==, FREEZE_S3);

    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    head = fz_blk_read(&b, 1, &req);
    fz_blk_wait_done(&b, head, req);

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/* ---- while frozen: kicks and configuration changes are latched ------ */

static void test_frozen_kick(const void *data)
{
    const char *machine = data;
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head;
    int i;

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,driver=null-co,"
                          "read-zeroes=on,"
                          "size=1M -device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on", FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    fz_isr(b.dev);

    head = fz_blk_read(&b, 0, &req);
    for (i = 0; i < 20; i++) {
        qtest_clock_step(m.qts, 1000 * 1000);
        g_assert_cmpint(fz_used_idx(&b), ==, b.vq->last_used_idx);
        g_assert_cmphex(fz_isr(b.dev), ==, 0);
    }

    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    fz_blk_wait_done(&b, head, req);
    g_assert_cmphex(fz_isr(b.dev) & FZ_ISR_CONFIG, ==, 0);

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

static void test_frozen_config(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t capacity;
    uint8_t gen;

    qvirtio_machine_start(&m, machine, NULL,
                          "-blockdev driver=file,filename=%s,node-name=drv0 "
                          "-device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on",
                          file, FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    capacity = qvirtio_config_readq(&b.dev->vdev, 0);
    g_assert_cmpint(capacity, ==, 1024 * 1024 / 512);

    /* A freeze that changes nothing changes no generation */
    gen = fz_generation(b.dev);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    g_assert_cmpuint(fz_generation(b.dev), ==, gen);

    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    fz_isr(b.dev);
    qtest_qmp_assert_success(m.qts, "{'execute': 'block_resize', 'arguments':"
                             " {'node-name': 'drv0', 'size': 2097152}}");
    /*
     * Nothing is notified, and the configuration reads as it was when
     * the device stopped: a frozen device changes none of it
     */
    g_assert_cmpint(qvirtio_config_readq(&b.dev->vdev, 0), ==, capacity);
    g_assert_cmphex(fz_isr(b.dev), ==, 0);
    /* ... and so is the generation: what a read returns did not change */
    g_assert_cmpuint(fz_generation(b.dev), ==, gen);

    /*
     * Unfrozen: the change is notified, and shows, with a new generation
     * (a driver that read the old value while frozen can tell)
     */
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    g_assert_cmphex(fz_isr(b.dev) & FZ_ISR_CONFIG, ==, FZ_ISR_CONFIG);
    g_assert_cmpuint(fz_generation(b.dev), !=, gen);
    g_assert_cmpint(qvirtio_config_readq(&b.dev->vdev, 0), ==, 2 * capacity);

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * A frozen device reads no virtqueue memory either, which a snapshot of
 * guest RAM cannot show: fill the descriptor table, the available ring
 * and the request with garbage while the device is frozen and kicked,
 * and put them back before unfreeze.  A device that read any of it
 * would have failed on the garbage (an out-of-range descriptor, an
 * available index a ring ahead) or served a wrong request; this one
 * serves the request as the driver made it.
 */
static void test_frozen_no_read(const void *data)
{
    const char *machine = data;
    g_autoptr(GByteArray) before = NULL;
    g_autoptr(GByteArray) after = NULL;
    QVirtioMachine m;
    FzBlk b = { 0 };
    struct {
        uint64_t addr, len;
        uint8_t *saved;
    } area[3];
    uint64_t req;
    uint32_t head;
    uint8_t status;
    int i;

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,driver=null-co,"
                          "read-zeroes=on,size=1M -device virtio-blk-pci,"
                          "drive=drv0,addr=%d.0,freeze_mode=on", FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    head = fz_blk_read(&b, 0, &req);
    fz_blk_wait_done(&b, head, req);
    status = qvirtio_pci_common_status(b.dev);

    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    head = fz_blk_read(&b, 1, &req);
    area[0].addr = b.vq->desc;
    area[0].len = b.vq->size * 16;
    area[1].addr = b.vq->avail;
    area[1].len = 4 + 2 * b.vq->size + 2;
    area[2].addr = req;
    area[2].len = 16;                   /* struct virtio_blk_outhdr */
    for (i = 0; i < ARRAY_SIZE(area); i++) {
        g_autofree uint8_t *junk = g_malloc(area[i].len);

        area[i].saved = g_malloc(area[i].len);
        qtest_memread(m.qts, area[i].addr, area[i].saved, area[i].len);
        memset(junk, 0xff, area[i].len);
        qtest_memwrite(m.qts, area[i].addr, junk, area[i].len);
    }
    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    for (i = 0; i < 10; i++) {
        b.dev->vdev.bus->virtqueue_kick(&b.dev->vdev, b.vq);
        qtest_clock_step(m.qts, 1000 * 1000);
    }
    after = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    qvirtio_mem_assert_same(before, after);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, status);
    for (i = 0; i < ARRAY_SIZE(area); i++) {
        qtest_memwrite(m.qts, area[i].addr, area[i].saved, area[i].len);
        g_free(area[i].saved);
    }

    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    fz_blk_wait_done(&b, head, req);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, status);

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * A device that cannot keep its state refuses FREEZE_S3, and one that
 * cannot resume sets DEVICE_NEEDS_RESET on UNFREEZE.  What QEMU cannot
 * take up again is a ring whose available index the driver moved more
 * than a ring ahead of the device.
 */
static void test_refuse(const void *data)
{
    const char *machine = data;
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head;
    uint8_t status;

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,driver=null-co,"
                          "read-zeroes=on,"
                          "size=1M -device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on", FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    status = qvirtio_pci_common_status(b.dev);

    /* Refused: the transition ends at once in the old mode */
    qvirtqueue_corrupt_avail(b.qts, b.vq);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, status);

    /* Cannot resume: UNFREEZE is not refused, NEEDS_RESET says it */
    fz_blk_reinit(&b, &m);
    head = fz_blk_read(&b, 0, &req);
    fz_blk_wait_done(&b, head, req);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    fz_isr(b.dev);
    qvirtqueue_corrupt_avail(b.qts, b.vq);
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==,
                    status | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(fz_isr(b.dev) & FZ_ISR_CONFIG, ==, FZ_ISR_CONFIG);

    /* A reset brings it back */
    fz_blk_reinit(&b, &m);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    head = fz_blk_read(&b, 0, &req);
    fz_blk_wait_done(&b, head, req);

    /*
     * FREEZE_S3 is ignored while DEVICE_NEEDS_RESET is set, here by a
     * driver error that leaves the rings alone (queue_enable 0)
     */
    fz_cfg_writew(b.dev, VIRTIO_PCI_COMMON_Q_SELECT, 0);
    fz_cfg_writew(b.dev, VIRTIO_PCI_COMMON_Q_ENABLE, 0);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==,
                    status | VIRTIO_CONFIG_S_NEEDS_RESET);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_UNFREEZE);

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/* ---- S3: the wakeup reset keeps a frozen device --------------------- */

static void test_s3(const void *data)
{
    const char *machine = data;
    QVirtioMachine m;
    FzBlk frozen = { 0 }, plain = { 0 };
    uint64_t req, desc, avail, used;
    uint16_t used_idx;
    uint32_t gf, head;
    uint8_t status;

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,driver=null-co,"
                          "read-zeroes=on,"
                          "size=1M "
                          "-drive if=none,id=drv1,driver=null-co,"
                          "read-zeroes=on,"
                          "size=1M "
                          "-device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on "
                          "-device virtio-blk-pci,drive=drv1,addr=%d.0,"
                          "freeze_mode=on",
                          FZ_BLK_SLOT, FZ_BLK2_SLOT);
    fz_blk_init(&frozen, &m, FZ_BLK_SLOT, true);
    fz_blk_init(&plain, &m, FZ_BLK2_SLOT, true);

    /* Some traffic first, so that the ring indices are not zero */
    head = fz_blk_read(&frozen, 0, &req);
    fz_blk_wait_done(&frozen, head, req);
    head = fz_blk_read(&plain, 0, &req);
    fz_blk_wait_done(&plain, head, req);

    status = qvirtio_pci_common_status(frozen.dev);
    gf = fz_driver_features_hi(frozen.dev);
    used_idx = fz_used_idx(&frozen);
    fz_cfg_writew(frozen.dev, VIRTIO_PCI_COMMON_Q_SELECT, 0);
    desc = fz_cfg_readq(frozen.dev, VIRTIO_PCI_COMMON_Q_DESCLO);
    avail = fz_cfg_readq(frozen.dev, VIRTIO_PCI_COMMON_Q_AVAILLO);
    used = fz_cfg_readq(frozen.dev, VIRTIO_PCI_COMMON_Q_USEDLO);

    fz_expect_write(frozen.dev, FREEZE_S3, FREEZE_S3);
    qpci_save_header(frozen.dev->pdev, &frozen.pci);
    qpci_save_header(plain.dev->pdev, &plain.pci);

    qtest_pc_suspend_s3(m.qts, m.bus, m.machine);
    qtest_pc_wakeup(m.qts);
    qpci_restore_header(frozen.dev->pdev, &frozen.pci);
    qpci_restore_header(plain.dev->pdev, &plain.pci);

    /* The frozen device kept everything */
    g_assert_cmphex(qvirtio_freeze_read(frozen.dev), ==, FREEZE_S3);
    g_assert_cmphex(qvirtio_pci_common_status(frozen.dev), ==, status);
    g_assert_cmphex(fz_driver_features_hi(frozen.dev), ==, gf);
    fz_cfg_writew(frozen.dev, VIRTIO_PCI_COMMON_Q_SELECT, 0);
    g_assert_cmphex(fz_cfg_readq(frozen.dev, VIRTIO_PCI_COMMON_Q_DESCLO),
                    ==, desc);
    g_assert_cmphex(fz_cfg_readq(frozen.dev, VIRTIO_PCI_COMMON_Q_AVAILLO),
                    ==, avail);
    g_assert_cmphex(fz_cfg_readq(frozen.dev, VIRTIO_PCI_COMMON_Q_USEDLO),
                    ==, used);
    g_assert_cmpint(fz_cfg_readw(frozen.dev, VIRTIO_PCI_COMMON_Q_ENABLE),
                    ==, 1);

    /* The device that was not frozen was reset, as before */
    g_assert_cmphex(qvirtio_pci_common_status(plain.dev), ==, 0);
    g_assert_cmphex(qvirtio_freeze_read(plain.dev), ==, FREEZE_UNFREEZE);

    /* Unfreeze: no re-initialisation, the queue goes on where it was */
    fz_expect_write(frozen.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    head = fz_blk_read(&frozen, 1, &req);
    fz_blk_wait_done(&frozen, head, req);
    g_assert_cmpint(fz_used_idx(&frozen), ==, (uint16_t)(used_idx + 1));

    fz_blk_free(&frozen);
    plain.vq = NULL;    /* its rings went with the reset */
    fz_blk_free(&plain);
    qvirtio_machine_stop(&m);
}

static void test_system_reset(const void *data)
{
    const char *machine = data;
    QVirtioMachine m;
    FzBlk b = { 0 };

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,driver=null-co,"
                          "read-zeroes=on,"
                          "size=1M "
                          "-device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on",
                          FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    qpci_save_header(b.dev->pdev, &b.pci);

    qtest_qmp_assert_success(m.qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(m.qts, "RESET");
    qpci_restore_header(b.dev->pdev, &b.pci);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, 0);

    b.vq = NULL;
    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/* ---- migration of a frozen device, and of one mid-transition -------- */

/*
 * Start a destination for @src with the same virtio-blk on @file,
 * migrate, and move @b over: the source's allocator still describes
 * guest memory.
 */
static void fz_migrate_blk(FzBlk *b, QVirtioMachine *src, QVirtioMachine *dst,
                           const char *file)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/mig", qvirtio_tmp_dir());

    qvirtio_machine_start(dst, src->machine, NULL,
                          "-drive if=none,id=drv0,format=raw,file=%s "
                          "-device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on -incoming %s", file, FZ_BLK_SLOT,
                          uri);
    migrate_qmp(src->qts, dst->qts, uri, NULL, "{}");
    wait_for_migration_complete(src->qts);
    qvirtio_machine_wait_incoming(dst->qts);
    b->qts = dst->qts;
    b->dev->pdev->bus = dst->bus;
}

static void fz_migration_end(FzBlk *b, QVirtioMachine *src,
                             QVirtioMachine *dst)
{
    b->qts = src->qts;
    b->dev->pdev->bus = src->bus;
    fz_blk_free(b);
    qvirtio_machine_stop(dst);
    qvirtio_machine_stop(src);
}

/* Resize the disk of drive drv0 to @mib MiB */
static void fz_resize(FzBlk *b, int mib)
{
    qtest_qmp_assert_success(b->qts, "{'execute': 'block_resize', "
                             "'arguments': {'device': 'drv0', 'size': %d}}",
                             mib << 20);
}

static void test_migrate_frozen(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    QVirtioMachine src, dst;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head, gf;
    uint16_t used_idx;
    uint8_t status, gen;

    qvirtio_machine_start(&src, machine, NULL,
                          "-drive if=none,id=drv0,format=raw,file=%s "
                          "-device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on",
                          file, FZ_BLK_SLOT);
    fz_blk_init(&b, &src, FZ_BLK_SLOT, true);
    head = fz_blk_read(&b, 0, &req);
    fz_blk_wait_done(&b, head, req);
    /* A change while running: the generation is not the initial one */
    fz_resize(&b, 2);
    g_assert_cmphex(fz_isr(b.dev) & FZ_ISR_CONFIG, ==, FZ_ISR_CONFIG);
    gen = fz_generation(b.dev);

    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    status = qvirtio_pci_common_status(b.dev);
    gf = fz_driver_features_hi(b.dev);
    used_idx = fz_used_idx(&b);
    /* ... and one while frozen, to be notified after the migration */
    fz_resize(&b, 4);

    fz_migrate_blk(&b, &src, &dst, file);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, status);
    g_assert_cmphex(fz_driver_features_hi(b.dev), ==, gf);
    g_assert_cmpint(fz_used_idx(&b), ==, used_idx);
    g_assert_cmpuint(fz_generation(b.dev), ==, gen);
    g_assert_cmpint(qvirtio_config_readq(&b.dev->vdev, 0), ==,
                    2 * 1024 * 1024 / 512);

    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    g_assert_cmphex(fz_isr(b.dev) & FZ_ISR_CONFIG, ==, FZ_ISR_CONFIG);
    g_assert_cmpuint(fz_generation(b.dev), !=, gen);
    g_assert_cmpint(qvirtio_config_readq(&b.dev->vdev, 0), ==,
                    4 * 1024 * 1024 / 512);
    head = fz_blk_read(&b, 1, &req);
    fz_blk_wait_done(&b, head, req);

    fz_migration_end(&b, &src, &dst);
}

/*
 * Migration in the middle of a transition.  Block requests do not stay
 * in flight across migration, which drains them, except the ones that
 * failed with rerror=stop: the VM stops and the device keeps them to
 * retry when it runs again, on the destination.  blkdebug fails the
 * first read of sector 1 (sector 0 is read at startup, for the geometry).
 */
static void test_migrate_busy(const void *data)
{
    const char *machine = data;
    const char *file = qvirtio_drive_file();
    g_autofree char *held = qvirtio_held_drive(file, 1);
    g_autofree char *st = NULL;
    QVirtioMachine src, dst;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head;
    uint8_t status;

    qvirtio_machine_start(&src, machine, NULL,
                          "%s -device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on", held, FZ_BLK_SLOT);
    fz_blk_init_msix(&b, &src, FZ_BLK_SLOT);

    head = fz_blk_read(&b, 1, &req);
    qtest_qmp_eventwait(src.qts, "STOP");
    st = qvirtio_run_state(src.qts);
    g_assert_cmpstr(st, ==, "io-error");

    /* The failed request is still in flight: the freeze waits for it */
    qvirtio_freeze_write(b.dev, FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3 | FREEZE_BUSY);
    status = qvirtio_pci_common_status(b.dev);
    g_assert_false(fz_queue_notified(&b));
    g_assert_false(fz_config_notified(&b));

    fz_migrate_blk(&b, &src, &dst, file);
    g_free(st);
    st = qvirtio_run_state(dst.qts);
    g_assert_cmpstr(st, !=, "running");
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3 | FREEZE_BUSY);
    g_assert_cmpint(fz_used_idx(&b), ==, b.vq->last_used_idx);

    /* Running again, the destination retries the read: the freeze ends */
    qtest_qmp_assert_success(dst.qts, "{'execute': 'cont'}");
    fz_wait_not_busy(b.dev);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3);
    g_assert_true(fz_queue_notified(&b));
    g_assert_true(fz_config_notified(&b));
    fz_blk_check_done(&b, head, req);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, status);

    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    head = fz_blk_read(&b, 2, &req);
    fz_blk_wait_done(&b, head, req);

    fz_migration_end(&b, &src, &dst);
}

/*
 * Hot-unplug (ACPI, pc) of a device that is frozen, frozen across S3, or
 * in the middle of a freeze with a request in flight (kept by
 * rerror=stop): no crash, and the machine goes on without it.
 */
static void fz_unplug_test(bool s3, bool busy)
{
    const char *file = qvirtio_drive_file();
    g_autofree char *held = qvirtio_held_drive(file, 1);
    g_autofree char *st = NULL;
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t req;

    qvirtio_machine_start(&m, "pc", NULL,
                          "%s -device virtio-blk-pci,id=blk0,drive=drv0,"
                          "addr=%d.0,freeze_mode=on", held, FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);

    if (busy) {
        fz_blk_read(&b, 1, &req);
        qtest_qmp_eventwait(m.qts, "STOP");
        qvirtio_freeze_write(b.dev, FREEZE_S3);
        g_assert_cmphex(qvirtio_freeze_read(b.dev), ==,
                        FREEZE_S3 | FREEZE_BUSY);
    } else {
        fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    }
    if (s3) {
        qtest_pc_s3_cycle(m.qts, m.bus, "pc", b.dev->pdev);
        g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3);
    }

    qpci_unplug_acpi_device_test(m.qts, "blk0", FZ_BLK_SLOT);

    /* The machine answers and runs on without the device */
    if (busy) {
        qtest_qmp_assert_success(m.qts, "{'execute': 'cont'}");
    }
    st = qvirtio_run_state(m.qts);
    g_assert_cmpstr(st, ==, "running");
    g_assert_cmphex(qpci_config_readw(b.dev->pdev, PCI_VENDOR_ID), ==, 0xffff);

    g_free(b.dev);
    qvirtio_machine_stop(&m);
}

static void test_unplug_frozen(const void *data)
{
    fz_unplug_test(false, false);
}

static void test_unplug_frozen_s3(const void *data)
{
    fz_unplug_test(true, false);
}

static void test_unplug_busy(const void *data)
{
    fz_unplug_test(false, true);
}

/*
 * A frozen device that its backend answers late: virtio-rng asked its
 * EGD backend for entropy, the driver froze it (nothing is in flight,
 * the request to the backend is not a buffer), then the entropy comes.
 * The device takes no buffer and raises no interrupt; after unfreeze it
 * asks again and fills the buffer.
 */
static void test_rng_late_entropy(const void *data)
{
    g_autofree char *path = g_strdup_printf("%s/egd.sock",
                                            qvirtio_tmp_dir());
    static const uint8_t entropy[16] = { 0x5a };
    uint8_t hdr[2];
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t addr;
    uint32_t head, len;
    int lfd, fd;

    lfd = qtest_socket_server(path);
    qvirtio_machine_start(&m, "pc", NULL, "-chardev socket,id=egd,path=%s "
                          "-object rng-egd,id=rng0,chardev=egd "
                          "-device virtio-rng-pci,rng=rng0,addr=%d.0,"
                          "freeze_mode=on", path, FZ_BLK_SLOT);
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);

    addr = guest_alloc(&m.alloc, sizeof(entropy));
    head = qvirtqueue_add(m.qts, b.vq, addr, sizeof(entropy), true, false);
    qvirtqueue_kick(m.qts, &b.dev->vdev, b.vq, head);
    /* EGD "get entropy, blocking": 0x02, length */
    g_assert_cmpint(read(fd, hdr, 2), ==, 2);
    g_assert_cmphex(hdr[0], ==, 0x02);
    g_assert_cmpint(hdr[1], ==, sizeof(entropy));

    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    g_assert_cmphex(fz_isr(b.dev), ==, 0);
    g_assert_cmpint(write(fd, entropy, sizeof(entropy)), ==, sizeof(entropy));
    /* One main loop iteration takes both the entropy and this command */
    qtest_qmp_assert_success(m.qts, "{'execute': 'query-status'}");
    g_assert_cmphex(fz_isr(b.dev), ==, 0);
    g_assert_cmpint(fz_used_idx(&b), ==, 0);

    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    g_assert_cmpint(read(fd, hdr, 2), ==, 2);
    g_assert_cmpint(hdr[1], ==, sizeof(entropy));
    g_assert_cmpint(write(fd, entropy, sizeof(entropy)), ==, sizeof(entropy));
    qvirtio_wait_used_elem(m.qts, &b.dev->vdev, b.vq, head, &len,
                           FZ_TIMEOUT_US);
    g_assert_cmpint(len, ==, sizeof(entropy));
    g_assert_cmphex(qtest_readb(m.qts, addr), ==, 0x5a);

    close(fd);
    close(lfd);
    guest_free(&m.alloc, addr);
    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * A virtio-balloon with its statistics queue, to which the driver gave
 * its first statistics buffer: the device keeps it until it wants
 * statistics.  Returns the buffer's address.
 */
static uint64_t fz_balloon_stats_start(QVirtioMachine *m, FzBlk *b)
{
    struct virtio_balloon_stat stat = {
        .tag = cpu_to_le16(VIRTIO_BALLOON_S_MEMFREE),
        .val = cpu_to_le64(4096),
    };
    QVirtioDevice *vdev;
    uint64_t addr;
    uint32_t head;

    qvirtio_machine_start(m, "pc", NULL,
                          "-device virtio-balloon-pci,id=balloon0,"
                          "addr=%d.0,freeze_mode=on", FZ_BLK_SLOT);
    fz_blk_find(b, m, FZ_BLK_SLOT);
    vdev = &b->dev->vdev;
    qvirtio_start_device(vdev);
    g_assert(qvirtio_get_features(vdev) & (1ull << VIRTIO_BALLOON_F_STATS_VQ));
    qvirtio_set_features(vdev, (1ull << VIRTIO_F_VERSION_1) |
                               (1ull << VIRTIO_F_FREEZE_MODE) |
                               (1ull << VIRTIO_BALLOON_F_STATS_VQ));
    b->vq = qvirtqueue_setup(vdev, &m->alloc, 2);
    qvirtio_set_driver_ok(vdev);

    addr = guest_alloc(&m->alloc, sizeof(stat));
    qtest_memwrite(m->qts, addr, &stat, sizeof(stat));
    head = qvirtqueue_add(m->qts, b->vq, addr, sizeof(stat), false, false);
    qvirtqueue_kick(m->qts, vdev, b->vq, head);
    g_assert_cmpint(fz_used_idx(b), ==, 0);
    return addr;
}

/* Ask for statistics every second, and let two seconds pass */
static void fz_balloon_stats_poll(QVirtioMachine *m)
{
    qtest_qmp_assert_success(m->qts, "{'execute': 'qom-set', 'arguments':"
                             " {'path': '/machine/peripheral/balloon0',"
                             "  'property': 'guest-stats-polling-interval',"
                             "  'value': 1}}");
    qtest_clock_step(m->qts, 2 * NANOSECONDS_PER_SECOND);
}

/*
 * virtio-balloon keeps the statistics buffer until it wants statistics.
 * FREEZE_S3 does not wait for it: the device gives it back unused and
 * takes it again on unfreeze, and the next stats poll returns it.
 */
static void test_balloon_stats(const void *data)
{
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t addr = fz_balloon_stats_start(&m, &b);
    uint32_t head;

    /* Freezing does not wait for it, and does not use it */
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    g_assert_cmpint(fz_used_idx(&b), ==, 0);
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);

    /* After unfreeze the device holds it again and returns it on a poll */
    fz_balloon_stats_poll(&m);
    g_assert_cmpint(fz_used_idx(&b), ==, 1);
    g_assert(qvirtqueue_get_buf(m.qts, b.vq, &head, NULL));

    guest_free(&m.alloc, addr);
    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * A refused FREEZE_S3 leaves the device as it was: the balloon keeps the
 * driver's statistics buffer (and returns it on the next poll), though
 * freezing would have given it back to the ring.
 */
static void test_balloon_refuse(const void *data)
{
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t addr = fz_balloon_stats_start(&m, &b);
    uint16_t avail;

    /* Refused: the driver corrupted the ring; restored afterwards */
    avail = qtest_readw(m.qts, b.vq->avail + 2);
    qvirtqueue_corrupt_avail(m.qts, b.vq);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_UNFREEZE);
    qtest_writew(m.qts, b.vq->avail + 2, avail);

    /* The device still holds the buffer: a poll returns it */
    fz_balloon_stats_poll(&m);
    g_assert_cmpint(fz_used_idx(&b), ==, 1);

    guest_free(&m.alloc, addr);
    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * UNFREEZE while bus mastering is off (the guest's PCI core turned it off
 * for suspend and the driver resumes before it is on again): the kicks
 * latched while frozen are served once bus mastering is back, with the
 * notification path working.
 */
static void test_unfreeze_bus_master_off(const void *data)
{
    const char *machine = data;
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head;
    uint16_t cmd;
    int i;

    qvirtio_machine_start(&m, machine, NULL,
                          "-drive if=none,id=drv0,driver=null-co,"
                          "read-zeroes=on,"
                          "size=1M -device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on", FZ_BLK_SLOT);
    fz_blk_init_msix(&b, &m, FZ_BLK_SLOT);
    cmd = qpci_config_readw(b.dev->pdev, PCI_COMMAND);
    head = fz_blk_read(&b, 0, &req);
    fz_blk_wait_done(&b, head, req);
    fz_queue_notified(&b);

    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    head = fz_blk_read(&b, 1, &req);
    qpci_config_writew(b.dev->pdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);
    for (i = 0; i < 10; i++) {
        qtest_clock_step(m.qts, 1000);
    }
    /* Without bus mastering the device cannot serve it yet */
    g_assert_cmpint(fz_used_idx(&b), ==, b.vq->last_used_idx);

    qpci_config_writew(b.dev->pdev, PCI_COMMAND, cmd);
    fz_blk_wait_done(&b, head, req);
    g_assert_true(fz_queue_notified(&b));
    g_assert(qvirtio_pci_common_status(b.dev) & VIRTIO_CONFIG_S_DRIVER_OK);

    /* And the next request goes through the usual notification path */
    head = fz_blk_read(&b, 2, &req);
    fz_blk_wait_done(&b, head, req);
    g_assert_true(fz_queue_notified(&b));

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * A freeze that waits for a request the device then cannot use: it can no
 * longer say that it completed every request it took, so the freeze ends
 * where it began, without BUSY, and the driver that read BUSY is notified
 * (INTx: no bus mastering needed).  It takes its reset path.  The request
 * is held by rerror=stop until the VM runs again.  The causes:
 * - @bus_master_off: bus mastering turned off; the request completes, but
 *   the device cannot write it to its used ring and drops the completion,
 *   as a device without bus mastering does;
 * - else the device breaks: the driver overwrote the request's type
 *   meanwhile, and the header is too short for a discard (virtio_error():
 *   DEVICE_NEEDS_RESET, and a freeze is ignored while it is set).
 */
static void fz_busy_request_lost(const char *machine, bool bus_master_off)
{
    const char *file = qvirtio_drive_file();
    g_autofree char *held = qvirtio_held_drive(file, 1);
    QVirtioMachine m;
    FzBlk b = { 0 };
    uint64_t req;
    uint32_t head;
    uint16_t cmd;
    uint8_t status;

    qvirtio_machine_start(&m, machine, NULL,
                          "%s -device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on", held, FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    status = qvirtio_pci_common_status(b.dev);
    cmd = qpci_config_readw(b.dev->pdev, PCI_COMMAND);
    head = fz_blk_read(&b, 1, &req);
    qtest_qmp_eventwait(m.qts, "STOP");
    qvirtio_freeze_write(b.dev, FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_S3 | FREEZE_BUSY);
    fz_isr(b.dev);

    if (bus_master_off) {
        qpci_config_writew(b.dev->pdev, PCI_COMMAND,
                           cmd & ~PCI_COMMAND_MASTER);
    } else {
        qtest_writel(m.qts, req, VIRTIO_BLK_T_DISCARD);
    }
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==, status);
    /* Running again, the device retries the read: it cannot complete it */
    qtest_qmp_assert_success(m.qts, "{'execute': 'cont'}");
    fz_wait_not_busy(b.dev);
    g_assert_cmphex(qvirtio_freeze_read(b.dev), ==, FREEZE_UNFREEZE);
    g_assert_cmphex(fz_isr(b.dev) & FZ_ISR_CONFIG, ==, FZ_ISR_CONFIG);
    g_assert_cmpint(fz_used_idx(&b), ==, b.vq->last_used_idx);
    g_assert_cmphex(qvirtio_pci_common_status(b.dev), ==,
                    status | (bus_master_off ? 0 :
                              VIRTIO_CONFIG_S_NEEDS_RESET));
    if (!bus_master_off) {
        fz_expect_write(b.dev, FREEZE_S3, FREEZE_UNFREEZE);
    }

    /* The reset path: the device works again */
    qpci_config_writew(b.dev->pdev, PCI_COMMAND, cmd);
    fz_blk_reinit(&b, &m);
    head = fz_blk_read(&b, 2, &req);
    fz_blk_wait_done(&b, head, req);
    fz_expect_write(b.dev, FREEZE_S3, FREEZE_S3);
    fz_expect_write(b.dev, FREEZE_UNFREEZE, FREEZE_UNFREEZE);

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

static void test_busy_bus_master_off(const void *data)
{
    fz_busy_request_lost(data, true);
}

static void test_busy_broken(const void *data)
{
    fz_busy_request_lost(data, false);
}

/* ---- benchmark (GLib perf mode: -m perf) ---------------------------- */

typedef struct FzSample {
    int polls;
    double us;
} FzSample;

static int fz_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* One transition: write @mode, poll until acknowledged. */
static FzSample fz_time_transition(QVirtioPCIDevice *d, bool stop)
{
    uint16_t mode = stop ? FREEZE_S3 : FREEZE_UNFREEZE;
    gint64 start = g_get_monotonic_time();
    FzSample r;

    qvirtio_freeze_write(d, mode);
    r.polls = 1;
    while (qvirtio_freeze_read(d) != mode) {
        r.polls++;
    }
    r.us = g_get_monotonic_time() - start;
    return r;
}

/*
 * The same with VIRTIO_F_SUSPEND: set SUSPEND, poll device status until
 * it presents SUSPEND without DRIVER_OK; set DRIVER_OK, poll until it
 * presents DRIVER_OK without SUSPEND.
 */
static FzSample fz_time_suspend(QVirtioPCIDevice *d, bool stop)
{
    const uint8_t mask = VIRTIO_CONFIG_S_SUSPEND | VIRTIO_CONFIG_S_DRIVER_OK;
    uint8_t want = stop ? VIRTIO_CONFIG_S_SUSPEND : VIRTIO_CONFIG_S_DRIVER_OK;
    uint8_t status = qvirtio_pci_common_status(d);
    gint64 start = g_get_monotonic_time();
    FzSample r;

    qpci_io_writeb(d->pdev, d->bar,
                   d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS,
                   status | (stop ? VIRTIO_CONFIG_S_SUSPEND
                                  : VIRTIO_CONFIG_S_DRIVER_OK));
    r.polls = 1;
    while ((qvirtio_pci_common_status(d) & mask) != want) {
        r.polls++;
    }
    r.us = g_get_monotonic_time() - start;
    return r;
}

static void fz_report(const char *what, int inflight, FzSample *v, int n)
{
    g_autofree double *us = g_new(double, n);
    double polls = 0;
    int i, max_polls = 0;

    for (i = 0; i < n; i++) {
        us[i] = v[i].us;
        polls += v[i].polls;
        max_polls = MAX(max_polls, v[i].polls);
    }
    qsort(us, n, sizeof(*us), fz_cmp_double);
    g_test_message("freeze-bench: %-9s %2d in flight: polls mean %.1f max %d,"
                   " host time median %.1f us, p90 %.1f us (%d runs)",
                   what, inflight, polls / n, max_polls, us[n / 2],
                   us[n * 9 / 10], n);
    g_test_minimized_result(us[n / 2], "%s with %d requests in flight: "
                            "%.1f us", what, inflight, us[n / 2]);
}

/*
 * @runs stop/run round trips through @time with 0, 1, 8 and 32 reads in
 * flight at the backend, which has 1 ms latency.
 */
static void fz_bench_runs(FzBlk *b, FzSample (*time)(QVirtioPCIDevice *,
                                                      bool),
                          const char *stop, const char *run)
{
    static const int inflight[] = { 0, 1, 8, 32 };
    const int runs = 50;
    int i, j, k;

    for (i = 0; i < ARRAY_SIZE(inflight); i++) {
        g_autofree FzSample *st = g_new(FzSample, runs);
        g_autofree FzSample *ru = g_new(FzSample, runs);

        for (j = 0; j < runs; j++) {
            uint64_t req[32];
            uint32_t head[32];

            for (k = 0; k < inflight[i]; k++) {
                head[k] = fz_blk_read(b, k, &req[k]);
            }
            st[j] = time(b->dev, true);
            ru[j] = time(b->dev, false);
            /* Acknowledged: every request completed before */
            for (k = 0; k < inflight[i]; k++) {
                g_assert(qvirtqueue_get_buf(b->qts, b->vq, &head[k], NULL));
            }
            for (k = 0; k < inflight[i]; k++) {
                guest_free(b->alloc, req[k]);
            }
            /* libqos hands out descriptors linearly: start over */
            b->vq->free_head = 0;
            b->vq->num_free = b->vq->size;
            fz_isr(b->dev);
        }
        fz_report(stop, inflight[i], st, runs);
        fz_report(run, inflight[i], ru, runs);
    }
}

/*
 * The handshake cost: MMIO polls and host time from the write to the
 * acknowledged read, for FREEZE_S3 and UNFREEZE, and for virtio 1.4's
 * SUSPEND and its resume on the same device, measured the same way.
 */
static void bench_handshake(const void *data)
{
    QVirtioMachine m;
    FzBlk b = { 0 };

    qvirtio_machine_start(&m, "pc", NULL,
                          "-drive if=none,id=drv0,driver=null-aio,"
                          "read-zeroes=on,"
                          "size=1048576,latency-ns=1000000 "
                          "-device virtio-blk-pci,drive=drv0,addr=%d.0,"
                          "freeze_mode=on,suspend=on,"
                          "queue-size=256", FZ_BLK_SLOT);
    fz_blk_init(&b, &m, FZ_BLK_SLOT, true);
    fz_bench_runs(&b, fz_time_transition, "FREEZE_S3", "UNFREEZE");

    qvirtqueue_cleanup(b.dev->vdev.bus, b.vq, b.alloc);
    g_assert(qvirtio_freeze_negotiate(b.dev, 1ull << VIRTIO_F_SUSPEND) &
             (1ull << VIRTIO_F_SUSPEND));
    b.vq = qvirtqueue_setup(&b.dev->vdev, b.alloc, 0);
    qvirtio_set_driver_ok(&b.dev->vdev);
    fz_bench_runs(&b, fz_time_suspend, "SUSPEND", "RESUME");

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
}

/*
 * The data path with freeze_mode compiled in: virtio-blk reads or
 * virtio-net transmitted packets, one at a time, for an instruction
 * count of QEMU under callgrind (scripts/bench-datapath.sh).  The same
 * workload runs against an unpatched QEMU, so it uses nothing of
 * freeze_mode unless QTEST_FREEZE_BENCH_ON is set (freeze_mode=on,
 * negotiated, never frozen).
 */
static void bench_datapath(const void *data)
{
    const char *dev = data;
    bool on = g_getenv("QTEST_FREEZE_BENCH_ON");
    const char *env_n = g_getenv("QTEST_FREEZE_BENCH_REQUESTS");
    int n = env_n ? atoi(env_n) : 1000;
    QVirtioMachine m;
    FzBlk b = { 0 };
    int i, sv[2] = { -1, -1 };

    if (g_str_equal(dev, "blk")) {
        qvirtio_machine_start(&m, "pc", NULL,
                              "-drive if=none,id=drv0,driver=null-co,"
                              "read-zeroes=on,size=1M -device virtio-blk-pci,"
                              "drive=drv0,addr=%d.0%s", FZ_BLK_SLOT,
                              on ? ",freeze_mode=on" : "");
    } else {
        g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
        qvirtio_machine_start(&m, "pc", NULL,
                              "-netdev socket,fd=%d,id=n0 -device "
                              "virtio-net-pci,"
                              "netdev=n0,addr=%d.0%s", sv[1], FZ_BLK_SLOT,
                              on ? ",freeze_mode=on" : "");
    }
    /* virtio-net: queue 1 is the transmit queue */
    fz_blk_find(&b, &m, FZ_BLK_SLOT);
    fz_negotiate(b.dev, on);
    if (sv[0] >= 0) {
        QVirtQueue *rx = qvirtqueue_setup(&b.dev->vdev, &m.alloc, 0);

        b.vq = qvirtqueue_setup(&b.dev->vdev, &m.alloc, 1);
        qvirtio_set_driver_ok(&b.dev->vdev);
        qvirtqueue_cleanup(b.dev->vdev.bus, rx, b.alloc);
    } else {
        b.vq = qvirtqueue_setup(&b.dev->vdev, &m.alloc, 0);
        qvirtio_set_driver_ok(&b.dev->vdev);
    }

    for (i = 0; i < n; i++) {
        uint64_t req;
        uint32_t head;

        if (sv[0] < 0) {
            head = fz_blk_read(&b, i % 64, &req);
            fz_blk_wait_done(&b, head, req);
        } else {
            uint32_t len;
            char frame[64];

            req = guest_alloc(b.alloc, 64);
            qtest_memset(m.qts, req, 0, 12 + 16);
            head = qvirtqueue_add(m.qts, b.vq, req, 12 + 16, false, false);
            qvirtqueue_kick(m.qts, &b.dev->vdev, b.vq, head);
            g_assert_cmpint(recv(sv[0], &len, sizeof(len), MSG_WAITALL), ==,
                            sizeof(len));
            g_assert_cmpint(recv(sv[0], frame, ntohl(len), MSG_WAITALL), ==,
                            ntohl(len));
            while (!qvirtqueue_get_buf(m.qts, b.vq, NULL, NULL)) {
                qtest_clock_step(m.qts, 100);
            }
            guest_free(b.alloc, req);
        }
        /* libqos hands out descriptors linearly: start over */
        b.vq->free_head = 0;
        b.vq->num_free = b.vq->size;
    }
    g_test_message("datapath-bench: %s, %d requests, freeze_mode %s", dev, n,
                   on ? "on" : "off");

    fz_blk_free(&b);
    qvirtio_machine_stop(&m);
    if (sv[0] >= 0) {
        close(sv[0]);
    }
}

/* ---- freeze_mode and virtio 1.4's SUSPEND -------------------------- */

/*
 * freeze_mode and SUSPEND exclude each other: the device ignores a write
 * of FREEZE_S3 while SUSPEND is set, and a write to device_status which
 * sets SUSPEND while freeze_mode reads other than UNFREEZE.
 */
static void test_suspend_excluded(const void *data)
{
    const char *machine = data;
    const uint64_t features = (1ull << VIRTIO_F_SUSPEND) |
                              (1ull << VIRTIO_F_FREEZE_MODE);
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    uint64_t req;
    uint32_t head;
    uint8_t st;

    qvirtio_machine_start(&m, machine, "virtio-blk-pci,id=blk0,drive=drv0,"
                          "suspend=on,freeze_mode=on", "-drive if=none,"
                          "id=drv0,driver=null-co,read-zeroes=on,size=1M");
    d = m.pci;
    qvirtio_negotiate(&d->vdev, features, 0);
    vq = qvirtqueue_setup(&d->vdev, &m.alloc, 0);
    qvirtio_set_driver_ok(&d->vdev);
    st = qvirtio_pci_common_status(d);

    qvirtio_pci_suspend(d, true);
    qvirtio_freeze_write(d, FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, FREEZE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==,
                    (st & ~VIRTIO_CONFIG_S_DRIVER_OK) |
                    VIRTIO_CONFIG_S_SUSPEND);
    qvirtio_pci_suspend(d, false);

    g_assert_cmphex(qvirtio_freeze_set(d, FREEZE_S3), ==, FREEZE_S3);
    qvirtio_pci_common_set_status(d, st | VIRTIO_CONFIG_S_SUSPEND);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, st);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_set(d, FREEZE_UNFREEZE), ==,
                    FREEZE_UNFREEZE);

    head = qvirtio_blk_req_read(m.qts, &m.alloc, &d->vdev, vq, 0, &req);
    qvirtio_blk_req_wait_done(m.qts, &m.alloc, vq, head, req);
    qvirtqueue_cleanup(d->vdev.bus, vq, &m.alloc);
    qvirtio_reset(&d->vdev);
    qvirtio_machine_stop(&m);
}

/* ---- registration --------------------------------------------------- */

static void *fz_blk_setup(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -drive if=none,id=drive0,driver=null-co,"
                    "read-zeroes=on,size=1M "
                    "-drive if=none,id=drive1,driver=null-co,read-zeroes=on ");
    return arg;
}

static void *fz_net_setup(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -netdev hubport,id=hs0,hubid=0 ");
    return arg;
}

static void fz_register_on(const char *iface, QOSBeforeTest before)
{
    QOSGraphTestOptions on = {
        .edge.extra_device_opts = "freeze_mode=on",
        .before = before,
    };
    QOSGraphTestOptions off = {
        .before = before,
    };
    static const struct {
        const char *name;
        QOSTestFunc fn;
    } tests[] = {
        { "layout", test_layout },
        { "feature-offered", test_feature_offered },
        { "not-negotiated", test_not_negotiated },
        { "reserved", test_reserved },
        { "round-trip", test_round_trip },
        { "driver-reset", test_driver_reset },
        { "bus-master", test_bus_master },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(tests); i++) {
        g_autofree char *name = g_strdup_printf("freeze-mode/%s",
                                                tests[i].name);

        qos_add_test(name, iface, tests[i].fn, &on);
    }
    qos_add_test("freeze-mode/off", iface, test_feature_off, &off);
}

static void register_freeze_tests(void)
{
    static const char *const machines[] = { "pc", "q35" };
    static const struct {
        const char *name;
        GTestDataFunc fn;
    } tests[] = {
        { "async", test_async_freeze },
        { "frozen-kick", test_frozen_kick },
        { "frozen-config", test_frozen_config },
        { "frozen-no-read", test_frozen_no_read },
        { "refuse", test_refuse },
        { "s3", test_s3 },
        { "system-reset", test_system_reset },
        { "migrate-frozen", test_migrate_frozen },
        { "migrate-busy", test_migrate_busy },
        { "unfreeze-bus-master-off", test_unfreeze_bus_master_off },
        { "busy-bus-master-off", test_busy_bus_master_off },
        { "busy-broken", test_busy_broken },
        { "suspend-excluded", test_suspend_excluded },
    };
    int i, j;

    if (g_test_perf()) {
        if (qtest_has_machine("pc") && qtest_has_device("virtio-blk-pci")) {
            qtest_add_data_func("virtio-freeze/bench/handshake", NULL,
                                bench_handshake);
            qtest_add_data_func("virtio-freeze/bench/datapath/blk", "blk",
                                bench_datapath);
            qtest_add_data_func("virtio-freeze/bench/datapath/net", "net",
                                bench_datapath);
        }
        return;
    }

    fz_register_on("virtio-blk", fz_blk_setup);
    fz_register_on("virtio-net", fz_net_setup);
    fz_register_on("virtio-rng", NULL);

    if (qtest_has_machine("pc") && qtest_has_device("virtio-balloon-pci")) {
        qtest_add_data_func("virtio-freeze/balloon/pc/stats", NULL,
                            test_balloon_stats);
        qtest_add_data_func("virtio-freeze/balloon/pc/refuse", NULL,
                            test_balloon_refuse);
    }
    if (qtest_has_machine("pc") && qtest_has_device("virtio-rng-pci")) {
        qtest_add_data_func("virtio-freeze/rng/pc/late-entropy", NULL,
                            test_rng_late_entropy);
    }
    if (!qtest_has_device("virtio-blk-pci")) {
        return;
    }
    if (qtest_has_machine("pc")) {
        qtest_add_data_func("virtio-freeze/blk/pc/unplug-frozen", NULL,
                            test_unplug_frozen);
        qtest_add_data_func("virtio-freeze/blk/pc/unplug-frozen-s3", NULL,
                            test_unplug_frozen_s3);
        qtest_add_data_func("virtio-freeze/blk/pc/unplug-busy", NULL,
                            test_unplug_busy);
    }
    for (i = 0; i < ARRAY_SIZE(machines); i++) {
        if (!qtest_has_machine(machines[i])) {
            continue;
        }
        for (j = 0; j < ARRAY_SIZE(tests); j++) {
            g_autofree char *path =
                g_strdup_printf("virtio-freeze/blk/%s/%s",
                                machines[i], tests[j].name);

            qtest_add_data_func(path, machines[i], tests[j].fn);
        }
    }
}

libqos_init(register_freeze_tests);
