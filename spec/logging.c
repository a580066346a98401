/* Validation and defaults of a service's `logging:`: see logging.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/logging.h"
#include "spec/node.h"
#include "spec/units.h"

const char *spec_log_driver_name(enum stack_log_driver d)
{
        switch (d) {
        case STACK_LOG_LOCAL:
                return "local";
        case STACK_LOG_NONE:
                return "none";
        default:
                return "json-file";
        }
}

static int fail(const char *key, const char **ret_key, char **ret_msg, char *msg)
{
        *ret_key = key;
        *ret_msg = msg;
        return -EINVAL;
}

static int parse_option(const struct stack_kv *o, struct stack_log_limits *lim, const char **ret_key,
                        char **ret_msg)
{
        const char *v = o->value ? o->value : "";
        if (streq(o->key, "max-size")) {
                int64_t size;
                if (streq(v, "-1"))
                        return fail(
                            o->key, ret_key, ret_msg,
                            xstrdup("stack keeps every log bounded: -1 (unlimited) is not supported"));
                if (units_parse_bytes(v, &size) < 0 || size < STACK_LOG_MIN_MAX_SIZE)
                        return fail(o->key, ret_key, ret_msg,
                                    xasprintf("invalid size \"%s\": expected a size of at least 4k, as "
                                              "10m or 512k",
                                              v));
                lim->max_size = size;
        } else if (streq(o->key, "max-file")) {
                int64_t n;
                if (units_parse_int(v, 1, 1000, &n) < 0)
                        return fail(o->key, ret_key, ret_msg,
                                    xasprintf("invalid count \"%s\": expected a number of files from 1 to "
                                              "1000",
                                              v));
                lim->max_file = (int) n;
        } else if (streq(o->key, "compress")) {
                bool b;
                if (units_parse_bool(v, &b, NULL) < 0)
                        return fail(o->key, ret_key, ret_msg, xasprintf("invalid boolean \"%s\"", v));
                if (b)
                        return fail(o->key, ret_key, ret_msg,
                                    xstrdup("compressed rotated logs are not supported: set compress: "
                                            "\"false\""));
        } else
                return fail(o->key, ret_key, ret_msg,
                            xasprintf("unknown option for the %s logging driver (stack supports max-size, "
                                      "max-file and compress: \"false\")",
                                      spec_log_driver_name(lim->driver)));
        return 0;
}

int spec_logging_resolve(const struct stack_logging *l, struct stack_log_limits *ret, const char **ret_key,
                         char **ret_msg)
{
        struct stack_log_limits lim = {STACK_LOG_JSON_FILE, STACK_LOG_DEFAULT_MAX_SIZE,
                                       STACK_LOG_DEFAULT_MAX_FILE};
        const char *d = l->driver;
        if (!d || streq(d, "json-file"))
                ;
        else if (streq(d, "local"))
                lim = (struct stack_log_limits){STACK_LOG_LOCAL, STACK_LOG_LOCAL_MAX_SIZE,
                                                STACK_LOG_LOCAL_MAX_FILE};
        else if (streq(d, "none"))
                lim.driver = STACK_LOG_NONE;
        else
                return fail(
                    "driver", ret_key, ret_msg,
                    xasprintf("logging driver \"%s\" is not supported (json-file, local or none)", d));
        if (lim.driver == STACK_LOG_NONE && l->options.n > 0)
                return fail(l->options.items[0].key, ret_key, ret_msg,
                            xstrdup("the none logging driver takes no options"));
        for (size_t i = 0; i < l->options.n; i++) {
                int r = parse_option(&l->options.items[i], &lim, ret_key, ret_msg);
                if (r < 0)
                        return r;
        }
        *ret = lim;
        return 0;
}

int spec_logging_check(const struct node *v, const char *path, const struct stack_logging *l,
                       struct stack_error *err)
{
        struct stack_log_limits lim;
        const char *key = NULL;
        _cleanup_free_ char *msg = NULL;
        if (spec_logging_resolve(l, &lim, &key, &msg) >= 0)
                return 0;
        const struct node *opts = node_get(v, "options");
        const struct node *at = streq(key, "driver") ? node_get(v, "driver") : node_get(opts, key);
        if (!at)
                at = streq(key, "driver") || !opts ? v : opts;
        _cleanup_free_ char *p = streq(key, "driver") ? node_path_key(path, "driver") : NULL;
        if (!p) {
                _cleanup_free_ char *po = node_path_key(path, "options");
                p = node_path_key(po, key);
        }
        return spec_error(err, at->mark, p, "%s", msg);
}
