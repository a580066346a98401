/* A container replica's lifecycle: bundle, root file system, generated /etc files, mounts, and the OCI
 * runtime calls, with nothing left behind on removal.
 *
 * Layout (docker's, adapted): the bundle lives in the run root (config.json, the rootfs mount point,
 * /etc/hosts, /etc/hostname, /etc/resolv.conf, secrets) and goes away with a reboot; the writable layer
 * (overlay upper and work directories) and the output log live in the root, so a container's changes and
 * its logs survive a reboot as docker's do:
 *     <run-root>/containers/<name>/{config.json,rootfs,hosts,hostname,resolv.conf,secrets/,pid,init,stop}
 *     <root>/containers/<name>/{upper,work,container.log}
 *     <run-root>/runtime/<name>   (the OCI runtime's own state, its --root)
 *
 * Every operation is idempotent: creating a container that exists (created or running) is success,
 * stopping or removing one that is gone is success. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"
#include "core/image/image.h"
#include "core/runtime/container-id.h"
#include "core/runtime/runtime.h"
#include "spec/model.h"

/* What stays the same for every container on this host: where state lives and which runtime runs them. */
struct container_host {
        char *root, *run_root;
        struct runtime *runtime;
        bool cgroup_v2;
        bool swap_limit; /* the memory cgroup can limit swap */
        char *init_path; /* the init binary for `init: true` (tini-static), NULL when none is installed */
        char *hostname;
        uint64_t cap_bounding; /* our own bounding set: what "all capabilities" can mean */
};

/* runtime: path or name of the OCI runtime, NULL for $STACK_RUNTIME or crun. */
int container_host_new(const char *root, const char *run_root, const char *runtime,
                       struct container_host **ret, struct stack_error *err);
void container_host_free(struct container_host *h);

struct container_spec {
        const char *name; /* the container's name and runtime id: <project>-<service>-<n> */
        const struct stack_project *project; /* volumes, secrets, configs, project dir; NULL: none */
        const struct stack_service *service;
        const struct image_config *image; /* NULL: no image defaults */
        char *const *layers;              /* unpacked layer directories, lowest first; at least one */
        /* Network: a namespace made by the network layer (joined by path); NULL gives the container a
         * new, empty one, unless service->network_mode is "host". */
        const char *netns_path;
        char *const *dns_servers;          /* nameservers for resolv.conf; NULL: the host's */
        char *const *hosts_entries;        /* extra /etc/hosts lines ("10.1.0.2 web-1 web") */
        const char *host_gateway;          /* the address extra_hosts' "host-gateway" stands for */
        const struct stack_kvlist *labels; /* recorded as annotations (com.docker.compose.*) */
};

struct container_status {
        enum container_state state; /* never RESTARTING: that is the supervisor's knowledge */
        pid_t pid;
};

/* Builds the bundle, mounts the root file system and runs the runtime's create. The container's stdout
 * and stderr are appended to container_log_path(). */
int container_create(struct container_host *h, const struct container_spec *spec, struct stack_error *err);
/* Everything container_create does but the runtime's create: the bundle and its mounts, ready for
 * `runtime create` by whoever is to be the container's parent (the project's supervisor). */
int container_prepare(struct container_host *h, const struct container_spec *spec, struct stack_error *err);
int container_start(struct container_host *h, const char *name, struct stack_error *err);
int container_state(struct container_host *h, const char *name, struct container_status *ret,
                    struct stack_error *err);
/* Sends sig to the container's init. */
int container_kill(struct container_host *h, const char *name, int sig, struct stack_error *err);
/* Sends the stop signal (sig 0: the configured one), waits up to timeout_usec (-1: the configured
 * stop_grace_period) for the container to exit, then SIGKILL. *ret_killed (may be NULL) says whether the
 * grace period ran out. */
int container_stop(struct container_host *h, const char *name, int sig, int64_t timeout_usec,
                   bool *ret_killed, struct stack_error *err);
/* Removes everything: runtime state, cgroup, mounts, bundle, writable layer and log (killing the
 * container if it still runs). Volumes are kept. */
int container_remove(struct container_host *h, const char *name, struct stack_error *err);

/* Names of the containers this host has anything of (runtime state, a bundle, a writable layer), sorted
 * and once each. A name that is only partly there is a leftover that container_remove() cleans up. */
int container_list(struct container_host *h, char ***ret, struct stack_error *err);

char *container_log_path(const struct container_host *h, const char *name);
/* The cgroup of container name under /sys/fs/cgroup: /stack/NAME, and for a run root other than the default
 * /stack/NAME-<hash of the run root>, so that two stack instances on one host keep their cgroups apart. */
char *container_cgroup_path(const char *run_root, const char *name);
char *container_bundle_path(const struct container_host *h, const char *name);
/* The name of the volume backing an anonymous volume at target (stable across recreation). */
char *container_anonymous_volume_name(const char *name, const char *target);
