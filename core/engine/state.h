/* stack's records of what it made, per project. The kernel and the runtime are the truth; these records
 * are a cache that says what to look for and how it was configured, repaired when found stale.
 *
 *   <root>/projects/<project>/project.json            working dir, compose files, first creation
 *   <root>/projects/<project>/containers/<name>.json  one per container: what it was made from
 *   <root>/projects/<project>/networks/<key>.json     one per network the project made
 *   <run-root>/projects/<project>/lock                serializes commands on one project
 *
 * Every write is atomic (temp file, fsync, rename). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/error.h"
#include "core/base/json.h"

struct cJSON;

/* A container as created: enough to observe it, plan against it, supervise it and tear it down even
 * after the compose file is gone. `spec` holds the supervisor's view (restart policy, health check,
 * stop signal, ...) as the reconciler wrote it. */
struct container_record {
        char *name;
        char *service;
        int number;
        char *config_hash;
        char *image_id;
        char **networks;
        char **volumes;
        uint64_t created_usec; /* realtime */
        struct cJSON *spec;    /* owned; may be NULL */
};

struct state_paths {
        char *root;
        char *run_root;
};

char *state_project_dir(const char *root, const char *project);
char *state_project_run_dir(const char *run_root, const char *project);

/* Takes the project's lock (blocking), creating the run directory. Returns the fd to keep open. */
int state_lock_project(const char *run_root, const char *project, int *ret_fd, struct stack_error *err);

int state_container_write(const char *root, const char *project, const struct container_record *rec,
                          struct stack_error *err);
int state_container_read(const char *root, const char *project, const char *name,
                         struct container_record **ret, struct stack_error *err);
/* All records of the project, sorted by name. A missing project is an empty list. */
int state_container_list(const char *root, const char *project, struct container_record ***ret,
                         size_t *ret_n, struct stack_error *err);
int state_container_remove(const char *root, const char *project, const char *name, struct stack_error *err);
void container_record_free(struct container_record *r);
void container_record_list_free(struct container_record **l, size_t n);

/* Networks the project made (keys), with a JSON blob for what the network layer needs to tear them down. */
int state_network_write(const char *root, const char *project, const char *key, const struct cJSON *data,
                        struct stack_error *err);
int state_network_read(const char *root, const char *project, const char *key, struct cJSON **ret,
                       struct stack_error *err);
int state_network_list(const char *root, const char *project, char ***ret, struct stack_error *err);
int state_network_remove(const char *root, const char *project, const char *key, struct stack_error *err);

/* project.json: written on every up, read by `ls` and by `down -p NAME` when the file is gone. */
int state_project_write(const char *root, const char *project, const char *working_dir, char *const *files,
                        struct stack_error *err);
int state_project_read(const char *root, const char *project, char **ret_working_dir, char ***ret_files,
                       struct stack_error *err);
int state_project_list(const char *root, char ***ret, struct stack_error *err);
/* Removes the project's records once nothing of it is left. */
int state_project_remove(const char *root, const char *run_root, const char *project,
                         struct stack_error *err);

/* A process's start time (clock ticks since boot, field 22 of /proc/PID/stat): a pid is only ever
 * trusted together with it, so a reused pid is never mistaken for ours. 0 when the process is gone. */
uint64_t proc_start_time(pid_t pid);
bool proc_alive(pid_t pid, uint64_t start_time);

