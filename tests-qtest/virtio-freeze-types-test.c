/*
 * QTest cases for virtio freeze_mode, device type by device type
 *
 * Support for VIRTIO_F_FREEZE_MODE is opt-in per device type.  For each
 * type that claims it, the device is frozen while its back-end is
 * active, and a snapshot of all guest RAM before and after proves that
 * not one byte changed (rings, notification suppression fields, buffers,
 * MSI-X messages) until the driver unfreezes it; then everything that was
 * latched is delivered.  Every other virtio-pci type, and a supported
 * type in a configuration that cannot keep the contract, must fail at
 * realize.  Also here: the rules that PROTOCOL revision 2 added to the
 * register protocol (DRIVER_OK, status, device configuration and legacy
 * writes), No_Soft_Reset behind a PCIe root port, and the S3 wakeup on
 * q35 and of the VGA core of a frozen virtio-vga.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/iov.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_balloon.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_net.h"
#include "standard-headers/linux/virtio_ring.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "libqos/virtio-freeze.h"
#include "libqos/virtio-gpu.h"
#include "libqos/pc-s3.h"

#define FT_RAM                  (64 * MiB)
#define FT_SLOT                 4
#define FT_NET_HDR              sizeof(struct virtio_net_hdr_v1)
#define FT_BUF                  2048
#define FT_BACKEND_SETTLE_MS    200

typedef struct FtMachine {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    const char *machine;
} FtMachine;

/*
 * The front end the per-type cases stop the device through: freeze_mode
 * (FREEZE_S3 / UNFREEZE), or with ft_suspend virtio 1.4's SUSPEND bit of
 * device status (set SUSPEND / set DRIVER_OK), which runs on the same
 * state machine and must keep the same rules, type by type.
 */
static bool ft_suspend;

typedef struct FtSuspendCase {
    GTestDataFunc fn;
    const void *data;
} FtSuspendCase;

static void test_suspend(const void *data)
{
    const FtSuspendCase *c = data;

    ft_suspend = true;
    c->fn(c->data);
    ft_suspend = false;
}

/* Register @fn(@data) as @path, and through SUSPEND as @path/suspend */
static void ft_add(const char *path, const void *data, GTestDataFunc fn)
{
    g_autofree char *sp = g_strdup_printf("%s/suspend", path);
    FtSuspendCase *c = g_new(FtSuspendCase, 1);

    c->fn = fn;
    c->data = data;
    qtest_add_data_func(path, data, fn);
    qtest_add_data_func(sp, c, test_suspend);
}

static void G_GNUC_PRINTF(3, 4)
ft_start(FtMachine *m, const char *machine, const char *fmt, ...)
{
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (ft_suspend) {
        /* The device offers VIRTIO_F_SUSPEND too */
        g_auto(GStrv) parts = g_strsplit(args, "freeze_mode=on", -1);

        g_assert_cmpint(g_strv_length(parts), ==, 2);
        g_free(args);
        args = g_strjoinv("freeze_mode=on,suspend=on", parts);
    }

    m->machine = machine;
    m->qts = qtest_initf("-M %s -m %u %s", machine,
                         (unsigned)(FT_RAM / MiB), args);
    pc_alloc_init(&m->alloc, m->qts, ALLOC_NO_FLAGS);
    m->bus = qpci_new_pc(m->qts, &m->alloc);
}

static void ft_stop(FtMachine *m)
{
    qpci_free_pc(m->bus);
    alloc_destroy(&m->alloc);
    qtest_quit(m->qts);
}

static QVirtioPCIDevice *ft_device(FtMachine *m, int devfn)
{
    QPCIAddress addr = { .devfn = devfn };
    QVirtioPCIDevice *d = virtio_pci_new(m->bus, &addr);

    g_assert_nonnull(d);
    qvirtio_pci_device_enable(d);
    return d;
}

/*
 * MSI-X, after feature negotiation (which resets the device): the
 * configuration vector is entry 0, queue n's is entry n + 1 (ft_queue)
 */
static void ft_msix(FtMachine *m, QVirtioPCIDevice *d)
{
    qpci_msix_enable(d->pdev);
    qvirtio_pci_set_msix_configuration_vector(d, &m->alloc, 0);
}

static QVirtQueue *ft_queue(FtMachine *m, QVirtioPCIDevice *d, int n)
{
    QVirtQueue *vq = qvirtqueue_setup(&d->vdev, &m->alloc, n);

    if (d->pdev->msix_enabled) {
        qvirtqueue_pci_msix_setup(d, (QVirtQueuePCI *)vq, &m->alloc, n + 1);
    }
    return vq;
}

/*
 * Feature negotiation up to FEATURES_OK: VERSION_1, FREEZE_MODE, those
 * of @extra the device offers and, through SUSPEND, VIRTIO_F_SUSPEND
 */
static uint64_t ft_negotiate(QVirtioPCIDevice *d, uint64_t extra)
{
    uint64_t sp = ft_suspend ? 1ull << VIRTIO_F_SUSPEND : 0;
    uint64_t f = qvirtio_freeze_negotiate(d, extra | sp);

    g_assert_cmphex(f & sp, ==, sp);
    return f;
}

/* device_status as the driver writes it */
static void ft_write_status(QVirtioPCIDevice *d, uint8_t status)
{
    qpci_io_writeb(d->pdev, d->bar,
                   d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS, status);
}

/* Stop (FREEZE_S3) or run again (UNFREEZE), and the device acknowledges */
static void ft_set(QVirtioPCIDevice *d, uint16_t mode)
{
    const uint8_t mask = VIRTIO_CONFIG_S_SUSPEND | VIRTIO_CONFIG_S_DRIVER_OK;
    bool stop = mode != VIRTIO_PCI_FREEZE_MODE_UNFREEZE;
    uint8_t want = stop ? VIRTIO_CONFIG_S_SUSPEND : VIRTIO_CONFIG_S_DRIVER_OK;
    gint64 start = g_get_monotonic_time();

    if (!ft_suspend) {
        g_assert_cmphex(qvirtio_freeze_set(d, mode), ==, mode);
        return;
    }
    ft_write_status(d, qvirtio_freeze_status(d) |
                    (stop ? VIRTIO_CONFIG_S_SUSPEND : VIRTIO_CONFIG_S_DRIVER_OK));
    while ((qvirtio_freeze_status(d) & mask) != want) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_FREEZE_TIMEOUT_US);
        g_usleep(100);
    }
}

/*
 * Stopped, the device presents what it presented when it stopped
 * (@status, read while it ran): through freeze_mode, FREEZE_S3 and the
 * same device status; through SUSPEND, SUSPEND without DRIVER_OK, and
 * freeze_mode UNFREEZE.
 */
static void ft_assert_stopped(QVirtioPCIDevice *d, uint8_t status)
{
    if (ft_suspend) {
        g_assert_cmphex(qvirtio_freeze_status(d), ==,
                        (status & ~VIRTIO_CONFIG_S_DRIVER_OK) |
                        VIRTIO_CONFIG_S_SUSPEND);
        g_assert_cmphex(qvirtio_freeze_read(d), ==,
                        VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    } else {
        g_assert_cmphex(qvirtio_freeze_status(d), ==, status);
        g_assert_cmphex(qvirtio_freeze_read(d), ==,
                        VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    }
}

/*
 * Since @before, not one byte of guest memory changed (MSI-X messages
 * included), and with INTx the ISR says that nothing was notified.
 */
static void ft_assert_quiet(FtMachine *m, QVirtioPCIDevice *d,
                            GByteArray *before)
{
    g_autoptr(GByteArray) after = qvirtio_freeze_snapshot(m->qts, FT_RAM);

    qvirtio_freeze_assert_same(before, after);
    if (!d->pdev->msix_enabled) {
        g_assert_cmphex(qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset),
                        ==, 0);
    }
}

/* Let the main loop serve back-ends (sockets, timers) for a while */
static void ft_settle(QTestState *qts)
{
    int i;

    for (i = 0; i < FT_BACKEND_SETTLE_MS / 10; i++) {
        g_usleep(10 * 1000);
        qtest_clock_step(qts, 10 * SCALE_MS);
        qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
    }
}

/*
 * Wait for the device to use @head, as a driver does: ask for an
 * interrupt with the next used buffer, and look at the used ring (it may
 * have moved before the request)
 */
static void ft_wait_used(QTestState *qts, QVirtioPCIDevice *d, QVirtQueue *vq,
                         uint32_t head)
{
    gint64 start = g_get_monotonic_time();
    uint32_t got;

    if (vq->event) {
        qvirtqueue_set_used_event(qts, vq, vq->last_used_idx);
    }
    while (!qvirtqueue_get_buf(qts, vq, &got, NULL)) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_FREEZE_TIMEOUT_US);
        qtest_clock_step(qts, 100);
    }
    g_assert_cmpint(got, ==, head);
}

/* The notification alone, whatever the ring says about wanting it */
static void ft_kick_raw(QVirtioPCIDevice *d, QVirtQueue *vq)
{
    d->vdev.bus->virtqueue_kick(&d->vdev, vq);
}

/* ---- virtio-net: packets, link changes and kicks while frozen ------ */

typedef struct FtNetCase {
    const char *machine;
    bool event_idx;
    bool rx_buffers;        /* rx buffers available when frozen */
    bool msix;
} FtNetCase;

static void ft_net_send(int sock, const char *payload)
{
    uint32_t len = htonl(strlen(payload) + 1);
    struct iovec iov[] = {
        { .iov_base = &len, .iov_len = sizeof(len) },
        { .iov_base = (char *)payload, .iov_len = strlen(payload) + 1 },
    };

    g_assert_cmpint(iov_send(sock, iov, 2, 0, sizeof(len) + strlen(payload) +
                             1), ==, sizeof(len) + strlen(payload) + 1);
}

static void test_net(const void *data)
{
    const FtNetCase *c = data;
    FtMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *rx, *tx;
    g_autoptr(GByteArray) before = NULL;
    uint64_t rxbuf[2], txbuf;
    uint32_t rxhead[2], txhead;
    char got[32];
    uint8_t status;
    int sv[2];
    int i;

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    ft_start(&m, c->machine,
             "-netdev socket,fd=%d,id=n0 "
             "-device virtio-net-pci,netdev=n0,addr=%d.0,freeze_mode=on,"
             "event_idx=%s", sv[1], FT_SLOT, c->event_idx ? "on" : "off");
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    g_assert_cmphex(ft_negotiate(d,
                        (1ull << VIRTIO_NET_F_STATUS) |
                        (1ull << VIRTIO_RING_F_EVENT_IDX)) &
                    (1ull << VIRTIO_RING_F_EVENT_IDX), ==,
                    c->event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
    if (c->msix) {
        ft_msix(&m, d);
    }
    rx = ft_queue(&m, d, 0);
    tx = ft_queue(&m, d, 1);
    qvirtio_set_driver_ok(&d->vdev);

    for (i = 0; i < 2; i++) {
        rxbuf[i] = guest_alloc(&m.alloc, FT_BUF);
    }
    if (c->rx_buffers) {
        /* One packet first, so that the rings have moved */
        rxhead[0] = qvirtqueue_add(m.qts, rx, rxbuf[0], FT_BUF, true, false);
        qvirtqueue_kick(m.qts, &d->vdev, rx, rxhead[0]);
        ft_net_send(sv[0], "before");
        ft_wait_used(m.qts, d, rx, rxhead[0]);
        qtest_memread(m.qts, rxbuf[0] + FT_NET_HDR, got, 7);
        g_assert_cmpstr(got, ==, "before");
        /* and a buffer available while the device is frozen */
        rxhead[0] = qvirtqueue_add(m.qts, rx, rxbuf[0], FT_BUF, true, false);
        qvirtqueue_kick(m.qts, &d->vdev, rx, rxhead[0]);
    }
    if (!c->msix) {
        qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
    }

    status = qvirtio_freeze_status(d);
    ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);

    /* The driver may publish a buffer and kick while the device is frozen */
    txbuf = guest_alloc(&m.alloc, 64);
    qtest_memset(m.qts, txbuf, 0, FT_NET_HDR);
    qtest_memwrite(m.qts, txbuf + FT_NET_HDR, "frozen-tx", 10);
    txhead = qvirtqueue_add(m.qts, tx, txbuf, FT_NET_HDR + 10, false, false);
    qvirtqueue_kick(m.qts, &d->vdev, tx, txhead);

    /*
     * From here on the device must not change one byte of guest memory:
     * a link flap (a configuration change), packets from the back-end,
     * kicks on both queues.
     */
    before = qvirtio_freeze_snapshot(m.qts, FT_RAM);
    qtest_qmp_assert_success(m.qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': false}}");
    qtest_qmp_assert_success(m.qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': true}}");
    ft_net_send(sv[0], "while-frozen-1");
    ft_net_send(sv[0], "while-frozen-2");
    ft_kick_raw(d, rx);
    ft_kick_raw(d, tx);
    ft_settle(m.qts);
    ft_assert_quiet(&m, d, before);
    if (!c->msix) {
        g_assert_cmphex(qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset),
                        ==, 0);
    }
    ft_assert_stopped(d, status);

    /* Unfreeze: the latched link change, the kick, then the packets */
    ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    if (c->msix) {
        qvirtio_wait_config_isr(&d->vdev, QVIRTIO_FREEZE_TIMEOUT_US);
    }
    g_assert_cmphex(qvirtio_config_readw(&d->vdev,
                        offsetof(struct virtio_net_config, status)) &
                    VIRTIO_NET_S_LINK_UP, ==, VIRTIO_NET_S_LINK_UP);
    ft_wait_used(m.qts, d, tx, txhead);
    {
        uint32_t len;
        char frame[64];

        g_assert_cmpint(recv(sv[0], &len, sizeof(len), 0), ==,
                        sizeof(len));
        len = ntohl(len);
        /* The back-end gets the frame without the virtio-net header */
        g_assert_cmpuint(len, ==, 10);
        g_assert_cmpint(recv(sv[0], frame, len, 0), ==, len);
        g_assert_cmpstr(frame, ==, "frozen-tx");
    }

    /* The packets the back-end held, in order */
    for (i = 0; i < 2; i++) {
        g_autofree char *want = g_strdup_printf("while-frozen-%d", i + 1);

        if (!c->rx_buffers || i > 0) {
            rxhead[i] = qvirtqueue_add(m.qts, rx, rxbuf[i], FT_BUF, true,
                                       false);
            qvirtqueue_kick(m.qts, &d->vdev, rx, rxhead[i]);
        }
        ft_wait_used(m.qts, d, rx, rxhead[i]);
        qtest_memread(m.qts, rxbuf[i] + FT_NET_HDR, got, strlen(want) + 1);
        g_assert_cmpstr(got, ==, want);
    }

    close(sv[0]);
    ft_stop(&m);
}

static void ft_config_writeb(QVirtioPCIDevice *d, uint64_t off, uint8_t val)
{
    qpci_io_writeb(d->pdev, d->bar, d->device_cfg_offset + off, val);
}

/* ---- virtio-blk: resize, kicks and every ignored write while frozen -- */

static void test_blk(const void *data)
{
    const char *machine = data;
    g_autofree char *file = qvirtio_freeze_drive_file();
    g_autoptr(GByteArray) before = NULL;
    FtMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    QPCIBar legacy;
    uint64_t req, wce_off = offsetof(struct virtio_blk_config, wce);
    uint32_t head;
    uint8_t status;

    ft_start(&m, machine, "-blockdev driver=file,filename=%s,node-name=drv0 "
             "-device virtio-blk-pci,drive=drv0,addr=%d.0,freeze_mode=on",
             file, FT_SLOT);
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    g_assert(ft_negotiate(d, 1ull << VIRTIO_BLK_F_CONFIG_WCE) &
             (1ull << VIRTIO_BLK_F_CONFIG_WCE));
    ft_msix(&m, d);
    vq = ft_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    status = qvirtio_freeze_status(d);
    ft_config_writeb(d, wce_off, 1);
    g_assert_cmpint(qvirtio_config_readb(&d->vdev, wce_off), ==, 1);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    head = qvirtio_freeze_blk_read(m.qts, &m.alloc, &d->vdev, vq, 0, &req);

    before = qvirtio_freeze_snapshot(m.qts, FT_RAM);
    qtest_qmp_assert_success(m.qts, "{'execute': 'block_resize', 'arguments':"
                             " {'node-name': 'drv0', 'size': 2097152}}");
    ft_kick_raw(d, vq);
    /* Ignored while frozen: device configuration, non-zero status ... */
    ft_config_writeb(d, wce_off, 0);
    qpci_io_writeb(d->pdev, d->bar,
                   d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS,
                   status | VIRTIO_CONFIG_S_FAILED);
    /* ... and the whole legacy interface, a reset included */
    legacy = qpci_iomap(d->pdev, 0, NULL);
    qpci_io_writeb(d->pdev, legacy, VIRTIO_PCI_STATUS, 0);
    qpci_io_writew(d->pdev, legacy, VIRTIO_PCI_QUEUE_SEL, 0);
    qpci_io_writel(d->pdev, legacy, VIRTIO_PCI_QUEUE_PFN, 0);
    ft_settle(m.qts);
    ft_assert_quiet(&m, d, before);

    g_assert_cmpint(qvirtio_config_readb(&d->vdev, wce_off), ==, 1);
    ft_assert_stopped(d, status);
    /*
     * Reads keep working, and show the configuration as it was when the
     * device stopped: the new capacity shows after unfreeze, notified
     */
    g_assert_cmpint(qvirtio_config_readq(&d->vdev, 0), ==, 1 * MiB / 512);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    qvirtio_wait_config_isr(&d->vdev, QVIRTIO_FREEZE_TIMEOUT_US);
    g_assert_cmpint(qvirtio_config_readq(&d->vdev, 0), ==, 2 * MiB / 512);
    ft_wait_used(m.qts, d, vq, head);
    g_assert_cmpint(qtest_readb(m.qts, req + sizeof(struct virtio_blk_outhdr) +
                                512), ==, VIRTIO_BLK_S_OK);
    g_assert_cmphex(qtest_readb(m.qts, req + sizeof(struct virtio_blk_outhdr)),
                    ==, 0);
    /* Unfrozen, the device takes configuration writes again */
    ft_config_writeb(d, wce_off, 0);
    g_assert_cmpint(qvirtio_config_readb(&d->vdev, wce_off), ==, 0);

    ft_stop(&m);
    unlink(file);
}

/* ---- virtio-rng: the back-end has entropy, the device takes none ---- */

static void test_rng(const void *data)
{
    const char *machine = data;
    g_autoptr(GByteArray) before = NULL;
    FtMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    uint64_t buf;
    uint32_t head, len;
    uint8_t got[64];
    int i, nonzero = 0;

    ft_start(&m, machine, "-object rng-random,id=rng0,filename=/dev/urandom "
             "-device virtio-rng-pci,rng=rng0,addr=%d.0,freeze_mode=on",
             FT_SLOT);
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    ft_negotiate(d, 0);
    vq = ft_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    buf = guest_alloc(&m.alloc, sizeof(got));
    qtest_memset(m.qts, buf, 0, sizeof(got));
    head = qvirtqueue_add(m.qts, vq, buf, sizeof(got), true, false);
    qvirtqueue_kick(m.qts, &d->vdev, vq, head);

    before = qvirtio_freeze_snapshot(m.qts, FT_RAM);
    ft_kick_raw(d, vq);
    ft_settle(m.qts);
    ft_assert_quiet(&m, d, before);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    qvirtio_wait_used_elem(m.qts, &d->vdev, vq, head, &len,
                           QVIRTIO_FREEZE_TIMEOUT_US);
    g_assert_cmpuint(len, ==, sizeof(got));
    qtest_memread(m.qts, buf, got, sizeof(got));
    for (i = 0; i < sizeof(got); i++) {
        nonzero += got[i] != 0;
    }
    g_assert_cmpint(nonzero, >, 0);
    ft_stop(&m);
}

/* ---- virtio-balloon: a new target and statistics polls while frozen -- */

static void test_balloon(const void *data)
{
    const char *machine = data;
    g_autoptr(GByteArray) before = NULL;
    FtMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *inflate, *deflate, *stats;
    uint64_t buf;
    uint32_t head;

    ft_start(&m, machine, "-device virtio-balloon-pci,id=balloon0,addr=%d.0,"
             "freeze_mode=on", FT_SLOT);
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    ft_negotiate(d, 1ull << VIRTIO_BALLOON_F_STATS_VQ);
    inflate = ft_queue(&m, d, 0);
    deflate = ft_queue(&m, d, 1);
    stats = ft_queue(&m, d, 2);
    qvirtio_set_driver_ok(&d->vdev);
    /* The driver gives the device its statistics buffer at once */
    buf = guest_alloc(&m.alloc, 64);
    head = qvirtqueue_add(m.qts, stats, buf, 64, false, false);
    qvirtqueue_kick(m.qts, &d->vdev, stats, head);
    qtest_qmp_assert_success(m.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral/balloon0', "
                             "'property': 'guest-stats-polling-interval', "
                             "'value': 1}}");

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
    before = qvirtio_freeze_snapshot(m.qts, FT_RAM);
    qtest_qmp_assert_success(m.qts, "{'execute': 'balloon', 'arguments': "
                             "{'value': %" PRIu64 "}}", FT_RAM / 2);
    qtest_clock_step(m.qts, 3 * NANOSECONDS_PER_SECOND);
    ft_kick_raw(d, inflate);
    ft_kick_raw(d, deflate);
    ft_kick_raw(d, stats);
    ft_settle(m.qts);
    ft_assert_quiet(&m, d, before);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    qvirtio_wait_config_isr(&d->vdev, QVIRTIO_FREEZE_TIMEOUT_US);
    g_assert_cmpuint(qvirtio_config_readl(&d->vdev, 0), ==,
                     FT_RAM / 2 / 4096);
    /* The statistics buffer is the device's again, and used on the poll */
    qtest_clock_step(m.qts, 2 * NANOSECONDS_PER_SECOND);
    ft_wait_used(m.qts, d, stats, head);
    ft_stop(&m);
}

/* ---- virtio-gpu: a command kicked while frozen ---------------------- */

static void test_gpu(const void *data)
{
    const char *type = data;
    g_autoptr(GByteArray) before = NULL;
    struct virtio_gpu_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_gpu_resp_display_info resp;
    QVirtioGpuCmd *cmd;
    QVirtioGpu gpu;
    FtMachine m;
    QVirtioPCIDevice *d;

    ft_start(&m, "pc", "-device %s,addr=%d.0,freeze_mode=on", type, FT_SLOT);
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    g_assert(qvirtio_freeze_offered(d));
    qvirtio_gpu_init(&gpu, &d->vdev, m.qts, &m.alloc,
                     (1ull << VIRTIO_F_FREEZE_MODE) |
                     (ft_suspend ? 1ull << VIRTIO_F_SUSPEND : 0));
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    cmd = qvirtio_gpu_cmd_add(&gpu, &req, sizeof(req), sizeof(resp));
    qvirtio_gpu_cmd_publish(&gpu, cmd);

    before = qvirtio_freeze_snapshot(m.qts, FT_RAM);
    ft_kick_raw(d, gpu.ctrlq);
    ft_settle(m.qts);
    ft_assert_quiet(&m, d, before);

    ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    g_assert_cmphex(qvirtio_gpu_cmd_wait(&gpu, cmd, &resp), ==,
                    VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    qvirtio_gpu_cleanup(&gpu);
    ft_stop(&m);
}

/*
 * ---- only the device types that opted in, in a configuration that
 *      keeps the contract, take freeze_mode=on -------------------------
 */

typedef struct FtRefusal {
    const char *name;
    const char *machine;
    const char *args;       /* what the device needs on the command line */
    const char *device;     /* -device, freeze_mode=on is appended */
    const char *error;      /* expected in the error message */
} FtRefusal;

#define FT_NOT_SUPPORTED "freeze_mode is not supported by device type"

static const FtRefusal ft_refusals[] = {
    { "scsi", "pc", "", "virtio-scsi-pci", FT_NOT_SUPPORTED },
    { "serial", "pc", "", "virtio-serial-pci", FT_NOT_SUPPORTED },
    { "keyboard", "pc", "", "virtio-keyboard-pci", FT_NOT_SUPPORTED },
    { "mouse", "pc", "", "virtio-mouse-pci", FT_NOT_SUPPORTED },
    { "tablet", "pc", "", "virtio-tablet-pci", FT_NOT_SUPPORTED },
    { "multitouch", "pc", "", "virtio-multitouch-pci", FT_NOT_SUPPORTED },
    { "iommu", "q35", "", "virtio-iommu-pci", FT_NOT_SUPPORTED },
    { "crypto", "pc", "-object cryptodev-backend-builtin,id=cd0",
      "virtio-crypto-pci,cryptodev=cd0", FT_NOT_SUPPORTED },
    { "9p", "pc", "-fsdev local,id=fs0,path=/tmp,security_model=none",
      "virtio-9p-pci,fsdev=fs0,mount_tag=t", FT_NOT_SUPPORTED },
    { "mem", "pc", "-m 64M,maxmem=1G,slots=2 "
      "-object memory-backend-ram,id=mem0,size=128M",
      "virtio-mem-pci,memdev=mem0", FT_NOT_SUPPORTED },
    { "pmem", "pc", "-m 64M,maxmem=1G,slots=2 "
      "-object memory-backend-ram,id=mem0,size=16M",
      "virtio-pmem-pci,memdev=mem0", FT_NOT_SUPPORTED },
    { "sound", "pc", "-audiodev none,id=a0", "virtio-sound-pci,audiodev=a0",
      FT_NOT_SUPPORTED },
    /* Supported types, in a configuration that cannot keep the contract */
    { "blk-iothread", "pc",
      "-object iothread,id=io0 -drive if=none,id=d0,driver=null-co",
      "virtio-blk-pci,drive=d0,iothread=io0",
      "freeze_mode is not supported with iothreads" },
    { "balloon-free-page-hint", "pc", "-object iothread,id=io0",
      "virtio-balloon-pci,free-page-hint=on,iothread=io0",
      "freeze_mode is not supported with free-page-hint" },
    /* A supported type on a transport without the register */
    { "mmio", "microvm", "", "virtio-rng-device",
      "freeze_mode is not supported by the virtio-mmio-bus transport" },
};

static void test_refused(const void *data)
{
    const FtRefusal *r = data;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *driver = g_strndup(r->device, strcspn(r->device, ","));
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) error = NULL;
    int status;

    if (!qtest_has_machine(r->machine) || !qtest_has_device(driver)) {
        g_test_skip("device or machine not built");
        return;
    }
    /* A QEMU that accepted the device would wait for ever: kill it */
    cmd = g_strdup_printf("timeout -s KILL 30 %s -M %s -accel qtest "
                          "-display none -nodefaults -S %s "
                          "-device %s,freeze_mode=on", qemu, r->machine,
                          r->args, r->device);
    g_assert(g_shell_parse_argv(cmd, NULL, &argv, &error));
    g_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                          &out, &err, &status, &error));
    g_test_message("%s: %s", cmd, err);
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, r->error));
}

/* Without freeze_mode=on the same command line starts: the refusal is ours */
static void test_refused_control(const void *data)
{
    const FtRefusal *r = data;
    g_autofree char *driver = g_strndup(r->device, strcspn(r->device, ","));
    QTestState *qts;

    if (!qtest_has_machine(r->machine) || !qtest_has_device(driver)) {
        g_test_skip("device or machine not built");
        return;
    }
    qts = qtest_initf("-M %s %s -device %s", r->machine, r->args, r->device);
    qtest_quit(qts);
}

/*
 * ---- vhost: the rings belong to the back-end, whether or not it is
 *      connected right now --------------------------------------------
 *
 * Real back-ends, built with QEMU: qemu-storage-daemon exports a
 * vhost-user-blk device, and tests/vhost-user-bridge is a vhost-user
 * network back-end.  They are found as QEMU's qtests find helper
 * binaries: an environment variable (meson's test environment sets
 * QTEST_QEMU_STORAGE_DAEMON_BINARY), else the path in the build tree
 * next to QTEST_QEMU_BINARY.
 */

static char *ft_helper_binary(const char *env, const char *rel)
{
    const char *path = g_getenv(env);
    g_autofree char *dir = NULL;

    if (path) {
        return g_strdup(path);
    }
    dir = g_path_get_dirname(g_getenv("QTEST_QEMU_BINARY"));
    return g_build_filename(dir, rel, NULL);
}

/* Start the back-end @argv, its stdin and stdout on /dev/null */
static pid_t ft_backend_start(char **argv)
{
    g_autofree char *cmd = g_strjoinv(" ", argv);
    pid_t pid;

    g_assert_cmpint(access(argv[0], X_OK), ==, 0);
    g_test_message("back-end: %s", cmd);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void ft_backend_stop(pid_t pid)
{
    int status;

    kill(pid, SIGTERM);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
}

static void ft_wait_socket(const char *path)
{
    gint64 start = g_get_monotonic_time();
    struct stat st;

    while (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_FREEZE_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

/*
 * device_add @driver with @opts: with an expected @error the command
 * fails with it, otherwise it succeeds.
 */
static void ft_device_add(QTestState *qts, const char *driver, const char *id,
                          const char *opts, const char *error)
{
    g_autofree char *args = g_strdup_printf(
        "{'driver': '%s', 'id': '%s', 'addr': '%d.0', %s}", driver, id,
        FT_SLOT, opts);
    QDict *rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': %p}",
                           qobject_from_json(args, &error_abort));
    QDict *err = qdict_get_qdict(rsp, "error");

    if (error) {
        g_assert_nonnull(err);
        g_test_message("device_add %s: %s", driver,
                       qdict_get_str(err, "desc"));
        g_assert_nonnull(strstr(qdict_get_str(err, "desc"), error));
    } else {
        g_assert_null(err);
    }
    qobject_unref(rsp);
}

/*
 * vhost-user-blk on a running qemu-storage-daemon export: the device
 * type did not opt in, with the back-end there to realize it.  Without
 * freeze_mode or suspend the same device_add succeeds.
 */
static void test_refused_vhost_user_blk(const void *data)
{
    const char *prop = data;
    g_autofree char *qsd = ft_helper_binary("QTEST_QEMU_STORAGE_DAEMON_BINARY",
                                            "storage-daemon/"
                                            "qemu-storage-daemon");
    g_autofree char *dir = g_dir_make_tmp("freeze-vub-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "vub.sock", NULL);
    g_autofree char *exp = NULL;
    g_autofree char *opts = g_strdup_printf("'chardev': 'c0', 'num-queues': 1,"
                                            " '%s': true", prop);
    g_autofree char *err = g_strdup_printf(
        "%s is not supported by device type vhost-user-blk", prop);
    char *argv[] = { qsd, (char *)"--blockdev",
                     (char *)"driver=null-co,node-name=n0,size=1048576",
                     (char *)"--export", NULL, NULL };
    QTestState *qts;
    pid_t pid;

    exp = g_strdup_printf("type=vhost-user-blk,id=e0,node-name=n0,"
                          "addr.type=unix,addr.path=%s,writable=on", sock);
    argv[4] = exp;
    pid = ft_backend_start(argv);
    ft_wait_socket(sock);

    /*
     * The back-end serves one front end after the other: first the one
     * that must refuse the property, then the same device without it,
     * which realizes.  (vhost-user needs guest RAM the back-end can map.)
     */
    qts = qtest_initf("-M pc -object memory-backend-memfd,id=mem0,size=64M "
                      "-M memory-backend=mem0 -m 64M "
                      "-chardev socket,id=c0,path=%s", sock);
    ft_device_add(qts, "vhost-user-blk-pci", "vub0", opts, err);
    qtest_quit(qts);
    qts = qtest_initf("-M pc -object memory-backend-memfd,id=mem0,size=64M "
                      "-M memory-backend=mem0 -m 64M "
                      "-chardev socket,id=c0,path=%s", sock);
    ft_device_add(qts, "vhost-user-blk-pci", "vub0",
                  "'chardev': 'c0', 'num-queues': 1", NULL);
    qtest_quit(qts);

    ft_backend_stop(pid);
    unlink(sock);
    rmdir(dir);
}

/* What the core says when a vhost back-end runs the rings */
#define FT_VHOST_REFUSED(prop) \
    prop " is not supported by virtio-net-device with a vhost back-end"

/*
 * A vhost-user network back-end gone: the rings are still its own (a
 * back-end that comes back takes them up), so freeze_mode=on is refused
 * as with the back-end there.  Through its life: connected; disconnected;
 * and after a reconnection whose handshake failed (QEMU asked for the
 * features and the peer hung up), which is what a back-end restarting
 * under a client with reconnect-ms looks like.
 */
typedef enum FtVhostUserState {
    FT_VU_CONNECTED,
    FT_VU_DISCONNECTED,
    FT_VU_RECONNECT_FAILED,
} FtVhostUserState;

static void test_refused_net_vhost_user(const void *data)
{
    FtVhostUserState state = GPOINTER_TO_INT(data);
    g_autofree char *vubr = ft_helper_binary("QTEST_VHOST_USER_BRIDGE_BINARY",
                                             "tests/vhost-user-bridge");
    g_autofree char *dir = g_dir_make_tmp("freeze-vubr-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "vubr.sock", NULL);
    char *argv[] = { vubr, (char *)"-u", sock,
                     (char *)"-l", (char *)"127.0.0.1:0",
                     (char *)"-r", (char *)"127.0.0.1:9", NULL };
    QTestState *qts;
    pid_t pid;

    pid = ft_backend_start(argv);
    ft_wait_socket(sock);
    qts = qtest_initf("-M pc -object memory-backend-memfd,id=mem0,size=64M "
                      "-M memory-backend=mem0 -m 64M "
                      "-chardev socket,id=c0,path=%s,reconnect-ms=100 "
                      "-netdev vhost-user,id=n0,chardev=c0", sock);
    /* Without freeze_mode the device takes the back-end */
    ft_device_add(qts, "virtio-net-pci", "net0", "'netdev': 'n0'", NULL);
    qpci_unplug_acpi_device_test(qts, "net0", FT_SLOT);

    if (state != FT_VU_CONNECTED) {
        ft_backend_stop(pid);
        pid = -1;
        qtest_qmp_eventwait(qts, "NETDEV_VHOST_USER_DISCONNECTED");
        unlink(sock);
    }
    if (state == FT_VU_RECONNECT_FAILED) {
        int lfd = qtest_socket_server(sock);
        int fd = accept(lfd, NULL, NULL);
        uint32_t hdr[3];

        g_assert_cmpint(fd, >=, 0);
        /* VHOST_USER_GET_FEATURES (1), and then the peer hangs up */
        g_assert_cmpint(read(fd, hdr, sizeof(hdr)), ==, sizeof(hdr));
        g_assert_cmpint(hdr[0], ==, 1);
        close(fd);
        close(lfd);
        unlink(sock);
        qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
    }

    ft_device_add(qts, "virtio-net-pci", "net1",
                  "'netdev': 'n0', 'freeze_mode': true",
                  FT_VHOST_REFUSED("freeze_mode"));
    ft_device_add(qts, "virtio-net-pci", "net2",
                  "'netdev': 'n0', 'suspend': true",
                  FT_VHOST_REFUSED("suspend"));
    qtest_quit(qts);

    if (pid > 0) {
        ft_backend_stop(pid);
    }
    unlink(sock);
    rmdir(dir);
}

static void ft_register_vhost_refusals(void)
{
    static const char *const props[] = { "freeze_mode", "suspend" };
    static const char *const states[] = {
        [FT_VU_CONNECTED] = "connected",
        [FT_VU_DISCONNECTED] = "disconnected",
        [FT_VU_RECONNECT_FAILED] = "reconnect-failed",
    };
    int i;

    if (!qtest_has_machine("pc")) {
        return;
    }
    if (qtest_has_device("vhost-user-blk-pci")) {
        for (i = 0; i < ARRAY_SIZE(props); i++) {
            g_autofree char *path = g_strdup_printf(
                "virtio-freeze/types/refused/vhost-user-blk/%s", props[i]);

            qtest_add_data_func(path, props[i], test_refused_vhost_user_blk);
        }
    }
    if (qtest_has_device("virtio-net-pci")) {
        for (i = 0; i < ARRAY_SIZE(states); i++) {
            g_autofree char *path = g_strdup_printf(
                "virtio-freeze/types/refused/net-vhost-user/%s", states[i]);

            qtest_add_data_func(path, GINT_TO_POINTER(i),
                                test_refused_net_vhost_user);
        }
    }
}

/* ---- No_Soft_Reset, and D3hot -> D0 behind a PCIe root port ---------- */

static void test_no_soft_reset(const void *data)
{
    bool freeze = GPOINTER_TO_INT(data);
    FtMachine m;
    QPCIDevice *port;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    QPCISavedHeader saved, port_saved;
    uint8_t pm, status;
    uint64_t req;
    uint32_t head;

    ft_start(&m, "q35", "-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,"
             "addr=%d.0 -drive if=none,id=d0,driver=null-co,read-zeroes=on "
             "-device virtio-blk-pci,bus=rp0,drive=d0,freeze_mode=%s",
             FT_SLOT, freeze ? "on" : "off");
    g_assert_cmpint(qpci_secondary_buses_init(m.bus), ==, 1);
    port = qpci_device_find(m.bus, QPCI_DEVFN(FT_SLOT, 0));
    g_assert_nonnull(port);
    qpci_device_enable(port);
    qpci_iomap(port, 4, NULL);

    d = ft_device(&m, QPCI_DEVFN(1 << 5, 0));
    pm = qpci_find_capability(d->pdev, PCI_CAP_ID_PM, 0);
    g_assert_cmpint(pm, !=, 0);
    g_assert_cmphex(qpci_config_readw(d->pdev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_NO_SOFT_RESET, ==,
                    freeze ? PCI_PM_CTRL_NO_SOFT_RESET : 0);
    if (!freeze) {
        g_free(port);
        ft_stop(&m);
        return;
    }

    qvirtio_freeze_negotiate(d, 0);
    vq = ft_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    status = qvirtio_freeze_status(d);
    ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);

    /* What Linux does on suspend: save, D3hot; then S3 */
    qpci_save_header(port, &port_saved);
    qpci_save_header(d->pdev, &saved);
    qpci_config_writew(d->pdev, pm + PCI_PM_CTRL, 3);
    g_assert_cmphex(qpci_config_readw(d->pdev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_STATE_MASK, ==, 3);
    qtest_pc_suspend_s3(m.qts, m.bus, "q35");
    qtest_pc_wakeup(m.qts);
    /* ... and on resume: the port (bus numbers, windows), D0, restore */
    qpci_restore_header(port, &port_saved);
    qpci_config_writew(d->pdev, pm + PCI_PM_CTRL, 0);
    qpci_restore_header(d->pdev, &saved);

    g_assert_cmphex(qvirtio_freeze_status(d), ==, status);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    head = qvirtio_freeze_blk_read(m.qts, &m.alloc, &d->vdev, vq, 0, &req);
    ft_wait_used(m.qts, d, vq, head);
    g_assert_cmpint(qtest_readb(m.qts, req + sizeof(struct virtio_blk_outhdr) +
                                512), ==, VIRTIO_BLK_S_OK);
    g_free(port);
    ft_stop(&m);
}

/* ---- q35: the S3 wakeup resets the chipset as PLTRST# does -------- */

#define FT_PMBASE               0x600
#define FT_PM1_CNT_S3           ((1 << 10) | (1 << 13))  /* SLP_TYP 1, SLP_EN */
#define FT_MCH_PCIEXBAR         0x60
#define FT_MCH_PCIEXBAR_ADDR    0xb0000000u
#define FT_ICH9_LPC_PMBASE      0x40
#define FT_ICH9_LPC_ACPI_CTRL   0x44
#define FT_ICH9_LPC_RCBA        0xf0
#define FT_ICH9_LPC_RCBA_ADDR   0xfed1c000u
#define FT_ICH9_PMIO_SMI_EN     0x30
#define FT_ICH9_PMIO_SMI_EN_APMC_EN (1 << 5)

/*
 * What firmware programs at boot and again on every S3 resume: MMCONFIG,
 * the ACPI PM I/O space, the root complex register block, and SMI
 * generation on APM writes (the SMM setup)
 */
static void ft_q35_firmware_setup(FtMachine *m, QPCIDevice *mch,
                                  QPCIDevice *lpc)
{
    qpci_config_writel(mch, FT_MCH_PCIEXBAR, FT_MCH_PCIEXBAR_ADDR | 1);
    qpci_config_writel(lpc, FT_ICH9_LPC_PMBASE, FT_PMBASE | 1);
    qpci_config_writeb(lpc, FT_ICH9_LPC_ACPI_CTRL, 0x80);
    qpci_config_writel(lpc, FT_ICH9_LPC_RCBA, FT_ICH9_LPC_RCBA_ADDR | 1);
    qtest_outl(m->qts, FT_PMBASE + FT_ICH9_PMIO_SMI_EN,
               qtest_inl(m->qts, FT_PMBASE + FT_ICH9_PMIO_SMI_EN) |
               FT_ICH9_PMIO_SMI_EN_APMC_EN);
}

/*
 * On hardware, PLTRST# on the way out of S3 resets the core-well chipset
 * registers and the firmware restores them on its resume path; the S3
 * wakeup reset does the same.  So after each wakeup: MMCONFIG off, the
 * ACPI PM I/O space and the RCRB unmapped, and once the PM I/O space is
 * back, SMI_EN cleared (with SMM, APMC_EN clear: SMM must be set up
 * again, SMBASE is back at its reset value).  Restored like firmware
 * does, the machine suspends again, cycle after cycle.
 */
static void test_q35_s3_cycles(const void *data)
{
    FtMachine m;
    QPCIDevice *mch, *lpc;
    QDict *rsp;
    int i, j;

    ft_start(&m, "q35,smm=on", "%s", "");
    mch = qpci_device_find(m.bus, QPCI_DEVFN(0, 0));
    lpc = qpci_device_find(m.bus, QPCI_DEVFN(0x1f, 0));
    g_assert_nonnull(mch);
    g_assert_nonnull(lpc);

    for (i = 0; i < 3; i++) {
        bool suspended = false;

        ft_q35_firmware_setup(&m, mch, lpc);
        g_assert_cmphex(qtest_inl(m.qts, FT_PMBASE + FT_ICH9_PMIO_SMI_EN) &
                        FT_ICH9_PMIO_SMI_EN_APMC_EN, ==,
                        FT_ICH9_PMIO_SMI_EN_APMC_EN);
        qtest_outw(m.qts, FT_PMBASE + 4, FT_PM1_CNT_S3);
        for (j = 0; j < 100 && !suspended; j++) {
            rsp = qtest_qmp_assert_success_ref(m.qts,
                                          "{'execute': 'query-status'}");
            suspended = g_str_equal(qdict_get_str(rsp, "status"),
                                    "suspended");
            qobject_unref(rsp);
            if (!suspended) {
                g_usleep(10 * 1000);
            }
        }
        g_test_message("S3 cycle %d: %s", i + 1,
                       suspended ? "suspended" : "did not suspend");
        g_assert_true(suspended);
        qtest_qmp_eventwait(m.qts, "SUSPEND");
        qtest_pc_wakeup(m.qts);

        /* The reset values, as after power-on */
        g_assert_cmphex(qpci_config_readl(mch, FT_MCH_PCIEXBAR), ==,
                        FT_MCH_PCIEXBAR_ADDR);
        g_assert_cmphex(qpci_config_readl(lpc, FT_ICH9_LPC_PMBASE), ==, 1);
        g_assert_cmphex(qpci_config_readb(lpc, FT_ICH9_LPC_ACPI_CTRL), ==, 0);
        g_assert_cmphex(qpci_config_readl(lpc, FT_ICH9_LPC_RCBA), ==, 0);
        /* Nothing decodes the PM I/O space until firmware restores it */
        g_assert_cmphex(qtest_inw(m.qts, FT_PMBASE + 4), ==, 0xffff);
        qpci_config_writel(lpc, FT_ICH9_LPC_PMBASE, FT_PMBASE | 1);
        qpci_config_writeb(lpc, FT_ICH9_LPC_ACPI_CTRL, 0x80);
        g_assert_cmphex(qtest_inl(m.qts, FT_PMBASE + FT_ICH9_PMIO_SMI_EN),
                        ==, 0);
    }
    g_free(mch);
    g_free(lpc);
    ft_stop(&m);
}

/* ---- virtio-vga: the VGA core of a frozen device survives S3 -------- */

#define FT_VGA_SEQ_INDEX        0x3c4
#define FT_VGA_SEQ_DATA         0x3c5

static void test_vga_s3(const void *data)
{
    bool freeze = GPOINTER_TO_INT(data);
    FtMachine m;
    QVirtioPCIDevice *d;
    QVirtioGpu gpu;
    uint8_t sr1;

    ft_start(&m, "pc", "-device virtio-vga,addr=%d.0,freeze_mode=on",
             FT_SLOT);
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    qvirtio_gpu_init(&gpu, &d->vdev, m.qts, &m.alloc,
                     1ull << VIRTIO_F_FREEZE_MODE);
    /* Sequencer clocking mode: screen off, 8-dot characters */
    qtest_outb(m.qts, FT_VGA_SEQ_INDEX, 1);
    qtest_outb(m.qts, FT_VGA_SEQ_DATA, 0x21);
    g_assert_cmphex(qtest_inb(m.qts, FT_VGA_SEQ_DATA), ==, 0x21);
    if (freeze) {
        ft_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    }
    qtest_pc_s3_cycle(m.qts, m.bus, "pc", d->pdev);

    qtest_outb(m.qts, FT_VGA_SEQ_INDEX, 1);
    sr1 = qtest_inb(m.qts, FT_VGA_SEQ_DATA);
    /* Kept by a frozen device; without the freeze, the wakeup resets it */
    g_assert_cmphex(sr1, ==, freeze ? 0x21 : 0);
    if (freeze) {
        ft_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    }
    qvirtio_gpu_cleanup(&gpu);
    ft_stop(&m);
}

/* ---- the register rules of PROTOCOL revision 2 ---------------------- */

/* FREEZE_S3 needs DRIVER_OK: a device that is not live has nothing to do */
static void test_driver_ok(const void *data)
{
    FtMachine m;
    QVirtioPCIDevice *d;

    ft_start(&m, "pc", "-object rng-random,id=rng0,filename=/dev/urandom "
             "-device virtio-rng-pci,rng=rng0,addr=%d.0,freeze_mode=on",
             FT_SLOT);
    d = ft_device(&m, QPCI_DEVFN(FT_SLOT, 0));
    qvirtio_freeze_negotiate(d, 0);
    qvirtio_freeze_write(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    qvirtio_set_driver_ok(&d->vdev);
    qvirtio_freeze_write(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    /* device_status 0 still resets a frozen device */
    qvirtio_reset(&d->vdev);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    g_assert_cmphex(qvirtio_freeze_status(d), ==, 0);
    ft_stop(&m);
}

static void register_types_tests(void)
{
    static const FtNetCase net[] = {
        { "pc", false, true, true },
        { "pc", true, false, false },
        { "q35", true, true, true },
        { "q35", false, false, true },
    };
    static const char *const machines[] = { "pc", "q35" };
    int i;

    for (i = 0; i < ARRAY_SIZE(ft_refusals); i++) {
        g_autofree char *path = g_strdup_printf(
            "virtio-freeze/types/refused/%s", ft_refusals[i].name);
        g_autofree char *ctl = g_strdup_printf(
            "virtio-freeze/types/refused/%s/control", ft_refusals[i].name);

        qtest_add_data_func(path, &ft_refusals[i], test_refused);
        qtest_add_data_func(ctl, &ft_refusals[i], test_refused_control);
    }
    ft_register_vhost_refusals();
    if (qtest_has_device("virtio-net-pci")) {
        for (i = 0; i < ARRAY_SIZE(net); i++) {
            g_autofree char *path = g_strdup_printf(
                "virtio-freeze/types/net/%s/%s/%s/%s", net[i].machine,
                net[i].event_idx ? "event-idx" : "no-event-idx",
                net[i].rx_buffers ? "rx-buffers" : "no-rx-buffers",
                net[i].msix ? "msix" : "intx");

            if (qtest_has_machine(net[i].machine)) {
                ft_add(path, &net[i], test_net);
            }
        }
    }
    for (i = 0; i < ARRAY_SIZE(machines); i++) {
        g_autofree char *blk = g_strdup_printf("virtio-freeze/types/blk/%s",
                                               machines[i]);
        g_autofree char *rng = g_strdup_printf("virtio-freeze/types/rng/%s",
                                               machines[i]);
        g_autofree char *bal = g_strdup_printf(
            "virtio-freeze/types/balloon/%s", machines[i]);

        if (!qtest_has_machine(machines[i])) {
            continue;
        }
        if (qtest_has_device("virtio-blk-pci")) {
            ft_add(blk, machines[i], test_blk);
        }
        if (qtest_has_device("virtio-rng-pci")) {
            ft_add(rng, machines[i], test_rng);
        }
        if (qtest_has_device("virtio-balloon-pci")) {
            ft_add(bal, machines[i], test_balloon);
        }
    }
    if (qtest_has_machine("pc")) {
        if (qtest_has_device("virtio-gpu-pci")) {
            ft_add("virtio-freeze/types/gpu/pc", "virtio-gpu-pci", test_gpu);
        }
        if (qtest_has_device("virtio-vga")) {
            ft_add("virtio-freeze/types/vga/pc", "virtio-vga", test_gpu);
            qtest_add_data_func("virtio-freeze/types/vga/pc/s3-frozen",
                                GINT_TO_POINTER(true), test_vga_s3);
            qtest_add_data_func("virtio-freeze/types/vga/pc/s3-running",
                                GINT_TO_POINTER(false), test_vga_s3);
        }
        if (qtest_has_device("virtio-rng-pci")) {
            qtest_add_data_func("virtio-freeze/types/rng/pc/driver-ok", NULL,
                                test_driver_ok);
        }
    }
    if (qtest_has_machine("q35")) {
        qtest_add_data_func("virtio-freeze/types/q35/s3-cycles", NULL,
                            test_q35_s3_cycles);
        if (qtest_has_device("pcie-root-port") &&
            qtest_has_device("virtio-blk-pci")) {
            qtest_add_data_func("virtio-freeze/types/blk/q35/root-port/"
                                "no-soft-reset", GINT_TO_POINTER(true),
                                test_no_soft_reset);
            qtest_add_data_func("virtio-freeze/types/blk/q35/root-port/"
                                "soft-reset", GINT_TO_POINTER(false),
                                test_no_soft_reset);
        }
    }
}

libqos_init(register_types_tests);
