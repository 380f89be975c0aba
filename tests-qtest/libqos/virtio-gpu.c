/*
 * libqos driver for virtio-gpu: the graph nodes and a small 2D and 3D
 * (virgl) driver for the control queue.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "standard-headers/linux/virtio_config.h"
#include "qgraph.h"
#include "virtio-gpu.h"

#define QVIRTIO_GPU_TIMEOUT_US  (30 * 1000 * 1000)

/* ---- the control queue ---------------------------------------------- */

void qvirtio_gpu_init(QVirtioGpu *gpu, QVirtioDevice *vdev, QTestState *qts,
                      QGuestAllocator *alloc, uint64_t features)
{
    gpu->vdev = vdev;
    gpu->qts = qts;
    gpu->alloc = alloc;

    qvirtio_start_device(vdev);
    features |= 1ull << VIRTIO_F_VERSION_1;
    qvirtio_set_features(vdev, qvirtio_get_features(vdev) & features);
    gpu->ctrlq = qvirtqueue_setup(vdev, alloc, 0);
    gpu->cursorq = qvirtqueue_setup(vdev, alloc, 1);
    qvirtio_set_driver_ok(vdev);
}

void qvirtio_gpu_cleanup(QVirtioGpu *gpu)
{
    if (gpu->ctrlq) {
        qvirtqueue_cleanup(gpu->vdev->bus, gpu->ctrlq, gpu->alloc);
        gpu->ctrlq = NULL;
    }
    if (gpu->cursorq) {
        qvirtqueue_cleanup(gpu->vdev->bus, gpu->cursorq, gpu->alloc);
        gpu->cursorq = NULL;
    }
}

QVirtioGpuCmd *qvirtio_gpu_cmd_add(QVirtioGpu *gpu, const void *req,
                                   size_t req_len, size_t resp_len)
{
    QVirtioGpuCmd *cmd = g_new0(QVirtioGpuCmd, 1);

    g_assert_cmpint(req_len, >, 0);
    g_assert_cmpint(resp_len, >=, sizeof(struct virtio_gpu_ctrl_hdr));

    cmd->req = guest_alloc(gpu->alloc, req_len);
    cmd->resp = guest_alloc(gpu->alloc, resp_len);
    cmd->resp_len = resp_len;
    qtest_memwrite(gpu->qts, cmd->req, req, req_len);
    qtest_memset(gpu->qts, cmd->resp, 0xff, resp_len);

    cmd->head = qvirtqueue_add(gpu->qts, gpu->ctrlq, cmd->req, req_len,
                               false, true);
    qvirtqueue_add(gpu->qts, gpu->ctrlq, cmd->resp, resp_len, true, false);
    return cmd;
}

void qvirtio_gpu_cmd_kick(QVirtioGpu *gpu, QVirtioGpuCmd *cmd)
{
    qvirtqueue_kick(gpu->qts, gpu->vdev, gpu->ctrlq, cmd->head);
}

void qvirtio_gpu_cmd_publish(QVirtioGpu *gpu, QVirtioGpuCmd *cmd)
{
    QVirtQueue *vq = gpu->ctrlq;
    uint16_t idx = qtest_readw(gpu->qts, vq->avail + 2);

    qtest_writew(gpu->qts, vq->avail + 4 + 2 * (idx % vq->size), cmd->head);
    qtest_writew(gpu->qts, vq->avail + 2, idx + 1);
}

uint32_t qvirtio_gpu_cmd_wait(QVirtioGpu *gpu, QVirtioGpuCmd *cmd,
                              void *resp)
{
    gint64 start = g_get_monotonic_time();
    struct virtio_gpu_ctrl_hdr hdr;
    uint32_t got, len;

    while (!qvirtqueue_get_buf(gpu->qts, gpu->ctrlq, &got, &len)) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_GPU_TIMEOUT_US);
        qtest_clock_step(gpu->qts, 100);
        g_usleep(100);
    }
    g_assert_cmpint(got, ==, cmd->head);
    g_assert_cmpint(len, >=, sizeof(hdr));

    qtest_memread(gpu->qts, cmd->resp, &hdr, sizeof(hdr));
    if (resp) {
        qtest_memread(gpu->qts, cmd->resp, resp, cmd->resp_len);
    }
    guest_free(gpu->alloc, cmd->req);
    guest_free(gpu->alloc, cmd->resp);
    g_free(cmd);
    return le32_to_cpu(hdr.type);
}

uint32_t qvirtio_gpu_cmd(QVirtioGpu *gpu, const void *req, size_t req_len,
                         void *resp, size_t resp_len)
{
    QVirtioGpuCmd *cmd = qvirtio_gpu_cmd_add(gpu, req, req_len, resp_len);

    qvirtio_gpu_cmd_kick(gpu, cmd);
    return qvirtio_gpu_cmd_wait(gpu, cmd, resp);
}

static uint32_t qvirtio_gpu_cmd_nodata(QVirtioGpu *gpu, const void *req,
                                       size_t req_len)
{
    return qvirtio_gpu_cmd(gpu, req, req_len, NULL,
                           sizeof(struct virtio_gpu_ctrl_hdr));
}

static void qvirtio_gpu_rect(struct virtio_gpu_rect *r, uint32_t width,
                             uint32_t height)
{
    r->x = 0;
    r->y = 0;
    r->width = cpu_to_le32(width);
    r->height = cpu_to_le32(height);
}

/* ---- 2D commands ---------------------------------------------------- */

uint32_t qvirtio_gpu_resource_create_2d(QVirtioGpu *gpu, uint32_t res_id,
                                        uint32_t format, uint32_t width,
                                        uint32_t height)
{
    struct virtio_gpu_resource_create_2d req = {
        .hdr.type = cpu_to_le32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D),
        .resource_id = cpu_to_le32(res_id),
        .format = cpu_to_le32(format),
        .width = cpu_to_le32(width),
        .height = cpu_to_le32(height),
    };

    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

uint32_t qvirtio_gpu_resource_attach_backing(QVirtioGpu *gpu,
                                             uint32_t res_id,
                                             uint64_t addr, uint32_t length)
{
    struct {
        struct virtio_gpu_resource_attach_backing hdr;
        struct virtio_gpu_mem_entry entry;
    } QEMU_PACKED req = {
        .hdr.hdr.type = cpu_to_le32(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING),
        .hdr.resource_id = cpu_to_le32(res_id),
        .hdr.nr_entries = cpu_to_le32(1),
        .entry.addr = cpu_to_le64(addr),
        .entry.length = cpu_to_le32(length),
    };

    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

uint32_t qvirtio_gpu_set_scanout(QVirtioGpu *gpu, uint32_t scanout_id,
                                 uint32_t res_id, uint32_t width,
                                 uint32_t height)
{
    struct virtio_gpu_set_scanout req = {
        .hdr.type = cpu_to_le32(VIRTIO_GPU_CMD_SET_SCANOUT),
        .scanout_id = cpu_to_le32(scanout_id),
        .resource_id = cpu_to_le32(res_id),
    };

    qvirtio_gpu_rect(&req.r, width, height);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

void qvirtio_gpu_req_transfer_to_host_2d(
    struct virtio_gpu_transfer_to_host_2d *req, uint32_t res_id,
    uint32_t width, uint32_t height)
{
    memset(req, 0, sizeof(*req));
    req->hdr.type = cpu_to_le32(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D);
    req->resource_id = cpu_to_le32(res_id);
    qvirtio_gpu_rect(&req->r, width, height);
}

uint32_t qvirtio_gpu_transfer_to_host_2d(QVirtioGpu *gpu, uint32_t res_id,
                                         uint32_t width, uint32_t height)
{
    struct virtio_gpu_transfer_to_host_2d req;

    qvirtio_gpu_req_transfer_to_host_2d(&req, res_id, width, height);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

void qvirtio_gpu_req_resource_flush(struct virtio_gpu_resource_flush *req,
                                    uint32_t res_id, uint32_t width,
                                    uint32_t height)
{
    memset(req, 0, sizeof(*req));
    req->hdr.type = cpu_to_le32(VIRTIO_GPU_CMD_RESOURCE_FLUSH);
    req->resource_id = cpu_to_le32(res_id);
    qvirtio_gpu_rect(&req->r, width, height);
}

uint32_t qvirtio_gpu_resource_flush(QVirtioGpu *gpu, uint32_t res_id,
                                    uint32_t width, uint32_t height)
{
    struct virtio_gpu_resource_flush req;

    qvirtio_gpu_req_resource_flush(&req, res_id, width, height);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

/* ---- 3D commands ---------------------------------------------------- */

static void qvirtio_gpu_hdr(struct virtio_gpu_ctrl_hdr *hdr, uint32_t type,
                            uint32_t ctx_id)
{
    memset(hdr, 0, sizeof(*hdr));
    hdr->type = cpu_to_le32(type);
    hdr->ctx_id = cpu_to_le32(ctx_id);
}

uint32_t qvirtio_gpu_get_capset_info(QVirtioGpu *gpu, uint32_t index,
                                     struct virtio_gpu_resp_capset_info *info)
{
    struct virtio_gpu_get_capset_info req = {
        .capset_index = cpu_to_le32(index),
    };
    struct virtio_gpu_resp_capset_info resp;
    uint32_t type;

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0);
    type = qvirtio_gpu_cmd(gpu, &req, sizeof(req), &resp, sizeof(resp));
    if (info) {
        info->hdr = resp.hdr;
        info->capset_id = le32_to_cpu(resp.capset_id);
        info->capset_max_version = le32_to_cpu(resp.capset_max_version);
        info->capset_max_size = le32_to_cpu(resp.capset_max_size);
    }
    return type;
}

uint32_t qvirtio_gpu_get_capset(QVirtioGpu *gpu, uint32_t capset_id,
                                uint32_t version, void *data, size_t size)
{
    struct virtio_gpu_get_capset req = {
        .capset_id = cpu_to_le32(capset_id),
        .capset_version = cpu_to_le32(version),
    };
    size_t len = sizeof(struct virtio_gpu_resp_capset) + size;
    g_autofree uint8_t *resp = g_malloc(len);
    uint32_t type;

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_GET_CAPSET, 0);
    type = qvirtio_gpu_cmd(gpu, &req, sizeof(req), resp, len);
    memcpy(data, resp + sizeof(struct virtio_gpu_resp_capset), size);
    return type;
}

uint32_t qvirtio_gpu_ctx_create(QVirtioGpu *gpu, uint32_t ctx_id,
                                const char *name)
{
    struct virtio_gpu_ctx_create req = { };

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_CTX_CREATE, ctx_id);
    req.nlen = cpu_to_le32(MIN(strlen(name), sizeof(req.debug_name)));
    memcpy(req.debug_name, name, le32_to_cpu(req.nlen));
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

uint32_t qvirtio_gpu_ctx_destroy(QVirtioGpu *gpu, uint32_t ctx_id)
{
    struct virtio_gpu_ctx_destroy req;

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_CTX_DESTROY, ctx_id);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

uint32_t qvirtio_gpu_resource_create_3d(QVirtioGpu *gpu, uint32_t res_id,
                                        uint32_t target, uint32_t format,
                                        uint32_t bind, uint32_t width,
                                        uint32_t height)
{
    struct virtio_gpu_resource_create_3d req = {
        .resource_id = cpu_to_le32(res_id),
        .target = cpu_to_le32(target),
        .format = cpu_to_le32(format),
        .bind = cpu_to_le32(bind),
        .width = cpu_to_le32(width),
        .height = cpu_to_le32(height),
        .depth = cpu_to_le32(1),
        .array_size = cpu_to_le32(1),
    };

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

uint32_t qvirtio_gpu_ctx_attach_resource(QVirtioGpu *gpu, uint32_t ctx_id,
                                         uint32_t res_id)
{
    struct virtio_gpu_ctx_resource req = {
        .resource_id = cpu_to_le32(res_id),
    };

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, ctx_id);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

static uint32_t qvirtio_gpu_transfer_3d(QVirtioGpu *gpu, uint32_t type,
                                        uint32_t ctx_id, uint32_t res_id,
                                        uint32_t width, uint32_t height,
                                        uint32_t stride)
{
    struct virtio_gpu_transfer_host_3d req = {
        .box.w = cpu_to_le32(width),
        .box.h = cpu_to_le32(height),
        .box.d = cpu_to_le32(1),
        .resource_id = cpu_to_le32(res_id),
        .stride = cpu_to_le32(stride),
    };

    qvirtio_gpu_hdr(&req.hdr, type, ctx_id);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

uint32_t qvirtio_gpu_transfer_to_host_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                                         uint32_t res_id, uint32_t width,
                                         uint32_t height, uint32_t stride)
{
    return qvirtio_gpu_transfer_3d(gpu, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D,
                                   ctx_id, res_id, width, height, stride);
}

uint32_t qvirtio_gpu_transfer_from_host_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                                           uint32_t res_id, uint32_t width,
                                           uint32_t height, uint32_t stride)
{
    return qvirtio_gpu_transfer_3d(gpu, VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D,
                                   ctx_id, res_id, width, height, stride);
}

uint32_t qvirtio_gpu_resource_unref(QVirtioGpu *gpu, uint32_t res_id)
{
    struct virtio_gpu_resource_unref req = {
        .resource_id = cpu_to_le32(res_id),
    };

    qvirtio_gpu_hdr(&req.hdr, VIRTIO_GPU_CMD_RESOURCE_UNREF, 0);
    return qvirtio_gpu_cmd_nodata(gpu, &req, sizeof(req));
}

void *qvirtio_gpu_req_submit_3d(uint32_t ctx_id, uint64_t fence_id,
                                const QVirglStream *s, size_t *req_len)
{
    size_t size = s->dw->len * sizeof(uint32_t);
    struct virtio_gpu_cmd_submit *req = g_malloc0(sizeof(*req) + size);

    qvirtio_gpu_hdr(&req->hdr, VIRTIO_GPU_CMD_SUBMIT_3D, ctx_id);
    if (fence_id) {
        req->hdr.flags = cpu_to_le32(VIRTIO_GPU_FLAG_FENCE);
        req->hdr.fence_id = cpu_to_le64(fence_id);
    }
    req->size = cpu_to_le32(size);
    memcpy(req + 1, s->dw->data, size);
    *req_len = sizeof(*req) + size;
    return req;
}

uint32_t qvirtio_gpu_submit_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                               const QVirglStream *s)
{
    size_t len;
    g_autofree void *req = qvirtio_gpu_req_submit_3d(ctx_id, 0, s, &len);

    return qvirtio_gpu_cmd_nodata(gpu, req, len);
}

/* ---- virgl command stream ------------------------------------------- */

/* virglrenderer's src/virgl_protocol.h */
#define QVIRGL_CCMD_CREATE_OBJECT               1
#define QVIRGL_CCMD_SET_FRAMEBUFFER_STATE       5
#define QVIRGL_CCMD_CLEAR                       7
#define QVIRGL_OBJECT_SURFACE                   8
#define QVIRGL_OBJ_SURFACE_SIZE                 5
#define QVIRGL_SET_FRAMEBUFFER_STATE_SIZE(n)    ((n) + 2)
#define QVIRGL_OBJ_CLEAR_SIZE                   8
#define QVIRGL_CMD0(cmd, obj, len)  ((cmd) | ((obj) << 8) | ((len) << 16))
/* gallium's PIPE_CLEAR_COLOR0 */
#define QVIRGL_CLEAR_COLOR0                     (1u << 2)

QVirglStream *qvirgl_stream_new(void)
{
    QVirglStream *s = g_new0(QVirglStream, 1);

    s->dw = g_array_new(false, false, sizeof(uint32_t));
    return s;
}

void qvirgl_stream_free(QVirglStream *s)
{
    g_array_free(s->dw, true);
    g_free(s);
}

static void qvirgl_emit(QVirglStream *s, uint32_t dw)
{
    dw = cpu_to_le32(dw);
    g_array_append_val(s->dw, dw);
}

void qvirgl_create_surface(QVirglStream *s, uint32_t handle, uint32_t res_id,
                           uint32_t format)
{
    qvirgl_emit(s, QVIRGL_CMD0(QVIRGL_CCMD_CREATE_OBJECT,
                               QVIRGL_OBJECT_SURFACE,
                               QVIRGL_OBJ_SURFACE_SIZE));
    qvirgl_emit(s, handle);
    qvirgl_emit(s, res_id);
    qvirgl_emit(s, format);
    qvirgl_emit(s, 0);              /* level */
    qvirgl_emit(s, 0);              /* first layer | last layer << 16 */
}

void qvirgl_set_framebuffer_state(QVirglStream *s, uint32_t surf_handle)
{
    qvirgl_emit(s, QVIRGL_CMD0(QVIRGL_CCMD_SET_FRAMEBUFFER_STATE, 0,
                               QVIRGL_SET_FRAMEBUFFER_STATE_SIZE(1)));
    qvirgl_emit(s, 1);              /* nr_cbufs */
    qvirgl_emit(s, 0);              /* zsurf_handle */
    qvirgl_emit(s, surf_handle);
}

void qvirgl_clear(QVirglStream *s, const float rgba[4])
{
    union {
        float f;
        uint32_t u;
    } c;
    int i;

    qvirgl_emit(s, QVIRGL_CMD0(QVIRGL_CCMD_CLEAR, 0, QVIRGL_OBJ_CLEAR_SIZE));
    qvirgl_emit(s, QVIRGL_CLEAR_COLOR0);
    for (i = 0; i < 4; i++) {
        c.f = rgba[i];
        qvirgl_emit(s, c.u);
    }
    qvirgl_emit(s, 0);              /* depth, a double */
    qvirgl_emit(s, 0);
    qvirgl_emit(s, 0);              /* stencil */
}

/* ---- graph nodes ---------------------------------------------------- */

static void *qvirtio_gpu_get_driver(QVirtioGpu *gpu, const char *interface)
{
    if (!g_strcmp0(interface, "virtio-gpu")) {
        return gpu;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return gpu->vdev;
    }

    fprintf(stderr, "%s not present in virtio-gpu\n", interface);
    g_assert_not_reached();
}

static void *qvirtio_gpu_pci_get_driver(void *object, const char *interface)
{
    QVirtioGpuPCI *v_gpu = object;

    if (!g_strcmp0(interface, "pci-device")) {
        return v_gpu->pci_vdev.pdev;
    }
    return qvirtio_gpu_get_driver(&v_gpu->gpu, interface);
}

static void *virtio_gpu_pci_create(void *pci_bus, QGuestAllocator *t_alloc,
                                   void *addr)
{
    QVirtioGpuPCI *v_gpu = g_new0(QVirtioGpuPCI, 1);
    QOSGraphObject *obj = &v_gpu->pci_vdev.obj;

    virtio_pci_init(&v_gpu->pci_vdev, pci_bus, addr);
    v_gpu->gpu.vdev = &v_gpu->pci_vdev.vdev;
    v_gpu->gpu.qts = v_gpu->pci_vdev.pdev->bus->qts;
    v_gpu->gpu.alloc = t_alloc;

    obj->get_driver = qvirtio_gpu_pci_get_driver;

    return obj;
}

static void virtio_gpu_register_nodes(void)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(4, 0),
    };
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = "addr=04.0",
    };

    add_qpci_address(&opts, &addr);
    qos_node_create_driver("virtio-gpu-pci", virtio_gpu_pci_create);
    qos_node_consumes("virtio-gpu-pci", "pci-bus", &opts);
    qos_node_produces("virtio-gpu-pci", "pci-device");
    qos_node_produces("virtio-gpu-pci", "virtio");
    qos_node_produces("virtio-gpu-pci", "virtio-gpu");
}

libqos_init(virtio_gpu_register_nodes);
