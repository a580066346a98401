/* Network namespaces for container replicas, made before the container and handed to the runtime by path.
 *
 * A namespace lives at <run-root>/netns/<project>/<container>: an empty file with the namespace
 * bind-mounted on it (what `ip netns add` does), so it outlives the process that made it and crun joins it
 * through linux.namespaces[].path. <run-root>/netns itself is a bind mount on itself with shared
 * propagation, so that unmounting a namespace also unmounts the copies that containers' mount namespaces
 * took of it (otherwise every container would pin its neighbours' namespaces). The directory is unmounted
 * again when its last namespace goes. All changes happen under flock(<run-root>/netns.lock).
 *
 * `lo` is brought up inside at creation: crun does it only for namespaces it creates itself. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"

char *netns_path(const char *run_root, const char *project, const char *name);
/* True when path is a mounted network namespace. */
bool netns_is_mounted(const char *path);

/* Creates the namespace, or succeeds when it is already there; a file left without its mount by a crash is
 * mounted again. ret_path (optional) gets the path. */
int netns_create(const char *run_root, const char *project, const char *name, char **ret_path,
                 struct stack_error *err);
/* Unmounts and unlinks; a missing namespace is success. */
int netns_remove(const char *run_root, const char *project, const char *name, struct stack_error *err);
/* Names of the project's namespaces (also those whose mount was lost). */
int netns_list(const char *run_root, const char *project, char ***ret, struct stack_error *err);
/* Finds a container's namespace in any project (network_mode: container:NAME). -ENOENT if none. */
int netns_find(const char *run_root, const char *name, char **ret_path);

/* Opens a namespace for setns() or IFLA_NET_NS_FD. */
int netns_open(const char *path, struct stack_error *err);
/* Runs fn(userdata) with the calling thread inside the namespace, then returns it to where it was.
 * Sockets opened by fn stay bound to the namespace. */
int netns_run_in(int netns_fd, int (*fn)(void *userdata), void *userdata, struct stack_error *err);
