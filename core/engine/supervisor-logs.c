/* The supervisor's side of container logs: the file the runtime hands to the container, its time index and
 * its rotation (see core/runtime/logfile.h for the design). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/supervisor-internal.h"
#include "core/runtime/logfile.h"
#include "core/runtime/logindex.h"

int container_log_open(struct sup_container *c)
{
        if (!c->log_path || c->log_limits.driver == STACK_LOG_NONE)
                return open("/dev/null", O_WRONLY | O_CLOEXEC);
        _cleanup_free_ char *dir = path_dirname(c->log_path);
        mkdir_p(dir, 0700, NULL);
        return open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

void container_log_configure(struct sup_container *c, const cJSON *logging)
{
        const char *driver = json_get_str(logging, "driver");
        /* A record from before logging was applied: the bounded default. */
        c->log_limits = (struct stack_log_limits){
            .driver = driver && streq(driver, "none")    ? STACK_LOG_NONE
                      : driver && streq(driver, "local") ? STACK_LOG_LOCAL
                                                         : STACK_LOG_JSON_FILE,
            .max_size = (int64_t) json_get_num(logging, "max_size", (double) STACK_LOG_DEFAULT_MAX_SIZE),
            .max_file = (int) json_get_num(logging, "max_file", STACK_LOG_DEFAULT_MAX_FILE),
        };
        if (c->log_limits.max_size < STACK_LOG_MIN_MAX_SIZE)
                c->log_limits.max_size = STACK_LOG_MIN_MAX_SIZE;
}

void container_log_done(struct sup_container *c)
{
        logindex_watch_free(c->log_watch);
        c->log_watch = NULL;
        logfile_rotator_free(c->log_rotator);
        c->log_rotator = NULL;
        if (c->log_times) {
                logindex_done(c->log_times);
                free(c->log_times);
                c->log_times = NULL;
        }
}

/* The log has grown: rotate it if it is due, then let the index forget what has moved out. */
static void on_log_grown(void *userdata)
{
        struct sup_container *c = userdata;
        if (!c->log_rotator)
                return;
        struct stack_error e = {0};
        uint64_t consumed = 0;
        /* A failed pass leaves the output in the live log (nothing is lost); the next growth tries again. */
        if (logfile_rotate(c->log_rotator, c->log_times, &consumed, &e) < 0)
                log_warning("supervisor: rotate the log of %s: %s", c->name, e.msg);
        else if (consumed > 0) {
                logindex_watch_trim(c->log_watch, consumed);
                logindex_forget(c->log_times, consumed);
        }
        stack_error_clear(&e);
}

/* (Re)starts the time index of the container's log: first the log's current size with its mtime, then each
 * growth as inotify reports it. Called whenever this supervisor starts or adopts the container, so output
 * written while no supervisor ran is stamped with the time of the last write before the adoption. Each
 * growth is also when the log is rotated, and a backlog left while no supervisor ran is rotated now. */
void container_index_log(struct supervisor *s, struct sup_container *c)
{
        container_log_done(c);
        if (!c->log_path || c->log_limits.driver == STACK_LOG_NONE)
                return;
        struct stack_error e = {0};
        /* Without the index `stack logs` falls back to the file's mtime: worth a warning, not a failure. */
        if (logindex_watch_new(s->event, c->log_path, &c->log_watch, &e) < 0) {
                if (e.code != ENOENT)
                        log_warning("supervisor: time index of %s: %s", c->name, e.msg);
                stack_error_clear(&e);
                return;
        }
        if (logfile_rotator_new(c->log_path, (uint64_t) c->log_limits.max_size, c->log_limits.max_file,
                                &c->log_rotator, &e) < 0) {
                log_warning("supervisor: rotation of %s: %s", c->name, e.msg);
                stack_error_clear(&e);
                return;
        }
        c->log_times = xcalloc(1, sizeof(*c->log_times));
        logindex_watch_on_mark(c->log_watch, on_log_grown, c);
        on_log_grown(c);
}

cJSON *supervisor_log_spec(const struct stack_logging *l)
{
        struct stack_log_limits lim = {STACK_LOG_JSON_FILE, STACK_LOG_DEFAULT_MAX_SIZE,
                                       STACK_LOG_DEFAULT_MAX_FILE};
        const char *key;
        _cleanup_free_ char *msg = NULL;
        if (spec_logging_resolve(l, &lim, &key, &msg) < 0)
                log_debug("logging: %s: %s", key, msg);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "driver", spec_log_driver_name(lim.driver));
        cJSON_AddNumberToObject(j, "max_size", (double) lim.max_size);
        cJSON_AddNumberToObject(j, "max_file", lim.max_file);
        return j;
}
