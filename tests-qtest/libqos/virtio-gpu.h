/*
 * libqos driver for virtio-gpu: the graph nodes and a small 2D and 3D
 * (virgl) driver for the control queue.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_GPU_H
#define TESTS_LIBQOS_VIRTIO_GPU_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"
#include "standard-headers/linux/virtio_gpu.h"

typedef struct QVirtioGpu QVirtioGpu;
typedef struct QVirtioGpuPCI QVirtioGpuPCI;
typedef struct QVirtioGpuCmd QVirtioGpuCmd;

/*
 * The driver's view of the device.  The graph only finds the device;
 * qvirtio_gpu_init() initialises it and sets up its two queues.
 */
struct QVirtioGpu {
    QVirtioDevice *vdev;
    QTestState *qts;
    QGuestAllocator *alloc;
    QVirtQueue *ctrlq;
    QVirtQueue *cursorq;
};

struct QVirtioGpuPCI {
    QVirtioPCIDevice pci_vdev;
    QVirtioGpu gpu;
};

/* A command on the control queue: request and response in guest memory */
struct QVirtioGpuCmd {
    uint64_t req;
    uint64_t resp;
    size_t resp_len;
    uint32_t head;
};

/*
 * Reset the device, negotiate VIRTIO_F_VERSION_1 and those of @features
 * that it offers, set up the control and cursor queues, DRIVER_OK.
 */
void qvirtio_gpu_init(QVirtioGpu *gpu, QVirtioDevice *vdev, QTestState *qts,
                      QGuestAllocator *alloc, uint64_t features);
/* Free the queues (not for a device that was reset underneath) */
void qvirtio_gpu_cleanup(QVirtioGpu *gpu);

/*
 * Put a command on the control queue without making it available;
 * qvirtio_gpu_cmd_kick() does.  @req starts with a virtio_gpu_ctrl_hdr
 * (or is shorter than one, to see what the device does with that).
 */
QVirtioGpuCmd *qvirtio_gpu_cmd_add(QVirtioGpu *gpu, const void *req,
                                   size_t req_len, size_t resp_len);
void qvirtio_gpu_cmd_kick(QVirtioGpu *gpu, QVirtioGpuCmd *cmd);
/* Make the command available without notifying the device */
void qvirtio_gpu_cmd_publish(QVirtioGpu *gpu, QVirtioGpuCmd *cmd);
/*
 * Wait for the next used element, which must be @cmd; copy the response
 * to @resp (if not NULL), free @cmd and return the response type.
 */
uint32_t qvirtio_gpu_cmd_wait(QVirtioGpu *gpu, QVirtioGpuCmd *cmd,
                              void *resp);
/* Add, kick and wait */
uint32_t qvirtio_gpu_cmd(QVirtioGpu *gpu, const void *req, size_t req_len,
                         void *resp, size_t resp_len);

/* The 2D commands: each returns the response type (VIRTIO_GPU_RESP_*) */
uint32_t qvirtio_gpu_resource_create_2d(QVirtioGpu *gpu, uint32_t res_id,
                                        uint32_t format, uint32_t width,
                                        uint32_t height);
uint32_t qvirtio_gpu_resource_attach_backing(QVirtioGpu *gpu,
                                             uint32_t res_id,
                                             uint64_t addr, uint32_t length);
uint32_t qvirtio_gpu_set_scanout(QVirtioGpu *gpu, uint32_t scanout_id,
                                 uint32_t res_id, uint32_t width,
                                 uint32_t height);
uint32_t qvirtio_gpu_transfer_to_host_2d(QVirtioGpu *gpu, uint32_t res_id,
                                         uint32_t width, uint32_t height);
uint32_t qvirtio_gpu_resource_flush(QVirtioGpu *gpu, uint32_t res_id,
                                    uint32_t width, uint32_t height);

/* The requests, filled in little endian, for qvirtio_gpu_cmd_add() */
void qvirtio_gpu_req_transfer_to_host_2d(
    struct virtio_gpu_transfer_to_host_2d *req, uint32_t res_id,
    uint32_t width, uint32_t height);
void qvirtio_gpu_req_resource_flush(struct virtio_gpu_resource_flush *req,
                                    uint32_t res_id, uint32_t width,
                                    uint32_t height);

/*
 * The 3D commands (VIRTIO_GPU_F_VIRGL): each returns the response type.
 * @ctx_id goes in the header, as a guest's 3D driver puts it there.
 */
uint32_t qvirtio_gpu_get_capset_info(QVirtioGpu *gpu, uint32_t index,
                                     struct virtio_gpu_resp_capset_info *info);
/* The capset, @size bytes of it, to @data (without the response header) */
uint32_t qvirtio_gpu_get_capset(QVirtioGpu *gpu, uint32_t capset_id,
                                uint32_t version, void *data, size_t size);
uint32_t qvirtio_gpu_ctx_create(QVirtioGpu *gpu, uint32_t ctx_id,
                                const char *name);
uint32_t qvirtio_gpu_ctx_destroy(QVirtioGpu *gpu, uint32_t ctx_id);
uint32_t qvirtio_gpu_resource_create_3d(QVirtioGpu *gpu, uint32_t res_id,
                                        uint32_t target, uint32_t format,
                                        uint32_t bind, uint32_t width,
                                        uint32_t height);
uint32_t qvirtio_gpu_ctx_attach_resource(QVirtioGpu *gpu, uint32_t ctx_id,
                                         uint32_t res_id);
/*
 * Copy the box (0, 0, @width x @height) of level 0 between the host
 * resource and its guest backing, rows @stride bytes apart, at offset 0.
 */
uint32_t qvirtio_gpu_transfer_to_host_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                                         uint32_t res_id, uint32_t width,
                                         uint32_t height, uint32_t stride);
uint32_t qvirtio_gpu_transfer_from_host_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                                           uint32_t res_id, uint32_t width,
                                           uint32_t height, uint32_t stride);
uint32_t qvirtio_gpu_resource_unref(QVirtioGpu *gpu, uint32_t res_id);

/*
 * A SUBMIT_3D request carrying the command stream @s, fenced with
 * @fence_id unless it is 0; g_free() it.
 */
typedef struct QVirglStream QVirglStream;
void *qvirtio_gpu_req_submit_3d(uint32_t ctx_id, uint64_t fence_id,
                                const QVirglStream *s, size_t *req_len);
uint32_t qvirtio_gpu_submit_3d(QVirtioGpu *gpu, uint32_t ctx_id,
                               const QVirglStream *s);

/*
 * A virgl command stream (virglrenderer's src/virgl_protocol.h): just
 * what it takes to render into a resource without shaders, that is a
 * surface on it, the framebuffer state and a clear.
 */
struct QVirglStream {
    GArray *dw;                         /* uint32_t, little endian */
};

/* virgl_hw.h: formats and bind flags */
#define QVIRGL_FORMAT_B8G8R8A8_UNORM            1
#define QVIRGL_FORMAT_B8G8R8X8_UNORM            2
#define QVIRGL_BIND_RENDER_TARGET               (1u << 1)
#define QVIRGL_BIND_SAMPLER_VIEW                (1u << 3)
/* gallium's enum pipe_texture_target */
#define QVIRGL_TARGET_TEXTURE_2D                2

QVirglStream *qvirgl_stream_new(void);
void qvirgl_stream_free(QVirglStream *s);
/* Surface object @handle on level 0, layer 0 of @res_id */
void qvirgl_create_surface(QVirglStream *s, uint32_t handle, uint32_t res_id,
                           uint32_t format);
/* One colour buffer, @surf_handle; no depth/stencil */
void qvirgl_set_framebuffer_state(QVirglStream *s, uint32_t surf_handle);
/* Clear colour buffer 0 to @rgba (0..1) */
void qvirgl_clear(QVirglStream *s, const float rgba[4]);

#endif
