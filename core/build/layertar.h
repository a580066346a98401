/* An image layer from an overlayfs upper directory: a tar with the entries sorted by name, overlay
 * whiteouts (0:0 character devices) written as OCI ".wh.NAME" entries and opaque directories
 * (trusted.overlay.opaque=y) as ".wh..wh..opq", hard links as links to their first name. */
#pragma once

#include "core/base/error.h"

struct layertar_options {
        /* Paths (relative, no leading slash) left out when they are empty regular files: the mount
         * points the runtime creates for /etc/hosts and the like are not part of the layer. */
        const char *const *skip_empty;
        /* Paths left out when they are empty directories the lower layers do not have (mount points). */
        const char *const *skip_empty_dirs;
};

/* Writes the tar of upper_dir to out_fd (uncompressed). */
int layertar_write(const char *upper_dir, int out_fd, const struct layertar_options *o,
                   struct stack_error *err);
