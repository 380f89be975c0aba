/*
 * QTest cases for virtio Device Suspend (VIRTIO_F_SUSPEND), device type
 * by device type
 *
 * Support for suspend=on is opt-in per device type.  For each type that
 * claims it, the device is suspended while its back-end is active, and a
 * snapshot of all guest RAM before and after proves that not one byte
 * changed (rings, notification suppression fields, buffers, MSI-X
 * messages) until the driver resumes it; then everything that was
 * latched is delivered.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "virtio-stop-cases.h"

static const VscFrontEnd suspend_fe = {
    .prefix = "virtio-suspend/types",
    .suffix = "",
    .opts = "suspend=on",
    .features = 1ull << VIRTIO_F_SUSPEND,
    .stop = vsc_suspend_stop,
    .run = vsc_suspend_run,
    .assert_stopped = vsc_suspend_assert_stopped,
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* virtio-blk */
    vsc_add_blk(&suspend_fe);

    /* virtio-net */
    vsc_add_net(&suspend_fe);

    /* virtio-rng */
    vsc_add_rng(&suspend_fe);

    /* virtio-balloon */
    vsc_add_balloon(&suspend_fe);

    /* virtio-gpu and virtio-vga */
    vsc_add_gpu(&suspend_fe);

    return g_test_run();
}
