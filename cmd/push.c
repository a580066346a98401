/* `stack push` (a project's images) and `stack image push REF`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/image/registry.h"

static int push_one(struct image_store *s, const char *ref, bool quiet, struct stack_error *err)
{
        struct registry_options ro = {.progress = quiet ? NULL : cmd_pull_progress};
        _cleanup_registry_client_ struct registry_client *rc = registry_client_new(&ro);
        return registry_push(rc, s, ref, err);
}

int cmd_push(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_IGNORE = 0x100 };
        static const struct option options[] = {
            {"ignore-push-failures", no_argument, NULL, ARG_IGNORE},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool quiet = false, ignore = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_IGNORE:
                        ignore = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        puts("Usage: stack push [OPTIONS] [SERVICE...]\n\n"
                             "Push the images of the project's services to their registries.\n\n"
                             "Options:\n"
                             "      --ignore-push-failures  Push what can be pushed, warn about the rest\n"
                             "  -q, --quiet                 Print nothing but errors");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("push", "invalid option");
                }
        }
        char **named = optind < argc ? strv_copy(argv + optind) : NULL;
        _cleanup_strv_free_ char **named_owned = named;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, named, &p);
        if (ret != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *s = NULL;
        if (image_store_open(g->root, &s, &err) < 0)
                return cmd_fail(&err);
        _cleanup_strv_free_ char **done = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *svc = &p->services[i];
                if ((named && !strv_contains(named, svc->name)) || !svc->image ||
                    strv_contains(done, svc->image))
                        continue;
                strv_push(&done, svc->image);
                _cleanup_error_ struct stack_error e = {0};
                if (push_one(s, svc->image, quiet, &e) < 0) {
                        if (!ignore) {
                                fprintf(stderr, "stack: service %s: %s\n", svc->name, e.msg);
                                return EXIT_ERROR;
                        }
                        log_warning("service %s: %s", svc->name, e.msg);
                }
        }
        return EXIT_OK;
}

int cmd_image_push(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool quiet = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        puts("Usage: stack image push [-q] REFERENCE\n\nPush a stored image to its "
                             "registry.");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("image push", "invalid option");
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error("image push", "expected REFERENCE");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *s = NULL;
        if (image_store_open(g->root, &s, &err) < 0 || push_one(s, argv[optind], quiet, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}
