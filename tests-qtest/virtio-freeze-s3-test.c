/*
 * QTest cases for virtio freeze_mode across the S3 wakeup: No_Soft_Reset
 * and D3hot -> D0 behind a PCIe root port, the q35 chipset reset of the
 * wakeup cycle after cycle, and the VGA core of a frozen virtio-vga.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "standard-headers/linux/pci_regs.h"
#include "libqos/pci-pc.h"
#include "libqos/virtio-freeze.h"
#include "libqos/virtio-gpu.h"
#include "libqos/pc-s3.h"

/* ---- No_Soft_Reset, and D3hot -> D0 behind a PCIe root port ---------- */

static void test_no_soft_reset(const void *data)
{
    bool freeze = GPOINTER_TO_INT(data);
    g_autofree char *dev = g_strdup_printf("virtio-blk-pci,drive=d0,"
                                           "freeze_mode=%s",
                                           freeze ? "on" : "off");
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtQueue *vq;
    QPCISavedHeader saved, port_saved;
    uint8_t pm, status;
    uint64_t req;
    uint32_t head;

    qvirtio_machine_start(&m, "q35-root-port", dev, "-drive if=none,id=d0,"
                          "driver=null-co,read-zeroes=on");
    d = m.pci;
    pm = qpci_find_capability(d->pdev, PCI_CAP_ID_PM, 0);
    g_assert_cmpint(pm, !=, 0);
    g_assert_cmphex(qpci_config_readw(d->pdev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_NO_SOFT_RESET, ==,
                    freeze ? PCI_PM_CTRL_NO_SOFT_RESET : 0);
    if (!freeze) {
        qvirtio_machine_stop(&m);
        return;
    }

    qvirtio_freeze_negotiate(d, 0);
    vq = qvirtqueue_setup(&d->vdev, &m.alloc, 0);
    qvirtio_set_driver_ok(&d->vdev);
    status = qvirtio_pci_common_status(d);
    g_assert_cmphex(qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3),
                    ==, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);

    /* What Linux does on suspend: save, D3hot; then S3 */
    qpci_save_header(m.port, &port_saved);
    qpci_save_header(d->pdev, &saved);
    qpci_config_writew(d->pdev, pm + PCI_PM_CTRL, 3);
    g_assert_cmphex(qpci_config_readw(d->pdev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_STATE_MASK, ==, 3);
    qtest_pc_suspend_s3(m.qts, m.bus, "q35");
    qtest_pc_wakeup(m.qts);
    /* ... and on resume: the port (bus numbers, windows), D0, restore */
    qpci_restore_header(m.port, &port_saved);
    qpci_config_writew(d->pdev, pm + PCI_PM_CTRL, 0);
    qpci_restore_header(d->pdev, &saved);

    g_assert_cmphex(qvirtio_pci_common_status(d), ==, status);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE),
                    ==, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    head = qvirtio_blk_req_read(m.qts, &m.alloc, &d->vdev, vq, 0, &req);
    qvirtio_blk_req_wait_done(m.qts, &m.alloc, vq, head, req);
    qvirtio_machine_stop(&m);
}

/* ---- q35: the S3 wakeup resets the chipset as PLTRST# does -------- */

#define S3_PMBASE               0x600
#define S3_PM1_CNT_S3           ((1 << 10) | (1 << 13))  /* SLP_TYP 1, SLP_EN */
#define S3_MCH_PCIEXBAR         0x60
#define S3_MCH_PCIEXBAR_ADDR    0xb0000000u
#define S3_ICH9_LPC_PMBASE      0x40
#define S3_ICH9_LPC_ACPI_CTRL   0x44
#define S3_ICH9_LPC_RCBA        0xf0
#define S3_ICH9_LPC_RCBA_ADDR   0xfed1c000u
#define S3_ICH9_PMIO_SMI_EN     0x30
#define S3_ICH9_PMIO_SMI_EN_APMC_EN (1 << 5)

/*
 * What firmware programs at boot and again on every S3 resume: MMCONFIG,
 * the ACPI PM I/O space, the root complex register block, and SMI
 * generation on APM writes (the SMM setup)
 */
static void s3_q35_firmware_setup(QVirtioMachine *m, QPCIDevice *mch,
                                  QPCIDevice *lpc)
{
    qpci_config_writel(mch, S3_MCH_PCIEXBAR, S3_MCH_PCIEXBAR_ADDR | 1);
    qpci_config_writel(lpc, S3_ICH9_LPC_PMBASE, S3_PMBASE | 1);
    qpci_config_writeb(lpc, S3_ICH9_LPC_ACPI_CTRL, 0x80);
    qpci_config_writel(lpc, S3_ICH9_LPC_RCBA, S3_ICH9_LPC_RCBA_ADDR | 1);
    qtest_outl(m->qts, S3_PMBASE + S3_ICH9_PMIO_SMI_EN,
               qtest_inl(m->qts, S3_PMBASE + S3_ICH9_PMIO_SMI_EN) |
               S3_ICH9_PMIO_SMI_EN_APMC_EN);
}

/*
 * On hardware, PLTRST# on the way out of S3 resets the core-well chipset
 * registers and the firmware restores them on its resume path; the S3
 * wakeup reset does the same.  So after each wakeup: MMCONFIG off, the
 * ACPI PM I/O space and the RCRB unmapped, and once the PM I/O space is
 * back, SMI_EN cleared (with SMM, APMC_EN clear: SMM must be set up
 * again, SMBASE is back at its reset value).  Restored like firmware
 * does, the machine suspends again, cycle after cycle.
 */
static void test_q35_s3_cycles(const void *data)
{
    QVirtioMachine m;
    QPCIDevice *mch, *lpc;
    QDict *rsp;
    int i, j;

    qvirtio_machine_start(&m, "q35,smm=on", NULL, "%s", "");
    mch = qpci_device_find(m.bus, QPCI_DEVFN(0, 0));
    lpc = qpci_device_find(m.bus, QPCI_DEVFN(0x1f, 0));
    g_assert_nonnull(mch);
    g_assert_nonnull(lpc);

    for (i = 0; i < 3; i++) {
        bool suspended = false;

        s3_q35_firmware_setup(&m, mch, lpc);
        g_assert_cmphex(qtest_inl(m.qts, S3_PMBASE + S3_ICH9_PMIO_SMI_EN) &
                        S3_ICH9_PMIO_SMI_EN_APMC_EN, ==,
                        S3_ICH9_PMIO_SMI_EN_APMC_EN);
        qtest_outw(m.qts, S3_PMBASE + 4, S3_PM1_CNT_S3);
        for (j = 0; j < 100 && !suspended; j++) {
            rsp = qtest_qmp_assert_success_ref(m.qts,
                                          "{'execute': 'query-status'}");
            suspended = g_str_equal(qdict_get_str(rsp, "status"),
                                    "suspended");
            qobject_unref(rsp);
            if (!suspended) {
                g_usleep(10 * 1000);
            }
        }
        g_test_message("S3 cycle %d: %s", i + 1,
                       suspended ? "suspended" : "did not suspend");
        g_assert_true(suspended);
        qtest_qmp_eventwait(m.qts, "SUSPEND");
        qtest_pc_wakeup(m.qts);

        /* The reset values, as after power-on */
        g_assert_cmphex(qpci_config_readl(mch, S3_MCH_PCIEXBAR), ==,
                        S3_MCH_PCIEXBAR_ADDR);
        g_assert_cmphex(qpci_config_readl(lpc, S3_ICH9_LPC_PMBASE), ==, 1);
        g_assert_cmphex(qpci_config_readb(lpc, S3_ICH9_LPC_ACPI_CTRL), ==, 0);
        g_assert_cmphex(qpci_config_readl(lpc, S3_ICH9_LPC_RCBA), ==, 0);
        /* Nothing decodes the PM I/O space until firmware restores it */
        g_assert_cmphex(qtest_inw(m.qts, S3_PMBASE + 4), ==, 0xffff);
        qpci_config_writel(lpc, S3_ICH9_LPC_PMBASE, S3_PMBASE | 1);
        qpci_config_writeb(lpc, S3_ICH9_LPC_ACPI_CTRL, 0x80);
        g_assert_cmphex(qtest_inl(m.qts, S3_PMBASE + S3_ICH9_PMIO_SMI_EN),
                        ==, 0);
    }
    g_free(mch);
    g_free(lpc);
    qvirtio_machine_stop(&m);
}

/* ---- virtio-vga: the VGA core of a frozen device survives S3 -------- */

#define S3_VGA_SEQ_INDEX        0x3c4
#define S3_VGA_SEQ_DATA         0x3c5

static void test_vga_s3(const void *data)
{
    bool freeze = GPOINTER_TO_INT(data);
    QVirtioMachine m;
    QVirtioPCIDevice *d;
    QVirtioGpu gpu;
    uint8_t sr1;

    qvirtio_machine_start(&m, "pc", "virtio-vga,freeze_mode=on", "%s", "");
    d = m.pci;
    qvirtio_gpu_init(&gpu, &d->vdev, m.qts, &m.alloc,
                     1ull << VIRTIO_F_FREEZE_MODE);
    /* Sequencer clocking mode: screen off, 8-dot characters */
    qtest_outb(m.qts, S3_VGA_SEQ_INDEX, 1);
    qtest_outb(m.qts, S3_VGA_SEQ_DATA, 0x21);
    g_assert_cmphex(qtest_inb(m.qts, S3_VGA_SEQ_DATA), ==, 0x21);
    if (freeze) {
        qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
    }
    qtest_pc_s3_cycle(m.qts, m.bus, "pc", d->pdev);

    qtest_outb(m.qts, S3_VGA_SEQ_INDEX, 1);
    sr1 = qtest_inb(m.qts, S3_VGA_SEQ_DATA);
    /* Kept by a frozen device; without the freeze, the wakeup resets it */
    g_assert_cmphex(sr1, ==, freeze ? 0x21 : 0);
    if (freeze) {
        qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    }
    qvirtio_gpu_cleanup(&gpu);
    qvirtio_machine_stop(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* virtio-blk behind a PCIe root port */
    if (qvirtio_machine_has("q35-root-port", "virtio-blk-pci")) {
        qtest_add_data_func("virtio-freeze/types/blk/q35/root-port/"
                            "no-soft-reset", GINT_TO_POINTER(true),
                            test_no_soft_reset);
        qtest_add_data_func("virtio-freeze/types/blk/q35/root-port/"
                            "soft-reset", GINT_TO_POINTER(false),
                            test_no_soft_reset);
    }

    /* virtio-vga */
    if (qvirtio_machine_has("pc", "virtio-vga")) {
        qtest_add_data_func("virtio-freeze/types/vga/pc/s3-frozen",
                            GINT_TO_POINTER(true), test_vga_s3);
        qtest_add_data_func("virtio-freeze/types/vga/pc/s3-running",
                            GINT_TO_POINTER(false), test_vga_s3);
    }

    /* the q35 chipset */
    if (qtest_has_machine("q35")) {
        qtest_add_data_func("virtio-freeze/types/q35/s3-cycles", NULL,
                            test_q35_s3_cycles);
    }

    return g_test_run();
}
