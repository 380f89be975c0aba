/*
 * QTest cases for virtio-gpu with freeze_mode (VIRTIO_F_FREEZE_MODE)
 *
 * A frozen virtio-gpu keeps its resources, their backing and its scanouts
 * across guest S3: the console shows the same image after the resume and
 * the driver goes on using its resources without re-creating them.
 * Without freeze the S3 wakeup resets the device and everything is gone,
 * as today.  The cases run on pc and q35 with virtio-gpu-pci and with
 * virtio-vga; one case runs through the libqos graph.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qobject/qdict.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/pci_regs.h"
#include "libqos/qgraph.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "libqos/virtio-gpu.h"
#include "libqos/virtio-freeze.h"
#include "libqos/pc-s3.h"

/* Short names for the register values (standard-headers/linux/virtio_pci.h) */
#define FREEZE_UNFREEZE         VIRTIO_PCI_FREEZE_MODE_UNFREEZE
#define FREEZE_S3               VIRTIO_PCI_FREEZE_MODE_FREEZE_S3

#define GF_RES                                  1
#define GF_WIDTH                                64
#define GF_HEIGHT                               48
#define GF_SIZE                                 (GF_WIDTH * GF_HEIGHT * 4)
#define GF_QUEUED                               6
#define GF_RAM                                  QVIRTIO_MACHINE_RAM
#define GF_VDEV_PATH                  "/machine/peripheral/gpu0/virtio-backend"

typedef struct GfCase {
    const char *machine;
    const char *device;
} GfCase;

typedef struct GfMachine {
    const GfCase *c;
    QVirtioMachine vm;
    QTestState *qts;
    QVirtioPCIDevice *dev;
    QVirtioGpu gpu;
    uint64_t backing;
} GfMachine;

/* ---- freeze_mode register ------------------------------------------- */

static void gf_freeze(QVirtioPCIDevice *d, uint16_t mode)
{
    g_assert_cmphex(qvirtio_freeze_set(d, mode), ==, mode);
}

/* ---- drawing and looking at the console ----------------------------- */

/* B8G8R8X8: the pixel as a little-endian word is 0x00RRGGBB */
static uint32_t gf_pixel(int x, int y, int seed)
{
    uint8_t r = x * 4 + seed;
    uint8_t g = y * 5 + seed * 3;
    uint8_t b = (x ^ y) + seed * 7;

    return (r << 16) | (g << 8) | b;
}

static void gf_fill(QTestState *qts, uint64_t addr, int seed)
{
    g_autofree uint32_t *buf = g_new(uint32_t, GF_WIDTH * GF_HEIGHT);
    int x, y;

    for (y = 0; y < GF_HEIGHT; y++) {
        for (x = 0; x < GF_WIDTH; x++) {
            buf[y * GF_WIDTH + x] = cpu_to_le32(gf_pixel(x, y, seed));
        }
    }
    qtest_memwrite(qts, addr, buf, GF_SIZE);
}

/* Transfer the backing to the resource and flush it to the scanout */
static void gf_update(QVirtioGpu *gpu, uint32_t expect)
{
    g_assert_cmphex(qvirtio_gpu_transfer_to_host_2d(gpu, GF_RES, GF_WIDTH,
                                                    GF_HEIGHT), ==, expect);
    g_assert_cmphex(qvirtio_gpu_resource_flush(gpu, GF_RES, GF_WIDTH,
                                               GF_HEIGHT), ==, expect);
}

/* What a guest's console driver does first: a framebuffer on scanout 0 */
static void gf_draw(QVirtioGpu *gpu, uint64_t backing, int seed)
{
    gf_fill(gpu->qts, backing, seed);
    g_assert_cmphex(qvirtio_gpu_resource_create_2d(gpu, GF_RES,
                        VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, GF_WIDTH, GF_HEIGHT),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_resource_attach_backing(gpu, GF_RES, backing,
                                                        GF_SIZE),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(qvirtio_gpu_set_scanout(gpu, 0, GF_RES, GF_WIDTH,
                                            GF_HEIGHT),
                    ==, VIRTIO_GPU_RESP_OK_NODATA);
    gf_update(gpu, VIRTIO_GPU_RESP_OK_NODATA);
}

/* A QMP screendump of the console, as PPM */
static GBytes *gf_screendump(QTestState *qts)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    char *data;
    gsize len;
    int fd = g_file_open_tmp("qtest-gpu-freeze.XXXXXX.ppm", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    qtest_qmp_assert_success(qts, "{'execute': 'screendump',"
                             " 'arguments': {'filename': %s}}", path);
    g_assert(g_file_get_contents(path, &data, &len, &err));
    unlink(path);
    return g_bytes_new_take(data, len);
}

/* The screendump shows the pattern @seed, pixel for pixel */
static void gf_check_pattern(GBytes *ppm, int seed)
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(ppm, &len);
    g_autofree char *header = g_strdup_printf("P6\n%d %d\n255\n",
                                              GF_WIDTH, GF_HEIGHT);
    size_t hlen = strlen(header);
    int x, y;

    g_assert_cmpint(len, ==, hlen + GF_WIDTH * GF_HEIGHT * 3);
    g_assert(!memcmp(p, header, hlen));
    p += hlen;
    for (y = 0; y < GF_HEIGHT; y++) {
        for (x = 0; x < GF_WIDTH; x++, p += 3) {
            uint32_t px = gf_pixel(x, y, seed);

            g_assert_cmphex(p[0], ==, (px >> 16) & 0xff);
            g_assert_cmphex(p[1], ==, (px >> 8) & 0xff);
            g_assert_cmphex(p[2], ==, px & 0xff);
        }
    }
}

/* ---- machines, S3 --------------------------------------------------- */

static void gf_start(GfMachine *m, const GfCase *c, bool freeze)
{
    g_autofree char *dev = g_strdup_printf("%s,id=gpu0,freeze_mode=on",
                                           c->device);

    memset(m, 0, sizeof(*m));
    m->c = c;
    qvirtio_machine_start(&m->vm, c->machine, dev, "-vga none");
    m->qts = m->vm.qts;
    m->dev = m->vm.pci;
    qvirtio_gpu_init(&m->gpu, &m->dev->vdev, m->qts, &m->vm.alloc,
                     freeze ? 1ull << VIRTIO_F_FREEZE_MODE : 0);
    g_assert(!freeze || (m->dev->vdev.features &
                         (1ull << VIRTIO_F_FREEZE_MODE)));
    m->backing = guest_alloc(&m->vm.alloc, GF_SIZE);
}

static void gf_stop(GfMachine *m)
{
    qvirtio_gpu_cleanup(&m->gpu);
    qvirtio_machine_stop(&m->vm);
}

/* Suspend to RAM and wake up, restoring the PCI state as a guest does */
static void gf_s3(GfMachine *m)
{
    qtest_pc_s3_cycle(m->qts, m->vm.bus, m->c->machine, m->dev->pdev);
}

/*
 * Move the guest of @m to a new machine, through its state saved to a
 * file and loaded there
 */
static void gf_migrate(GfMachine *m)
{
    g_autofree char *dev = g_strdup_printf("%s,id=gpu0,freeze_mode=on",
                                           m->c->device);
    g_autoptr(GByteArray) stream = qvirtio_machine_save(&m->vm);
    QVirtioMachine src = m->vm;

    g_assert_true(qvirtio_machine_load(&src, &m->vm, dev, "-vga none",
                                       stream));
    qvirtio_machine_stop(&src);
    m->qts = m->gpu.qts = m->vm.qts;
    m->gpu.alloc = &m->vm.alloc;
}

/* ---- the cases ------------------------------------------------------ */

/*
 * Frozen across S3: the console shows the same image without a redraw,
 * the resource is still there, and new content reaches the console.
 */
static void test_s3_frozen(const void *data)
{
    GfMachine m;
    g_autoptr(GBytes) before = NULL;
    g_autoptr(GBytes) after = NULL;
    g_autoptr(GBytes) redrawn = NULL;
    uint8_t status;

    gf_start(&m, data, true);
    gf_draw(&m.gpu, m.backing, 1);
    before = gf_screendump(m.qts);
    gf_check_pattern(before, 1);
    status = qvirtio_pci_common_status(m.dev);

    gf_freeze(m.dev, FREEZE_S3);
    gf_s3(&m);
    g_assert_cmphex(qvirtio_freeze_read(m.dev), ==, FREEZE_S3);
    g_assert_cmphex(qvirtio_pci_common_status(m.dev), ==, status);
    gf_freeze(m.dev, FREEZE_UNFREEZE);

    /* (a) the same image, byte for byte, without the guest drawing */
    after = gf_screendump(m.qts);
    g_assert(g_bytes_equal(before, after));

    /* (b) the resource and its backing are still there */
    gf_update(&m.gpu, VIRTIO_GPU_RESP_OK_NODATA);

    /* (c) and new content reaches the console */
    gf_fill(m.qts, m.backing, 2);
    gf_update(&m.gpu, VIRTIO_GPU_RESP_OK_NODATA);
    redrawn = gf_screendump(m.qts);
    gf_check_pattern(redrawn, 2);

    gf_stop(&m);
}

/*
 * Today's behaviour, for comparison: without freeze the S3 wakeup resets
 * the device; a driver that re-initialises it finds no resource left and
 * the console no longer shows the image.
 */
static void test_s3_plain(const void *data)
{
    GfMachine m;
    g_autoptr(GBytes) before = NULL;
    g_autoptr(GBytes) after = NULL;

    gf_start(&m, data, false);
    gf_draw(&m.gpu, m.backing, 1);
    before = gf_screendump(m.qts);
    gf_check_pattern(before, 1);

    gf_s3(&m);
    g_assert_cmphex(qvirtio_pci_common_status(m.dev), ==, 0);
    after = gf_screendump(m.qts);
    g_assert(!g_bytes_equal(before, after));

    /* The old rings went with the reset: initialise the device again */
    qvirtio_gpu_cleanup(&m.gpu);
    qvirtio_gpu_init(&m.gpu, &m.dev->vdev, m.qts, &m.vm.alloc, 0);
    gf_update(&m.gpu, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);

    gf_stop(&m);
}

static void gf_queue_status(QTestState *qts, uint16_t *last_avail,
                            uint16_t *used, uint32_t *inuse)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'x-query-virtio-queue-status',"
                           " 'arguments': {'path': %s, 'queue': 0}}",
                           GF_VDEV_PATH);
    QDict *ret = qdict_get_qdict(rsp, "return");

    g_assert_nonnull(ret);
    *last_avail = qdict_get_int(ret, "last-avail-idx");
    *used = qdict_get_int(ret, "used-idx");
    *inuse = qdict_get_int(ret, "inuse");
    qobject_unref(rsp);
}

/*
 * FREEZE_S3 written right after a batch of commands was kicked.  The 2D
 * device carries out each command in the bottom half that takes it, so
 * none is ever left in flight across main loop iterations: whatever the
 * bottom half took before the freeze has completed when the device
 * acknowledges (checked against the device's own view of the queue),
 * the rest waits in the available ring, untouched while frozen, and is
 * served after unfreeze.  (A command that really is in flight, a virgl
 * SUBMIT_3D waiting for its fence, is the GL test's case.)
 */
static void test_freeze_queued(const void *data)
{
    GfMachine m;
    QVirtioGpuCmd *cmds[GF_QUEUED];
    g_autoptr(GByteArray) snap = NULL;
    g_autoptr(GByteArray) snap2 = NULL;
    uint16_t used, last_avail, dev_used, start;
    uint32_t inuse;
    int i;

    gf_start(&m, data, true);
    gf_draw(&m.gpu, m.backing, 1);
    start = qtest_readw(m.qts, m.gpu.ctrlq->used + 2);

    for (i = 0; i < GF_QUEUED; i++) {
        if (i % 2) {
            struct virtio_gpu_resource_flush req;

            qvirtio_gpu_req_resource_flush(&req, GF_RES, GF_WIDTH, GF_HEIGHT);
            cmds[i] = qvirtio_gpu_cmd_add(&m.gpu, &req, sizeof(req),
                                          sizeof(struct virtio_gpu_ctrl_hdr));
        } else {
            struct virtio_gpu_transfer_to_host_2d req;

            qvirtio_gpu_req_transfer_to_host_2d(&req, GF_RES, GF_WIDTH,
                                                GF_HEIGHT);
            cmds[i] = qvirtio_gpu_cmd_add(&m.gpu, &req, sizeof(req),
                                          sizeof(struct virtio_gpu_ctrl_hdr));
        }
        if (i < GF_QUEUED - 1) {
            qvirtio_gpu_cmd_publish(&m.gpu, cmds[i]);
        }
    }
    qvirtio_gpu_cmd_kick(&m.gpu, cmds[GF_QUEUED - 1]);
    qvirtio_freeze_write(m.dev, FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_wait(m.dev), ==, FREEZE_S3);

    /* Acknowledged: nothing the device took is left without its used entry */
    used = qtest_readw(m.qts, m.gpu.ctrlq->used + 2);
    gf_queue_status(m.qts, &last_avail, &dev_used, &inuse);
    g_assert_cmpint(inuse, ==, 0);
    g_assert_cmpint(dev_used, ==, used);
    g_assert_cmpint(last_avail, ==, used);
    g_test_message("%d of %d commands completed before the acknowledge",
                   (uint16_t)(used - start), GF_QUEUED);

    /* Frozen: not one byte of guest memory moves */
    snap = qvirtio_mem_snapshot(m.qts, GF_RAM);
    qtest_clock_step(m.qts, 1000 * 1000);
    /* a notification alone: the driver publishes nothing new */
    m.gpu.vdev->bus->virtqueue_kick(m.gpu.vdev, m.gpu.ctrlq);
    qtest_clock_step(m.qts, 1000 * 1000);
    snap2 = qvirtio_mem_snapshot(m.qts, GF_RAM);
    qvirtio_mem_assert_same(snap, snap2);

    gf_freeze(m.dev, FREEZE_UNFREEZE);
    for (i = 0; i < GF_QUEUED; i++) {
        g_assert_cmphex(qvirtio_gpu_cmd_wait(&m.gpu, cmds[i], NULL),
                        ==, VIRTIO_GPU_RESP_OK_NODATA);
    }
    g_assert_cmpint(qtest_readw(m.qts, m.gpu.ctrlq->used + 2), ==,
                    (uint16_t)(start + GF_QUEUED));

    gf_stop(&m);
}

/* Through the libqos graph: a freeze round trip keeps the resources */
static void test_graph_round_trip(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;
    QVirtioPCIDevice *dev = container_of(gpu->vdev, QVirtioPCIDevice, vdev);
    uint64_t backing = guest_alloc(alloc, GF_SIZE);

    qvirtio_gpu_init(gpu, gpu->vdev, gpu->qts, alloc,
                     1ull << VIRTIO_F_FREEZE_MODE);
    gf_draw(gpu, backing, 3);
    gf_freeze(dev, FREEZE_S3);
    gf_freeze(dev, FREEZE_UNFREEZE);
    gf_update(gpu, VIRTIO_GPU_RESP_OK_NODATA);
    qvirtio_gpu_cleanup(gpu);
    guest_free(alloc, backing);
}

/*
 * A command shorter than its header gets an error response: it does not
 * stay at the head of the control queue, where it would hold up every
 * command behind it and every freeze for good.
 */
static void test_graph_short_command(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    QVirtioGpu *gpu = obj;
    QVirtioPCIDevice *dev = container_of(gpu->vdev, QVirtioPCIDevice, vdev);
    uint64_t backing = guest_alloc(alloc, GF_SIZE);
    struct virtio_gpu_ctrl_hdr hdr = {
        .type = cpu_to_le32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO),
    };
    QVirtioGpuCmd *cmd;

    qvirtio_gpu_init(gpu, gpu->vdev, gpu->qts, alloc,
                     1ull << VIRTIO_F_FREEZE_MODE);
    cmd = qvirtio_gpu_cmd_add(gpu, &hdr, 16, sizeof(hdr));
    qvirtio_gpu_cmd_kick(gpu, cmd);
    g_assert_cmphex(qvirtio_gpu_cmd_wait(gpu, cmd, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_UNSPEC);
    /* Nothing is left in the device to hold a freeze up */
    qvirtio_freeze_write(dev, FREEZE_S3);
    g_assert_cmphex(qvirtio_freeze_read(dev), ==, FREEZE_S3);
    gf_freeze(dev, FREEZE_UNFREEZE);

    /* The queue goes on */
    gf_draw(gpu, backing, 4);
    qvirtio_gpu_cleanup(gpu);
    guest_free(alloc, backing);
}

/* ---- registration --------------------------------------------------- */

/*
 * Frozen and migrated, with a new picture in the backing and its
 * transfer and flush kicked while frozen: the destination shows the
 * image from before the freeze, byte for byte, presents the device as
 * the source did and writes nothing to guest memory; once unfrozen it
 * serves the two commands, in order, and shows the new picture.
 */
static void test_migrate_frozen(const void *data)
{
    struct virtio_gpu_transfer_to_host_2d xfer;
    struct virtio_gpu_resource_flush flush;
    g_autoptr(GBytes) before = NULL;
    g_autoptr(GBytes) after = NULL;
    g_autoptr(GBytes) redrawn = NULL;
    g_autoptr(GByteArray) snap = NULL;
    g_autoptr(GByteArray) snap2 = NULL;
    QVirtioGpuCmd *cmds[2];
    GfMachine m;
    uint8_t status;
    int i;

    gf_start(&m, data, true);
    gf_draw(&m.gpu, m.backing, 1);
    before = gf_screendump(m.qts);
    status = qvirtio_pci_common_status(m.dev);
    gf_freeze(m.dev, FREEZE_S3);

    gf_fill(m.qts, m.backing, 2);
    qvirtio_gpu_req_transfer_to_host_2d(&xfer, GF_RES, GF_WIDTH, GF_HEIGHT);
    qvirtio_gpu_req_resource_flush(&flush, GF_RES, GF_WIDTH, GF_HEIGHT);
    cmds[0] = qvirtio_gpu_cmd_add(&m.gpu, &xfer, sizeof(xfer),
                                  sizeof(struct virtio_gpu_ctrl_hdr));
    qvirtio_gpu_cmd_publish(&m.gpu, cmds[0]);
    cmds[1] = qvirtio_gpu_cmd_add(&m.gpu, &flush, sizeof(flush),
                                  sizeof(struct virtio_gpu_ctrl_hdr));
    qvirtio_gpu_cmd_kick(&m.gpu, cmds[1]);
    snap = qvirtio_mem_snapshot(m.qts, GF_RAM);

    gf_migrate(&m);
    qtest_clock_step(m.qts, 1000 * 1000);
    snap2 = qvirtio_mem_snapshot(m.qts, GF_RAM);
    qvirtio_mem_assert_same(snap, snap2);
    g_assert_cmphex(qvirtio_freeze_read(m.dev), ==, FREEZE_S3);
    g_assert_cmphex(qvirtio_pci_common_status(m.dev), ==, status);
    after = gf_screendump(m.qts);
    g_assert(g_bytes_equal(before, after));

    gf_freeze(m.dev, FREEZE_UNFREEZE);
    for (i = 0; i < ARRAY_SIZE(cmds); i++) {
        g_assert_cmphex(qvirtio_gpu_cmd_wait(&m.gpu, cmds[i], NULL),
                        ==, VIRTIO_GPU_RESP_OK_NODATA);
    }
    redrawn = gf_screendump(m.qts);
    gf_check_pattern(redrawn, 2);

    gf_stop(&m);
}

static void register_gpu_freeze_tests(void)
{
    static const GfCase cases[] = {
        { "pc", "virtio-gpu-pci" },
        { "q35", "virtio-gpu-pci" },
        { "pc", "virtio-vga" },
        { "q35", "virtio-vga" },
    };
    static const struct {
        const char *name;
        GTestDataFunc fn;
    } tests[] = {
        { "s3-frozen", test_s3_frozen },
        { "s3-plain", test_s3_plain },
        { "freeze-queued", test_freeze_queued },
        { "migrate-frozen", test_migrate_frozen },
    };
    QOSGraphTestOptions opts = {
        .edge.extra_device_opts = "freeze_mode=on",
    };
    int i, j;

    qos_add_test("freeze-mode/round-trip", "virtio-gpu",
                 test_graph_round_trip, &opts);
    qos_add_test("freeze-mode/short-command", "virtio-gpu",
                 test_graph_short_command, &opts);

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        if (!qtest_has_machine(cases[i].machine) ||
            !qtest_has_device(cases[i].device)) {
            continue;
        }
        for (j = 0; j < ARRAY_SIZE(tests); j++) {
            g_autofree char *path =
                g_strdup_printf("virtio-gpu-freeze/%s/%s/%s",
                                cases[i].machine, cases[i].device,
                                tests[j].name);

            qtest_add_data_func(path, &cases[i], tests[j].fn);
        }
    }
}

libqos_init(register_gpu_freeze_tests);
