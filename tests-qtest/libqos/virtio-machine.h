/*
 * libqos: a machine with one virtio device, and what tests of a stopped
 * (suspended) virtio device use: guest memory snapshots, the run state,
 * virtio-blk requests, the virtio-pci common configuration, and the
 * SUSPEND bit of device status (VIRTIO_F_SUSPEND, virtio 1.4)
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_VIRTIO_MACHINE_H
#define LIBQOS_VIRTIO_MACHINE_H

#include "libqos-malloc.h"
#include "virtio.h"
#include "virtio-mmio.h"
#include "virtio-pci.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"

#define QVIRTIO_MACHINE_TIMEOUT_US      (30 * 1000 * 1000)
#define QVIRTIO_MACHINE_RAM             (64 * 1024 * 1024)
/* Where the device is: pc and q35 */
#define QVIRTIO_MACHINE_SLOT            4
/* ... behind the root port ("q35-root-port"): bus 1, device 0 */
#define QVIRTIO_MACHINE_PORT_DEVFN      QPCI_DEVFN(1 << 5, 0)
/* ... on microvm: the first virtio-mmio transport */
#define QVIRTIO_MACHINE_MMIO_BASE       0xfeb00000

/*
 * A machine with one virtio device, as a driver finds it.  @machine is
 * "pc" or "q35" (the device in slot QVIRTIO_MACHINE_SLOT of the root
 * bus), "q35-root-port" (behind a pcie-root-port in that slot, whose
 * secondary bus and memory window libqos sets up) or "microvm" (on the
 * first virtio-mmio transport).
 */
typedef struct QVirtioMachine {
    const char *machine;
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;                       /* pc, q35 */
    QPCIDevice *port;                   /* q35-root-port */
    QVirtioPCIDevice *pci;              /* the device on virtio-pci */
    QVirtioMMIODevice mmio;             /* the device on virtio-mmio */
    QVirtioDevice *vdev;                /* either; NULL if not found */
} QVirtioMachine;

/* Is @machine built, and the PCI device type @type (or its -device twin)? */
bool qvirtio_machine_has(const char *machine, const char *type);

/*
 * Start @machine with -m 64M, the arguments @fmt and "-device @device"
 * where the fixture puts it, and find the device.  @device is the
 * virtio-pci type and its options ("virtio-blk-pci,drive=drv0"); on
 * microvm its virtio-mmio twin ("-pci" becomes "-device").  With a NULL
 * @device, only the machine.  A destination of a migration (@fmt has
 * -incoming) finds no device: the driver comes with the guest's memory
 * (qvirtio_machine_migrated()).
 */
void qvirtio_machine_start(QVirtioMachine *m, const char *machine,
                           const char *device, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
void qvirtio_machine_stop(QVirtioMachine *m);

/*
 * The guest moved from @src to @dst (a migration): @dst takes over the
 * driver of @src, its device and its guest memory allocator.
 */
void qvirtio_machine_migrated(QVirtioMachine *src, QVirtioMachine *dst);

/*
 * Wait until @dst, the destination of a migration, has the whole state:
 * it leaves the run state "inmigrate".  (Upstream's migration helpers
 * start a migration and wait for it on the source.)
 */
void qvirtio_machine_wait_incoming(QTestState *dst);

/*
 * Save the state of @m's machine to a file, as a migration does (the
 * machine stops), and return it: a test may change it before
 * qvirtio_machine_load() loads it.
 */
GByteArray *qvirtio_machine_save(QVirtioMachine *m);

/*
 * Start @dst, as @src was started but with @device and @args
 * (qvirtio_machine_start()), and load @stream into it.  Returns whether
 * it loaded: then the driver of @src moves over
 * (qvirtio_machine_migrated()); if not, @dst stays without a device.
 */
bool qvirtio_machine_load(QVirtioMachine *src, QVirtioMachine *dst,
                          const char *device, const char *args,
                          GByteArray *stream);

/* The one place in @stream that holds the @n bytes of @what */
uint8_t *qvirtio_stream_find(GByteArray *stream, const void *what, size_t n);

/*
 * The fields of subsection @name in @stream, which must hold it once
 * (after the subsection's header)
 */
uint8_t *qvirtio_stream_subsection(GByteArray *stream, const char *name);

/*
 * A raw 1 MiB image in a temporary file, removed when the test case
 * ends (g_test_queue_destroy); the name stays valid until then.
 */
const char *qvirtio_drive_file(void);

/*
 * A temporary directory for sockets and the like, removed with what is
 * in it when the test case ends (g_test_queue_destroy)
 */
const char *qvirtio_tmp_dir(void);

/*
 * The -drive option of a drive "drv0" on @file (qvirtio_drive_file())
 * whose first read of @sector fails with rerror=stop: the VM stops, and
 * virtio-blk keeps the request in flight until the VM runs again
 */
char *qvirtio_held_drive(const char *file, int sector);

/* The qemu-io command @cmd on the drive "drv0" (blkdebug break/resume) */
void qvirtio_qemu_io(QTestState *qts, const char *cmd);

/*
 * Reset the device and initialise it up to FEATURES_OK with VERSION_1,
 * @required (which the device must offer) and those of @extra it offers;
 * returns the features negotiated.
 */
uint64_t qvirtio_negotiate(QVirtioDevice *vdev, uint64_t required,
                           uint64_t extra);

/* device_status through the virtio-pci common configuration */
uint8_t qvirtio_pci_common_status(QVirtioPCIDevice *d);
void qvirtio_pci_common_set_status(QVirtioPCIDevice *d, uint8_t status);

/* The features the driver wrote, both halves */
uint64_t qvirtio_pci_common_driver_features(QVirtioPCIDevice *d);

/* What the common configuration says about one virtqueue */
typedef struct QVirtioPCICommonQueue {
    uint16_t size;
    uint16_t enable;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
} QVirtioPCICommonQueue;

/* Select virtqueue @index and read its configuration into @q */
void qvirtio_pci_common_queue_read(QVirtioPCIDevice *d, uint16_t index,
                                   QVirtioPCICommonQueue *q);

/*
 * virtio 1.4 Device Suspend (VIRTIO_F_SUSPEND, negotiated): with
 * @suspend, set SUSPEND (unless the device presents it: a suspend in
 * progress) and wait until device status presents it without
 * DRIVER_OK; otherwise set DRIVER_OK and wait until it presents DRIVER_OK
 * without SUSPEND.  Steps the virtual clock while it waits; returns the
 * device status read last.
 */
uint8_t qvirtio_pci_suspend(QVirtioPCIDevice *d, bool suspend);

/*
 * The guest RAM below @size as it is now, read with QMP pmemsave: all of
 * it, rings, buffers and MSI-X message addresses included.
 */
GByteArray *qvirtio_mem_snapshot(QTestState *qts, uint64_t size);

/* Fail, naming the first differing address, unless @a and @b are equal */
void qvirtio_mem_assert_same(GByteArray *a, GByteArray *b);

/* The run state of the VM (QMP query-status), to be freed */
char *qvirtio_run_state(QTestState *qts);

/*
 * A one-sector read (VIRTIO_BLK_T_IN) of @sector made available on @vq
 * and notified, its data buffer filled with 0x5a first; returns the head
 * descriptor, *@req the request (header, 512 bytes of data, status).
 */
uint32_t qvirtio_blk_req_read(QTestState *qts, QGuestAllocator *alloc,
                              QVirtioDevice *vdev, QVirtQueue *vq,
                              uint64_t sector, uint64_t *req);

/* The next used buffer of @vq is @head, with VIRTIO_BLK_S_OK; frees @req */
void qvirtio_blk_req_check_done(QTestState *qts, QGuestAllocator *alloc,
                                QVirtQueue *vq, uint32_t head, uint64_t req);

/*
 * Wait for the next used buffer of @vq, stepping the virtual clock, and
 * check it as qvirtio_blk_req_check_done() does
 */
void qvirtio_blk_req_wait_done(QTestState *qts, QGuestAllocator *alloc,
                               QVirtQueue *vq, uint32_t head, uint64_t req);

/*
 * Move the available index of split ring @vq more than a ring ahead of
 * the device, as a driver that corrupted the ring would
 */
void qvirtqueue_corrupt_avail(QTestState *qts, QVirtQueue *vq);

#endif
