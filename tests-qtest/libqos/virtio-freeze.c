/*
 * libqos: the virtio freeze_mode register (VIRTIO_F_FREEZE_MODE) of a
 * virtio-pci device, and guest memory snapshots
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "virtio.h"
#include "virtio-freeze.h"
#include "qobject/qdict.h"
#include "qemu/bswap.h"
#include "standard-headers/linux/virtio_blk.h"

uint16_t qvirtio_freeze_read(QVirtioPCIDevice *d)
{
    return qpci_io_readw(d->pdev, d->bar,
                         d->common_cfg_offset + VIRTIO_PCI_COMMON_FREEZE_MODE);
}

void qvirtio_freeze_write(QVirtioPCIDevice *d, uint16_t val)
{
    qpci_io_writew(d->pdev, d->bar,
                   d->common_cfg_offset + VIRTIO_PCI_COMMON_FREEZE_MODE, val);
}

uint16_t qvirtio_freeze_wait(QVirtioPCIDevice *d)
{
    QTestState *qts = d->pdev->bus->qts;
    gint64 start = g_get_monotonic_time();
    uint16_t val;

    while ((val = qvirtio_freeze_read(d)) & VIRTIO_PCI_FREEZE_MODE_BUSY) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_FREEZE_TIMEOUT_US);
        qtest_clock_step_next(qts);
        g_usleep(100);
    }
    return val;
}

uint16_t qvirtio_freeze_set(QVirtioPCIDevice *d, uint16_t val)
{
    qvirtio_freeze_write(d, val);
    return qvirtio_freeze_wait(d);
}

bool qvirtio_freeze_offered(QVirtioPCIDevice *d)
{
    return qvirtio_get_features(&d->vdev) & (1ull << VIRTIO_F_FREEZE_MODE);
}

uint64_t qvirtio_freeze_negotiate(QVirtioPCIDevice *d, uint64_t extra)
{
    QVirtioDevice *vdev = &d->vdev;
    uint64_t features;

    qvirtio_start_device(vdev);
    g_assert(qvirtio_freeze_offered(d));
    features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_FREEZE_MODE) |
               (qvirtio_get_features(vdev) & extra);
    qvirtio_set_features(vdev, features);
    return features;
}

uint8_t qvirtio_freeze_status(QVirtioPCIDevice *d)
{
    return qpci_io_readb(d->pdev, d->bar,
                         d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS);
}

uint64_t qvirtio_freeze_driver_features(QVirtioPCIDevice *d)
{
    uint64_t base = d->common_cfg_offset;
    uint64_t lo, hi;

    qpci_io_writel(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GFSELECT, 0);
    lo = qpci_io_readl(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GF);
    qpci_io_writel(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GFSELECT, 1);
    hi = qpci_io_readl(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GF);
    return hi << 32 | lo;
}

void qvirtio_freeze_queue_read(QVirtioPCIDevice *d, uint16_t index,
                               QVirtioFreezeQueue *q)
{
    uint64_t base = d->common_cfg_offset;

    qpci_io_writew(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_SELECT, index);
    q->size = qpci_io_readw(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_SIZE);
    q->enable = qpci_io_readw(d->pdev, d->bar,
                              base + VIRTIO_PCI_COMMON_Q_ENABLE);
    q->desc = qpci_io_readq(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_DESCLO);
    q->avail = qpci_io_readq(d->pdev, d->bar,
                             base + VIRTIO_PCI_COMMON_Q_AVAILLO);
    q->used = qpci_io_readq(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_USEDLO);
}

uint8_t qvirtio_freeze_suspend(QVirtioPCIDevice *d, bool suspend)
{
    const uint8_t mask = VIRTIO_CONFIG_S_SUSPEND | VIRTIO_CONFIG_S_DRIVER_OK;
    uint8_t want = suspend ? VIRTIO_CONFIG_S_SUSPEND
                           : VIRTIO_CONFIG_S_DRIVER_OK;
    QTestState *qts = d->pdev->bus->qts;
    gint64 start = g_get_monotonic_time();
    uint8_t status;

    qpci_io_writeb(d->pdev, d->bar,
                   d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS,
                   qvirtio_freeze_status(d) | want);
    while (((status = qvirtio_freeze_status(d)) & mask) != want) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_FREEZE_TIMEOUT_US);
        qtest_clock_step_next(qts);
        g_usleep(100);
    }
    return status;
}

GByteArray *qvirtio_freeze_snapshot(QTestState *qts, uint64_t size)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    gchar *data;
    gsize len;
    int fd;

    fd = g_file_open_tmp("qtest-freeze-mem.XXXXXX", &path, &err);
    g_assert_no_error(err);
    close(fd);
    qtest_qmp_assert_success(qts, "{'execute': 'pmemsave', 'arguments': "
                             "{'val': 0, 'size': %" PRIu64 ", "
                             "'filename': %s}}", size, path);
    g_file_get_contents(path, &data, &len, &err);
    g_assert_no_error(err);
    unlink(path);
    g_assert_cmpuint(len, ==, size);
    return g_byte_array_new_take((guint8 *)data, len);
}

void qvirtio_freeze_assert_same(GByteArray *a, GByteArray *b)
{
    guint i;

    g_assert_cmpuint(a->len, ==, b->len);
    if (memcmp(a->data, b->data, a->len) == 0) {
        return;
    }
    for (i = 0; i < a->len && a->data[i] == b->data[i]; i++) {
        /* find the first difference */
    }
    g_test_message("guest memory at 0x%x changed: 0x%02x -> 0x%02x",
                   i, a->data[i], b->data[i]);
    g_assert_cmphex(i, ==, a->len);
}

char *qvirtio_freeze_run_state(QTestState *qts)
{
    QDict *rsp = qtest_qmp_assert_success_ref(qts,
                                              "{'execute': 'query-status'}");
    char *st = g_strdup(qdict_get_str(rsp, "status"));

    qobject_unref(rsp);
    return st;
}

void qvirtio_freeze_migrate(QTestState *src, QTestState *dst, const char *uri)
{
    QDict *rsp;
    const char *st;

    qtest_qmp_assert_success(src, "{'execute': 'migrate', 'arguments':"
                             " {'uri': %s}}", uri);
    while (true) {
        rsp = qtest_qmp_assert_success_ref(src, "{'execute': 'query-migrate'}");
        st = qdict_get_try_str(rsp, "status");
        g_assert(st);
        g_assert_cmpstr(st, !=, "failed");
        if (g_str_equal(st, "completed")) {
            qobject_unref(rsp);
            break;
        }
        qobject_unref(rsp);
        g_usleep(10 * 1000);
    }
    while (true) {
        g_autofree char *dst_st = qvirtio_freeze_run_state(dst);

        if (!g_str_equal(dst_st, "inmigrate")) {
            break;
        }
        g_usleep(10 * 1000);
    }
}

char *qvirtio_freeze_drive_file(void)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("qtest-freeze.XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1024 * 1024), ==, 0);
    close(fd);
    return g_steal_pointer(&path);
}

void qvirtio_freeze_qemu_io(QTestState *qts, const char *cmd)
{
    g_autofree char *out = qtest_hmp(qts, "qemu-io drv0 \"%s\"", cmd);

    g_assert_cmpstr(out, ==, "");
}

uint32_t qvirtio_freeze_blk_read(QTestState *qts, QGuestAllocator *alloc,
                                 QVirtioDevice *vdev, QVirtQueue *vq,
                                 uint64_t sector, uint64_t *req)
{
    struct virtio_blk_outhdr hdr = {
        .type = cpu_to_le32(VIRTIO_BLK_T_IN),
        .sector = cpu_to_le64(sector),
    };
    uint64_t addr = guest_alloc(alloc, sizeof(hdr) + 512 + 1);
    uint32_t head;

    qtest_memwrite(qts, addr, &hdr, sizeof(hdr));
    qtest_memset(qts, addr + sizeof(hdr), 0x5a, 512);
    qtest_writeb(qts, addr + sizeof(hdr) + 512, 0xff);
    head = qvirtqueue_add(qts, vq, addr, sizeof(hdr), false, true);
    qvirtqueue_add(qts, vq, addr + sizeof(hdr), 512, true, true);
    qvirtqueue_add(qts, vq, addr + sizeof(hdr) + 512, 1, true, false);
    qvirtqueue_kick(qts, vdev, vq, head);
    *req = addr;
    return head;
}

void qvirtio_freeze_blk_check_done(QTestState *qts, QGuestAllocator *alloc,
                                   QVirtQueue *vq, uint32_t head, uint64_t req)
{
    uint32_t got;

    g_assert(qvirtqueue_get_buf(qts, vq, &got, NULL));
    g_assert_cmpint(got, ==, head);
    g_assert_cmpint(qtest_readb(qts, req + sizeof(struct virtio_blk_outhdr) +
                                512), ==, VIRTIO_BLK_S_OK);
    guest_free(alloc, req);
}

void qvirtio_freeze_corrupt_avail(QTestState *qts, QVirtQueue *vq)
{
    uint64_t idx = vq->avail + 2;       /* struct vring_avail.idx */

    qtest_writew(qts, idx, qtest_readw(qts, idx) + vq->size + 1);
}

void qvirtio_freeze_blk_wait_done(QTestState *qts, QGuestAllocator *alloc,
                                  QVirtQueue *vq, uint32_t head, uint64_t req)
{
    gint64 start = g_get_monotonic_time();

    while (qtest_readw(qts, vq->used + 2) == vq->last_used_idx) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_FREEZE_TIMEOUT_US);
        qtest_clock_step(qts, 100);
        g_usleep(100);
    }
    qvirtio_freeze_blk_check_done(qts, alloc, vq, head, req);
}
