/*
 * libqos: the virtio freeze_mode register (VIRTIO_F_FREEZE_MODE) of a
 * virtio-pci device
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "virtio.h"
#include "virtio-freeze.h"

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
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
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

uint64_t qvirtio_freeze_negotiate(QVirtioPCIDevice *d, uint64_t extra)
{
    return qvirtio_negotiate(&d->vdev, 1ull << VIRTIO_F_FREEZE_MODE, extra);
}
