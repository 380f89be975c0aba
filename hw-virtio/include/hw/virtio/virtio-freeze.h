/*
 * Stopping a virtio device in place: virtio 1.4 Device Suspend
 * (VIRTIO_F_SUSPEND), and freeze_mode (VIRTIO_F_FREEZE_MODE), which
 * freezes a device for guest S3 instead of resetting it.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_FREEZE_H
#define HW_VIRTIO_FREEZE_H

/*
 * The modes a device can be in.  UNFREEZE: the device runs.  SUSPEND:
 * the driver suspended it through the SUSPEND bit of device status
 * (VIRTIO_F_SUSPEND); it is not a value of any register.  FREEZE_S3:
 * the driver froze it for guest S3 (VIRTIO_F_FREEZE_MODE).  A transport
 * maps FREEZE_S3 and UNFREEZE to its register; virtio-pci's freeze_mode
 * register uses the same values (VIRTIO_PCI_FREEZE_MODE_*).
 */
#define VIRTIO_FREEZE_MODE_UNFREEZE     0x0000
#define VIRTIO_FREEZE_MODE_FREEZE_S3    0x0003
#define VIRTIO_FREEZE_MODE_SUSPEND      0x0100
/* Read only: a transition towards the mode in bits 0-7 is in progress */
#define VIRTIO_FREEZE_MODE_BUSY         0x8000

/*
 * Per-device state of a device stopped in place, embedded in
 * VirtIODevice.
 *
 * @mode is the mode the device is in, @target the mode it is moving to;
 * they differ while a transition is in progress.  The device stops
 * fetching from its virtqueues as soon as either of them is not
 * UNFREEZE.  Driver notifications and configuration changes that arrive
 * in that time are latched in @kicked and @config_latched and served
 * when the device runs again.
 *
 * Locking: only devices whose virtqueues run in the main loop can be
 * stopped (virtio_freeze_check() refuses the others), so the state
 * changes under the BQL only.  Devices that never negotiated the feature
 * keep it at UNFREEZE, and their data path, in whatever thread it runs,
 * only ever reads that.
 */
#define VIRTIO_FREEZE_KICK_BYTES (1024 / 8)   /* VIRTIO_QUEUE_MAX bits */

typedef struct VirtIOFreezeState {
    uint16_t mode;
    uint16_t target;
    bool config_latched;
    uint8_t kicked[VIRTIO_FREEZE_KICK_BYTES];
    /* Not migrated */
    QEMUBH *bh;
} VirtIOFreezeState;

/* Realize / unrealize / reset of the VirtIODevice */
void virtio_freeze_init(VirtIODevice *vdev);
void virtio_freeze_cleanup(VirtIODevice *vdev);
void virtio_freeze_reset(VirtIODevice *vdev);

/*
 * Can @vdev be stopped in place in its configuration?  Its device type
 * must have opted in (VirtioDeviceClass::freeze_capable), no vhost
 * back-end may run its rings, and the type's freeze_check hook, if any,
 * must accept the configuration.  Checked when a device that offers the
 * feature is plugged, and again when stopped state is migrated in.
 */
bool virtio_freeze_check(VirtIODevice *vdev, Error **errp);

/*
 * The freeze_mode register, for transports: what the driver reads (the
 * target mode, with BUSY while the transition to it is in progress) and
 * writes.
 */
uint16_t virtio_freeze_mode_read(VirtIODevice *vdev);
void virtio_freeze_mode_write(VirtIODevice *vdev, uint16_t val);

/*
 * The SUSPEND bit of device status (VIRTIO_F_SUSPEND), for transports:
 * what the driver reads as device status, and a device status write to
 * look at first.  The write returns true if it was a suspend request, a
 * resume, or a write to ignore, and the transport must do nothing more
 * with it; otherwise the transport handles *@val, from which the SUSPEND
 * bit has been taken out, as a device status write.  A write of 0 (a
 * reset) is always the transport's.
 */
uint8_t virtio_freeze_status_read(VirtIODevice *vdev);
bool virtio_freeze_status_write(VirtIODevice *vdev, uint8_t *val);

/*
 * true while the driver has the device frozen for guest S3, or is
 * freezing or unfreezing it (freeze_mode FREEZE_S3): the S3 wakeup reset
 * of the platform must leave it alone.
 */
bool virtio_freeze_s3(VirtIODevice *vdev);

/*
 * true while the device does not process its virtqueues: frozen or
 * suspended, or on the way into or out of a stopped mode.
 */
bool virtio_freeze_stopped(VirtIODevice *vdev);

/*
 * true once the device has entered a stopped mode (and until it has left
 * it): it has nothing in flight and touches no virtqueue memory.
 */
bool virtio_freeze_frozen(VirtIODevice *vdev);

/*
 * Called by the core when a driver notification or a configuration
 * change arrives while the device is stopped: remember it for later.
 */
void virtio_freeze_latch_kick(VirtIODevice *vdev, int n);
void virtio_freeze_latch_config(VirtIODevice *vdev);

/*
 * Is anything latched (a driver notification, a configuration change)
 * that the device has yet to serve?
 */
bool virtio_freeze_latched(VirtIODevice *vdev);

/*
 * The transport enabled the device again (virtio-pci: bus mastering on):
 * serve what a resume had to leave latched while it was disabled.
 */
void virtio_freeze_device_enabled(VirtIODevice *vdev);

/*
 * Re-check whether a pending transition can complete.  The core calls it
 * whenever a request completes; device types call it when work they
 * report through VirtioDeviceClass::freeze_pending finishes.
 */
void virtio_freeze_poke(VirtIODevice *vdev);

/*
 * Called by the core when it drops a completion because the device
 * cannot reach its used ring (virtio_device_disabled()).  A device on
 * its way into a stopped mode can then no longer say that it completed
 * every request it took: it does not stop.  It runs on, and a suspend
 * fails with DEVICE_NEEDS_RESET, while a freeze ends where it began: the
 * driver reads the old mode back and takes its reset path.
 */
void virtio_freeze_completion_lost(VirtIODevice *vdev);

/*
 * Called by virtio_error() as it sets DEVICE_NEEDS_RESET.  A transition
 * in progress ends: a device on its way into a stopped mode can no longer
 * say that it used every buffer it took.  It runs on, and drops what it
 * latched; the configuration change notification of virtio_error() tells
 * the driver.  A stopped device stays stopped, with nothing to run: it
 * presents the device status it had until the driver resumes it, and the
 * resume fails.  Returns true for a stopped device, whose notification
 * and breaking (vdev->broken) wait for that.
 */
bool virtio_freeze_broken(VirtIODevice *vdev);

extern const VMStateDescription vmstate_virtio_freeze;

#endif
