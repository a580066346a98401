/* `stack build`, and the building `up` does before it starts anything. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/build/builder.h"
#include "core/build/dockerfile.h"
#include "core/image/image.h"
#include "core/runtime/container.h"

static void build_usage(void)
{
        printf("Usage: stack build [OPTIONS] [SERVICE...]\n"
               "\n"
               "Build or rebuild services\n"
               "\n"
               "Options:\n"
               "      --build-arg K=V         Set a build-time variable (repeatable)\n"
               "      --check                 Check the Dockerfiles without building\n"
               "      --no-cache              Do not use the step cache\n"
               "      --pull                  Always look for a newer base image\n"
               "  -q, --quiet                 Print only the image IDs\n"
               "      --with-dependencies     Also build the services the named ones depend on\n"
               "  -h, --help                  Show this help\n");
}

static void add_with_dependencies(const struct stack_project *p, const char *name, char ***l)
{
        if (strv_contains(*l, name))
                return;
        strv_push(l, name);
        const struct stack_service *s = stack_project_service(p, name);
        for (size_t i = 0; s && i < s->n_depends_on; i++)
                add_with_dependencies(p, s->depends_on[i].service, l);
}

/* Parses a service's Dockerfile without building: what --check reports. */
static int check_service(const struct stack_service *s, struct stack_error *err)
{
        const struct stack_build *b = &s->build;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *path = NULL;
        if (b->dockerfile_inline)
                text = xstrdup(b->dockerfile_inline);
        else {
                path = b->dockerfile && b->dockerfile[0] == '/'
                           ? xstrdup(b->dockerfile)
                           : path_join(b->context, b->dockerfile ? b->dockerfile : "Dockerfile");
                int r = read_full_file(path, &text, NULL, err);
                if (r < 0)
                        return stack_error_prefix(err, "service '%s'", s->name);
        }
        _cleanup_dockerfile_ struct dockerfile *df = NULL;
        int r = dockerfile_parse(text, path ? path : "Dockerfile", &df, err);
        if (r < 0)
                return stack_error_prefix(err, "service '%s'", s->name);
        if (b->target && dockerfile_find_stage(df, b->target) < 0)
                return stack_error_set(err, ENOENT, "service '%s': target stage \"%s\" could not be found",
                                       s->name, b->target);
        return 0;
}

int cmd_build_services(const struct cmd_global *g, const struct stack_project *p, char *const *services,
                       const struct cmd_build_options *o)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *store = NULL;
        struct container_host *host = NULL;
        if (image_store_open(g->root, &store, &err) < 0)
                return cmd_fail(&err);
        int ret = EXIT_OK;
        for (size_t i = 0; i < p->n_services && ret == EXIT_OK; i++) {
                const struct stack_service *s = &p->services[i];
                if (!s->build.present || (services && !strv_contains(services, s->name)))
                        continue;
                if (o->only_missing && !(s->pull_policy && streq(s->pull_policy, "build"))) {
                        _cleanup_image_ struct image *img = NULL;
                        if (image_lookup(store, s->image, &img, &err) >= 0)
                                continue;
                        stack_error_clear(&err);
                }
                if (!host && container_host_new(g->root, g->run_root, g->runtime, &host, &err) < 0)
                        return cmd_fail(&err);
                struct builder_options bo = {
                    .no_cache = o->no_cache,
                    .pull = o->pull,
                    .build_args = o->build_args,
                    .progress = o->quiet ? NULL : stderr,
                };
                _cleanup_free_ char *id = NULL;
                if (!o->quiet)
                        fprintf(stderr, "Building %s\n", s->name);
                if (builder_build_service(store, host, p, s, &bo, &id, &err) < 0)
                        ret = cmd_fail(&err);
                else if (o->quiet)
                        printf("%s\n", id);
        }
        if (host)
                container_host_free(host);
        return ret;
}

int cmd_build_image(void *userdata, const struct stack_service *svc, struct stack_error *err)
{
        const struct cmd_build_context *c = userdata;
        _cleanup_image_store_ struct image_store *store = NULL;
        struct container_host *host = NULL;
        int r = image_store_open(c->g->root, &store, err);
        if (r < 0)
                return r;
        r = container_host_new(c->g->root, c->g->run_root, c->g->runtime, &host, err);
        if (r < 0)
                return r;
        struct builder_options bo = {.progress = stderr};
        _cleanup_free_ char *id = NULL;
        fprintf(stderr, "Building %s\n", svc->name);
        r = builder_build_service(store, host, c->p, svc, &bo, &id, err);
        container_host_free(host);
        return r;
}

int cmd_build(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_BUILD_ARG = 0x100, ARG_CHECK, ARG_NO_CACHE, ARG_PULL, ARG_WITH_DEPS };
        static const struct option options[] = {
            {"build-arg", required_argument, NULL, ARG_BUILD_ARG},
            {"check", no_argument, NULL, ARG_CHECK},
            {"no-cache", no_argument, NULL, ARG_NO_CACHE},
            {"pull", no_argument, NULL, ARG_PULL},
            {"quiet", no_argument, NULL, 'q'},
            {"with-dependencies", no_argument, NULL, ARG_WITH_DEPS},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct stack_kvlist args = {0};
        struct cmd_build_options o = {.build_args = &args};
        bool check = false, with_deps = false;
        int c;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_BUILD_ARG: {
                        const char *eq = strchr(optarg, '=');
                        _cleanup_free_ char *k =
                            eq ? xstrndup(optarg, (size_t) (eq - optarg)) : xstrdup(optarg);
                        /* --build-arg NAME alone takes the value from the environment, as docker. */
                        const char *v = eq ? eq + 1 : getenv(k);
                        if (!*k) {
                                stack_kvlist_free(&args);
                                return cmd_usage_error(
                                    "build", "--build-arg: expected KEY=VALUE, got \"%s\"", optarg);
                        }
                        if (v)
                                stack_kvlist_set(&args, k, v);
                        break;
                }
                case ARG_CHECK:
                        check = true;
                        break;
                case ARG_NO_CACHE:
                        o.no_cache = true;
                        break;
                case ARG_PULL:
                        o.pull = true;
                        break;
                case 'q':
                        o.quiet = true;
                        break;
                case ARG_WITH_DEPS:
                        with_deps = true;
                        break;
                case 'h':
                        build_usage();
                        stack_kvlist_free(&args);
                        return EXIT_OK;
                default:
                        stack_kvlist_free(&args);
                        return cmd_usage_error("build", "invalid option");
                }
        }
        char **named = optind < argc ? strv_copy(argv + optind) : NULL;
        _cleanup_strv_free_ char **named_owned = named;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, named, &p);
        if (ret != EXIT_OK) {
                stack_kvlist_free(&args);
                return ret;
        }
        _cleanup_strv_free_ char **services = NULL;
        if (named) {
                services = xcalloc(1, sizeof(char *));
                STRV_FOREACH (n, named) {
                        if (with_deps)
                                add_with_dependencies(p, *n, &services);
                        else
                                strv_push(&services, *n);
                }
        }
        size_t n_build = 0;
        for (size_t i = 0; i < p->n_services; i++)
                if (p->services[i].build.present &&
                    (!services || strv_contains(services, p->services[i].name)))
                        n_build++;
        if (n_build == 0) {
                fprintf(stderr, "stack: no service to build: none of %s has a build: section\n",
                        named ? "the named services" : "the project's services");
                stack_kvlist_free(&args);
                return EXIT_ERROR;
        }
        if (check) {
                _cleanup_error_ struct stack_error err = {0};
                for (size_t i = 0; i < p->n_services && ret == EXIT_OK; i++) {
                        const struct stack_service *s = &p->services[i];
                        if (!s->build.present || (services && !strv_contains(services, s->name)))
                                continue;
                        if (check_service(s, &err) < 0)
                                ret = cmd_fail(&err);
                        else if (!o.quiet)
                                printf("%s: Dockerfile OK\n", s->name);
                }
                stack_kvlist_free(&args);
                return ret;
        }
        ret = cmd_build_services(g, p, services, &o);
        stack_kvlist_free(&args);
        return ret;
}
