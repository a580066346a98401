/* `stack port`: where a container's port is published, read back from what the host has (the
 * container's addresses from the IPAM, the published ports from the firewall), not from the file. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"

/* The "host_ip:host_port" addresses that publish private_port/protocol ("tcp" or "udp") of the named
 * container of the project, as new strings. Fails with -ESRCH when the container has no address (it is
 * not running) and -ENOENT when the port is not published. */
int port_published(const char *root, const char *project, const char *container, const char *protocol,
                   int private_port, char ***ret, struct stack_error *err);
