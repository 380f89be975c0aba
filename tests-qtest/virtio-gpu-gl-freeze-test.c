/*
 * QTest cases for virtio-gpu with virgl (3D) and freeze_mode
 *
 * A frozen virtio-gpu-gl keeps its 3D state across guest S3: the
 * rendering context with the objects it holds, the 3D resources and
 * what was rendered into them.  Read back after the resume, a resource
 * is byte for byte what it was before, and the same context renders
 * into it again without the driver re-creating anything.  Without freeze
 * the S3 wakeup resets the device and the renderer: the resources and
 * the context are gone.  A freeze while a fenced submission is still
 * being rendered stays BUSY until the fence signals.
 *
 * virgl needs a display with OpenGL: the cases run QEMU with
 * "-display sdl,gl=on" (it overrides libqtest's "-display none") on the
 * X server named by DISPLAY, Xvfb with Mesa's llvmpipe where there is no
 * GPU.  Without one they are skipped.  QMP screendump cannot read a GL
 * scanout (the console has no surface then); what the display shows is
 * taken from Xvfb's screen instead, which Xvfb keeps in an XWD file when
 * started with -fbdir DIR: QTEST_XVFB_SCREEN=DIR/Xvfb_screen0 names it.
 * For example:
 *
 *   Xvfb :9 -fbdir /tmp/fb -br &
 *   export DISPLAY=:9 QTEST_XVFB_SCREEN=/tmp/fb/Xvfb_screen0
 *   export QTEST_QEMU_BINARY=./qemu-system-x86_64
 *   tests/qtest/virtio-gpu-gl-freeze-test
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
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
#define FREEZE_BUSY             VIRTIO_PCI_FREEZE_MODE_BUSY
#define GL_RAM                  (128 * 1024 * 1024)

#define GL_TIMEOUT_US                           (60 * 1000 * 1000)
#define GL_SLOT                                 4
#define GL_CTX                                  1
#define GL_RES_RT                               1   /* rendered into */
#define GL_RES_PAT                              2   /* uploaded */
#define GL_RES_NEW                              3
#define GL_RES_BIG_A                            4
#define GL_RES_BIG_B                            5
#define GL_SURF_RT                              1   /* virgl object handles */
#define GL_SURF_NEW                             2
#define GL_SURF_BIG_A                           3
#define GL_SURF_BIG_B                           4
#define GL_WIDTH                                64
#define GL_HEIGHT                               48
#define GL_STRIDE                               (GL_WIDTH * 4)
#define GL_SIZE                                 (GL_STRIDE * GL_HEIGHT)
#define GL_BIG                                  4096
#define GL_BIG_CLEARS                           16
#define GL_FENCE_POLL_NS                        (10 * 1000 * 1000)
#define GL_HOLD_US                              (500 * 1000)
#define GL_VDEV_PATH                  "/machine/peripheral/gpu0/virtio-backend"

typedef struct GlCase {
    const char *machine;
    const char *device;
} GlCase;

typedef struct GlMachine {
    const GlCase *c;
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QVirtioPCIDevice *dev;
    QVirtioGpu gpu;
    uint64_t backing_rt;
    uint64_t backing_pat;
} GlMachine;

/* B8G8R8A8_UNORM: bytes B, G, R, A; each colour is exact in 8 bits */
static const float gl_colour1[4] = { 0x20 / 255.0, 0x40 / 255.0,
                                     0x80 / 255.0, 1.0 };
static const uint8_t gl_colour1_px[4] = { 0x80, 0x40, 0x20, 0xff };
static const float gl_colour2[4] = { 0xc0 / 255.0, 0x10 / 255.0,
                                     0x33 / 255.0, 1.0 };
static const uint8_t gl_colour2_px[4] = { 0x33, 0x10, 0xc0, 0xff };

/* ---- can virgl run here ---------------------------------------------- */

/*
 * Start QEMU with an OpenGL display and the device, and quit through QMP.
 * It dies at start when the X server or Mesa cannot give it a GL context.
 */
static bool gl_display_works(const GlCase *c)
{
    const char *argv[] = {
        g_getenv("QTEST_QEMU_BINARY"), "-M", c->machine, "-accel", "qtest",
        "-qtest", "null", "-nodefaults", "-vga", "none",
        "-display", "sdl,gl=on", "-device", c->device, "-S",
        "-monitor", "none", "-serial", "none", "-qmp", "stdio", NULL
    };
    static const char quit[] =
        "{'execute': 'qmp_capabilities'} {'execute': 'quit'}\n";
    struct sigaction pipe_ign = { .sa_handler = SIG_IGN }, old;
    GPid pid;
    int in, status = -1;

    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD |
                                  G_SPAWN_STDOUT_TO_DEV_NULL |
                                  G_SPAWN_STDERR_TO_DEV_NULL,
                                  NULL, NULL, &pid, &in, NULL, NULL, NULL)) {
        return false;
    }
    sigaction(SIGPIPE, &pipe_ign, &old);
    if (write(in, quit, strlen(quit)) < 0) {
        /* it died already: waitpid() says how */
    }
    close(in);
    sigaction(SIGPIPE, &old, NULL);
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static const char *gl_unavailable(const GlCase *c)
{
    static const char *why;
    static bool probed;
    const char *display = g_getenv("DISPLAY");
    g_autofree char *sock = NULL;
    const char *p;

    if (probed) {
        return why;
    }
    probed = true;

    if (!display || !*display) {
        why = "no X display for -display sdl,gl=on: DISPLAY is not set "
              "(run the test under Xvfb)";
        return why;
    }
    p = strrchr(display, ':');
    if (display[0] == ':' && p) {
        sock = g_strdup_printf("/tmp/.X11-unix/X%d", atoi(p + 1));
        if (!g_file_test(sock, G_FILE_TEST_EXISTS)) {
            why = "no X server on DISPLAY (no socket in /tmp/.X11-unix)";
            return why;
        }
    }
    if (!gl_display_works(c)) {
        why = "QEMU does not start with -display sdl,gl=on here: no OpenGL "
              "on this X display (Mesa's llvmpipe: libgl1-mesa-dri)";
    }
    return why;
}

static bool gl_skip(const GlCase *c)
{
    const char *why = gl_unavailable(c);

    if (why) {
        g_test_skip(why);
        g_printerr("# skipped: %s\n", why);
        return true;
    }
    return false;
}

/* ---- freeze_mode register ------------------------------------------- */

static void gl_freeze(QVirtioPCIDevice *d, uint16_t mode)
{
    g_assert_cmphex(qvirtio_freeze_set(d, mode), ==, mode);
}

/* ---- what the display shows ----------------------------------------- */

#define GL_X_TIMEOUT_US                         (10 * 1000 * 1000)

/*
 * The pixels of the X screen (32 bits per pixel, B, G, R, X), from the
 * XWD file Xvfb -fbdir keeps: a header of big-endian words, the
 * colormap, then the image.  NULL if the runner did not say where.
 */
static GBytes *gl_x_screen(void)
{
    const char *path = g_getenv("QTEST_XVFB_SCREEN");
    g_autoptr(GError) err = NULL;
    g_autofree char *data = NULL;
    uint32_t hdr[25];
    size_t off, size;
    gsize len;
    int i;

    if (!path) {
        return NULL;
    }
    g_assert(g_file_get_contents(path, &data, &len, &err));
    g_assert_cmpuint(len, >=, sizeof(hdr));
    memcpy(hdr, data, sizeof(hdr));
    for (i = 0; i < ARRAY_SIZE(hdr); i++) {
        hdr[i] = be32_to_cpu(hdr[i]);
    }
    g_assert_cmpuint(hdr[11], ==, 32);              /* bits_per_pixel */
    g_assert_cmpuint(hdr[7], ==, 0);                /* byte_order: LSB */
    off = hdr[0] + hdr[19] * 12;                    /* header, ncolors */
    size = (size_t)hdr[12] * hdr[5];                /* bytes_per_line, h */
    g_assert_cmpuint(off + size, <=, len);
    return g_bytes_new(data + off, size);
}

static size_t gl_x_count(GBytes *screen, const uint8_t px[4])
{
    gsize len;
    const uint8_t *p = g_bytes_get_data(screen, &len);
    size_t i, n = 0;

    for (i = 0; i + 4 <= len; i += 4) {
        n += !memcmp(p + i, px, 3);
    }
    return n;
}

/*
 * Wait until the X screen shows the scanout filled with @px (@shown) or
 * no pixel of it at all, and return the screen; NULL without Xvfb.
 */
static GBytes *gl_x_wait(const uint8_t px[4], bool shown)
{
    gint64 start = g_get_monotonic_time();
    GBytes *screen;
    size_t n;

    for (;;) {
        screen = gl_x_screen();
        if (!screen) {
            return NULL;
        }
        n = gl_x_count(screen, px);
        if (shown ? n >= GL_WIDTH * GL_HEIGHT : n == 0) {
            return screen;
        }
        g_assert(g_get_monotonic_time() - start <= GL_X_TIMEOUT_US);
        g_bytes_unref(screen);
        g_usleep(10 * 1000);
    }
}

/* ---- machines, S3 --------------------------------------------------- */

static void gl_init_driver(GlMachine *m, bool freeze)
{
    uint64_t want = 1ull << VIRTIO_GPU_F_VIRGL;

    if (freeze) {
        want |= 1ull << VIRTIO_F_FREEZE_MODE;
    }
    qvirtio_gpu_init(&m->gpu, &m->dev->vdev, m->qts, &m->alloc, want);
    g_assert(m->dev->vdev.features & (1ull << VIRTIO_GPU_F_VIRGL));
    g_assert(!freeze || (m->dev->vdev.features &
                         (1ull << VIRTIO_F_FREEZE_MODE)));
}

static void gl_start(GlMachine *m, const GlCase *c, bool freeze)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(GL_SLOT, 0) };

    memset(m, 0, sizeof(*m));
    m->c = c;
    m->qts = qtest_initf("-M %s -vga none -display sdl,gl=on "
                         "-device %s,id=gpu0,addr=%d.0,freeze_mode=on",
                         c->machine, c->device, GL_SLOT);
    pc_alloc_init(&m->alloc, m->qts, ALLOC_NO_FLAGS);
    m->bus = qpci_new_pc(m->qts, &m->alloc);
    m->dev = virtio_pci_new(m->bus, &addr);
    g_assert_nonnull(m->dev);
    qvirtio_pci_device_enable(m->dev);
    gl_init_driver(m, freeze);
    m->backing_rt = guest_alloc(&m->alloc, GL_SIZE);
    m->backing_pat = guest_alloc(&m->alloc, GL_SIZE);
}

static void gl_stop(GlMachine *m)
{
    qvirtio_gpu_cleanup(&m->gpu);
    qvirtio_pci_device_disable(m->dev);
    g_free(m->dev);
    qpci_free_pc(m->bus);
    alloc_destroy(&m->alloc);
    qtest_quit(m->qts);
}

/* Suspend to RAM and wake up, restoring the PCI state as a guest does */
static void gl_s3(GlMachine *m)
{
    qtest_pc_s3_cycle(m->qts, m->bus, m->c->machine, m->dev->pdev);
}

/* ---- 3D ------------------------------------------------------------- */

#define gl_ok(expr) g_assert_cmphex((expr), ==, VIRTIO_GPU_RESP_OK_NODATA)

static void gl_pattern(uint8_t *buf)
{
    int x, y;

    for (y = 0; y < GL_HEIGHT; y++) {
        for (x = 0; x < GL_WIDTH; x++) {
            uint8_t *p = buf + y * GL_STRIDE + x * 4;

            p[0] = x * 4;
            p[1] = y * 5;
            p[2] = x ^ y;
            p[3] = 0xff;
        }
    }
}

/* A 2D texture, render target, with guest backing if @backing */
static void gl_resource(GlMachine *m, uint32_t res_id, uint32_t width,
                        uint32_t height, uint64_t backing)
{
    gl_ok(qvirtio_gpu_resource_create_3d(&m->gpu, res_id,
                                         QVIRGL_TARGET_TEXTURE_2D,
                                         QVIRGL_FORMAT_B8G8R8A8_UNORM,
                                         QVIRGL_BIND_RENDER_TARGET |
                                         QVIRGL_BIND_SAMPLER_VIEW,
                                         width, height));
    if (backing) {
        gl_ok(qvirtio_gpu_resource_attach_backing(&m->gpu, res_id, backing,
                                                  GL_SIZE));
    }
    gl_ok(qvirtio_gpu_ctx_attach_resource(&m->gpu, GL_CTX, res_id));
}

/* Render target @res_id as surface @surf, bound, cleared to @rgba */
static void gl_render(GlMachine *m, uint32_t ctx_id, uint32_t surf,
                      uint32_t res_id, const float rgba[4])
{
    QVirglStream *s = qvirgl_stream_new();

    if (res_id) {
        qvirgl_create_surface(s, surf, res_id, QVIRGL_FORMAT_B8G8R8A8_UNORM);
        qvirgl_set_framebuffer_state(s, surf);
    }
    qvirgl_clear(s, rgba);
    gl_ok(qvirtio_gpu_submit_3d(&m->gpu, ctx_id, s));
    qvirgl_stream_free(s);
}

/* Read @res_id back into its backing @backing, and from there to @buf */
static void gl_read_back(GlMachine *m, uint32_t ctx_id, uint32_t res_id,
                         uint64_t backing, uint8_t *buf)
{
    qtest_memset(m->qts, backing, 0x5a, GL_SIZE);
    gl_ok(qvirtio_gpu_transfer_from_host_3d(&m->gpu, ctx_id, res_id,
                                            GL_WIDTH, GL_HEIGHT, GL_STRIDE));
    qtest_memread(m->qts, backing, buf, GL_SIZE);
}

static void gl_message_read_back(const char *what, const uint8_t *buf)
{
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                                       buf, GL_SIZE);

    g_test_message("%s read back: %d bytes, sha256 %.16s..., first pixel "
                   "%02x %02x %02x %02x", what, GL_SIZE, sum,
                   buf[0], buf[1], buf[2], buf[3]);
}

static bool gl_is_filled(const uint8_t *buf, const uint8_t px[4])
{
    int i;

    for (i = 0; i < GL_SIZE; i += 4) {
        if (memcmp(buf + i, px, 4)) {
            return false;
        }
    }
    return true;
}

/*
 * What a guest's 3D driver does: capsets, a context, a render target
 * cleared by the context and shown on scanout 0, and a texture uploaded
 * from guest memory.
 */
static void gl_setup(GlMachine *m)
{
    struct virtio_gpu_resp_capset_info info;
    g_autofree uint8_t *pat = g_malloc(GL_SIZE);
    uint32_t max_version;

    g_assert_cmphex(qvirtio_gpu_get_capset_info(&m->gpu, 0, &info), ==,
                    VIRTIO_GPU_RESP_OK_CAPSET_INFO);
    g_assert(info.capset_id == VIRTIO_GPU_CAPSET_VIRGL ||
             info.capset_id == VIRTIO_GPU_CAPSET_VIRGL2);
    g_assert_cmpuint(info.capset_max_size, >=, sizeof(max_version));
    g_assert_cmphex(qvirtio_gpu_get_capset(&m->gpu, info.capset_id,
                                           info.capset_max_version,
                                           &max_version, sizeof(max_version)),
                    ==, VIRTIO_GPU_RESP_OK_CAPSET);
    g_assert_cmpuint(le32_to_cpu(max_version), >=, 1);

    gl_ok(qvirtio_gpu_ctx_create(&m->gpu, GL_CTX, "freeze-test"));
    gl_resource(m, GL_RES_RT, GL_WIDTH, GL_HEIGHT, m->backing_rt);
    gl_render(m, GL_CTX, GL_SURF_RT, GL_RES_RT, gl_colour1);
    gl_ok(qvirtio_gpu_set_scanout(&m->gpu, 0, GL_RES_RT, GL_WIDTH,
                                  GL_HEIGHT));
    gl_ok(qvirtio_gpu_resource_flush(&m->gpu, GL_RES_RT, GL_WIDTH,
                                     GL_HEIGHT));

    gl_resource(m, GL_RES_PAT, GL_WIDTH, GL_HEIGHT, m->backing_pat);
    gl_pattern(pat);
    qtest_memwrite(m->qts, m->backing_pat, pat, GL_SIZE);
    gl_ok(qvirtio_gpu_transfer_to_host_3d(&m->gpu, GL_CTX, GL_RES_PAT,
                                          GL_WIDTH, GL_HEIGHT, GL_STRIDE));
}

/* ---- the cases ------------------------------------------------------ */

/*
 * Frozen across S3: the context, its surface and framebuffer state, and
 * both resources survive.  Read back after the resume they are byte for
 * byte what they were before, and the context renders again as it is.
 */
static void test_s3_frozen(const void *data)
{
    GlMachine m;
    g_autofree uint8_t *pat = g_malloc(GL_SIZE);
    g_autofree uint8_t *rt_before = g_malloc(GL_SIZE);
    g_autofree uint8_t *pat_before = g_malloc(GL_SIZE);
    g_autofree uint8_t *rt_after = g_malloc(GL_SIZE);
    g_autofree uint8_t *pat_after = g_malloc(GL_SIZE);
    g_autoptr(GBytes) shown_before = NULL;
    g_autoptr(GBytes) shown_after = NULL;
    uint8_t status;

    if (gl_skip(data)) {
        return;
    }
    gl_start(&m, data, true);
    gl_setup(&m);
    gl_pattern(pat);

    gl_read_back(&m, GL_CTX, GL_RES_RT, m.backing_rt, rt_before);
    g_assert(gl_is_filled(rt_before, gl_colour1_px));
    gl_read_back(&m, GL_CTX, GL_RES_PAT, m.backing_pat, pat_before);
    g_assert(!memcmp(pat_before, pat, GL_SIZE));
    status = qvirtio_pci_common_status(m.dev);
    shown_before = gl_x_wait(gl_colour1_px, true);

    gl_freeze(m.dev, FREEZE_S3);
    gl_s3(&m);
    g_assert_cmphex(qvirtio_freeze_read(m.dev), ==, FREEZE_S3);
    g_assert_cmphex(qvirtio_pci_common_status(m.dev), ==, status);
    gl_freeze(m.dev, FREEZE_UNFREEZE);

    /* (0) the display shows what it showed, pixel for pixel */
    if (shown_before) {
        shown_after = gl_x_wait(gl_colour1_px, true);
        g_assert(g_bytes_equal(shown_before, shown_after));
    } else {
        g_test_message("no Xvfb screen (QTEST_XVFB_SCREEN): display "
                       "not compared");
    }

    /* (a) what was rendered and uploaded, byte for byte */
    gl_read_back(&m, GL_CTX, GL_RES_RT, m.backing_rt, rt_after);
    g_assert(!memcmp(rt_after, rt_before, GL_SIZE));
    gl_read_back(&m, GL_CTX, GL_RES_PAT, m.backing_pat, pat_after);
    g_assert(!memcmp(pat_after, pat_before, GL_SIZE));
    gl_message_read_back("render target", rt_after);
    gl_message_read_back("uploaded texture", pat_after);

    /*
     * (b) the same context renders again: its surface object and
     * framebuffer state are still bound, a clear alone reaches the
     * resource.
     */
    gl_render(&m, GL_CTX, 0, 0, gl_colour2);
    gl_read_back(&m, GL_CTX, GL_RES_RT, m.backing_rt, rt_after);
    g_assert(gl_is_filled(rt_after, gl_colour2_px));

    /* (c) and the scanout takes the resource as before */
    gl_ok(qvirtio_gpu_set_scanout(&m.gpu, 0, GL_RES_RT, GL_WIDTH,
                                  GL_HEIGHT));
    gl_ok(qvirtio_gpu_resource_flush(&m.gpu, GL_RES_RT, GL_WIDTH,
                                     GL_HEIGHT));
    if (shown_before) {
        g_bytes_unref(gl_x_wait(gl_colour2_px, true));
    }

    gl_stop(&m);
}

/*
 * Today's behaviour, for comparison: without freeze the S3 wakeup resets
 * the device and the renderer.  The resources are unknown afterwards and
 * the context is gone: it renders nothing until it is created again.
 */
static void test_s3_plain(const void *data)
{
    GlMachine m;
    g_autofree uint8_t *buf = g_malloc(GL_SIZE);
    uint64_t backing_new;

    if (gl_skip(data)) {
        return;
    }
    gl_start(&m, data, false);
    gl_setup(&m);
    gl_read_back(&m, GL_CTX, GL_RES_RT, m.backing_rt, buf);
    g_assert(gl_is_filled(buf, gl_colour1_px));

    g_bytes_unref(gl_x_wait(gl_colour1_px, true));

    gl_s3(&m);
    g_assert_cmphex(qvirtio_pci_common_status(m.dev), ==, 0);
    /* The reset took the scanout away from the display */
    g_bytes_unref(gl_x_wait(gl_colour1_px, false));

    /* The old rings went with the reset: initialise the device again */
    qvirtio_gpu_cleanup(&m.gpu);
    gl_init_driver(&m, false);

    /* The resources are gone */
    g_assert_cmphex(qvirtio_gpu_set_scanout(&m.gpu, 0, GL_RES_RT, GL_WIDTH,
                                            GL_HEIGHT),
                    ==, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_resource_unref(&m.gpu, GL_RES_RT), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qvirtio_gpu_resource_unref(&m.gpu, GL_RES_PAT), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);

    /*
     * The context is gone: a new resource rendered through it stays as
     * it was.  QEMU answers OK_NODATA to a submission the renderer
     * refused, so look at the resource.
     */
    backing_new = guest_alloc(&m.alloc, GL_SIZE);
    gl_resource(&m, GL_RES_NEW, GL_WIDTH, GL_HEIGHT, backing_new);
    gl_render(&m, GL_CTX, GL_SURF_NEW, GL_RES_NEW, gl_colour2);
    gl_read_back(&m, 0, GL_RES_NEW, backing_new, buf);
    g_assert(!gl_is_filled(buf, gl_colour2_px));

    /* Created again, it renders: the driver had to rebuild everything */
    gl_ok(qvirtio_gpu_ctx_create(&m.gpu, GL_CTX, "freeze-test"));
    gl_ok(qvirtio_gpu_ctx_attach_resource(&m.gpu, GL_CTX, GL_RES_NEW));
    gl_render(&m, GL_CTX, GL_SURF_NEW, GL_RES_NEW, gl_colour2);
    gl_read_back(&m, GL_CTX, GL_RES_NEW, backing_new, buf);
    g_assert(gl_is_filled(buf, gl_colour2_px));

    gl_stop(&m);
}

/* Wait until the device took every command available on the control queue */
static void gl_wait_taken(GlMachine *m)
{
    gint64 start = g_get_monotonic_time();
    uint16_t avail = qtest_readw(m->qts, m->gpu.ctrlq->avail + 2);

    for (;;) {
        QDict *rsp = qtest_qmp(m->qts,
                               "{'execute': 'x-query-virtio-queue-status',"
                               " 'arguments': {'path': %s, 'queue': 0}}",
                               GL_VDEV_PATH);
        QDict *ret = qdict_get_qdict(rsp, "return");
        uint16_t last_avail;

        g_assert_nonnull(ret);
        last_avail = qdict_get_int(ret, "last-avail-idx");
        qobject_unref(rsp);
        if (last_avail == avail) {
            return;
        }
        g_assert(g_get_monotonic_time() - start <= GL_TIMEOUT_US);
        g_usleep(1000);
    }
}

/*
 * FREEZE_S3 while a fenced submission is being rendered: virgl signals
 * the fence asynchronously, QEMU polls for it from a timer on the
 * virtual clock, and the device acknowledges only once the fenced
 * command has completed.  Nothing moves while frozen.
 *
 * The submission alternates two big render targets, so that llvmpipe
 * renders each clear (a framebuffer change flushes its scene): it is
 * still being rendered when QEMU polls the fence right after the
 * submission, and from then on only the test moves the virtual clock:
 * the freeze stays BUSY, deterministically, until the test lets QEMU
 * poll the fence again.
 */
static void test_freeze_fence(const void *data)
{
    GlMachine m;
    QVirglStream *s = qvirgl_stream_new();
    g_autofree void *req = NULL;
    g_autofree uint8_t *buf = g_malloc(GL_SIZE);
    g_autoptr(GByteArray) before = NULL;
    g_autoptr(GByteArray) after = NULL;
    struct virtio_gpu_ctrl_hdr resp;
    QVirtioGpuCmd *cmd;
    size_t len;
    uint16_t used, val;
    gint64 t0, t_ack;
    int i, polls = 0;
    const uint64_t fence = 0x1234;

    if (gl_skip(data)) {
        qvirgl_stream_free(s);
        return;
    }
    gl_start(&m, data, true);
    gl_setup(&m);
    gl_resource(&m, GL_RES_BIG_A, GL_BIG, GL_BIG, 0);
    gl_resource(&m, GL_RES_BIG_B, GL_BIG, GL_BIG, 0);

    qvirgl_create_surface(s, GL_SURF_BIG_A, GL_RES_BIG_A,
                          QVIRGL_FORMAT_B8G8R8A8_UNORM);
    qvirgl_create_surface(s, GL_SURF_BIG_B, GL_RES_BIG_B,
                          QVIRGL_FORMAT_B8G8R8A8_UNORM);
    for (i = 0; i < GL_BIG_CLEARS; i++) {
        qvirgl_set_framebuffer_state(s, i % 2 ? GL_SURF_BIG_B
                                              : GL_SURF_BIG_A);
        qvirgl_clear(s, i % 2 ? gl_colour1 : gl_colour2);
    }
    /* and last, the small target again, to see the submission ran */
    qvirgl_set_framebuffer_state(s, GL_SURF_RT);
    qvirgl_clear(s, gl_colour2);
    req = qvirtio_gpu_req_submit_3d(GL_CTX, fence, s, &len);
    qvirgl_stream_free(s);

    used = qtest_readw(m.qts, m.gpu.ctrlq->used + 2);
    t0 = g_get_monotonic_time();
    cmd = qvirtio_gpu_cmd_add(&m.gpu, req, len, sizeof(resp));
    qvirtio_gpu_cmd_kick(&m.gpu, cmd);
    /* Taken and submitted; its fence was polled once, right after */
    gl_wait_taken(&m);
    qvirtio_freeze_write(m.dev, FREEZE_S3);

    /* BUSY: the fenced command is popped but has no used entry yet */
    val = qvirtio_freeze_read(m.dev);
    g_assert_cmphex(val, ==, FREEZE_S3 | FREEZE_BUSY);
    g_assert_cmpint(qtest_readw(m.qts, m.gpu.ctrlq->used + 2), ==, used);

    /*
     * And it stays so, however long llvmpipe takes, until QEMU polls the
     * fence again: that is on the virtual clock, which only the test moves.
     */
    g_usleep(GL_HOLD_US);
    g_assert_cmphex(qvirtio_freeze_read(m.dev), ==, FREEZE_S3 | FREEZE_BUSY);
    g_assert_cmpint(qtest_readw(m.qts, m.gpu.ctrlq->used + 2), ==, used);

    /* QEMU polls the fence every 10 ms of virtual time */
    while ((val = qvirtio_freeze_read(m.dev)) & FREEZE_BUSY) {
        g_assert(g_get_monotonic_time() - t0 <= GL_TIMEOUT_US);
        g_assert_cmpint(qtest_readw(m.qts, m.gpu.ctrlq->used + 2), ==, used);
        g_usleep(1000);
        qtest_clock_step(m.qts, GL_FENCE_POLL_NS);
        polls++;
    }
    t_ack = g_get_monotonic_time();
    g_assert_cmphex(val, ==, FREEZE_S3);
    g_test_message("FREEZE_S3 BUSY for %" PRId64 " us, %d fence polls",
                   t_ack - t0, polls);
    g_assert_cmpint(polls, >=, 1);

    /* Acknowledged with the fenced command completed, fence echoed */
    g_assert_cmpint(qtest_readw(m.qts, m.gpu.ctrlq->used + 2), ==,
                    (uint16_t)(used + 1));
    g_assert_cmphex(qvirtio_gpu_cmd_wait(&m.gpu, cmd, &resp), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(le32_to_cpu(resp.flags) & VIRTIO_GPU_FLAG_FENCE, ==,
                    VIRTIO_GPU_FLAG_FENCE);
    g_assert_cmphex(le64_to_cpu(resp.fence_id), ==, fence);

    /*
     * Frozen: nothing moves, whatever the clock does, not even a fenced
     * submission the driver makes available and notifies now.
     */
    s = qvirgl_stream_new();
    qvirgl_clear(s, gl_colour1);
    g_free(req);
    req = qvirtio_gpu_req_submit_3d(GL_CTX, fence + 1, s, &len);
    qvirgl_stream_free(s);
    cmd = qvirtio_gpu_cmd_add(&m.gpu, req, len, sizeof(resp));
    qvirtio_gpu_cmd_publish(&m.gpu, cmd);
    before = qvirtio_mem_snapshot(m.qts, GL_RAM);
    m.gpu.vdev->bus->virtqueue_kick(m.gpu.vdev, m.gpu.ctrlq);
    qtest_clock_step(m.qts, 100 * GL_FENCE_POLL_NS);
    after = qvirtio_mem_snapshot(m.qts, GL_RAM);
    /* Not one byte of guest memory: rings, buffers, MSI-X messages */
    qvirtio_mem_assert_same(before, after);
    g_assert_cmpint(qtest_readw(m.qts, m.gpu.ctrlq->used + 2), ==,
                    (uint16_t)(used + 1));
    g_assert_cmphex(qvirtio_freeze_read(m.dev), ==, FREEZE_S3);

    /* Unfrozen, the device takes it: rendered, fence signalled */
    gl_freeze(m.dev, FREEZE_UNFREEZE);
    while (qtest_readw(m.qts, m.gpu.ctrlq->used + 2) == (uint16_t)(used + 1)) {
        g_assert(g_get_monotonic_time() - t0 <= GL_TIMEOUT_US);
        g_usleep(1000);
        qtest_clock_step(m.qts, GL_FENCE_POLL_NS);
    }
    g_assert_cmphex(qvirtio_gpu_cmd_wait(&m.gpu, cmd, &resp), ==,
                    VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(le64_to_cpu(resp.fence_id), ==, fence + 1);
    gl_read_back(&m, GL_CTX, GL_RES_RT, m.backing_rt, buf);
    g_assert(gl_is_filled(buf, gl_colour1_px));

    gl_stop(&m);
}

/*
 * A command shorter than its header gets an error response on the GL
 * path too: it does not stay at the head of the control queue, where it
 * would hold up every command behind it and every freeze for good.
 */
static void test_short_command(const void *data)
{
    GlMachine m;
    g_autofree uint8_t *buf = g_malloc(GL_SIZE);
    struct virtio_gpu_ctrl_hdr hdr = {
        .type = cpu_to_le32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO),
    };
    QVirtioGpuCmd *plain, *fenced;

    if (gl_skip(data)) {
        return;
    }
    gl_start(&m, data, true);
    gl_setup(&m);

    /*
     * 16 bytes: type, flags and fence_id, no ctx_id.  Unanswered, the
     * first would stay at the head of the queue, the second (fenced)
     * would wait in the fence queue for a fence that never comes.
     */
    plain = qvirtio_gpu_cmd_add(&m.gpu, &hdr, 16, sizeof(hdr));
    qvirtio_gpu_cmd_publish(&m.gpu, plain);
    hdr.flags = cpu_to_le32(VIRTIO_GPU_FLAG_FENCE);
    hdr.fence_id = cpu_to_le64(1);
    fenced = qvirtio_gpu_cmd_add(&m.gpu, &hdr, 16, sizeof(hdr));
    qvirtio_gpu_cmd_kick(&m.gpu, fenced);
    gl_freeze(m.dev, FREEZE_S3);
    g_assert_cmphex(qvirtio_gpu_cmd_wait(&m.gpu, plain, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_UNSPEC);
    g_assert_cmphex(qvirtio_gpu_cmd_wait(&m.gpu, fenced, NULL), ==,
                    VIRTIO_GPU_RESP_ERR_UNSPEC);
    gl_freeze(m.dev, FREEZE_UNFREEZE);

    /* The queue goes on */
    gl_render(&m, GL_CTX, 0, 0, gl_colour2);
    gl_read_back(&m, GL_CTX, GL_RES_RT, m.backing_rt, buf);
    g_assert(gl_is_filled(buf, gl_colour2_px));

    gl_stop(&m);
}

/* ---- registration --------------------------------------------------- */

int main(int argc, char **argv)
{
    static const GlCase cases[] = {
        { "pc", "virtio-gpu-gl-pci" },
        { "q35", "virtio-gpu-gl-pci" },
        { "pc", "virtio-vga-gl" },
        { "q35", "virtio-vga-gl" },
    };
    static const struct {
        const char *name;
        GTestDataFunc fn;
    } tests[] = {
        { "s3-frozen", test_s3_frozen },
        { "s3-plain", test_s3_plain },
        { "freeze-fence", test_freeze_fence },
        { "short-command", test_short_command },
    };
    int i, j;

    g_test_init(&argc, &argv, NULL);

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        if (!qtest_has_machine(cases[i].machine) ||
            !qtest_has_device(cases[i].device)) {
            continue;
        }
        for (j = 0; j < ARRAY_SIZE(tests); j++) {
            g_autofree char *path =
                g_strdup_printf("virtio-gpu-gl-freeze/%s/%s/%s",
                                cases[i].machine, cases[i].device,
                                tests[j].name);

            qtest_add_data_func(path, &cases[i], tests[j].fn);
        }
    }
    return g_test_run();
}
