/* What `ps`, `logs`, `wait`, `ls` and attached `up` know of a project's containers, typed: stack's records
 * checked against the supervisor (when one runs, else its last status files) and the runtime. The CLI
 * formats these; JSON is built only for --format json. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/engine/health.h"
#include "core/runtime/container-id.h"

struct status_port {
        char *host_ip; /* "0.0.0.0" unless the file names one */
        char *protocol;
        int target, published;
};

struct container_info {
        char *name;
        char *service;
        char *project;
        char *image;    /* the reference the service names */
        char *log_path; /* the container's output */
        int number;
        enum container_state state;
        enum health_status health;
        int exit_code;
        int restart_count;
        uint64_t started_at, finished_at, created_usec; /* realtime */
        bool has_health_log;                            /* the supervisor recorded it (possibly empty) */
        struct health_probe_result health_log[HEALTH_LOG_MAX];
        int n_health_log;
        struct status_port *ports;
        size_t n_ports;
};

struct project_status {
        struct container_info *containers; /* sorted by name */
        size_t n;
};

struct status_config {
        const char *root;
        const char *run_root;
        const char *runtime; /* NULL: $STACK_RUNTIME or crun */
};

/* The state of each container stack has a record of. A project without records is an empty list. */
int status_project(const struct status_config *c, const char *project, struct project_status *ret,
                   struct stack_error *err);
void project_status_done(struct project_status *s);
#define _cleanup_project_status_ __attribute__((cleanup(project_status_done)))

/* The label compose prints for the container (log prefixes): "web-1", or its fixed container_name. */
const char *container_info_label(const struct container_info *c);
/* Whether it belongs to one of the services (NULL: every service matches). */
bool container_info_in(const struct container_info *c, char *const *services);
