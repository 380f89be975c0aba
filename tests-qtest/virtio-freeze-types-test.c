/*
 * QTest cases for virtio freeze_mode, device type by device type
 *
 * Support for VIRTIO_F_FREEZE_MODE is opt-in per device type.  For each
 * type that claims it, the device is frozen while its back-end is
 * active, and a snapshot of all guest RAM before and after proves that
 * not one byte changed until the driver unfreezes it; then everything
 * that was latched is delivered.  The same cases run through SUSPEND on
 * a device that has freeze_mode=on too: SUSPEND runs on the same state
 * machine, and freeze_mode reads UNFREEZE meanwhile.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/virtio-freeze.h"
#include "virtio-stop-cases.h"

static void freeze_stop(QVirtioPCIDevice *d)
{
    g_assert_cmphex(qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3),
                    ==, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
}

static void freeze_run(QVirtioPCIDevice *d)
{
    g_assert_cmphex(qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE),
                    ==, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
}

/* Frozen: FREEZE_S3, and device status as it was */
static void freeze_assert_stopped(QVirtioPCIDevice *d, uint8_t status)
{
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, status);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
}

/* Suspended with freeze_mode=on: SUSPEND, and freeze_mode UNFREEZE */
static void suspend_assert_stopped(QVirtioPCIDevice *d, uint8_t status)
{
    vsc_suspend_assert_stopped(d, status);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
}

static const VscFrontEnd freeze_fe = {
    .prefix = "virtio-freeze/types",
    .suffix = "",
    .opts = "freeze_mode=on",
    .features = 1ull << VIRTIO_F_FREEZE_MODE,
    .stop = freeze_stop,
    .run = freeze_run,
    .assert_stopped = freeze_assert_stopped,
};

static const VscFrontEnd suspend_fe = {
    .prefix = "virtio-freeze/types",
    .suffix = "/suspend",
    .opts = "freeze_mode=on,suspend=on",
    .features = (1ull << VIRTIO_F_FREEZE_MODE) | (1ull << VIRTIO_F_SUSPEND),
    .stop = vsc_suspend_stop,
    .run = vsc_suspend_run,
    .assert_stopped = suspend_assert_stopped,
};

/* FREEZE_S3 needs DRIVER_OK: a device that is not live has nothing to do */
static void test_driver_ok(const void *data)
{
    QVirtioMachine m;
    QVirtioPCIDevice *d;

    qvirtio_machine_start(&m, "pc", "virtio-rng-pci,rng=rng0,freeze_mode=on",
                          "-object rng-random,id=rng0,filename=/dev/urandom");
    d = m.pci;
    qvirtio_freeze_negotiate(d, 0);
    qvirtio_freeze_write(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    qvirtio_set_driver_ok(&d->vdev);
    qvirtio_freeze_write(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    /* device_status 0 still resets a frozen device */
    qvirtio_reset(&d->vdev);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    g_assert_cmphex(qvirtio_pci_common_status(d), ==, 0);
    qvirtio_machine_stop(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* virtio-blk */
    vsc_add_blk(&freeze_fe);
    vsc_add_blk(&suspend_fe);

    /* virtio-net */
    vsc_add_net(&freeze_fe);
    vsc_add_net(&suspend_fe);

    /* virtio-rng */
    vsc_add_rng(&freeze_fe);
    vsc_add_rng(&suspend_fe);
    if (qvirtio_machine_has("pc", "virtio-rng-pci")) {
        qtest_add_data_func("virtio-freeze/types/rng/pc/driver-ok", NULL,
                            test_driver_ok);
    }

    /* virtio-balloon */
    vsc_add_balloon(&freeze_fe);
    vsc_add_balloon(&suspend_fe);

    /* virtio-gpu and virtio-vga */
    vsc_add_gpu(&freeze_fe);
    vsc_add_gpu(&suspend_fe);

    return g_test_run();
}
