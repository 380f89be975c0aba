/*
 * libqos: a packed virtqueue (VIRTIO_F_RING_PACKED) driver for modern
 * (virtio 1.x) virtio-pci devices
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_VIRTIO_PACKED_H
#define LIBQOS_VIRTIO_PACKED_H

#include "virtio-pci.h"
#include "standard-headers/linux/virtio_ring.h"

/*
 * A packed virtqueue.  pci.vq.desc is the descriptor ring, pci.vq.avail
 * the driver event suppression area and pci.vq.used the device event
 * suppression area, as the common configuration names them; kicks go
 * through the transport like those of a split ring.  The buffer ID of a
 * chain is the ring position of its head.
 */
typedef struct QVirtQueuePacked {
    QVirtQueuePCI pci;
    uint16_t next_avail;        /* where the driver adds the next chain */
    bool avail_wrap;            /* the Driver Ring Wrap Counter */
    uint16_t next_used;         /* where the device writes the next used one */
    bool used_wrap;             /* ... and the wrap counter it writes it with */
    uint16_t num_free;
    uint16_t *chain_len;        /* descriptors of each chain, by buffer ID */
} QVirtQueuePacked;

/* One buffer of a chain: device-writable with @write */
typedef struct QVirtQueuePackedBuf {
    uint64_t addr;
    uint32_t len;
    bool write;
} QVirtQueuePackedBuf;

/*
 * Set up virtqueue @index of @d, which negotiated VIRTIO_F_RING_PACKED
 * (FEATURES_OK set), with @size descriptors (0: the device's maximum),
 * and enable it.
 */
QVirtQueuePacked *qvirtqueue_packed_setup(QVirtioPCIDevice *d,
                                          QGuestAllocator *alloc,
                                          uint16_t index, uint16_t size);
void qvirtqueue_packed_cleanup(QVirtQueuePacked *vq, QGuestAllocator *alloc);

/*
 * Make the chain @bufs[0..@n-1] available: the descriptors after the head
 * first, the head's flags last.  Returns the chain's buffer ID.
 */
uint16_t qvirtqueue_packed_add(QTestState *qts, QVirtQueuePacked *vq,
                               const QVirtQueuePackedBuf *bufs, int n);

/* Notify the device that virtqueue @vq has buffers */
void qvirtqueue_packed_kick(QVirtioPCIDevice *d, QVirtQueuePacked *vq);

/*
 * If the device used the next chain, take it: its buffer ID in *@id and
 * the length the device wrote in *@len (either may be NULL).
 */
bool qvirtqueue_packed_get_used(QTestState *qts, QVirtQueuePacked *vq,
                                uint16_t *id, uint32_t *len);

/* The flags of descriptor @i as they are in guest memory */
uint16_t qvirtqueue_packed_desc_flags(QTestState *qts, QVirtQueuePacked *vq,
                                      uint16_t i);

/* The flags of a descriptor that is available, or used, in lap @wrap */
static inline uint16_t qvirtqueue_packed_avail_flags(bool wrap)
{
    return wrap ? 1 << VRING_PACKED_DESC_F_AVAIL
                : 1 << VRING_PACKED_DESC_F_USED;
}

static inline uint16_t qvirtqueue_packed_used_flags(bool wrap)
{
    return wrap ? (1 << VRING_PACKED_DESC_F_AVAIL |
                   1 << VRING_PACKED_DESC_F_USED) : 0;
}

#endif
