/*
 * libqos: the virtio freeze_mode register (VIRTIO_F_FREEZE_MODE) of a
 * virtio-pci device
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef LIBQOS_VIRTIO_FREEZE_H
#define LIBQOS_VIRTIO_FREEZE_H

#include "virtio-machine.h"

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

/*
 * Reset the device and initialise it up to FEATURES_OK with VERSION_1,
 * FREEZE_MODE (which the device must offer) and those of @extra it
 * offers; returns the features negotiated.
 */
uint64_t qvirtio_freeze_negotiate(QVirtioPCIDevice *d, uint64_t extra);

#endif
