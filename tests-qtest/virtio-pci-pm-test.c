/*
 * QTest: the resets of a virtio-pci function in D3hot with No_Soft_Reset
 *
 * Behind a pcie-root-port, a virtio-pci function has the PCI Power
 * Management capability, and x-pcie-pm-no-soft-reset=on makes it report
 * No_Soft_Reset: it keeps its internal state across the D3hot -> D0
 * transition, which QEMU models as the reset of an S3 wakeup.  Nothing
 * else: a cold reset (QMP system_reset) and a Function Level Reset reset
 * the function in any power state, as PERST# and FLR do.
 *
 * Each case sets the device up to DRIVER_OK, moves the function to D3hot,
 * resets it, and then reads, as a guest's PCI core would, the power state
 * (D0 after every reset: the PCI core resets PMCSR) and the device status:
 * 0 after a cold reset or an FLR, DRIVER_OK after the S3 wakeup.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_config.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"

#define PM_PORT_SLOT            4
#define PM_D0                   0
#define PM_D3HOT                3
#define PM_DEVFN                QPCI_DEVFN(1 << 5, 0)   /* bus 1, 00.0 */
#define PM_RUNNING              (VIRTIO_CONFIG_S_ACKNOWLEDGE | \
                                 VIRTIO_CONFIG_S_DRIVER | \
                                 VIRTIO_CONFIG_S_FEATURES_OK | \
                                 VIRTIO_CONFIG_S_DRIVER_OK)
/* ICH9's ACPI PM I/O space, where firmware puts it; _S3 is 1 in the DSDT */
#define PM_ICH9_PMBASE          0x600
#define PM_PM1_CNT_S3           ((1 << 10) | (1 << 13)) /* SLP_TYP, SLP_EN */

typedef enum PmReset {
    PM_SYSTEM_RESET,
    PM_FLR,
    PM_S3_WAKEUP,
} PmReset;

typedef struct PmTest {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QVirtioPCIDevice *dev;
    uint8_t pm;
} PmTest;

/*
 * What firmware does after a reset: bus numbers, the port's memory window
 * over the BARs libqos assigns (from 0xe0000000), then the function found
 * anew, its BAR mapped only once it is back in D0.
 */
static void pm_find(PmTest *t)
{
    QPCIAddress addr = { .devfn = PM_DEVFN };
    QPCIDevice *port;

    g_assert_cmpint(qpci_secondary_buses_init(t->bus), ==, 1);
    port = qpci_device_find(t->bus, QPCI_DEVFN(PM_PORT_SLOT, 0));
    g_assert_nonnull(port);
    qpci_config_writew(port, PCI_MEMORY_BASE, 0xe000);
    qpci_config_writew(port, PCI_MEMORY_LIMIT, 0xeff0);
    qpci_device_enable(port);
    g_free(port);

    if (t->dev) {
        qvirtio_pci_destructor(&t->dev->obj);
        g_free(t->dev);
    }
    t->dev = virtio_pci_new(t->bus, &addr);
    g_assert_nonnull(t->dev);
    t->pm = qpci_find_capability(t->dev->pdev, PCI_CAP_ID_PM, 0);
    g_assert_cmpint(t->pm, !=, 0);
}

static uint16_t pm_state(PmTest *t)
{
    return qpci_config_readw(t->dev->pdev, t->pm + PCI_PM_CTRL) &
           PCI_PM_CTRL_STATE_MASK;
}

static void pm_flr(PmTest *t)
{
    QPCIDevice *pdev = t->dev->pdev;
    uint8_t exp = qpci_find_capability(pdev, PCI_CAP_ID_EXP, 0);

    g_assert_cmpint(exp, !=, 0);
    g_assert_true(qpci_config_readl(pdev, exp + PCI_EXP_DEVCAP) &
                  PCI_EXP_DEVCAP_FLR);
    qpci_config_writew(pdev, exp + PCI_EXP_DEVCTL,
                       qpci_config_readw(pdev, exp + PCI_EXP_DEVCTL) |
                       PCI_EXP_DEVCTL_BCR_FLR);
}

static void pm_s3_cycle(PmTest *t)
{
    QPCIDevice *lpc = qpci_device_find(t->bus, QPCI_DEVFN(0x1f, 0));

    g_assert_nonnull(lpc);
    qpci_config_writel(lpc, 0x40, PM_ICH9_PMBASE | 1);  /* PMBASE */
    qpci_config_writeb(lpc, 0x44, 0x80);                /* ACPI_EN */
    g_free(lpc);
    qtest_outw(t->qts, PM_ICH9_PMBASE + 4, PM_PM1_CNT_S3);
    qtest_qmp_eventwait(t->qts, "SUSPEND");
    qtest_qmp_assert_success(t->qts, "{'execute': 'system_wakeup'}");
    qtest_qmp_eventwait(t->qts, "WAKEUP");
}

static void test_reset_d3hot(const void *data)
{
    PmReset reset = GPOINTER_TO_INT(data);
    PmTest t = { 0 };
    QVirtioDevice *vdev;
    QVirtQueue *vq;
    bool kept = reset == PM_S3_WAKEUP;

    t.qts = qtest_init("-M q35 -global ICH9-LPC.disable_s3=0 "
                       "-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,"
                       "addr=4.0 "
                       "-device virtio-rng-pci,bus=rp0,"
                       "x-pcie-pm-no-soft-reset=on");
    pc_alloc_init(&t.alloc, t.qts, ALLOC_NO_FLAGS);
    t.bus = qpci_new_pc(t.qts, &t.alloc);
    pm_find(&t);
    qvirtio_pci_device_enable(t.dev);
    g_assert_cmphex(qpci_config_readw(t.dev->pdev, t.pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_NO_SOFT_RESET, ==, PCI_PM_CTRL_NO_SOFT_RESET);

    /* A driver sets the device up, then the guest suspends the function */
    vdev = &t.dev->vdev;
    qvirtio_reset(vdev);
    qvirtio_set_acknowledge(vdev);
    qvirtio_set_driver(vdev);
    qvirtio_set_features(vdev, 1ull << VIRTIO_F_VERSION_1);
    vq = qvirtqueue_setup(vdev, &t.alloc, 0);
    qvirtio_set_driver_ok(vdev);
    g_assert_cmphex(vdev->bus->get_status(vdev), ==, PM_RUNNING);
    qpci_config_writew(t.dev->pdev, t.pm + PCI_PM_CTRL, PM_D3HOT);
    g_assert_cmpint(pm_state(&t), ==, PM_D3HOT);

    switch (reset) {
    case PM_SYSTEM_RESET:
        qtest_qmp_assert_success(t.qts, "{'execute': 'system_reset'}");
        qtest_qmp_eventwait(t.qts, "RESET");
        break;
    case PM_FLR:
        pm_flr(&t);
        break;
    case PM_S3_WAKEUP:
        pm_s3_cycle(&t);
        break;
    }

    pm_find(&t);
    g_assert_cmpint(pm_state(&t), ==, PM_D0);
    qvirtio_pci_device_enable(t.dev);
    vdev = &t.dev->vdev;
    g_assert_cmphex(vdev->bus->get_status(vdev), ==, kept ? PM_RUNNING : 0);

    qvirtqueue_cleanup(vdev->bus, vq, &t.alloc);
    qvirtio_pci_destructor(&t.dev->obj);
    g_free(t.dev);
    qpci_free_pc(t.bus);
    alloc_destroy(&t.alloc);
    qtest_quit(t.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (qtest_has_device("virtio-rng-pci") &&
        qtest_has_device("pcie-root-port") && qtest_has_machine("q35")) {
        qtest_add_data_func("/virtio-pci/pm/no-soft-reset/d3hot/system-reset",
                            GINT_TO_POINTER(PM_SYSTEM_RESET),
                            test_reset_d3hot);
        qtest_add_data_func("/virtio-pci/pm/no-soft-reset/d3hot/flr",
                            GINT_TO_POINTER(PM_FLR), test_reset_d3hot);
        qtest_add_data_func("/virtio-pci/pm/no-soft-reset/d3hot/s3-wakeup",
                            GINT_TO_POINTER(PM_S3_WAKEUP), test_reset_d3hot);
    }
    return g_test_run();
}
