/*
 * QTest cases that stop a virtio device while its back-end is active,
 * device type by device type, run through a front end that stops it
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VIRTIO_STOP_CASES_H
#define VIRTIO_STOP_CASES_H

#include "libqos/virtio-machine.h"

/*
 * How a case stops the device and runs it again.  A device stopped must
 * not change one byte of guest memory, nor notify, until it runs again;
 * then it delivers what it latched.
 */
typedef struct VscFrontEnd {
    const char *prefix;         /* test paths: prefix/type/machine... */
    const char *suffix;         /* ... and this at their end */
    const char *opts;           /* device options: "suspend=on" */
    uint64_t features;          /* the driver negotiates these, offered */
    void (*stop)(QVirtioPCIDevice *d);
    void (*run)(QVirtioPCIDevice *d);
    /*
     * Stopped, the device presents what it should, given device status
     * @status read while it ran
     */
    void (*assert_stopped)(QVirtioPCIDevice *d, uint8_t status);
} VscFrontEnd;

/* virtio 1.4's SUSPEND bit of device status, polled without the clock */
void vsc_suspend_stop(QVirtioPCIDevice *d);
void vsc_suspend_run(QVirtioPCIDevice *d);
void vsc_suspend_assert_stopped(QVirtioPCIDevice *d, uint8_t status);

/* Register the cases of one device type, on the machines it is built for */
void vsc_add_blk(const VscFrontEnd *fe);
void vsc_add_net(const VscFrontEnd *fe);
void vsc_add_rng(const VscFrontEnd *fe);
void vsc_add_balloon(const VscFrontEnd *fe);
void vsc_add_gpu(const VscFrontEnd *fe);

#endif
