/*
 * libqos: a packed virtqueue (VIRTIO_F_RING_PACKED) driver for modern
 * (virtio 1.x) virtio-pci devices
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "virtio-packed.h"

#define COMMON_CFG(field) offsetof(struct virtio_pci_common_cfg, field)

static void common_writew(QVirtioPCIDevice *d, uint64_t off, uint16_t val)
{
    qpci_io_writew(d->pdev, d->bar, d->common_cfg_offset + off, val);
}

static uint16_t common_readw(QVirtioPCIDevice *d, uint64_t off)
{
    return qpci_io_readw(d->pdev, d->bar, d->common_cfg_offset + off);
}

QVirtQueuePacked *qvirtqueue_packed_setup(QVirtioPCIDevice *d,
                                          QGuestAllocator *alloc,
                                          uint16_t index, uint16_t size)
{
    QTestState *qts = d->pdev->bus->qts;
    QVirtQueuePacked *vq = g_new0(QVirtQueuePacked, 1);
    uint16_t max;
    uint64_t ring_size;

    g_assert(d->vdev.bus->get_guest_features(&d->vdev) &
             (1ull << VIRTIO_F_RING_PACKED));

    d->vdev.bus->queue_select(&d->vdev, index);
    max = d->vdev.bus->get_queue_size(&d->vdev);
    g_assert_cmpint(max, !=, 0);
    if (size) {
        g_assert_cmpint(size, <=, max);
        common_writew(d, COMMON_CFG(queue_size), size);
        g_assert_cmpint(d->vdev.bus->get_queue_size(&d->vdev), ==, size);
    } else {
        size = max;
    }

    vq->pci.vq.vdev = &d->vdev;
    vq->pci.vq.index = index;
    vq->pci.vq.size = size;
    vq->pci.msix_entry = -1;
    vq->avail_wrap = true;
    vq->used_wrap = true;
    vq->num_free = size;
    vq->chain_len = g_new0(uint16_t, size);

    /*
     * The descriptor ring (16-byte aligned), then the driver and the
     * device event suppression areas (4-byte aligned), all zero: no
     * descriptor available, notifications enabled both ways
     */
    ring_size = size * sizeof(struct vring_packed_desc) +
                2 * sizeof(struct vring_packed_desc_event);
    vq->pci.vq.desc = guest_alloc(alloc, ring_size);
    qtest_memset(qts, vq->pci.vq.desc, 0, ring_size);
    vq->pci.vq.avail = vq->pci.vq.desc +
                       size * sizeof(struct vring_packed_desc);
    vq->pci.vq.used = vq->pci.vq.avail + sizeof(struct vring_packed_desc_event);
    d->vdev.bus->set_queue_address(&d->vdev, &vq->pci.vq);

    vq->pci.notify_offset = d->notify_cfg_offset +
                            common_readw(d, COMMON_CFG(queue_notify_off)) *
                            d->notify_off_multiplier;
    common_writew(d, COMMON_CFG(queue_enable), 1);
    return vq;
}

void qvirtqueue_packed_cleanup(QVirtQueuePacked *vq, QGuestAllocator *alloc)
{
    guest_free(alloc, vq->pci.vq.desc);
    g_free(vq->chain_len);
    g_free(vq);
}

static uint64_t desc_addr(QVirtQueuePacked *vq, uint16_t i)
{
    return vq->pci.vq.desc + i * sizeof(struct vring_packed_desc);
}

uint16_t qvirtqueue_packed_desc_flags(QTestState *qts, QVirtQueuePacked *vq,
                                      uint16_t i)
{
    return qtest_readw(qts, desc_addr(vq, i) +
                       offsetof(struct vring_packed_desc, flags));
}

uint16_t qvirtqueue_packed_add(QTestState *qts, QVirtQueuePacked *vq,
                               const QVirtQueuePackedBuf *bufs, int n)
{
    uint16_t head = vq->next_avail;
    uint16_t head_flags = 0;
    uint16_t pos = head;
    bool wrap = vq->avail_wrap;
    int i;

    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(n, <=, vq->num_free);

    for (i = 0; i < n; i++) {
        uint16_t flags = qvirtqueue_packed_avail_flags(wrap);
        struct vring_packed_desc desc = {
            .addr = cpu_to_le64(bufs[i].addr),
            .len = cpu_to_le32(bufs[i].len),
            .id = cpu_to_le16(head),
        };

        if (bufs[i].write) {
            flags |= VRING_DESC_F_WRITE;
        }
        if (i < n - 1) {
            flags |= VRING_DESC_F_NEXT;
        }
        if (i == 0) {
            /* The head becomes available last, when the chain is whole */
            head_flags = flags;
        } else {
            desc.flags = cpu_to_le16(flags);
        }
        qtest_memwrite(qts, desc_addr(vq, pos), &desc, sizeof(desc));
        if (++pos == vq->pci.vq.size) {
            pos = 0;
            wrap = !wrap;
        }
    }
    qtest_writew(qts, desc_addr(vq, head) +
                 offsetof(struct vring_packed_desc, flags), head_flags);

    vq->chain_len[head] = n;
    vq->num_free -= n;
    vq->next_avail = pos;
    vq->avail_wrap = wrap;
    return head;
}

void qvirtqueue_packed_kick(QVirtioPCIDevice *d, QVirtQueuePacked *vq)
{
    d->vdev.bus->virtqueue_kick(&d->vdev, &vq->pci.vq);
}

bool qvirtqueue_packed_get_used(QTestState *qts, QVirtQueuePacked *vq,
                                uint16_t *id, uint32_t *len)
{
    struct vring_packed_desc desc;
    uint16_t flags = qvirtqueue_packed_desc_flags(qts, vq, vq->next_used);
    uint16_t used_id, n;

    /* Used in this lap: both flags equal to the wrap counter */
    if (!!(flags & (1 << VRING_PACKED_DESC_F_AVAIL)) != vq->used_wrap ||
        !!(flags & (1 << VRING_PACKED_DESC_F_USED)) != vq->used_wrap) {
        return false;
    }
    qtest_memread(qts, desc_addr(vq, vq->next_used), &desc, sizeof(desc));
    used_id = le16_to_cpu(desc.id);
    g_assert_cmpint(used_id, <, vq->pci.vq.size);
    n = vq->chain_len[used_id];
    g_assert_cmpint(n, !=, 0);
    vq->chain_len[used_id] = 0;
    vq->num_free += n;
    vq->next_used += n;
    if (vq->next_used >= vq->pci.vq.size) {
        vq->next_used -= vq->pci.vq.size;
        vq->used_wrap = !vq->used_wrap;
    }
    if (id) {
        *id = used_id;
    }
    if (len) {
        *len = le32_to_cpu(desc.len);
    }
    return true;
}
