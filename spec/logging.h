/* A service's `logging:` as stack applies it: which driver, and how far each log may grow.
 *
 * json-file (the default) and local keep the output in files rotated at max-size, at most max-file of
 * them (the live file counted); stack always bounds them, so json-file without max-size gets
 * STACK_LOG_DEFAULT_MAX_SIZE x STACK_LOG_DEFAULT_MAX_FILE (docker's json-file grows without end by
 * default), local gets docker's local defaults. none discards the output. Other drivers are refused. */
#pragma once

#include <stdint.h>

#include "core/base/error.h"
#include "spec/model.h"

struct node;

enum stack_log_driver {
        STACK_LOG_JSON_FILE,
        STACK_LOG_LOCAL,
        STACK_LOG_NONE,
};

#define STACK_LOG_DEFAULT_MAX_SIZE (10LL * 1024 * 1024)
#define STACK_LOG_DEFAULT_MAX_FILE 3
#define STACK_LOG_LOCAL_MAX_SIZE (20LL * 1024 * 1024)
#define STACK_LOG_LOCAL_MAX_FILE 5
/* Below this a rotated file could not hold even one ordinary line with its JSON envelope. */
#define STACK_LOG_MIN_MAX_SIZE 4096LL

struct stack_log_limits {
        enum stack_log_driver driver;
        int64_t max_size; /* bytes per file */
        int max_file;     /* files, the live one included */
};

/* Resolves a service's logging. On an unusable value returns -EINVAL with *ret_key naming the key at fault
 * ("driver" or an option's name) and *ret_msg (newly allocated) saying why. */
int spec_logging_resolve(const struct stack_logging *l, struct stack_log_limits *ret, const char **ret_key,
                         char **ret_msg);
/* The same, as the loader reports it: at the file, line and key of the value at fault. v is the
 * `logging:` mapping, path its path. */
int spec_logging_check(const struct node *v, const char *path, const struct stack_logging *l,
                       struct stack_error *err);
const char *spec_log_driver_name(enum stack_log_driver d);
