/* `stack pull` (a project's images) and `stack image pull REF`. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/images.h"
#include "core/image/registry.h"

/* Plain progress lines as compose prints them when not on a terminal: " <id> <status>". */
void cmd_pull_progress(void *userdata, const char *id, const char *status)
{
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&lock);
        fprintf(stderr, " %s %s\n", id, status);
        pthread_mutex_unlock(&lock);
}

static void pull_usage(void)
{
        fputs("Usage: stack pull [OPTIONS] [SERVICE...]\n"
              "\n"
              "Pull the images of the project's services.\n"
              "\n"
              "Options:\n"
              "      --ignore-pull-failures  Pull what can be pulled, warn about the rest\n"
              "      --include-deps          Also pull the services the named ones depend on\n"
              "      --policy POLICY         missing (only absent images) or always (default)\n"
              "      --platform PLATFORM     Pull for this platform (os/arch[/variant])\n"
              "  -q, --quiet                 Print nothing but errors\n",
              stdout);
}

int cmd_pull(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_IGNORE = 0x100, ARG_DEPS, ARG_POLICY, ARG_PLATFORM };
        static const struct option options[] = {
            {"ignore-pull-failures", no_argument, NULL, ARG_IGNORE},
            {"include-deps", no_argument, NULL, ARG_DEPS},
            {"policy", required_argument, NULL, ARG_POLICY},
            {"platform", required_argument, NULL, ARG_PLATFORM},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct images_options o = {.policy = "always", .parallel = g->parallel};
        bool quiet = false, deps = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_IGNORE:
                        o.ignore_failures = true;
                        break;
                case ARG_DEPS:
                        deps = true;
                        break;
                case ARG_POLICY:
                        if (!streq(optarg, "missing") && !streq(optarg, "always"))
                                return cmd_usage_error(
                                    "pull", "--policy: expected missing or always, got \"%s\"", optarg);
                        o.policy = optarg;
                        break;
                case ARG_PLATFORM:
                        o.platform = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        pull_usage();
                        return EXIT_OK;
                default:
                        return cmd_usage_error("pull", "invalid option");
                }
        }
        char **named = optind < argc ? strv_copy(argv + optind) : NULL;
        _cleanup_strv_free_ char **named_owned = named;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, named, &p);
        if (ret != EXIT_OK)
                return ret;
        STRV_FOREACH (s, named)
                if (!stack_project_service(p, *s)) {
                        fprintf(stderr, "stack pull: no such service: %s\n", *s);
                        return EXIT_ERROR;
                }
        o.services = named;
        o.include_deps = deps;
        if (!quiet && !streq(g->progress, "quiet"))
                o.registry.progress = cmd_pull_progress;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *s = NULL;
        if (image_store_open(g->root, &s, &err) < 0 || images_ensure(s, p, &o, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

int cmd_image_pull(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_PLATFORM = 0x100 };
        static const struct option options[] = {
            {"platform", required_argument, NULL, ARG_PLATFORM},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *platform = NULL;
        bool quiet = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_PLATFORM:
                        platform = optarg;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        puts("Usage: stack image pull [--platform PLATFORM] [-q] REFERENCE\n\n"
                             "Pull an image from its registry into the store.");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("image pull", "invalid option");
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error("image pull", "expected REFERENCE");
        struct registry_options ro = {.progress = quiet ? NULL : cmd_pull_progress};
        _cleanup_registry_client_ struct registry_client *rc = registry_client_new(&ro);
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *s = NULL;
        _cleanup_image_ struct image *img = NULL;
        if (image_store_open(g->root, &s, &err) < 0 ||
            registry_pull(rc, s, argv[optind], platform, &img, &err) < 0)
                return cmd_fail(&err);
        /* As docker: the digest on stderr, the reference on stdout (all that -q prints). */
        if (!quiet && img->repo_digests && img->repo_digests[0])
                fprintf(stderr, "Digest: %s\n", strchr(img->repo_digests[0], '@') + 1);
        printf("%s\n", img->reference);
        return EXIT_OK;
}
