/*
 * QTest: every reset type against every state of a freeze_mode device
 *
 * Written from the contract (the freeze_mode register of virtio-pci, and
 * virtio 1.4's Device Suspend), one case per combination of
 *
 * - where the function sits: the root bus of pc, the root bus of q35
 *   (both conventional PCI for virtio-pci, without a PCI Power Management
 *   capability), or a pcie-root-port on q35 (PCI Express, with one);
 * - the state the driver left the device in: running (DRIVER_OK), BUSY
 *   (FREEZE_S3 written while a read is in flight), frozen (FREEZE_S3
 *   acknowledged) or suspended (SUSPEND presented without DRIVER_OK);
 * - its power state: D0, or D3hot where there is a PM capability;
 * - the reset: a driver reset (device_status 0), a Function Level Reset
 *   (PCI Express only), a cold system reset (QMP system_reset), the S3
 *   wakeup, or device_del and device_add of the same device.
 *
 * What the contract says, and each case asserts from the outside: a
 * driver reset, an FLR and a cold reset always reset the device
 * (device_status 0, freeze_mode UNFREEZE, no queue configured, the
 * function in D0).  The S3 wakeup keeps it (status, freeze_mode,
 * features, the queue; after unfreeze or resume the next request goes
 * on with the next used index) only if it is frozen for S3 or BUSY
 * toward FREEZE_S3, or in D3hot with No_Soft_Reset, which freeze_mode=on
 * sets wherever there is a PM capability; a running or suspended device
 * in D0 is reset.  A device added again after device_del is a new one.
 * After every reset the device must work again: the driver initialises
 * it and completes a request.
 *
 * The read in flight for BUSY waits in the drive's throttle group, which
 * runs on the virtual clock under qtest, not at a blkdebug breakpoint: a
 * reset drains the drive, and a drain waits for ever for a request that
 * blkdebug holds until a monitor command, which cannot run meanwhile.
 * Throttled requests are let through by the drain.
 *
 * With --verbose, each case prints one line "reset-matrix: topology
 * state power reset -> status, freeze_mode, PMCSR, queue kept|reset", as
 * read right after the reset and the restore of the PCI header.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_blk.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "libqos/pc-s3.h"
#include "libqos/virtio-freeze.h"

#define FR_FEATURES             ((1ull << VIRTIO_F_VERSION_1) | \
                                 (1ull << VIRTIO_F_FREEZE_MODE) | \
                                 (1ull << VIRTIO_F_SUSPEND))
#define FR_DEVICE_OPTS          "freeze_mode=on,suspend=on"
#define FR_THROTTLE(iops)       "{'execute': 'block_set_io_throttle', " \
    "'arguments': {'id': '/machine/peripheral/blk0/virtio-backend', " \
    "'bps': 0, 'bps_rd': 0, 'bps_wr': 0, 'iops': " #iops ", " \
    "'iops_rd': 0, 'iops_wr': 0}}"

typedef struct FrTopology {
    const char *name;
    const char *machine;
    bool root_port;             /* behind a pcie-root-port, PCI Express */
} FrTopology;

static const FrTopology fr_topologies[] = {
    { "pc", "pc", false },
    { "q35", "q35", false },
    { "q35-root-port", "q35", true },
};

typedef enum FrState {
    FR_RUNNING,
    FR_BUSY,
    FR_FROZEN,
    FR_SUSPENDED,
} FrState;

static const char *const fr_state_names[] = {
    [FR_RUNNING] = "running",
    [FR_BUSY] = "busy",
    [FR_FROZEN] = "frozen",
    [FR_SUSPENDED] = "suspended",
};

typedef enum FrReset {
    FR_DRIVER_RESET,
    FR_FLR,
    FR_SYSTEM_RESET,
    FR_S3,
    FR_DEVICE_DEL,
} FrReset;

static const char *const fr_reset_names[] = {
    [FR_DRIVER_RESET] = "driver-reset",
    [FR_FLR] = "flr",
    [FR_SYSTEM_RESET] = "system-reset",
    [FR_S3] = "s3",
    [FR_DEVICE_DEL] = "device-del",
};

typedef struct FrCase {
    const FrTopology *topo;
    FrState state;
    bool d3hot;
    FrReset reset;
} FrCase;

typedef struct Fr {
    const FrCase *c;
    QVirtioMachine m;
    QPCISavedHeader port_hdr;
    QPCISavedHeader hdr;
    QVirtQueue *vq;
    uint8_t pm;                 /* the PM capability, 0 if none */
    uint16_t pmcsr;             /* as the reset left it */
    /* What the driver had set up when it left the device in its state */
    uint8_t status;
    uint16_t mode;
    uint64_t features;
    QVirtioPCICommonQueue queue;
    uint16_t used_idx;
    /* The read in flight of a BUSY device */
    uint32_t held_head;
    uint64_t held_req;
} Fr;

/* The device again, after it was plugged anew */
static void fr_find_device(Fr *f)
{
    QPCIAddress addr = {
        .devfn = f->c->topo->root_port ? QVIRTIO_MACHINE_PORT_DEVFN
                                       : QPCI_DEVFN(QVIRTIO_MACHINE_SLOT, 0),
    };

    f->m.pci = virtio_pci_new(f->m.bus, &addr);
    g_assert_nonnull(f->m.pci);
    qvirtio_pci_device_enable(f->m.pci);
    f->m.vdev = &f->m.pci->vdev;
}

static void fr_start(Fr *f, const FrCase *c)
{
    memset(f, 0, sizeof(*f));
    f->c = c;
    qvirtio_machine_start(&f->m, c->topo->name,
                          "virtio-blk-pci,id=blk0,drive=drv0," FR_DEVICE_OPTS,
                          "-blockdev driver=null-co,node-name=drv0,"
                          "read-zeroes=on,size=1048576");
    f->pm = qpci_find_capability(f->m.pci->pdev, PCI_CAP_ID_PM, 0);

    if (c->topo->root_port) {
        /* PCI Express: PM, and No_Soft_Reset because of freeze_mode=on */
        g_assert_cmpint(f->pm, !=, 0);
        g_assert_cmphex(qpci_config_readw(f->m.pci->pdev,
                                          f->pm + PCI_PM_CTRL),
                        ==, PCI_PM_CTRL_NO_SOFT_RESET);
    } else {
        /* Conventional PCI on a root bus: no PM capability, no D3hot */
        g_assert_cmpint(f->pm, ==, 0);
    }
}

static void fr_stop(Fr *f)
{
    if (f->vq) {
        qvirtqueue_cleanup(f->m.vdev->bus, f->vq, &f->m.alloc);
    }
    qvirtio_machine_stop(&f->m);
}

static uint16_t fr_used_idx(Fr *f)
{
    return qtest_readw(f->m.qts, f->vq->used + 2);
}

/* A one-sector read that completes */
static void fr_request(Fr *f, uint64_t sector)
{
    uint64_t req;
    uint32_t head = qvirtio_blk_req_read(f->m.qts, &f->m.alloc,
                                            &f->m.pci->vdev, f->vq, sector,
                                            &req);

    qvirtio_blk_req_wait_done(f->m.qts, &f->m.alloc, f->vq, head, req);
}

/* Driver initialisation with both features, one queue, DRIVER_OK */
static void fr_driver_init(Fr *f)
{
    g_assert_cmphex(qvirtio_freeze_negotiate(f->m.pci, FR_FEATURES), ==,
                    FR_FEATURES);
    f->vq = qvirtqueue_setup(&f->m.pci->vdev, &f->m.alloc, 0);
    qvirtio_set_driver_ok(&f->m.pci->vdev);
}

static uint16_t fr_pmcsr(Fr *f)
{
    return f->pm ? qpci_config_readw(f->m.pci->pdev, f->pm + PCI_PM_CTRL) : 0;
}

static void fr_set_power(Fr *f, uint8_t state)
{
    g_assert_cmpint(f->pm, !=, 0);
    qpci_config_writew(f->m.pci->pdev, f->pm + PCI_PM_CTRL, state);
    g_assert_cmphex(fr_pmcsr(f) & PCI_PM_CTRL_STATE_MASK, ==, state);
}

/* Bring the device to the state and power state of the case */
static void fr_enter(Fr *f)
{
    QVirtioPCIDevice *d = f->m.pci;

    fr_driver_init(f);
    /* Some traffic first, so that the used index is not zero */
    fr_request(f, 0);

    switch (f->c->state) {
    case FR_RUNNING:
        break;
    case FR_BUSY:
        /*
         * One read per second: the first goes through, the second waits
         * for the virtual clock, which only the test moves
         */
        qtest_qmp_assert_success(f->m.qts, FR_THROTTLE(1));
        fr_request(f, 1);
        f->held_head = qvirtio_blk_req_read(f->m.qts, &f->m.alloc, &d->vdev,
                                               f->vq, 2, &f->held_req);
        qvirtio_freeze_write(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
        g_assert_cmphex(qvirtio_freeze_read(d), ==,
                        VIRTIO_PCI_FREEZE_MODE_FREEZE_S3 |
                        VIRTIO_PCI_FREEZE_MODE_BUSY);
        g_assert_cmpint(fr_used_idx(f), ==, f->vq->last_used_idx);
        break;
    case FR_FROZEN:
        g_assert_cmphex(qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3),
                        ==, VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
        break;
    case FR_SUSPENDED:
        g_assert_cmphex(qvirtio_pci_suspend(d, true), ==,
                        VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                        VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_SUSPEND);
        break;
    }

    f->status = qvirtio_pci_common_status(d);
    f->mode = qvirtio_freeze_read(d);
    f->features = qvirtio_pci_common_driver_features(d);
    qvirtio_pci_common_queue_read(d, 0, &f->queue);
    g_assert_cmpint(f->queue.enable, ==, 1);
    g_assert_cmphex(f->queue.desc, ==, f->vq->desc);
    f->used_idx = fr_used_idx(f);
    g_assert_cmpint(f->used_idx, !=, 0);

    /* What a guest saves before it suspends, or that a reset loses */
    qpci_save_header(d->pdev, &f->hdr);
    if (f->m.port) {
        qpci_save_header(f->m.port, &f->port_hdr);
    }
    if (f->c->d3hot) {
        fr_set_power(f, 3);
    }
}

/*
 * What the guest restores after a reset of the machine: the port first
 * (its bus numbers make the function reachable again), then the function
 */
static void fr_restore(Fr *f)
{
    if (f->m.port) {
        qpci_restore_header(f->m.port, &f->port_hdr);
    }
    f->pmcsr = fr_pmcsr(f);
    if (f->pm) {
        /* The D3hot -> D0 transition of a resuming guest */
        qpci_config_writew(f->m.pci->pdev, f->pm + PCI_PM_CTRL, 0);
    }
    qpci_restore_header(f->m.pci->pdev, &f->hdr);
}

static void fr_flr(Fr *f)
{
    QPCIDevice *pdev = f->m.pci->pdev;
    uint8_t exp = qpci_find_capability(pdev, PCI_CAP_ID_EXP, 0);
    uint16_t ctl;

    g_assert_cmpint(exp, !=, 0);
    g_assert_cmphex(qpci_config_readl(pdev, exp + PCI_EXP_DEVCAP) &
                    PCI_EXP_DEVCAP_FLR, ==, PCI_EXP_DEVCAP_FLR);
    ctl = qpci_config_readw(pdev, exp + PCI_EXP_DEVCTL);
    qpci_config_writew(pdev, exp + PCI_EXP_DEVCTL,
                       ctl | PCI_EXP_DEVCTL_BCR_FLR);
    g_assert_cmphex(qpci_config_readw(pdev, exp + PCI_EXP_DEVCTL) &
                    PCI_EXP_DEVCTL_BCR_FLR, ==, 0);
    f->pmcsr = fr_pmcsr(f);
    /* The function lost its BARs and command register */
    qpci_restore_header(pdev, &f->hdr);
}

/*
 * The ACPI PCI hotplug registers of q35 (ICH9), with which the guest
 * ejects the device in slot 0 of the bus that the ACPI tables number
 * @bsel: QEMU hot-plugs and unplugs on a pcie-root-port through ACPI
 * since machine version 6.1
 */
#define FR_ICH9_PCIHP           0x0cc0
#define FR_PCIHP_EJ             0x08
#define FR_PCIHP_SEL            0x10

static void fr_unplug_q35_root_port(Fr *f)
{
    QDict *rsp = qtest_qmp(f->m.qts,
        "{'execute': 'qom-get', 'arguments': {'path': "
        "'/machine/peripheral/rp0/rp0', 'property': 'acpi-pcihp-bsel'}}");
    int64_t bsel = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    qtest_qmp_device_del_send(f->m.qts, "blk0");
    qtest_outl(f->m.qts, FR_ICH9_PCIHP + FR_PCIHP_SEL, bsel);
    qtest_outl(f->m.qts, FR_ICH9_PCIHP + FR_PCIHP_EJ, 1 << 0);
    qtest_qmp_eventwait(f->m.qts, "DEVICE_DELETED");
}

/*
 * device_del, completed as the guest does it with ACPI hotplug (pc, and
 * the pcie-root-port of q35), and device_add
 */
static void fr_replug(Fr *f)
{
    if (f->c->topo->root_port) {
        fr_unplug_q35_root_port(f);
    } else {
        g_assert_cmpstr(f->c->topo->machine, ==, "pc");
        qpci_unplug_acpi_device_test(f->m.qts, "blk0", QVIRTIO_MACHINE_SLOT);
    }
    g_assert_cmphex(qpci_config_readw(f->m.pci->pdev, PCI_VENDOR_ID), ==,
                    0xffff);
    if (f->c->topo->root_port) {
        qtest_qmp_device_add(f->m.qts, "virtio-blk-pci", "blk0",
                             "{'bus': 'rp0', 'drive': 'drv0',"
                             " 'freeze_mode': true, 'suspend': true}");
    } else {
        qtest_qmp_device_add(f->m.qts, "virtio-blk-pci", "blk0",
                             "{'addr': %s, 'drive': 'drv0',"
                             " 'freeze_mode': true, 'suspend': true}",
                             stringify(QVIRTIO_MACHINE_SLOT) ".0");
    }
    /* The driver's view of the old device goes with it */
    g_free(f->m.pci);
    fr_find_device(f);
    f->pm = qpci_find_capability(f->m.pci->pdev, PCI_CAP_ID_PM, 0);
}

/* Run the reset of the case; the device is ready for register access */
static void fr_do_reset(Fr *f)
{
    QVirtioPCIDevice *d = f->m.pci;

    switch (f->c->reset) {
    case FR_DRIVER_RESET:
        if (f->c->d3hot) {
            /*
             * The registers are not reachable in D3hot: the driver brings
             * the function to D0 first, which No_Soft_Reset says keeps it
             */
            fr_set_power(f, 0);
            g_assert_cmphex(qvirtio_pci_common_status(d), ==, f->status);
            g_assert_cmphex(qvirtio_freeze_read(d), ==, f->mode);
        }
        qvirtio_reset(&d->vdev);
        f->pmcsr = fr_pmcsr(f);
        break;
    case FR_FLR:
        fr_flr(f);
        break;
    case FR_SYSTEM_RESET:
        qtest_qmp_assert_success(f->m.qts, "{'execute': 'system_reset'}");
        qtest_qmp_eventwait(f->m.qts, "RESET");
        fr_restore(f);
        break;
    case FR_S3:
        qtest_pc_suspend_s3(f->m.qts, f->m.bus, f->c->topo->machine);
        qtest_pc_wakeup(f->m.qts);
        fr_restore(f);
        break;
    case FR_DEVICE_DEL:
        fr_replug(f);
        f->pmcsr = fr_pmcsr(f);
        break;
    }
}

/* Does the contract keep the device across the reset of the case? */
static bool fr_expect_kept(const FrCase *c)
{
    if (c->reset != FR_S3) {
        return false;
    }
    return c->state == FR_FROZEN || c->state == FR_BUSY || c->d3hot;
}

static void fr_assert_kept(Fr *f)
{
    QVirtioPCIDevice *d = f->m.pci;
    QVirtioPCICommonQueue q;

    g_assert_cmphex(qvirtio_pci_common_status(d), ==, f->status);
    g_assert_cmphex(qvirtio_freeze_read(d), ==, f->mode);
    g_assert_cmphex(qvirtio_pci_common_driver_features(d), ==, f->features);
    qvirtio_pci_common_queue_read(d, 0, &q);
    g_assert_cmpint(q.size, ==, f->queue.size);
    g_assert_cmpint(q.enable, ==, 1);
    g_assert_cmphex(q.desc, ==, f->queue.desc);
    g_assert_cmphex(q.avail, ==, f->queue.avail);
    g_assert_cmphex(q.used, ==, f->queue.used);
}

static void fr_assert_reset(Fr *f)
{
    QVirtioPCIDevice *d = f->m.pci;
    QVirtioPCICommonQueue q;

    g_assert_cmphex(qvirtio_pci_common_status(d), ==, 0);
    g_assert_cmphex(qvirtio_freeze_read(d), ==,
                    VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
    qvirtio_pci_common_queue_read(d, 0, &q);
    g_assert_cmpint(q.enable, ==, 0);
    g_assert_cmphex(q.desc, ==, 0);
    g_assert_cmphex(q.avail, ==, 0);
    g_assert_cmphex(q.used, ==, 0);
    if (f->pm) {
        /* In D0, and No_Soft_Reset still offered */
        g_assert_cmphex(fr_pmcsr(f), ==, PCI_PM_CTRL_NO_SOFT_RESET);
        if (f->c->reset == FR_FLR || f->c->reset == FR_SYSTEM_RESET) {
            /* ... which the reset itself did, before the guest's restore */
            g_assert_cmphex(f->pmcsr, ==, PCI_PM_CTRL_NO_SOFT_RESET);
        }
    }
}

/* The driver takes up a device that kept its state, as on resume */
static void fr_resume(Fr *f)
{
    QVirtioPCIDevice *d = f->m.pci;
    uint16_t used_idx = f->used_idx;

    switch (f->c->state) {
    case FR_RUNNING:
        break;
    case FR_BUSY:
        /* The read in flight completes, and then the freeze */
        g_assert_cmphex(qvirtio_freeze_wait(d), ==,
                        VIRTIO_PCI_FREEZE_MODE_FREEZE_S3);
        qvirtio_blk_req_check_done(f->m.qts, &f->m.alloc, f->vq, f->held_head,
                                      f->held_req);
        used_idx++;
        /* fall through */
    case FR_FROZEN:
        g_assert_cmphex(qvirtio_freeze_set(d, VIRTIO_PCI_FREEZE_MODE_UNFREEZE),
                        ==, VIRTIO_PCI_FREEZE_MODE_UNFREEZE);
        break;
    case FR_SUSPENDED:
        qvirtio_pci_suspend(d, false);
        break;
    }
    g_assert_cmphex(qvirtio_pci_common_status(d), ==,
                    (f->status & ~VIRTIO_CONFIG_S_SUSPEND) |
                    VIRTIO_CONFIG_S_DRIVER_OK);
    /* No re-initialisation: the queue goes on where it was */
    qtest_qmp_assert_success(f->m.qts, FR_THROTTLE(0));
    fr_request(f, 3);
    g_assert_cmpint(fr_used_idx(f), ==, (uint16_t)(used_idx + 1));
}

static void test_reset(const void *data)
{
    const FrCase *c = data;
    bool kept = fr_expect_kept(c);
    QVirtioPCICommonQueue q;
    g_autofree char *pmcsr = NULL;
    Fr f;

    fr_start(&f, c);
    fr_enter(&f);
    fr_do_reset(&f);

    qvirtio_pci_common_queue_read(f.m.pci, 0, &q);
    pmcsr = f.pm ? g_strdup_printf("0x%04x", f.pmcsr) : g_strdup("none");
    if (g_test_verbose()) {
        g_test_message("reset-matrix: %s %s %s %s -> status 0x%02x "
                       "freeze_mode 0x%04x pmcsr %s queue %s",
                       c->topo->name, fr_state_names[c->state],
                       c->d3hot ? "d3hot" : "d0", fr_reset_names[c->reset],
                       qvirtio_pci_common_status(f.m.pci),
                       qvirtio_freeze_read(f.m.pci), pmcsr,
                       q.enable && q.desc == f.queue.desc ? "kept" : "reset");
    }

    if (kept) {
        fr_assert_kept(&f);
        fr_resume(&f);
    } else {
        fr_assert_reset(&f);
        if (f.vq) {
            /* Its rings went with the reset */
            qvirtqueue_cleanup(f.m.pci->vdev.bus, f.vq, &f.m.alloc);
            f.vq = NULL;
        }
        qtest_qmp_assert_success(f.m.qts, FR_THROTTLE(0));
    }

    /* Either way the device works: a driver initialises it anew */
    qvirtio_reset(&f.m.pci->vdev);
    if (f.vq) {
        qvirtqueue_cleanup(f.m.pci->vdev.bus, f.vq, &f.m.alloc);
    }
    fr_driver_init(&f);
    fr_request(&f, 4);
    g_assert_cmpint(fr_used_idx(&f), ==, 1);
    fr_stop(&f);
}

static bool fr_applies(const FrTopology *t, bool d3hot, FrReset reset)
{
    if (!qvirtio_machine_has(t->name, "virtio-blk-pci")) {
        return false;
    }
    /* D3hot and FLR need the PM and PCI Express capabilities */
    if ((d3hot || reset == FR_FLR) && !t->root_port) {
        return false;
    }
    /*
     * device_del completes only once the guest ejects the device, through
     * ACPI on pc and behind the pcie-root-port of q35.  The root bus of
     * q35 (pcie.0) takes no hotplug at all.
     */
    if (reset == FR_DEVICE_DEL && !g_str_equal(t->machine, "pc") &&
        !t->root_port) {
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    int t, s, p, r;

    g_test_init(&argc, &argv, NULL);
    if (!qtest_has_device("virtio-blk-pci")) {
        return g_test_run();
    }

    for (t = 0; t < ARRAY_SIZE(fr_topologies); t++) {
        for (s = 0; s < ARRAY_SIZE(fr_state_names); s++) {
            for (p = 0; p < 2; p++) {
                for (r = 0; r < ARRAY_SIZE(fr_reset_names); r++) {
                    FrCase *c;
                    g_autofree char *path = NULL;

                    if (!fr_applies(&fr_topologies[t], p, r)) {
                        continue;
                    }
                    c = g_new(FrCase, 1);
                    c->topo = &fr_topologies[t];
                    c->state = s;
                    c->d3hot = p;
                    c->reset = r;
                    path = g_strdup_printf("virtio-freeze/reset/%s/%s/%s/%s",
                                           c->topo->name, fr_state_names[s],
                                           p ? "d3hot" : "d0",
                                           fr_reset_names[r]);
                    qtest_add_data_func_full(path, c, test_reset, g_free);
                }
            }
        }
    }
    return g_test_run();
}
