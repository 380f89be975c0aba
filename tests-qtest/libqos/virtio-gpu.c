/*
 * libqos driver for virtio-gpu: the graph nodes and a small 2D driver
 * for the control queue.
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
