/*
 * libqos: the virtio freeze_mode register (VIRTIO_F_FREEZE_MODE) of a
 * virtio-pci device, and guest memory snapshots to prove that a frozen
 * device leaves guest memory alone
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_VIRTIO_FREEZE_H
#define LIBQOS_VIRTIO_FREEZE_H

#include "virtio-pci.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"

#define QVIRTIO_FREEZE_TIMEOUT_US       (30 * 1000 * 1000)

uint16_t qvirtio_freeze_read(QVirtioPCIDevice *d);
void qvirtio_freeze_write(QVirtioPCIDevice *d, uint16_t val);

/*
 * Poll freeze_mode until BUSY clears, stepping the virtual clock (timers
 * such as I/O throttling run on it under qtest) and giving the main loop
 * time; returns the value read last.
 */
uint16_t qvirtio_freeze_wait(QVirtioPCIDevice *d);

/* Write @val and wait for the end of the transition */
uint16_t qvirtio_freeze_set(QVirtioPCIDevice *d, uint16_t val);

/* Does the device offer VIRTIO_F_FREEZE_MODE? */
bool qvirtio_freeze_offered(QVirtioPCIDevice *d);

/*
 * Reset the device and initialise it up to FEATURES_OK with VERSION_1,
 * FREEZE_MODE (which the device must offer) and those of @extra it
 * offers; returns the features negotiated.
 */
uint64_t qvirtio_freeze_negotiate(QVirtioPCIDevice *d, uint64_t extra);

/* device_status through the common configuration */
uint8_t qvirtio_freeze_status(QVirtioPCIDevice *d);

/* The features the driver wrote, both halves */
uint64_t qvirtio_freeze_driver_features(QVirtioPCIDevice *d);

/* What the common configuration says about one virtqueue */
typedef struct QVirtioFreezeQueue {
    uint16_t size;
    uint16_t enable;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
} QVirtioFreezeQueue;

/* Select virtqueue @index and read its configuration into @q */
void qvirtio_freeze_queue_read(QVirtioPCIDevice *d, uint16_t index,
                               QVirtioFreezeQueue *q);

/*
 * virtio 1.4 Device Suspend (VIRTIO_F_SUSPEND, negotiated): with
 * @suspend, set SUSPEND and wait until device status presents it without
 * DRIVER_OK; otherwise set DRIVER_OK and wait until it presents DRIVER_OK
 * without SUSPEND.  Steps the virtual clock while it waits; returns the
 * device status read last.
 */
uint8_t qvirtio_freeze_suspend(QVirtioPCIDevice *d, bool suspend);

/*
 * The guest RAM below @size as it is now, read with QMP pmemsave: all of
 * it, rings, buffers and MSI-X message addresses included.
 */
GByteArray *qvirtio_freeze_snapshot(QTestState *qts, uint64_t size);

/* Fail, naming the first differing address, unless @a and @b are equal */
void qvirtio_freeze_assert_same(GByteArray *a, GByteArray *b);

/* The run state of the VM (QMP query-status), to be freed */
char *qvirtio_freeze_run_state(QTestState *qts);

/*
 * Migrate @src to @dst, a QEMU started with "-incoming @uri", and wait
 * until the destination has the whole state.
 */
void qvirtio_freeze_migrate(QTestState *src, QTestState *dst, const char *uri);

/*
 * virtio-blk on a drive with id=drv0, as the freeze tests use it: a raw
 * 1 MiB image in a temporary file (to unlink), and qemu-io commands for
 * the drive (blkdebug's break and resume)
 */
char *qvirtio_freeze_drive_file(void);
void qvirtio_freeze_qemu_io(QTestState *qts, const char *cmd);

/*
 * A one-sector read (VIRTIO_BLK_T_IN) of @sector made available on @vq
 * and notified, its data buffer filled with 0x5a first; returns the head
 * descriptor, *@req the request (header, 512 bytes of data, status).
 */
uint32_t qvirtio_freeze_blk_read(QTestState *qts, QGuestAllocator *alloc,
                                 QVirtioDevice *vdev, QVirtQueue *vq,
                                 uint64_t sector, uint64_t *req);

/* The next used buffer of @vq is @head, with VIRTIO_BLK_S_OK; frees @req */
void qvirtio_freeze_blk_check_done(QTestState *qts, QGuestAllocator *alloc,
                                   QVirtQueue *vq, uint32_t head, uint64_t req);

/*
 * Wait for the next used buffer of @vq, stepping the virtual clock, and
 * check it as qvirtio_freeze_blk_check_done() does
 */
void qvirtio_freeze_blk_wait_done(QTestState *qts, QGuestAllocator *alloc,
                                  QVirtQueue *vq, uint32_t head, uint64_t req);

/*
 * Move the available index of split ring @vq more than a ring ahead of
 * the device, as a driver that corrupted the ring would
 */
void qvirtio_freeze_corrupt_avail(QTestState *qts, QVirtQueue *vq);

#endif
