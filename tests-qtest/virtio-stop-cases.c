/*
 * QTest cases that stop a virtio device while its back-end is active,
 * device type by device type
 *
 * For each device type, the device is stopped while its back-end is
 * active, and a snapshot of all guest RAM before and after proves that
 * not one byte changed (rings, notification suppression fields, buffers,
 * MSI-X messages) until the driver runs it again; then everything that
 * was latched is delivered.  The front end that stops the device is the
 * caller's (VscFrontEnd).
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
#include "qemu/timer.h"
#include "qemu/units.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_balloon.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_net.h"
#include "standard-headers/linux/virtio_ring.h"
#include "libqos/virtio-gpu.h"
#include "virtio-stop-cases.h"

#define VSC_NET_HDR             sizeof(struct virtio_net_hdr_v1)
#define VSC_BUF                 2048
#define VSC_BACKEND_SETTLE_MS   200

typedef struct VscCase {
    const VscFrontEnd *fe;
    const char *machine;
    const char *type;           /* gpu: the device type */
    /* net */
    bool event_idx;
    bool rx_buffers;            /* rx buffers available when stopped */
    bool msix;
} VscCase;

static void vsc_add(const VscFrontEnd *fe, const char *path, VscCase *c,
                    GTestDataFunc fn)
{
    g_autofree char *full = g_strdup_printf("%s/%s%s", fe->prefix, path,
                                            fe->suffix);

    c->fe = fe;
    qtest_add_data_func(full, c, fn);
}

/* Register @fn as the case @name on pc and q35, where @device is built */
static void vsc_add_pc_q35(const VscFrontEnd *fe, const char *name,
                           const char *device, GTestDataFunc fn)
{
    static const char *const machines[] = { "pc", "q35" };
    int i;

    for (i = 0; i < ARRAY_SIZE(machines); i++) {
        g_autofree char *path = g_strdup_printf("%s/%s", name, machines[i]);
        VscCase *c;

        if (!qvirtio_machine_has(machines[i], device)) {
            continue;
        }
        c = g_new0(VscCase, 1);
        c->machine = machines[i];
        vsc_add(fe, path, c, fn);
    }
}

/* ---- the SUSPEND bit of device status ------------------------------- */

static void vsc_suspend_wait(QVirtioPCIDevice *d, uint8_t want)
{
    const uint8_t mask = VIRTIO_CONFIG_S_SUSPEND | VIRTIO_CONFIG_S_DRIVER_OK;
    gint64 start = g_get_monotonic_time();

    qvirtio_pci_common_set_status(d, qvirtio_pci_common_status(d) | want);
    while ((qvirtio_pci_common_status(d) & mask) != want) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        g_usleep(100);
    }
}

void vsc_suspend_stop(QVirtioPCIDevice *d)
{
    vsc_suspend_wait(d, VIRTIO_CONFIG_S_SUSPEND);
}

void vsc_suspend_run(QVirtioPCIDevice *d)
{
    vsc_suspend_wait(d, VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Suspended: SUSPEND without DRIVER_OK, the rest of status as it was */
void vsc_suspend_assert_stopped(QVirtioPCIDevice *d, uint8_t status)
{
    g_assert_cmphex(qvirtio_pci_common_status(d), ==,
                    (status & ~VIRTIO_CONFIG_S_DRIVER_OK) |
                    VIRTIO_CONFIG_S_SUSPEND);
}

/* ---- what every device type's case uses ----------------------------- */

static void G_GNUC_PRINTF(4, 5)
vsc_start(QVirtioMachine *m, const VscCase *c, const char *device,
          const char *fmt, ...)
{
    g_autofree char *dev = g_strdup_printf("%s,%s", device, c->fe->opts);
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qvirtio_machine_start(m, c->machine, dev, "%s", args);
}

/* Up to FEATURES_OK: the front end's features and those of @extra */
static uint64_t vsc_negotiate(const VscCase *c, QVirtioPCIDevice *d,
                              uint64_t extra)
{
    return qvirtio_negotiate(&d->vdev, c->fe->features, extra);
}

/*
 * MSI-X, after feature negotiation (which resets the device): the
 * configuration vector is entry 0, queue n's is entry n + 1 (vsc_queue)
 */
static void vsc_msix(QVirtioMachine *m, QVirtioPCIDevice *d)
{
    qpci_msix_enable(d->pdev);
    qvirtio_pci_set_msix_configuration_vector(d, &m->alloc, 0);
}

static QVirtQueue *vsc_queue(QVirtioMachine *m, QVirtioPCIDevice *d, int n)
{
    QVirtQueue *vq = qvirtqueue_setup(&d->vdev, &m->alloc, n);

    if (d->pdev->msix_enabled) {
        qvirtqueue_pci_msix_setup(d, (QVirtQueuePCI *)vq, &m->alloc, n + 1);
    }
    return vq;
}

/*
 * Since @before, not one byte of guest memory changed (MSI-X messages
 * included), and with INTx the ISR says that nothing was notified.
 */
static void vsc_assert_quiet(QVirtioMachine *m, QVirtioPCIDevice *d,
                             GByteArray *before)
{
    g_autoptr(GByteArray) after = qvirtio_mem_snapshot(m->qts,
                                                       QVIRTIO_MACHINE_RAM);

    qvirtio_mem_assert_same(before, after);
    if (!d->pdev->msix_enabled) {
        g_assert_cmphex(qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset),
                        ==, 0);
    }
}

/* Let the main loop serve back-ends (sockets, timers) for a while */
static void vsc_settle(QTestState *qts)
{
    int i;

    for (i = 0; i < VSC_BACKEND_SETTLE_MS / 10; i++) {
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
static void vsc_wait_used(QTestState *qts, QVirtQueue *vq, uint32_t head)
{
    gint64 start = g_get_monotonic_time();
    uint32_t got;

    if (vq->event) {
        qvirtqueue_set_used_event(qts, vq, vq->last_used_idx);
    }
    while (!qvirtqueue_get_buf(qts, vq, &got, NULL)) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        qtest_clock_step(qts, 100);
    }
    g_assert_cmpint(got, ==, head);
}

/* The notification alone, whatever the ring says about wanting it */
static void vsc_kick_raw(QVirtioPCIDevice *d, QVirtQueue *vq)
{
    d->vdev.bus->virtqueue_kick(&d->vdev, vq);
}

static void vsc_config_writeb(QVirtioPCIDevice *d, uint64_t off, uint8_t val)
{
    qpci_io_writeb(d->pdev, d->bar, d->device_cfg_offset + off, val);
}

/* ---- virtio-blk: resize, kicks and every ignored write while stopped - */

static void test_blk(const void *data)
{
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    const char *file = qvirtio_drive_file();
    g_autoptr(GByteArray) before = NULL;
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    QPCIBar legacy;
    uint64_t req, wce_off = offsetof(struct virtio_blk_config, wce);
    uint32_t head;
    uint8_t status;

    vsc_start(&m, c, "virtio-blk-pci,drive=drv0",
              "-blockdev driver=file,filename=%s,node-name=drv0", file);
    d = m.pci;
    g_assert(vsc_negotiate(c, d, 1ull << VIRTIO_BLK_F_CONFIG_WCE) &
             (1ull << VIRTIO_BLK_F_CONFIG_WCE));
    vsc_msix(&m, d);
    vq = vsc_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    status = qvirtio_pci_common_status(d);
    vsc_config_writeb(d, wce_off, 1);
    g_assert_cmpint(qvirtio_config_readb(&d->vdev, wce_off), ==, 1);

    fe->stop(d);
    head = qvirtio_blk_req_read(m.qts, &m.alloc, &d->vdev, vq, 0, &req);

    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    qtest_qmp_assert_success(m.qts, "{'execute': 'block_resize', 'arguments':"
                             " {'node-name': 'drv0', 'size': 2097152}}");
    vsc_kick_raw(d, vq);
    /* Ignored while stopped: device configuration, non-zero status ... */
    vsc_config_writeb(d, wce_off, 0);
    qvirtio_pci_common_set_status(d, status | VIRTIO_CONFIG_S_FAILED);
    /* ... and the whole legacy interface, a reset included */
    legacy = qpci_iomap(d->pdev, 0, NULL);
    qpci_io_writeb(d->pdev, legacy, VIRTIO_PCI_STATUS, 0);
    qpci_io_writew(d->pdev, legacy, VIRTIO_PCI_QUEUE_SEL, 0);
    qpci_io_writel(d->pdev, legacy, VIRTIO_PCI_QUEUE_PFN, 0);
    vsc_settle(m.qts);
    vsc_assert_quiet(&m, d, before);

    g_assert_cmpint(qvirtio_config_readb(&d->vdev, wce_off), ==, 1);
    fe->assert_stopped(d, status);
    /*
     * Reads keep working, and show the configuration as it was when the
     * device stopped: the new capacity shows when it runs, notified
     */
    g_assert_cmpint(qvirtio_config_readq(&d->vdev, 0), ==, 1 * MiB / 512);

    fe->run(d);
    qvirtio_wait_config_isr(&d->vdev, QVIRTIO_MACHINE_TIMEOUT_US);
    g_assert_cmpint(qvirtio_config_readq(&d->vdev, 0), ==, 2 * MiB / 512);
    vsc_wait_used(m.qts, vq, head);
    g_assert_cmpint(qtest_readb(m.qts, req + sizeof(struct virtio_blk_outhdr) +
                                512), ==, VIRTIO_BLK_S_OK);
    g_assert_cmphex(qtest_readb(m.qts, req + sizeof(struct virtio_blk_outhdr)),
                    ==, 0);
    /* Running, the device takes configuration writes again */
    vsc_config_writeb(d, wce_off, 0);
    g_assert_cmpint(qvirtio_config_readb(&d->vdev, wce_off), ==, 0);

    qvirtio_machine_stop(&m);
}

void vsc_add_blk(const VscFrontEnd *fe)
{
    vsc_add_pc_q35(fe, "blk", "virtio-blk-pci", test_blk);
}

/* ---- virtio-net: packets, link changes and kicks while stopped ------ */

static void vsc_net_send(int sock, const char *payload)
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
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    g_autofree char *dev = g_strdup_printf("virtio-net-pci,netdev=n0,"
                                           "event_idx=%s",
                                           c->event_idx ? "on" : "off");
    QVirtioMachine m;
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
    vsc_start(&m, c, dev, "-netdev socket,fd=%d,id=n0", sv[1]);
    d = m.pci;
    g_assert_cmphex(vsc_negotiate(c, d,
                        (1ull << VIRTIO_NET_F_STATUS) |
                        (1ull << VIRTIO_RING_F_EVENT_IDX)) &
                    (1ull << VIRTIO_RING_F_EVENT_IDX), ==,
                    c->event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
    if (c->msix) {
        vsc_msix(&m, d);
    }
    rx = vsc_queue(&m, d, 0);
    tx = vsc_queue(&m, d, 1);
    qvirtio_set_driver_ok(&d->vdev);

    for (i = 0; i < 2; i++) {
        rxbuf[i] = guest_alloc(&m.alloc, VSC_BUF);
    }
    if (c->rx_buffers) {
        /* One packet first, so that the rings have moved */
        rxhead[0] = qvirtqueue_add(m.qts, rx, rxbuf[0], VSC_BUF, true, false);
        qvirtqueue_kick(m.qts, &d->vdev, rx, rxhead[0]);
        vsc_net_send(sv[0], "before");
        vsc_wait_used(m.qts, rx, rxhead[0]);
        qtest_memread(m.qts, rxbuf[0] + VSC_NET_HDR, got, 7);
        g_assert_cmpstr(got, ==, "before");
        /* and a buffer available while the device is stopped */
        rxhead[0] = qvirtqueue_add(m.qts, rx, rxbuf[0], VSC_BUF, true, false);
        qvirtqueue_kick(m.qts, &d->vdev, rx, rxhead[0]);
    }
    if (!c->msix) {
        qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
    }

    status = qvirtio_pci_common_status(d);
    fe->stop(d);

    /* The driver may publish a buffer and kick while the device is stopped */
    txbuf = guest_alloc(&m.alloc, 64);
    qtest_memset(m.qts, txbuf, 0, VSC_NET_HDR);
    qtest_memwrite(m.qts, txbuf + VSC_NET_HDR, "frozen-tx", 10);
    txhead = qvirtqueue_add(m.qts, tx, txbuf, VSC_NET_HDR + 10, false, false);
    qvirtqueue_kick(m.qts, &d->vdev, tx, txhead);

    /*
     * From here on the device must not change one byte of guest memory:
     * a link flap (a configuration change), packets from the back-end,
     * kicks on both queues.
     */
    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    qtest_qmp_assert_success(m.qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': false}}");
    qtest_qmp_assert_success(m.qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': true}}");
    vsc_net_send(sv[0], "while-frozen-1");
    vsc_net_send(sv[0], "while-frozen-2");
    vsc_settle(m.qts);
    /* A link event flushes the back-end's queue: the packets stay in it */
    qtest_qmp_assert_success(m.qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': true}}");
    vsc_kick_raw(d, rx);
    vsc_kick_raw(d, tx);
    vsc_settle(m.qts);
    vsc_assert_quiet(&m, d, before);
    if (!c->msix) {
        g_assert_cmphex(qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset),
                        ==, 0);
    }
    fe->assert_stopped(d, status);

    /* Running again: the latched link change, the kick, then the packets */
    fe->run(d);
    if (c->msix) {
        qvirtio_wait_config_isr(&d->vdev, QVIRTIO_MACHINE_TIMEOUT_US);
    }
    g_assert_cmphex(qvirtio_config_readw(&d->vdev,
                        offsetof(struct virtio_net_config, status)) &
                    VIRTIO_NET_S_LINK_UP, ==, VIRTIO_NET_S_LINK_UP);
    vsc_wait_used(m.qts, tx, txhead);
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
            rxhead[i] = qvirtqueue_add(m.qts, rx, rxbuf[i], VSC_BUF, true,
                                       false);
            qvirtqueue_kick(m.qts, &d->vdev, rx, rxhead[i]);
        }
        vsc_wait_used(m.qts, rx, rxhead[i]);
        qtest_memread(m.qts, rxbuf[i] + VSC_NET_HDR, got, strlen(want) + 1);
        g_assert_cmpstr(got, ==, want);
    }

    close(sv[0]);
    qvirtio_machine_stop(&m);
}

void vsc_add_net(const VscFrontEnd *fe)
{
    static const VscCase net[] = {
        { .machine = "pc", .event_idx = false, .rx_buffers = true,
          .msix = true },
        { .machine = "pc", .event_idx = true, .rx_buffers = false,
          .msix = false },
        { .machine = "q35", .event_idx = true, .rx_buffers = true,
          .msix = true },
        { .machine = "q35", .event_idx = false, .rx_buffers = false,
          .msix = true },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(net); i++) {
        g_autofree char *path = g_strdup_printf(
            "net/%s/%s/%s/%s", net[i].machine,
            net[i].event_idx ? "event-idx" : "no-event-idx",
            net[i].rx_buffers ? "rx-buffers" : "no-rx-buffers",
            net[i].msix ? "msix" : "intx");

        if (qvirtio_machine_has(net[i].machine, "virtio-net-pci")) {
            vsc_add(fe, path, g_memdup2(&net[i], sizeof(net[i])), test_net);
        }
    }
}

/* ---- virtio-rng: the back-end has entropy, the device takes none ---- */

static void test_rng(const void *data)
{
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    g_autoptr(GByteArray) before = NULL;
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    uint64_t buf;
    uint32_t head, len;
    uint8_t got[64];
    int i, nonzero = 0;

    vsc_start(&m, c, "virtio-rng-pci,rng=rng0",
              "-object rng-random,id=rng0,filename=/dev/urandom");
    d = m.pci;
    vsc_negotiate(c, d, 0);
    vq = vsc_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);

    fe->stop(d);
    buf = guest_alloc(&m.alloc, sizeof(got));
    qtest_memset(m.qts, buf, 0, sizeof(got));
    head = qvirtqueue_add(m.qts, vq, buf, sizeof(got), true, false);
    qvirtqueue_kick(m.qts, &d->vdev, vq, head);

    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    vsc_kick_raw(d, vq);
    vsc_settle(m.qts);
    vsc_assert_quiet(&m, d, before);

    fe->run(d);
    qvirtio_wait_used_elem(m.qts, &d->vdev, vq, head, &len,
                           QVIRTIO_MACHINE_TIMEOUT_US);
    g_assert_cmpuint(len, ==, sizeof(got));
    qtest_memread(m.qts, buf, got, sizeof(got));
    for (i = 0; i < sizeof(got); i++) {
        nonzero += got[i] != 0;
    }
    g_assert_cmpint(nonzero, >, 0);
    qvirtio_machine_stop(&m);
}

/*
 * ---- virtio-rng: entropy that arrives while the device is stopped --
 *
 * The test is the EGD peer of an rng-egd back-end.  The device asks for
 * entropy for the buffer the driver made available, stops, and then the
 * answer comes: the device takes none of it, and what it drops does not
 * count against max-bytes, so that it asks again as soon as it runs,
 * not a period later.
 */

/* Read the EGD request for @len bytes the back-end sends to the peer */
static void vsc_egd_request(int sock, uint8_t len)
{
    uint8_t req[2];

    g_assert_cmpint(recv(sock, req, sizeof(req), MSG_WAITALL), ==,
                    sizeof(req));
    g_assert_cmphex(req[0], ==, 0x02);
    g_assert_cmpuint(req[1], ==, len);
}

static void test_rng_late(const void *data)
{
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    g_autoptr(GByteArray) before = NULL;
    struct timeval tv = { .tv_sec = 10 };
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    uint8_t late[64], got[64];
    uint64_t buf;
    uint32_t head, len;
    int sv[2];

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    g_assert_cmpint(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
                               sizeof(tv)), ==, 0);
    vsc_start(&m, c, "virtio-rng-pci,rng=rng0,max-bytes=64,period=60000",
              "-chardev socket,id=egd0,fd=%d "
              "-object rng-egd,id=rng0,chardev=egd0", sv[1]);
    close(sv[1]);
    d = m.pci;
    vsc_negotiate(c, d, 0);
    vq = vsc_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
    buf = guest_alloc(&m.alloc, sizeof(got));
    qtest_memset(m.qts, buf, 0, sizeof(got));
    head = qvirtqueue_add(m.qts, vq, buf, sizeof(got), true, false);
    qvirtqueue_kick(m.qts, &d->vdev, vq, head);
    vsc_egd_request(sv[0], sizeof(got));

    fe->stop(d);
    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    memset(late, 0xa5, sizeof(late));
    g_assert_cmpint(send(sv[0], late, sizeof(late), 0), ==, sizeof(late));
    vsc_settle(m.qts);
    vsc_assert_quiet(&m, d, before);

    fe->run(d);
    vsc_egd_request(sv[0], sizeof(got));
    memset(late, 0x5a, sizeof(late));
    g_assert_cmpint(send(sv[0], late, sizeof(late), 0), ==, sizeof(late));
    qvirtio_wait_used_elem(m.qts, &d->vdev, vq, head, &len,
                           QVIRTIO_MACHINE_TIMEOUT_US);
    g_assert_cmpuint(len, ==, sizeof(got));
    qtest_memread(m.qts, buf, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), late, sizeof(late));
    close(sv[0]);
    qvirtio_machine_stop(&m);
}

/*
 * ---- virtio-rng: a device that breaks while stopped ----------------
 *
 * Its rings are in the RAM BAR of an ivshmem-plain function, and the
 * driver moves that function's 256-byte register BAR into the middle of
 * the descriptor table and back while the device is stopped: the core
 * cannot map the table meanwhile, and the device breaks (virtio_error()).
 * It stays stopped: it presents what it did, and writes and notifies
 * nothing.  The resume fails, with DEVICE_NEEDS_RESET and the
 * configuration change notification, and a reset brings the device back.
 */
#define VSC_IVSHMEM_SLOT 6

static void test_rng_broken(const void *data)
{
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    g_autoptr(GByteArray) before = NULL;
    g_autofree uint8_t *used = NULL, *used_after = NULL;
    QGuestAllocator bar_alloc;
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QPCIDevice *iv;
    QPCIBar bar2;
    QVirtQueue *vq;
    uint64_t size, buf, split;
    uint32_t bar0, head, len;
    size_t used_len;
    uint8_t status;

    vsc_start(&m, c, "virtio-rng-pci",
              "-object memory-backend-memfd,id=mb,size=1M,share=on "
              "-device ivshmem-plain,memdev=mb,addr=%d.0", VSC_IVSHMEM_SLOT);
    iv = qpci_device_find(m.bus, QPCI_DEVFN(VSC_IVSHMEM_SLOT, 0));
    g_assert_nonnull(iv);
    qpci_device_enable(iv);
    bar2 = qpci_iomap(iv, 2, &size);
    bar0 = qpci_config_readl(iv, PCI_BASE_ADDRESS_0);
    /* The descriptor table straddles a 256-byte boundary */
    alloc_init(&bar_alloc, 0, bar2.addr + 0xc0, bar2.addr + size, 64);
    d = m.pci;
    vsc_negotiate(c, d, 0);
    vq = qvirtqueue_setup(&d->vdev, &bar_alloc, 0);
    qvirtio_set_driver_ok(&d->vdev);
    status = qvirtio_pci_common_status(d);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
    split = QEMU_ALIGN_UP(vq->desc + 1, 0x100);
    g_assert_cmpuint(split, <, vq->desc + 16 * vq->size);

    fe->stop(d);
    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    used_len = 4 + 8 * vq->size;
    used = g_malloc(used_len);
    used_after = g_malloc(used_len);
    qtest_memread(m.qts, vq->used, used, used_len);
    qpci_config_writel(iv, PCI_BASE_ADDRESS_0, split);
    vsc_settle(m.qts);
    qpci_config_writel(iv, PCI_BASE_ADDRESS_0, bar0);
    vsc_settle(m.qts);
    fe->assert_stopped(d, status);
    vsc_assert_quiet(&m, d, before);
    qtest_memread(m.qts, vq->used, used_after, used_len);
    g_assert_cmpmem(used, used_len, used_after, used_len);

    fe->run(d);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==,
                    status | VIRTIO_CONFIG_S_NEEDS_RESET);
    g_assert_cmphex(qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset) &
                    VIRTIO_PCI_ISR_CONFIG, ==, VIRTIO_PCI_ISR_CONFIG);

    qvirtio_reset(&d->vdev);
    qvirtqueue_cleanup(d->vdev.bus, vq, &bar_alloc);
    vsc_negotiate(c, d, 0);
    vq = vsc_queue(&m, d, 0);
    qvirtio_set_driver_ok(&d->vdev);
    buf = guest_alloc(&m.alloc, 16);
    head = qvirtqueue_add(m.qts, vq, buf, 16, true, false);
    qvirtqueue_kick(m.qts, &d->vdev, vq, head);
    qvirtio_wait_used_elem(m.qts, &d->vdev, vq, head, &len,
                           QVIRTIO_MACHINE_TIMEOUT_US);
    g_assert_cmpuint(len, ==, 16);
    alloc_destroy(&bar_alloc);
    g_free(iv);
    qvirtio_machine_stop(&m);
}

void vsc_add_rng(const VscFrontEnd *fe)
{
    vsc_add_pc_q35(fe, "rng", "virtio-rng-pci", test_rng);
    vsc_add_pc_q35(fe, "rng-late", "virtio-rng-pci", test_rng_late);
    if (qtest_has_device("ivshmem-plain")) {
        vsc_add_pc_q35(fe, "rng-broken", "virtio-rng-pci", test_rng_broken);
    }
}

/* ---- virtio-balloon: a new target and statistics polls while stopped - */

static void test_balloon(const void *data)
{
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    g_autoptr(GByteArray) before = NULL;
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *inflate, *deflate, *stats;
    uint64_t buf;
    uint32_t head;

    vsc_start(&m, c, "virtio-balloon-pci,id=balloon0", "%s", "");
    d = m.pci;
    vsc_negotiate(c, d, 1ull << VIRTIO_BALLOON_F_STATS_VQ);
    inflate = vsc_queue(&m, d, 0);
    deflate = vsc_queue(&m, d, 1);
    stats = vsc_queue(&m, d, 2);
    qvirtio_set_driver_ok(&d->vdev);
    /* The driver gives the device its statistics buffer at once */
    buf = guest_alloc(&m.alloc, 64);
    head = qvirtqueue_add(m.qts, stats, buf, 64, false, false);
    qvirtqueue_kick(m.qts, &d->vdev, stats, head);
    qtest_qmp_assert_success(m.qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral/balloon0', "
                             "'property': 'guest-stats-polling-interval', "
                             "'value': 1}}");

    fe->stop(d);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);
    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    qtest_qmp_assert_success(m.qts, "{'execute': 'balloon', 'arguments': "
                             "{'value': %" PRIu64 "}}",
                             (uint64_t)QVIRTIO_MACHINE_RAM / 2);
    qtest_clock_step(m.qts, 3 * NANOSECONDS_PER_SECOND);
    vsc_kick_raw(d, inflate);
    vsc_kick_raw(d, deflate);
    vsc_kick_raw(d, stats);
    vsc_settle(m.qts);
    vsc_assert_quiet(&m, d, before);

    fe->run(d);
    qvirtio_wait_config_isr(&d->vdev, QVIRTIO_MACHINE_TIMEOUT_US);
    g_assert_cmpuint(qvirtio_config_readl(&d->vdev, 0), ==,
                     QVIRTIO_MACHINE_RAM / 2 / 4096);
    /* The statistics buffer is the device's again, and used on the poll */
    qtest_clock_step(m.qts, 2 * NANOSECONDS_PER_SECOND);
    vsc_wait_used(m.qts, stats, head);
    qvirtio_machine_stop(&m);
}

void vsc_add_balloon(const VscFrontEnd *fe)
{
    vsc_add_pc_q35(fe, "balloon", "virtio-balloon-pci", test_balloon);
}

/* ---- virtio-gpu: a command kicked while stopped --------------------- */

static void test_gpu(const void *data)
{
    const VscCase *c = data;
    const VscFrontEnd *fe = c->fe;
    g_autoptr(GByteArray) before = NULL;
    struct virtio_gpu_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_gpu_resp_display_info resp;
    QVirtioGpuCmd *cmd;
    QVirtioGpu gpu;
    QVirtioMachine m;
    QVirtioPCIDevice *d;

    vsc_start(&m, c, c->type, "%s", "");
    d = m.pci;
    g_assert_cmphex(qvirtio_get_features(&d->vdev) & fe->features, ==,
                    fe->features);
    qvirtio_gpu_init(&gpu, &d->vdev, m.qts, &m.alloc, fe->features);
    qpci_io_readb(d->pdev, d->bar, d->isr_cfg_offset);

    fe->stop(d);
    cmd = qvirtio_gpu_cmd_add(&gpu, &req, sizeof(req), sizeof(resp));
    qvirtio_gpu_cmd_publish(&gpu, cmd);

    before = qvirtio_mem_snapshot(m.qts, QVIRTIO_MACHINE_RAM);
    vsc_kick_raw(d, gpu.ctrlq);
    vsc_settle(m.qts);
    vsc_assert_quiet(&m, d, before);

    fe->run(d);
    g_assert_cmphex(qvirtio_gpu_cmd_wait(&gpu, cmd, &resp), ==,
                    VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    qvirtio_gpu_cleanup(&gpu);
    qvirtio_machine_stop(&m);
}

void vsc_add_gpu(const VscFrontEnd *fe)
{
    static const char *const types[][2] = {
        { "gpu/pc", "virtio-gpu-pci" },
        { "vga/pc", "virtio-vga" },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(types); i++) {
        VscCase *c;

        if (!qvirtio_machine_has("pc", types[i][1])) {
            continue;
        }
        c = g_new0(VscCase, 1);
        c->machine = "pc";
        c->type = types[i][1];
        vsc_add(fe, types[i][0], c, test_gpu);
    }
}
