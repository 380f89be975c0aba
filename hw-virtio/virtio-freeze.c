/*
 * Stopping a virtio device in place: virtio 1.4 Device Suspend
 * (VIRTIO_F_SUSPEND).
 *
 * The driver sets the SUSPEND bit of device status.  The device stops
 * fetching from its virtqueues at once, lets every request it already
 * took complete, and only then presents SUSPEND = 1 with DRIVER_OK = 0.
 * While suspended it touches no virtqueue memory and raises no
 * interrupt; driver notifications and configuration changes are latched
 * and served when the driver sets DRIVER_OK again, which resumes it.
 * This file is transport independent: a transport routes device status
 * reads and writes through virtio_freeze_status_read() and
 * virtio_freeze_status_write().
 *
 * The state machine is kept apart from the front ends: it moves the
 * device between modes (running, suspended, frozen) and knows nothing of
 * how the driver asked.
 *
 * freeze_mode (VIRTIO_F_FREEZE_MODE) is a second front end: the driver
 * writes the mode it wants to a register (virtio-pci: offset 64 of the
 * common configuration), FREEZE_S3 before guest S3 and UNFREEZE on
 * resume, and the device moves to it exactly as it would to SUSPEND.
 * Until it is there the register reads the target mode with the BUSY
 * flag, and a transition that the driver could see as BUSY ends with a
 * configuration change notification.  A device frozen for S3 is kept by
 * the S3 wakeup reset (virtio_freeze_s3()).  A device is never frozen
 * and suspended at once: each front end ignores requests while the
 * other one holds the device.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-freeze.h"
#include "hw/virtio/vhost.h"
#include "trace.h"

/* A value the driver may write to the freeze_mode register */
static bool virtio_freeze_mode_valid(uint16_t val)
{
    return val == VIRTIO_FREEZE_MODE_UNFREEZE ||
           val == VIRTIO_FREEZE_MODE_FREEZE_S3;
}

/* A mode the migration stream may carry */
static bool virtio_freeze_state_valid(uint16_t val)
{
    return virtio_freeze_mode_valid(val) || val == VIRTIO_FREEZE_MODE_SUSPEND;
}

static bool virtio_freeze_mode_busy(VirtIODevice *vdev)
{
    return vdev->freeze.mode != vdev->freeze.target;
}

/* Is the device suspended (VIRTIO_F_SUSPEND), or on its way in or out? */
static bool virtio_freeze_suspend_held(VirtIODevice *vdev)
{
    return vdev->freeze.mode == VIRTIO_FREEZE_MODE_SUSPEND ||
           vdev->freeze.target == VIRTIO_FREEZE_MODE_SUSPEND;
}

bool virtio_freeze_s3(VirtIODevice *vdev)
{
    return vdev->freeze.mode == VIRTIO_FREEZE_MODE_FREEZE_S3 ||
           vdev->freeze.target == VIRTIO_FREEZE_MODE_FREEZE_S3;
}

bool virtio_freeze_stopped(VirtIODevice *vdev)
{
    return (vdev->freeze.mode | vdev->freeze.target) !=
           VIRTIO_FREEZE_MODE_UNFREEZE;
}

bool virtio_freeze_frozen(VirtIODevice *vdev)
{
    return vdev->freeze.mode != VIRTIO_FREEZE_MODE_UNFREEZE;
}

uint16_t virtio_freeze_mode_read(VirtIODevice *vdev)
{
    /* A suspended device is not frozen */
    if (virtio_freeze_suspend_held(vdev)) {
        return VIRTIO_FREEZE_MODE_UNFREEZE;
    }
    return vdev->freeze.target |
           (virtio_freeze_mode_busy(vdev) ? VIRTIO_FREEZE_MODE_BUSY : 0);
}

/* Requests the device took from its virtqueues and did not complete yet */
static bool virtio_freeze_requests_pending(VirtIODevice *vdev)
{
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_GET_CLASS(vdev);
    int i;

    for (i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        if (virtio_queue_get_num(vdev, i) == 0) {
            break;
        }
        if (virtio_queue_inuse(vdev, i)) {
            return true;
        }
    }
    return vdc->freeze_pending && vdc->freeze_pending(vdev);
}

/*
 * Resume: serve what was latched while the device was stopped.  A
 * stopped device did not write the notification suppression fields of its
 * rings (virtio_queue_set_notification() only recorded what the device
 * wanted), so write them now.  With ioeventfd the notification is handed
 * to the queue's handler, which runs from the event loop.
 */
static void virtio_freeze_resume_queues(VirtIODevice *vdev)
{
    int i;

    /*
     * With bus mastering off the device can reach neither its rings nor
     * the driver: keep every queue latched until the transport enables
     * it again (virtio_freeze_device_enabled()).
     */
    if (virtio_device_disabled(vdev)) {
        for (i = 0; i < VIRTIO_QUEUE_MAX; i++) {
            if (virtio_queue_get_num(vdev, i)) {
                vdev->freeze.kicked[i / 8] |= BIT(i % 8);
            }
        }
        trace_virtio_freeze_resume_deferred(vdev);
        return;
    }

    for (i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        VirtQueue *vq = virtio_get_queue(vdev, i);
        bool kicked = vdev->freeze.kicked[i / 8] & BIT(i % 8);

        if (virtio_queue_get_num(vdev, i) == 0) {
            continue;
        }
        virtio_queue_set_notification(vq, virtio_queue_get_notification(vq));
        if (kicked || !virtio_queue_empty(vq)) {
            virtio_queue_notify(vdev, i);
        }
    }
    memset(vdev->freeze.kicked, 0, sizeof(vdev->freeze.kicked));
}

/*
 * The device runs again: configuration reads stop serving the copy taken
 * when it stopped (virtio-config-io.c).  If what they return may change
 * with that, a change was latched or the configuration differs from the
 * copy, config_generation changes, so that a driver that read the copy
 * can tell.
 */
static void virtio_freeze_config_resume(VirtIODevice *vdev)
{
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_GET_CLASS(vdev);
    bool changed = vdev->freeze.config_latched;

    if (vdc->get_config && vdev->config_len) {
        g_autofree uint8_t *copy = g_memdup2(vdev->config, vdev->config_len);

        vdc->get_config(vdev, vdev->config);
        changed |= memcmp(copy, vdev->config, vdev->config_len) != 0;
    }
    if (changed) {
        vdev->generation++;
    }
}

/*
 * Can the device take up its virtqueues where it left them?  A split
 * ring whose available index is further ahead of the device than the
 * ring is long was corrupted: the device cannot say which buffers it
 * consumed.  (The driver must not touch the rings while the device is
 * stopped; this is what catches one that did.)
 */
static bool virtio_freeze_rings_valid(VirtIODevice *vdev, int *bad)
{
    int i;

    for (i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        if (virtio_queue_get_num(vdev, i) == 0) {
            break;
        }
        if (virtio_queue_split_avail_ahead(vdev, i) >
            virtio_queue_get_num(vdev, i)) {
            *bad = i;
            return false;
        }
    }
    return true;
}

/*
 * The transition in progress ends: the device is in its target mode.
 * @visible says whether the driver may have read BUSY in freeze_mode, in
 * which case it is told with a configuration change notification.
 */
static void virtio_freeze_arrive(VirtIODevice *vdev, bool visible)
{
    uint16_t mode = vdev->freeze.target;

    vdev->freeze.mode = mode;
    if (mode == VIRTIO_FREEZE_MODE_UNFREEZE) {
        virtio_freeze_config_resume(vdev);
        virtio_freeze_resume_queues(vdev);
    }
    trace_virtio_freeze_complete(vdev, mode, visible);

    if (mode == VIRTIO_FREEZE_MODE_UNFREEZE &&
        vdev->freeze.config_latched && !virtio_device_disabled(vdev)) {
        /* The latched change is the notification the driver waits for */
        vdev->freeze.config_latched = false;
        virtio_notify_config_irq(vdev);
    } else if (visible) {
        virtio_notify_config_irq(vdev);
    }
}

/*
 * Complete the transition in progress if nothing holds it up.  SUSPEND
 * has no completion notification: the driver polls device status, and a
 * suspended device sends no configuration change notification (one
 * latched meanwhile is sent on resume, above).
 */
static void virtio_freeze_try_complete(VirtIODevice *vdev, bool visible)
{
    if (!virtio_freeze_mode_busy(vdev)) {
        return;
    }
    if (virtio_freeze_requests_pending(vdev)) {
        trace_virtio_freeze_wait(vdev, vdev->freeze.target);
        return;
    }
    virtio_freeze_arrive(vdev, visible && !virtio_freeze_suspend_held(vdev));
}

static void virtio_freeze_bh(void *opaque)
{
    VirtIODevice *vdev = opaque;

    /* Finish on the destination of a migration once it runs. */
    if (!vdev->vm_running) {
        return;
    }
    virtio_freeze_try_complete(vdev, true);
}

void virtio_freeze_poke(VirtIODevice *vdev)
{
    /* Called on every completion, by devices in any thread: be quick */
    if (likely(!virtio_freeze_mode_busy(vdev))) {
        return;
    }
    assert(bql_locked());
    if (vdev->freeze.bh) {
        qemu_bh_schedule(vdev->freeze.bh);
    }
}

/* Is a transition into a stopped mode in progress? */
static bool virtio_freeze_stopping(VirtIODevice *vdev)
{
    return virtio_freeze_mode_busy(vdev) &&
           vdev->freeze.target != VIRTIO_FREEZE_MODE_UNFREEZE;
}

/*
 * The device runs again, but serves nothing of what it latched: it
 * needs a reset, which virtio_error() asks for (and notifies).
 */
static void virtio_freeze_abandon(VirtIODevice *vdev)
{
    vdev->freeze.target = VIRTIO_FREEZE_MODE_UNFREEZE;
    vdev->freeze.mode = VIRTIO_FREEZE_MODE_UNFREEZE;
    virtio_freeze_config_resume(vdev);
    vdev->freeze.config_latched = false;
    memset(vdev->freeze.kicked, 0, sizeof(vdev->freeze.kicked));
}

void virtio_freeze_completion_lost(VirtIODevice *vdev)
{
    if (!virtio_freeze_stopping(vdev)) {
        return;
    }
    assert(bql_locked());
    if (virtio_freeze_suspend_held(vdev)) {
        /* A suspend fails (virtio_freeze_broken() ends it) */
        virtio_error(vdev, "cannot suspend: a request completed while the "
                     "device could not write its used ring");
        return;
    }
    /*
     * A freeze ends where it began, as a refusal does, and a driver that
     * read BUSY is told
     */
    trace_virtio_freeze_refused(vdev, vdev->freeze.target, vdev->freeze.mode);
    vdev->freeze.target = VIRTIO_FREEZE_MODE_UNFREEZE;
    virtio_freeze_arrive(vdev, true);
}

bool virtio_freeze_broken(VirtIODevice *vdev)
{
    if (virtio_freeze_mode_busy(vdev)) {
        trace_virtio_freeze_refused(vdev, vdev->freeze.target,
                                    vdev->freeze.mode);
        virtio_freeze_abandon(vdev);
        return false;
    }
    return virtio_freeze_frozen(vdev);
}

bool virtio_freeze_check(VirtIODevice *vdev, Error **errp)
{
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_GET_CLASS(vdev);
    struct vhost_dev *hdev = vdc->get_vhost ? vdc->get_vhost(vdev) : NULL;
    const char *what = virtio_host_has_feature(vdev, VIRTIO_F_FREEZE_MODE) ?
                       "freeze_mode" : "suspend";

    if (!vdc->freeze_capable) {
        error_setg(errp, "%s is not supported by device type %s", what,
                   object_get_typename(OBJECT(vdev)));
        error_append_hint(errp, "Only the device types listed in "
                          "docs/system/devices/virtio-suspend.rst keep "
                          "their state while stopped.\n");
        return false;
    }
    /*
     * A vhost, vhost-user or vDPA back-end runs the rings itself: QEMU can
     * neither hold its requests nor keep it off the rings while stopped.
     */
    if (vdev->vhost_started || (hdev && hdev->vhost_ops)) {
        error_setg(errp, "%s is not supported by %s with a vhost "
                   "back-end", what, object_get_typename(OBJECT(vdev)));
        return false;
    }
    if (vdc->freeze_check && !vdc->freeze_check(vdev, errp)) {
        error_prepend(errp, "%s is not supported: ", what);
        return false;
    }
    return true;
}

/*
 * Begin the transition of @vdev to @mode, for either front end; the
 * caller checked that it may.  Returns false if the device type refused
 * or the device cannot take up its rings again: entering a stopped mode
 * then leaves the device as it was, for the front end to report, while
 * leaving one always leaves it, with DEVICE_NEEDS_RESET set.
 */
static bool virtio_freeze_request(VirtIODevice *vdev, uint16_t mode)
{
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_GET_CLASS(vdev);
    uint16_t old = vdev->freeze.mode;
    int bad = -1;

    /*
     * A device that broke while stopped (virtio_freeze_broken()) cannot
     * resume; then the rings: a refusal must leave the device type
     * untouched
     */
    if ((mode == VIRTIO_FREEZE_MODE_UNFREEZE &&
         (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) ||
        !virtio_freeze_rings_valid(vdev, &bad) ||
        (vdc->freeze_begin && !vdc->freeze_begin(vdev, mode))) {
        trace_virtio_freeze_refused(vdev, mode, old);
        if (mode == VIRTIO_FREEZE_MODE_UNFREEZE) {
            virtio_freeze_abandon(vdev);
            if (bad >= 0) {
                virtio_error(vdev, "cannot resume: virtqueue %d was changed "
                             "while the device was stopped", bad);
            } else if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET) {
                virtio_error(vdev, "cannot resume: the device broke while "
                             "it was stopped");
            } else {
                virtio_error(vdev, "cannot resume from mode 0x%x", old);
            }
        }
        if (bad >= 0) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: virtqueue %d is not "
                          "consistent: mode 0x%x refused\n", vdev->name, bad,
                          mode);
        }
        return false;
    }

    trace_virtio_freeze_request(vdev, old, mode);
    if (old == VIRTIO_FREEZE_MODE_UNFREEZE && vdc->get_config) {
        /*
         * The device configuration keeps what the driver can read now
         * until the device runs again (virtio-config-io.c); what changes
         * meanwhile is notified then.
         */
        vdc->get_config(vdev, vdev->config);
    }
    /*
     * From here on virtqueue_pop() finds nothing and driver notifications
     * are latched: the requests in flight are the ones to wait for.
     */
    vdev->freeze.target = mode;
    virtio_freeze_try_complete(vdev, false);
    return true;
}

void virtio_freeze_mode_write(VirtIODevice *vdev, uint16_t val)
{
    uint16_t old = vdev->freeze.mode;

    assert(bql_locked());
    if (!virtio_vdev_has_feature(vdev, VIRTIO_F_FREEZE_MODE) ||
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        trace_virtio_freeze_ignored(vdev, val, "feature not negotiated");
        return;
    }
    if (virtio_freeze_mode_busy(vdev)) {
        trace_virtio_freeze_ignored(vdev, val, "transition in progress");
        return;
    }
    if (virtio_freeze_suspend_held(vdev)) {
        trace_virtio_freeze_ignored(vdev, val, "device suspended");
        return;
    }
    if (!virtio_freeze_mode_valid(val)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: reserved freeze_mode value 0x%x ignored\n",
                      vdev->name, val);
        trace_virtio_freeze_ignored(vdev, val, "reserved value");
        return;
    }
    if (val == old) {
        return;
    }
    /* A device that is not live has nothing to freeze */
    if (val != VIRTIO_FREEZE_MODE_UNFREEZE &&
        !(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        trace_virtio_freeze_ignored(vdev, val, "DRIVER_OK not set");
        return;
    }
    if (val != VIRTIO_FREEZE_MODE_UNFREEZE &&
        (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
        trace_virtio_freeze_ignored(vdev, val, "device needs reset");
        return;
    }
    /*
     * A refusal of FREEZE_S3 leaves the device running, as it was: the
     * driver reads UNFREEZE back and resets the device for S3 instead.
     */
    virtio_freeze_request(vdev, val);
}

/*
 * The device status front end.  Suspending, the device presents
 * SUSPEND = 1 with DRIVER_OK still set; suspended, SUSPEND = 1 and
 * DRIVER_OK = 0; resuming, SUSPEND = 1 and DRIVER_OK = 1 again until it
 * runs.  vdev->status itself keeps DRIVER_OK: for the device types and
 * the rest of QEMU the device stays started.  DEVICE_NEEDS_RESET of a
 * device that broke while stopped shows when the resume fails
 * (virtio_freeze_broken()).
 */
uint8_t virtio_freeze_status_read(VirtIODevice *vdev)
{
    uint8_t status = vdev->status;

    if (virtio_freeze_frozen(vdev)) {
        status &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
    }
    if (vdev->freeze.mode == VIRTIO_FREEZE_MODE_SUSPEND &&
        vdev->freeze.target == VIRTIO_FREEZE_MODE_SUSPEND) {
        return (status & ~VIRTIO_CONFIG_S_DRIVER_OK) |
               VIRTIO_CONFIG_S_SUSPEND;
    }
    if (virtio_freeze_suspend_held(vdev)) {
        return status | VIRTIO_CONFIG_S_SUSPEND;
    }
    return status;
}

bool virtio_freeze_status_write(VirtIODevice *vdev, uint8_t *val)
{
    uint8_t want = *val;

    assert(bql_locked());
    /* A reset is a reset, whatever the device is doing */
    if (want == 0) {
        return false;
    }
    if (virtio_freeze_suspend_held(vdev)) {
        /*
         * Resume: DRIVER_OK set again, the other bits as presented (SUSPEND
         * may be written back or not).  A write that also changes another
         * bit, FAILED say, is not a resume: it is ignored like any other.
         */
        uint8_t others = ~(VIRTIO_CONFIG_S_SUSPEND | VIRTIO_CONFIG_S_DRIVER_OK |
                           VIRTIO_CONFIG_S_NEEDS_RESET);

        if (!virtio_freeze_mode_busy(vdev) &&
            (want & VIRTIO_CONFIG_S_DRIVER_OK) &&
            (want & others) == (vdev->status & others)) {
            trace_virtio_suspend_resume(vdev, want);
            virtio_freeze_request(vdev, VIRTIO_FREEZE_MODE_UNFREEZE);
        } else {
            trace_virtio_suspend_status_ignored(vdev, want,
                virtio_freeze_mode_busy(vdev) ? "transition in progress"
                                              : "device suspended");
        }
        return true;
    }
    if (virtio_freeze_stopped(vdev)) {
        /* Frozen through freeze_mode: only a reset changes the status */
        trace_virtio_suspend_status_ignored(vdev, want, "device frozen");
        return true;
    }
    /* Without suspend=on the bit means nothing to QEMU, as it always did */
    if (!(want & VIRTIO_CONFIG_S_SUSPEND) ||
        !virtio_host_has_feature(vdev, VIRTIO_F_SUSPEND)) {
        return false;
    }

    /* From here on the SUSPEND bit is not for the transport to store */
    *val = want & ~VIRTIO_CONFIG_S_SUSPEND;
    if (!virtio_vdev_has_feature(vdev, VIRTIO_F_SUSPEND) ||
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        trace_virtio_suspend_status_ignored(vdev, want,
                                            "feature not negotiated");
        return false;
    }
    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        trace_virtio_suspend_status_ignored(vdev, want,
                                            "device not initialised");
        return false;
    }
    if (*val != vdev->status) {
        /* The other bits change: that write is not a suspend request */
        trace_virtio_suspend_status_ignored(vdev, want,
                                            "other status bits change");
        return false;
    }
    if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET) {
        /* It cannot suspend, and says so already */
        trace_virtio_suspend_status_ignored(vdev, want, "device needs reset");
        return true;
    }
    trace_virtio_suspend_request(vdev, want);
    if (!virtio_freeze_request(vdev, VIRTIO_FREEZE_MODE_SUSPEND)) {
        virtio_error(vdev, "cannot suspend");
    }
    return true;
}

void virtio_freeze_latch_kick(VirtIODevice *vdev, int n)
{
    assert(bql_locked());
    trace_virtio_freeze_latch_kick(vdev, n);
    vdev->freeze.kicked[n / 8] |= BIT(n % 8);
}

void virtio_freeze_latch_config(VirtIODevice *vdev)
{
    trace_virtio_freeze_latch_config(vdev);
    vdev->freeze.config_latched = true;
}

bool virtio_freeze_latched(VirtIODevice *vdev)
{
    int i;

    if (vdev->freeze.config_latched) {
        return true;
    }
    for (i = 0; i < VIRTIO_FREEZE_KICK_BYTES; i++) {
        if (vdev->freeze.kicked[i]) {
            return true;
        }
    }
    return false;
}

void virtio_freeze_device_enabled(VirtIODevice *vdev)
{
    if (virtio_freeze_stopped(vdev) || virtio_device_disabled(vdev) ||
        !virtio_freeze_latched(vdev)) {
        return;
    }
    virtio_freeze_resume_queues(vdev);
    if (vdev->freeze.config_latched) {
        vdev->freeze.config_latched = false;
        virtio_notify_config_irq(vdev);
    }
}

void virtio_freeze_reset(VirtIODevice *vdev)
{
    if (vdev->freeze.mode != VIRTIO_FREEZE_MODE_UNFREEZE ||
        virtio_freeze_mode_busy(vdev)) {
        trace_virtio_freeze_reset(vdev, vdev->freeze.mode, vdev->freeze.target);
    }
    if (vdev->freeze.bh) {
        qemu_bh_cancel(vdev->freeze.bh);
    }
    vdev->freeze.mode = VIRTIO_FREEZE_MODE_UNFREEZE;
    vdev->freeze.target = VIRTIO_FREEZE_MODE_UNFREEZE;
    vdev->freeze.config_latched = false;
    memset(vdev->freeze.kicked, 0, sizeof(vdev->freeze.kicked));
}

void virtio_freeze_init(VirtIODevice *vdev)
{
    vdev->freeze.bh = virtio_bh_new_guarded(DEVICE(vdev), virtio_freeze_bh,
                                            vdev);
    virtio_freeze_reset(vdev);
}

void virtio_freeze_cleanup(VirtIODevice *vdev)
{
    if (vdev->freeze.bh) {
        qemu_bh_delete(vdev->freeze.bh);
        vdev->freeze.bh = NULL;
    }
}

/* Migration: sent only when the device is stopped or has something latched */
static bool virtio_freeze_vmstate_needed(void *opaque)
{
    VirtIODevice *vdev = opaque;

    return virtio_freeze_stopped(vdev) || virtio_freeze_latched(vdev);
}

static int virtio_freeze_post_load(void *opaque, int version_id)
{
    VirtIODevice *vdev = opaque;
    Error *local_err = NULL;
    bool suspend = virtio_freeze_suspend_held(vdev);

    if (!virtio_freeze_state_valid(vdev->freeze.mode) ||
        !virtio_freeze_state_valid(vdev->freeze.target) ||
        (suspend && (vdev->freeze.mode | vdev->freeze.target) &
                    VIRTIO_FREEZE_MODE_FREEZE_S3)) {
        error_report("virtio: invalid stopped state 0x%x/0x%x in the "
                     "migration stream", vdev->freeze.mode,
                     vdev->freeze.target);
        return -EINVAL;
    }
    /*
     * The source had the device suspended or frozen, in transition or
     * with something latched (a running device that has yet to serve it:
     * bus mastering was off when it resumed): that needs the feature
     * negotiated, and a device here that can keep it.  What is only
     * latched came from either front end.
     */
    if (virtio_freeze_stopped(vdev) ?
        !virtio_vdev_has_feature(vdev, suspend ? VIRTIO_F_SUSPEND
                                               : VIRTIO_F_FREEZE_MODE) :
        !(virtio_vdev_has_feature(vdev, VIRTIO_F_SUSPEND) ||
          virtio_vdev_has_feature(vdev, VIRTIO_F_FREEZE_MODE)) ||
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        error_report("%s: %s state in the migration stream, but the "
                     "feature was not negotiated", vdev->name,
                     suspend ? "suspend" : "freeze_mode");
        return -EINVAL;
    }
    /* A device stops only once DRIVER_OK is set, and keeps it set */
    if (virtio_freeze_stopped(vdev) &&
        !(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        error_report("%s: stopped state in the migration stream, but "
                     "DRIVER_OK is not set", vdev->name);
        return -EINVAL;
    }
    if (!virtio_freeze_check(vdev, &local_err)) {
        error_reportf_err(local_err, "%s: cannot load stopped state: ",
                          vdev->name);
        return -EINVAL;
    }
    /* A transition in progress completes on the destination. */
    virtio_freeze_poke(vdev);
    return 0;
}

const VMStateDescription vmstate_virtio_freeze = {
    .name = "virtio/stopped",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_freeze_vmstate_needed,
    .post_load = virtio_freeze_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(freeze.mode, VirtIODevice),
        VMSTATE_UINT16(freeze.target, VirtIODevice),
        VMSTATE_BOOL(freeze.config_latched, VirtIODevice),
        VMSTATE_UINT8_ARRAY(freeze.kicked, VirtIODevice,
                            VIRTIO_FREEZE_KICK_BYTES),
        /*
         * What config_generation read when the device stopped: it must
         * still read that, and change on resume if anything did
         */
        VMSTATE_UINT32(generation, VirtIODevice),
        VMSTATE_END_OF_LIST()
    }
};
