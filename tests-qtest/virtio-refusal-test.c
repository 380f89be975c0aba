/*
 * QTest cases for the device types and configurations that refuse
 * suspend=on (VIRTIO_F_SUSPEND) and freeze_mode=on: a vhost-user back-end
 * runs the rings, not QEMU, connected or not; a legacy interface, which
 * cannot offer the feature; and for freeze_mode=on every device type that
 * did not opt in, a supported type in a configuration that cannot keep
 * the contract, and a transport without the register.
 *
 * Copyright (c) 2026 The freeze-mode project authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include "libqtest.h"
#include "qapi/error.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "libqos/pci-pc.h"
#include "libqos/virtio-machine.h"

/*
 * ---- vhost: the rings belong to the back-end, whether or not it is
 *      connected right now --------------------------------------------
 *
 * Real back-ends, built with QEMU: qemu-storage-daemon exports a
 * vhost-user-blk device, and tests/vhost-user-bridge is a vhost-user
 * network back-end.  They are found as QEMU's qtests find helper
 * binaries: an environment variable (meson's test environment sets
 * QTEST_QEMU_STORAGE_DAEMON_BINARY), else the path in the build tree
 * next to QTEST_QEMU_BINARY.
 */

static char *rf_helper_binary(const char *env, const char *rel)
{
    const char *path = g_getenv(env);
    g_autofree char *dir = NULL;

    if (path) {
        return g_strdup(path);
    }
    dir = g_path_get_dirname(g_getenv("QTEST_QEMU_BINARY"));
    return g_build_filename(dir, rel, NULL);
}

/* Start the back-end @argv, its stdin and stdout on /dev/null */
static pid_t rf_backend_start(char **argv)
{
    g_autofree char *cmd = g_strjoinv(" ", argv);
    pid_t pid;

    g_assert_cmpint(access(argv[0], X_OK), ==, 0);
    g_test_message("back-end: %s", cmd);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void rf_backend_stop(pid_t pid)
{
    int status;

    kill(pid, SIGTERM);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
}

static void rf_wait_socket(const char *path)
{
    gint64 start = g_get_monotonic_time();
    struct stat st;

    while (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        g_assert(g_get_monotonic_time() - start <= QVIRTIO_MACHINE_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

/*
 * device_add @driver with @opts: with an expected @error the command
 * fails with it, otherwise it succeeds.
 */
static void rf_device_add(QTestState *qts, const char *driver, const char *id,
                          const char *opts, const char *error)
{
    g_autofree char *args = g_strdup_printf(
        "{'driver': '%s', 'id': '%s', 'addr': '%d.0', %s}", driver, id,
        QVIRTIO_MACHINE_SLOT, opts);
    QDict *rsp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': %p}",
                           qobject_from_json(args, &error_abort));
    QDict *err = qdict_get_qdict(rsp, "error");

    if (error) {
        g_assert_nonnull(err);
        g_test_message("device_add %s: %s", driver,
                       qdict_get_str(err, "desc"));
        g_assert_nonnull(strstr(qdict_get_str(err, "desc"), error));
    } else {
        g_assert_null(err);
    }
    qobject_unref(rsp);
}

/*
 * vhost-user-blk on a running qemu-storage-daemon export: the device
 * type did not opt in, with the back-end there to realize it.  Without
 * the property the same device_add succeeds.
 */
static void test_refused_vhost_user_blk(const void *data)
{
    const char *prop = data;
    g_autofree char *qsd = rf_helper_binary("QTEST_QEMU_STORAGE_DAEMON_BINARY",
                                            "storage-daemon/"
                                            "qemu-storage-daemon");
    g_autofree char *sock = g_build_filename(qvirtio_tmp_dir(), "vub.sock",
                                             NULL);
    g_autofree char *exp = NULL;
    g_autofree char *opts = g_strdup_printf("'chardev': 'c0', 'num-queues': 1,"
                                            " '%s': true", prop);
    g_autofree char *err = g_strdup_printf(
        "%s is not supported by device type vhost-user-blk", prop);
    char *argv[] = { qsd, (char *)"--blockdev",
                     (char *)"driver=null-co,node-name=n0,size=1048576",
                     (char *)"--export", NULL, NULL };
    QTestState *qts;
    pid_t pid;

    exp = g_strdup_printf("type=vhost-user-blk,id=e0,node-name=n0,"
                          "addr.type=unix,addr.path=%s,writable=on", sock);
    argv[4] = exp;
    pid = rf_backend_start(argv);
    rf_wait_socket(sock);

    /*
     * The back-end serves one front end after the other: first the one
     * that must refuse the property, then the same device without it,
     * which realizes.  (vhost-user needs guest RAM the back-end can map.)
     */
    qts = qtest_initf("-M pc -object memory-backend-memfd,id=mem0,size=64M "
                      "-M memory-backend=mem0 -m 64M "
                      "-chardev socket,id=c0,path=%s", sock);
    rf_device_add(qts, "vhost-user-blk-pci", "vub0", opts, err);
    qtest_quit(qts);
    qts = qtest_initf("-M pc -object memory-backend-memfd,id=mem0,size=64M "
                      "-M memory-backend=mem0 -m 64M "
                      "-chardev socket,id=c0,path=%s", sock);
    rf_device_add(qts, "vhost-user-blk-pci", "vub0",
                  "'chardev': 'c0', 'num-queues': 1", NULL);
    qtest_quit(qts);

    rf_backend_stop(pid);
}

/*
 * A vhost-user network back-end gone: the rings are still its own (a
 * back-end that comes back takes them up), so the property is refused
 * as with the back-end there.  Through its life: connected; disconnected;
 * and after a reconnection whose handshake failed (QEMU asked for the
 * features and the peer hung up), which is what a back-end restarting
 * under a client with reconnect-ms looks like.
 */
typedef enum RfVhostUserState {
    RF_VU_CONNECTED,
    RF_VU_DISCONNECTED,
    RF_VU_RECONNECT_FAILED,
} RfVhostUserState;

typedef struct RfVhostUserCase {
    const char *prop;
    RfVhostUserState state;
} RfVhostUserCase;

static void test_refused_net_vhost_user(const void *data)
{
    const RfVhostUserCase *c = data;
    RfVhostUserState state = c->state;
    g_autofree char *opts = g_strdup_printf("'netdev': 'n0', '%s': true",
                                            c->prop);
    g_autofree char *err = g_strdup(
        "virtio-net-device with a vhost back-end");
    g_autofree char *vubr = rf_helper_binary("QTEST_VHOST_USER_BRIDGE_BINARY",
                                             "tests/vhost-user-bridge");
    g_autofree char *sock = g_build_filename(qvirtio_tmp_dir(), "vubr.sock",
                                             NULL);
    char *argv[] = { vubr, (char *)"-u", sock,
                     (char *)"-l", (char *)"127.0.0.1:0",
                     (char *)"-r", (char *)"127.0.0.1:9", NULL };
    QTestState *qts;
    pid_t pid;

    pid = rf_backend_start(argv);
    rf_wait_socket(sock);
    qts = qtest_initf("-M pc -object memory-backend-memfd,id=mem0,size=64M "
                      "-M memory-backend=mem0 -m 64M "
                      "-chardev socket,id=c0,path=%s,reconnect-ms=100 "
                      "-netdev vhost-user,id=n0,chardev=c0", sock);
    /* Without the property the device takes the back-end */
    rf_device_add(qts, "virtio-net-pci", "net0", "'netdev': 'n0'", NULL);
    qpci_unplug_acpi_device_test(qts, "net0", QVIRTIO_MACHINE_SLOT);

    if (state != RF_VU_CONNECTED) {
        rf_backend_stop(pid);
        pid = -1;
        qtest_qmp_eventwait(qts, "NETDEV_VHOST_USER_DISCONNECTED");
        unlink(sock);
    }
    if (state == RF_VU_RECONNECT_FAILED) {
        int lfd = qtest_socket_server(sock);
        int fd = accept(lfd, NULL, NULL);
        uint32_t hdr[3];

        g_assert_cmpint(fd, >=, 0);
        /* VHOST_USER_GET_FEATURES (1), and then the peer hangs up */
        g_assert_cmpint(read(fd, hdr, sizeof(hdr)), ==, sizeof(hdr));
        g_assert_cmpint(hdr[0], ==, 1);
        close(fd);
        close(lfd);
        unlink(sock);
        qobject_unref(qtest_qmp(qts, "{'execute': 'query-status'}"));
    }

    rf_device_add(qts, "virtio-net-pci", "net1", opts, err);
    qtest_quit(qts);

    if (pid > 0) {
        rf_backend_stop(pid);
    }
}

/*
 * ---- a configuration that cannot keep the contract refuses the
 *      property at realize, which the same command line without it
 *      passes ------------------------------------------------------------
 */

typedef struct RfRefusal {
    const char *prop;       /* the property, =on is appended to -device */
    const char *name;
    const char *machine;
    const char *args;       /* what the device needs on the command line */
    const char *device;     /* -device */
    const char *error;      /* expected in the error message */
} RfRefusal;

#define RF_NOT_SUPPORTED "freeze_mode is not supported by device type"

static const RfRefusal rf_refusals[] = {
    /* SUSPEND is a device status bit of the modern interfaces */
    { "suspend", "legacy-only", "pc", "",
      "virtio-rng-pci,disable-modern=on,disable-legacy=off",
      "suspend needs the modern virtio-pci interface" },
    { "suspend", "mmio-legacy", "microvm", "", "virtio-rng-device",
      "suspend needs virtio-mmio version 2" },
    /* freeze_mode=on: only the device types that opted in */
    { "freeze_mode",
      "scsi", "pc", "", "virtio-scsi-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "serial", "pc", "", "virtio-serial-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "keyboard", "pc", "", "virtio-keyboard-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "mouse", "pc", "", "virtio-mouse-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "tablet", "pc", "", "virtio-tablet-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "multitouch", "pc", "", "virtio-multitouch-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "iommu", "q35", "", "virtio-iommu-pci", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "crypto", "pc", "-object cryptodev-backend-builtin,id=cd0",
      "virtio-crypto-pci,cryptodev=cd0", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "9p", "pc", "-fsdev local,id=fs0,path=/tmp,security_model=none",
      "virtio-9p-pci,fsdev=fs0,mount_tag=t", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "mem", "pc", "-m 64M,maxmem=1G,slots=2 "
      "-object memory-backend-ram,id=mem0,size=128M",
      "virtio-mem-pci,memdev=mem0", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "pmem", "pc", "-m 64M,maxmem=1G,slots=2 "
      "-object memory-backend-ram,id=mem0,size=16M",
      "virtio-pmem-pci,memdev=mem0", RF_NOT_SUPPORTED },
    { "freeze_mode",
      "sound", "pc", "-audiodev none,id=a0", "virtio-sound-pci,audiodev=a0",
      RF_NOT_SUPPORTED },
    /* Supported types, in a configuration that cannot keep the contract */
    { "freeze_mode",
      "blk-iothread", "pc",
      "-object iothread,id=io0 -drive if=none,id=d0,driver=null-co",
      "virtio-blk-pci,drive=d0,iothread=io0",
      "freeze_mode is not supported: the virtqueues run in an iothread" },
    { "freeze_mode",
      "balloon-free-page-hint", "pc", "-object iothread,id=io0",
      "virtio-balloon-pci,free-page-hint=on,iothread=io0",
      "freeze_mode is not supported: free-page-hint is on" },
    /* A supported type on a transport without the register */
    { "freeze_mode",
      "mmio", "microvm", "", "virtio-rng-device",
      "freeze_mode is not supported by the virtio-mmio-bus transport" },
    /* Without the modern interface, which holds the register */
    { "freeze_mode",
      "legacy-only", "pc", "",
      "virtio-rng-pci,disable-modern=on,disable-legacy=off",
      "freeze_mode needs the modern virtio-pci interface" },
};

static void test_refused(const void *data)
{
    const RfRefusal *r = data;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *driver = g_strndup(r->device, strcspn(r->device, ","));
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) error = NULL;
    int status;

    if (!qtest_has_machine(r->machine) || !qtest_has_device(driver)) {
        g_test_skip("device or machine not built");
        return;
    }
    /* A QEMU that accepted the device would wait for ever: kill it */
    cmd = g_strdup_printf("timeout -s KILL 30 %s -M %s -accel qtest "
                          "-display none -nodefaults -S %s "
                          "-device %s,%s=on", qemu, r->machine,
                          r->args, r->device, r->prop);
    g_assert(g_shell_parse_argv(cmd, NULL, &argv, &error));
    g_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                          &out, &err, &status, &error));
    g_test_message("%s: %s", cmd, err);
    g_assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_nonnull(strstr(err, r->error));
}

/* Without the property the same command line starts: the refusal is ours */
static void test_refused_control(const void *data)
{
    const RfRefusal *r = data;
    g_autofree char *driver = g_strndup(r->device, strcspn(r->device, ","));
    QTestState *qts;

    if (!qtest_has_machine(r->machine) || !qtest_has_device(driver)) {
        g_test_skip("device or machine not built");
        return;
    }
    qts = qtest_initf("-M %s %s -device %s", r->machine, r->args, r->device);
    qtest_quit(qts);
}

/* Register the vhost-user refusals of the device property @prop */
static void rf_add_vhost_user(const char *prefix, const char *prop)
{
    static const char *const states[] = {
        [RF_VU_CONNECTED] = "connected",
        [RF_VU_DISCONNECTED] = "disconnected",
        [RF_VU_RECONNECT_FAILED] = "reconnect-failed",
    };
    int i;

    if (!qtest_has_machine("pc")) {
        return;
    }
    if (qtest_has_device("vhost-user-blk-pci")) {
        g_autofree char *path = g_strdup_printf(
            "%s/refused/vhost-user-blk/%s", prefix, prop);

        qtest_add_data_func(path, prop, test_refused_vhost_user_blk);
    }
    if (qtest_has_device("virtio-net-pci")) {
        for (i = 0; i < ARRAY_SIZE(states); i++) {
            g_autofree char *path = g_strdup_printf(
                "%s/refused/net-vhost-user/%s", prefix, states[i]);
            RfVhostUserCase *c = g_new(RfVhostUserCase, 1);

            c->prop = prop;
            c->state = i;
            qtest_add_data_func(path, c, test_refused_net_vhost_user);
        }
    }
}

int main(int argc, char **argv)
{
    int i;

    g_test_init(&argc, &argv, NULL);

    /* suspend=on */
    rf_add_vhost_user("virtio-suspend", "suspend");

    for (i = 0; i < ARRAY_SIZE(rf_refusals); i++) {
        const char *prefix = g_str_equal(rf_refusals[i].prop, "suspend") ?
                             "virtio-suspend" : "virtio-freeze/types";
        g_autofree char *path = g_strdup_printf(
            "%s/refused/%s", prefix, rf_refusals[i].name);
        g_autofree char *ctl = g_strdup_printf(
            "%s/refused/%s/control", prefix, rf_refusals[i].name);

        qtest_add_data_func(path, &rf_refusals[i], test_refused);
        qtest_add_data_func(ctl, &rf_refusals[i], test_refused_control);
    }

    /* freeze_mode=on */
    rf_add_vhost_user("virtio-freeze/types", "freeze_mode");

    return g_test_run();
}
