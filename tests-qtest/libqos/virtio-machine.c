/*
 * libqos: a machine with one virtio device, and what tests of a stopped
 * (suspended) virtio device use
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "virtio-machine.h"
#include "malloc-pc.h"
#include "pci-pc.h"
#include "qobject/qdict.h"
#include "qemu/bswap.h"
#include "standard-headers/linux/virtio_blk.h"

static bool qvirtio_machine_is_mmio(const char *machine)
{
    return g_str_equal(machine, "microvm");
}

static bool qvirtio_machine_root_port(const char *machine)
{
    return g_str_equal(machine, "q35-root-port");
}

/* The -device type of PCI type @type on @machine */
static char *qvirtio_machine_type(const char *machine, const char *type)
{
    if (qvirtio_machine_is_mmio(machine) && g_str_has_suffix(type, "-pci")) {
        return g_strdup_printf("%.*s-device", (int)strlen(type) - 4, type);
    }
    return g_strdup(type);
}

bool qvirtio_machine_has(const char *machine, const char *type)
{
    g_autofree char *t = qvirtio_machine_type(machine, type);

    if (qvirtio_machine_root_port(machine)) {
        return qtest_has_machine("q35") && qtest_has_device("pcie-root-port") &&
               qtest_has_device(t);
    }
    return qtest_has_machine(machine) && qtest_has_device(t);
}

void qvirtio_machine_start(QVirtioMachine *m, const char *machine,
                           const char *device, const char *fmt, ...)
{
    g_autofree char *args = NULL;
    g_autofree char *dev = NULL;
    bool mmio = qvirtio_machine_is_mmio(machine);
    bool root_port = qvirtio_machine_root_port(machine);
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    memset(m, 0, sizeof(*m));
    m->machine = machine;
    if (!device) {
        dev = g_strdup("");
    } else if (mmio) {
        g_autofree char *type = g_strndup(device, strcspn(device, ","));
        g_autofree char *twin = qvirtio_machine_type(machine, type);

        dev = g_strdup_printf("-device %s%s,bus=virtio-mmio-bus.0", twin,
                              device + strlen(type));
    } else if (root_port) {
        dev = g_strdup_printf("-device pcie-root-port,id=rp0,bus=pcie.0,"
                              "chassis=1,addr=%d.0 -device %s,bus=rp0",
                              QVIRTIO_MACHINE_SLOT, device);
    } else {
        dev = g_strdup_printf("-device %s,addr=%d.0", device,
                              QVIRTIO_MACHINE_SLOT);
    }

    if (mmio) {
        m->qts = qtest_initf("-M microvm -m %d "
                             "-global virtio-mmio.force-legacy=false %s %s",
                             QVIRTIO_MACHINE_RAM / (1024 * 1024), args, dev);
        alloc_init(&m->alloc, ALLOC_NO_FLAGS, 1 << 20, QVIRTIO_MACHINE_RAM,
                   4096);
    } else {
        m->qts = qtest_initf("-M %s -m %d %s %s",
                             root_port ? "q35" : machine,
                             QVIRTIO_MACHINE_RAM / (1024 * 1024), args, dev);
        pc_alloc_init(&m->alloc, m->qts, ALLOC_NO_FLAGS);
        m->bus = qpci_new_pc(m->qts, &m->alloc);
    }
    if (!device || strstr(args, "-incoming")) {
        return;
    }

    if (mmio) {
        qvirtio_mmio_init_device(&m->mmio, m->qts,
                                 QVIRTIO_MACHINE_MMIO_BASE, 4096);
        g_assert_cmpint(m->mmio.version, ==, 2);
        m->vdev = &m->mmio.vdev;
    } else {
        QPCIAddress addr = {
            .devfn = root_port ? QVIRTIO_MACHINE_PORT_DEVFN
                               : QPCI_DEVFN(QVIRTIO_MACHINE_SLOT, 0),
        };

        if (root_port) {
            /* Bus numbers, and a memory window (libqos maps it as BAR 4) */
            g_assert_cmpint(qpci_secondary_buses_init(m->bus), ==, 1);
            m->port = qpci_device_find(m->bus,
                                       QPCI_DEVFN(QVIRTIO_MACHINE_SLOT, 0));
            g_assert_nonnull(m->port);
            qpci_device_enable(m->port);
            qpci_iomap(m->port, 4, NULL);
        }
        m->pci = virtio_pci_new(m->bus, &addr);
        g_assert_nonnull(m->pci);
        qvirtio_pci_device_enable(m->pci);
        m->vdev = &m->pci->vdev;
    }
}

void qvirtio_machine_stop(QVirtioMachine *m)
{
    if (m->pci) {
        qvirtio_pci_device_disable(m->pci);
        g_free(m->pci);
    }
    g_free(m->port);
    if (m->bus) {
        qpci_free_pc(m->bus);
    }
    alloc_destroy(&m->alloc);
    qtest_quit(m->qts);
    memset(m, 0, sizeof(*m));
}

void qvirtio_machine_migrated(QVirtioMachine *src, QVirtioMachine *dst)
{
    QGuestAllocator alloc = dst->alloc;

    g_assert_null(dst->vdev);
    dst->alloc = src->alloc;
    src->alloc = alloc;
    if (src->pci) {
        dst->pci = g_steal_pointer(&src->pci);
        dst->pci->pdev->bus = dst->bus;
        dst->vdev = &dst->pci->vdev;
    } else {
        dst->mmio = src->mmio;
        dst->mmio.qts = dst->qts;
        dst->vdev = &dst->mmio.vdev;
    }
    src->vdev = NULL;
}

void qvirtio_machine_wait_incoming(QTestState *dst)
{
    gint64 start = g_get_monotonic_time();

    while (true) {
        g_autofree char *st = qvirtio_run_state(dst);

        if (!g_str_equal(st, "inmigrate")) {
            break;
        }
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

/* Wait until the migration of @qts ends; its status */
static char *qvirtio_migration_end(QTestState *qts)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        QDict *rsp = qtest_qmp_assert_success_ref(qts,
                                                  "{'execute': 'query-migrate'}");
        char *st = g_strdup(qdict_get_try_str(rsp, "status") ?: "none");

        qobject_unref(rsp);
        if (g_str_equal(st, "completed") || g_str_equal(st, "failed")) {
            return st;
        }
        g_free(st);
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

GByteArray *qvirtio_machine_save(QVirtioMachine *m)
{
    g_autofree char *path = g_strdup_printf("%s/state", qvirtio_tmp_dir());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    g_autofree char *st = NULL;
    g_autoptr(GError) err = NULL;
    gchar *data;
    gsize len;

    qtest_qmp_assert_success(m->qts, "{'execute': 'migrate', "
                             "'arguments': {'uri': %s}}", uri);
    st = qvirtio_migration_end(m->qts);
    g_assert_cmpstr(st, ==, "completed");
    g_file_get_contents(path, &data, &len, &err);
    g_assert_no_error(err);
    unlink(path);
    return g_byte_array_new_take((guint8 *)data, len);
}

bool qvirtio_machine_load(QVirtioMachine *src, QVirtioMachine *dst,
                          const char *device, const char *args,
                          GByteArray *stream)
{
    g_autofree char *path = g_strdup_printf("%s/state", qvirtio_tmp_dir());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    g_autofree char *st = NULL;
    g_autoptr(GError) err = NULL;

    g_file_set_contents(path, (char *)stream->data, stream->len, &err);
    g_assert_no_error(err);
    qvirtio_machine_start(dst, src->machine, device, "%s -incoming defer",
                          args);
    qtest_qmp_assert_success(dst->qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    st = qvirtio_migration_end(dst->qts);
    unlink(path);
    if (!g_str_equal(st, "completed")) {
        return false;
    }
    qvirtio_machine_wait_incoming(dst->qts);
    qvirtio_machine_migrated(src, dst);
    return true;
}

uint8_t *qvirtio_stream_find(GByteArray *stream, const void *what, size_t n)
{
    uint8_t *end = stream->data + stream->len;
    uint8_t *p = memmem(stream->data, stream->len, what, n);

    g_assert_nonnull(p);
    g_assert_null(memmem(p + 1, end - (p + 1), what, n));
    return p;
}

uint8_t *qvirtio_stream_subsection(GByteArray *stream, const char *name)
{
    size_t n = strlen(name);
    uint8_t *p = qvirtio_stream_find(stream, name, n);

    g_assert_cmpint(p[-1], ==, n);
    g_assert_cmpint(p[-2], ==, 0x05);   /* QEMU_VM_SUBSECTION */
    return p + n + 4;                   /* after the version */
}

static void qvirtio_drive_file_remove(gpointer path)
{
    unlink(path);
    g_free(path);
}

const char *qvirtio_drive_file(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("qtest-virtio.XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1024 * 1024), ==, 0);
    close(fd);
    g_test_queue_destroy(qvirtio_drive_file_remove, path);
    return path;
}

static void qvirtio_tmp_dir_remove(gpointer path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *file = g_build_filename(path, name, NULL);

        unlink(file);
    }
    if (dir) {
        g_dir_close(dir);
    }
    rmdir(path);
    g_free(path);
}

const char *qvirtio_tmp_dir(void)
{
    char *path = g_dir_make_tmp("qtest-virtio-XXXXXX", NULL);

    g_assert_nonnull(path);
    g_test_queue_destroy(qvirtio_tmp_dir_remove, path);
    return path;
}

char *qvirtio_held_drive(const char *file, int sector)
{
    return g_strdup_printf("-drive if=none,id=drv0,format=raw,rerror=stop,"
                           "file.driver=blkdebug,file.image.filename=%s,"
                           "file.inject-error.0.event=read_aio,"
                           "file.inject-error.0.sector=%d,"
                           "file.inject-error.0.once=on", file, sector);
}

void qvirtio_qemu_io(QTestState *qts, const char *cmd)
{
    g_autofree char *out = qtest_hmp(qts, "qemu-io drv0 \"%s\"", cmd);

    g_assert_cmpstr(out, ==, "");
}

uint64_t qvirtio_negotiate(QVirtioDevice *vdev, uint64_t required,
                           uint64_t extra)
{
    uint64_t features;

    qvirtio_start_device(vdev);
    g_assert_cmphex(qvirtio_get_features(vdev) & required, ==, required);
    features = (1ull << VIRTIO_F_VERSION_1) | required |
               (qvirtio_get_features(vdev) & extra);
    qvirtio_set_features(vdev, features);
    return features;
}

uint8_t qvirtio_pci_common_status(QVirtioPCIDevice *d)
{
    return qpci_io_readb(d->pdev, d->bar,
                         d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS);
}

void qvirtio_pci_common_set_status(QVirtioPCIDevice *d, uint8_t status)
{
    qpci_io_writeb(d->pdev, d->bar,
                   d->common_cfg_offset + VIRTIO_PCI_COMMON_STATUS, status);
}

uint64_t qvirtio_pci_common_driver_features(QVirtioPCIDevice *d)
{
    uint64_t base = d->common_cfg_offset;
    uint64_t lo, hi;

    qpci_io_writel(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GFSELECT, 0);
    lo = qpci_io_readl(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GF);
    qpci_io_writel(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GFSELECT, 1);
    hi = qpci_io_readl(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_GF);
    return hi << 32 | lo;
}

void qvirtio_pci_common_queue_read(QVirtioPCIDevice *d, uint16_t index,
                                   QVirtioPCICommonQueue *q)
{
    uint64_t base = d->common_cfg_offset;

    qpci_io_writew(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_SELECT, index);
    q->size = qpci_io_readw(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_SIZE);
    q->enable = qpci_io_readw(d->pdev, d->bar,
                              base + VIRTIO_PCI_COMMON_Q_ENABLE);
    q->desc = qpci_io_readq(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_DESCLO);
    q->avail = qpci_io_readq(d->pdev, d->bar,
                             base + VIRTIO_PCI_COMMON_Q_AVAILLO);
    q->used = qpci_io_readq(d->pdev, d->bar, base + VIRTIO_PCI_COMMON_Q_USEDLO);
}

uint8_t qvirtio_pci_suspend(QVirtioPCIDevice *d, bool suspend)
{
    const uint8_t mask = VIRTIO_CONFIG_S_SUSPEND | VIRTIO_CONFIG_S_DRIVER_OK;
    uint8_t want = suspend ? VIRTIO_CONFIG_S_SUSPEND
                           : VIRTIO_CONFIG_S_DRIVER_OK;
    QTestState *qts = d->pdev->bus->qts;
    gint64 start = g_get_monotonic_time();
    uint8_t status = qvirtio_pci_common_status(d);

    /*
     * A suspend already asked for is not asked again: if it completed
     * since the read, the write would set DRIVER_OK again, a resume
     */
    if (!(suspend && (status & VIRTIO_CONFIG_S_SUSPEND))) {
        qvirtio_pci_common_set_status(d, status | want);
    }
    while (((status = qvirtio_pci_common_status(d)) & mask) != want) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        qtest_clock_step_next(qts);
        g_usleep(100);
    }
    return status;
}

GByteArray *qvirtio_mem_snapshot(QTestState *qts, uint64_t size)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    gchar *data;
    gsize len;
    int fd;

    fd = g_file_open_tmp("qtest-virtio-mem.XXXXXX", &path, &err);
    g_assert_no_error(err);
    close(fd);
    qtest_qmp_assert_success(qts, "{'execute': 'pmemsave', 'arguments': "
                             "{'val': 0, 'size': %" PRIu64 ", "
                             "'filename': %s}}", size, path);
    g_file_get_contents(path, &data, &len, &err);
    g_assert_no_error(err);
    unlink(path);
    g_assert_cmpuint(len, ==, size);
    return g_byte_array_new_take((guint8 *)data, len);
}

void qvirtio_mem_assert_same(GByteArray *a, GByteArray *b)
{
    guint i;

    g_assert_cmpuint(a->len, ==, b->len);
    if (memcmp(a->data, b->data, a->len) == 0) {
        return;
    }
    for (i = 0; i < a->len && a->data[i] == b->data[i]; i++) {
        /* find the first difference */
    }
    g_test_message("guest memory at 0x%x changed: 0x%02x -> 0x%02x",
                   i, a->data[i], b->data[i]);
    g_assert_cmphex(i, ==, a->len);
}

char *qvirtio_run_state(QTestState *qts)
{
    QDict *rsp = qtest_qmp_assert_success_ref(qts,
                                              "{'execute': 'query-status'}");
    char *st = g_strdup(qdict_get_str(rsp, "status"));

    qobject_unref(rsp);
    return st;
}

uint32_t qvirtio_blk_req_read(QTestState *qts, QGuestAllocator *alloc,
                              QVirtioDevice *vdev, QVirtQueue *vq,
                              uint64_t sector, uint64_t *req)
{
    struct virtio_blk_outhdr hdr = {
        .type = cpu_to_le32(VIRTIO_BLK_T_IN),
        .sector = cpu_to_le64(sector),
    };
    uint64_t addr = guest_alloc(alloc, sizeof(hdr) + 512 + 1);
    uint32_t head;

    qtest_memwrite(qts, addr, &hdr, sizeof(hdr));
    qtest_memset(qts, addr + sizeof(hdr), 0x5a, 512);
    qtest_writeb(qts, addr + sizeof(hdr) + 512, 0xff);
    head = qvirtqueue_add(qts, vq, addr, sizeof(hdr), false, true);
    qvirtqueue_add(qts, vq, addr + sizeof(hdr), 512, true, true);
    qvirtqueue_add(qts, vq, addr + sizeof(hdr) + 512, 1, true, false);
    qvirtqueue_kick(qts, vdev, vq, head);
    *req = addr;
    return head;
}

void qvirtio_blk_req_check_done(QTestState *qts, QGuestAllocator *alloc,
                                QVirtQueue *vq, uint32_t head, uint64_t req)
{
    uint32_t got;

    g_assert(qvirtqueue_get_buf(qts, vq, &got, NULL));
    g_assert_cmpint(got, ==, head);
    g_assert_cmpint(qtest_readb(qts, req + sizeof(struct virtio_blk_outhdr) +
                                512), ==, VIRTIO_BLK_S_OK);
    guest_free(alloc, req);
}

void qvirtio_blk_req_wait_done(QTestState *qts, QGuestAllocator *alloc,
                               QVirtQueue *vq, uint32_t head, uint64_t req)
{
    gint64 start = g_get_monotonic_time();

    while (qtest_readw(qts, vq->used + 2) == vq->last_used_idx) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        qtest_clock_step(qts, 100);
        g_usleep(100);
    }
    qvirtio_blk_req_check_done(qts, alloc, vq, head, req);
}

void qvirtqueue_corrupt_avail(QTestState *qts, QVirtQueue *vq)
{
    uint64_t idx = vq->avail + 2;       /* struct vring_avail.idx */

    qtest_writew(qts, idx, qtest_readw(qts, idx) + vq->size + 1);
}
