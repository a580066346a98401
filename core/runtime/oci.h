/* OCI runtime configuration (config.json) for one container replica, written with cJSON.
 *
 * oci_config_build() is a pure function of the service, the image config and what the caller resolved on
 * the host (rootfs path, user ids, volume and bind mounts, devices, network namespace): no I/O, so every
 * compose key's effect is unit-tested. The result is secure by default as docker's is: its 14 default
 * capabilities, the default seccomp policy, masked and read-only /proc and /sys paths, no_new_privs and a
 * device allowlist; compose keys (privileged, cap_add, security_opt, read_only, ...) adjust it. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/image/image.h"
#include "core/runtime/user.h"
#include "spec/model.h"

/* A mount the caller resolved on the host (volume, bind, generated /etc file, secret). */
struct oci_mount {
        char *destination;
        char *type; /* "bind", "tmpfs", ... */
        char *source;
        char **options;
};

/* A host device made available in the container (devices:, or every host device when privileged). */
struct oci_device {
        char *path; /* in the container */
        char type;  /* 'c' or 'b' */
        int64_t major, minor;
        uint32_t file_mode, uid, gid;
        char *access; /* cgroup permissions, "rwm" */
};

/* How security_opt adjusts the defaults. */
struct oci_security {
        bool no_new_privileges;      /* default true */
        bool seccomp_unconfined;     /* seccomp=unconfined */
        char *seccomp_profile;       /* seccomp=FILE: the path, for the caller to read */
        bool systempaths_unconfined; /* systempaths=unconfined: no masked or read-only paths */
};

struct oci_input {
        const char *name; /* container name: default hostname */
        const struct stack_service *service;
        const struct image_config *image; /* NULL: no image defaults */
        const char *rootfs;               /* absolute path of the mounted root */
        const struct user_ids *user;      /* NULL: root */
        const struct oci_mount *mounts;   /* in any order: they are sorted by destination depth */
        size_t n_mounts;
        const struct oci_device *devices;
        size_t n_devices;
        const char *netns_path; /* join this network namespace; NULL: a new one, unless host_network */
        bool host_network;
        const char *host_hostname; /* the hostname a host-network container gets */
        const char *cgroups_path;
        const char *init_path; /* host path of the init binary for `init: true`; NULL: none available */
        const char *seccomp_profile_text;     /* contents of security_opt seccomp=FILE */
        const char *machine, *kernel_release; /* for the seccomp rules; NULL: this host's */
        bool cgroup_v2;                       /* gives the container a cgroup namespace, as docker does */
        uint64_t cap_available; /* capabilities stack itself may grant (its bounding set); 0: all */
        bool swap_limit;        /* the host can limit swap (memsw on cgroup v1) */
        const struct stack_kvlist *annotations; /* labels to record in the config */
};

int oci_config_build(const struct oci_input *in, cJSON **ret, struct stack_error *err);

/* The pieces, public for their tests and for callers that need them without a whole config. */

/* entrypoint + command as docker merges them with the image's (compose entrypoint resets the image Cmd). */
int oci_process_args(const struct stack_service *s, const struct image_config *img, char ***ret,
                     struct stack_error *err);
/* PATH (if missing), HOSTNAME, then the image's Env with the service's environment over it, then HOME. */
char **oci_process_env(const struct stack_service *s, const struct image_config *img, const char *hostname,
                       const char *home);
/* The capability set ("CAP_X" names) after privileged, cap_add and cap_drop. "All" (privileged, cap_add
 * ALL) means all of available (a bit mask by capability number; 0: every capability), as docker grants
 * all the capabilities it holds itself. */
int oci_capabilities(const struct stack_service *s, uint64_t available, char ***ret,
                     struct stack_error *err);
int oci_security_parse(const struct stack_service *s, struct oci_security *ret, struct stack_error *err);
void oci_security_done(struct oci_security *sec);
/* "SIGTERM", "TERM", "15", "SIGRTMIN+3" -> signal number; -EINVAL when unknown. */
int oci_signal_parse(const char *name);
/* The stop signal: stop_signal, else the image's StopSignal, else SIGTERM. */
int oci_stop_signal(const struct stack_service *s, const struct image_config *img, struct stack_error *err);

/* Annotations recording how to stop the container, so any later process can. */
#define OCI_ANNOTATION_STOP_SIGNAL "io.stack.stop-signal"
#define OCI_ANNOTATION_STOP_TIMEOUT "io.stack.stop-timeout-usec"
