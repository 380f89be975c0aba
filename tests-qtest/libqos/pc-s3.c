/*
 * libqos: guest S3 (suspend to RAM) on the pc and q35 machines
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "standard-headers/linux/pci_regs.h"
#include "pc-s3.h"

#define PC_S3_PMBASE            0x600
#define PM1_CNT                 4
#define PM1_CNT_SLP_TYP_S3      (1 << 10)   /* _S3 is 1 in QEMU's DSDT */
#define PM1_CNT_SLP_EN          (1 << 13)

void qpci_save_header(QPCIDevice *dev, QPCISavedHeader *saved)
{
    int i;

    for (i = 0; i < ARRAY_SIZE(saved->dw); i++) {
        saved->dw[i] = qpci_config_readl(dev, i * 4);
    }
}

void qpci_restore_header(QPCIDevice *dev, const QPCISavedHeader *saved)
{
    int i;

    for (i = PCI_BASE_ADDRESS_0 / 4; i <= PCI_BASE_ADDRESS_5 / 4; i++) {
        qpci_config_writel(dev, i * 4, saved->dw[i]);
    }
    qpci_config_writew(dev, PCI_COMMAND, saved->dw[PCI_COMMAND / 4] & 0xffff);
}

void qtest_pc_suspend_s3(QTestState *qts, QPCIBus *bus, const char *machine)
{
    QPCIDevice *pm;

    /* Enable the ACPI PM I/O space, as firmware does */
    if (g_str_equal(machine, "q35")) {
        pm = qpci_device_find(bus, QPCI_DEVFN(0x1f, 0));     /* ICH9 LPC */
        g_assert_nonnull(pm);
        qpci_config_writel(pm, 0x40, PC_S3_PMBASE | 1);      /* PMBASE */
        qpci_config_writeb(pm, 0x44, 0x80);                  /* ACPI_EN */
    } else {
        pm = qpci_device_find(bus, QPCI_DEVFN(1, 3));        /* PIIX4 PM */
        g_assert_nonnull(pm);
        qpci_config_writel(pm, 0x40, PC_S3_PMBASE | 1);      /* PMBA */
        qpci_config_writeb(pm, 0x80, 0x01);                  /* PMIOSE */
    }
    g_free(pm);

    qtest_outw(qts, PC_S3_PMBASE + PM1_CNT,
               PM1_CNT_SLP_TYP_S3 | PM1_CNT_SLP_EN);
    qtest_qmp_eventwait(qts, "SUSPEND");
}

void qtest_pc_wakeup(QTestState *qts)
{
    qtest_qmp_assert_success(qts, "{'execute': 'system_wakeup'}");
    qtest_qmp_eventwait(qts, "WAKEUP");
}

void qtest_pc_s3_cycle(QTestState *qts, QPCIBus *bus, const char *machine,
                       QPCIDevice *dev)
{
    QPCISavedHeader saved;

    qpci_save_header(dev, &saved);
    qtest_pc_suspend_s3(qts, bus, machine);
    qtest_pc_wakeup(qts);
    qpci_restore_header(dev, &saved);
}
