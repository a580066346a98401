/* The parts of a container's bundle besides its config: the generated /etc files, the list of mounts
 * (volumes, binds, tmpfs, secrets and configs) and the devices. container-files.c makes them, container.c
 * assembles the bundle from them. Internal to core/runtime. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/runtime/container.h"
#include "core/runtime/oci.h"

struct mounts {
        struct oci_mount *m;
        size_t n, cap;
};

struct devices {
        struct oci_device *d;
        size_t n, cap;
};

int mkdir_in_root(int rootfd, const char *path, struct stack_error *err);
char *hosts_file(const struct container_host *h, const struct container_spec *spec, bool host_net,
                 struct stack_error *err);
char *resolv_conf(const struct container_spec *spec, bool host_net);
void mounts_add(struct mounts *ms, const char *dest, const char *type, const char *source, char **options);
void mounts_done(struct mounts *ms);
char **bind_options(bool recursive, const char *propagation, bool ro);
bool service_mounts_at(const struct stack_service *s, const char *dest);
int volume_mounts(const struct container_host *h, const struct container_spec *spec, const char *rootfs,
                  struct mounts *ms, struct stack_error *err);
int file_mounts(const struct container_spec *spec, const char *bundle, bool secrets, struct mounts *ms,
                struct stack_error *err);
void devices_done(struct devices *ds);
int device_add(struct devices *ds, const char *host, const char *ctr, const char *perms,
               struct stack_error *err);
int service_devices(const struct stack_service *s, struct devices *ds, struct stack_error *err);
void host_devices(const char *dir, struct devices *ds);
