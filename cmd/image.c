/* `stack image ...` and `stack images`: the image store from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/image/image.h"
#include "core/image/reference.h"
#include "core/base/util.h"

static void human_size(uint64_t n, char *buf, size_t len)
{
        /* docker prints decimal units ("4.26MB"). */
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
        double v = (double) n;
        size_t u = 0;
        while (v >= 1000 && u + 1 < ELEMENTSOF(units)) {
                v /= 1000;
                u++;
        }
        if (u == 0)
                snprintf(buf, len, "%lluB", (unsigned long long) n);
        else
                snprintf(buf, len, "%.3g%s", v, units[u]);
}

static const char *short_id(const char *id)
{
        const char *hex = startswith(id, "sha256:");
        return hex ? hex : id;
}

/* Splits a normalized reference into the REPOSITORY and TAG columns, in docker's familiar form. */
static void ref_columns(const char *ref, char **ret_repo, char **ret_tag)
{
        _cleanup_reference_ struct reference r = {0};
        if (!ref || reference_parse(ref, &r, NULL) < 0) {
                *ret_repo = xstrdup("<none>");
                *ret_tag = xstrdup("<none>");
                return;
        }
        *ret_repo = reference_familiar_name(&r);
        *ret_tag = xstrdup(r.tag ? r.tag : "<none>");
}

static int open_store(const struct cmd_global *g, struct image_store **ret)
{
        _cleanup_error_ struct stack_error err = {0};
        if (image_store_open(g->root, ret, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

static int image_import_cmd(struct cmd_global *g, int argc, char **argv)
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
                        printf("Usage: stack image import [--quiet] PATH [REFERENCE]\n\n"
                               "Import an OCI image layout directory, an OCI archive, a `docker save` "
                               "archive or a\n"
                               "plain rootfs tarball (gzip, zstd or uncompressed; REFERENCE required).\n");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("image import", "unknown option");
                }
        }
        if (argc - optind < 1 || argc - optind > 2)
                return cmd_usage_error("image import", "expected PATH [REFERENCE]");
        _cleanup_image_store_ struct image_store *s = NULL;
        int rc = open_store(g, &s);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_error_ struct stack_error err = {0};
        struct image **imgs = NULL;
        if (image_import(s, argv[optind], argc - optind == 2 ? argv[optind + 1] : NULL, &imgs, &err) < 0)
                return cmd_fail(&err);
        for (struct image **i = imgs; *i; i++) {
                if (quiet)
                        printf("%s\n", (*i)->id);
                else if (!(*i)->references[0])
                        printf("Loaded image ID: %s\n", (*i)->id);
                else
                        STRV_FOREACH (r, (*i)->references)
                                if (!(*i)->reference || streq(*r, (*i)->reference))
                                        printf("Loaded image: %s\n", *r);
        }
        image_list_free(imgs);
        return EXIT_OK;
}

static void print_table_header(bool with_service)
{
        if (with_service)
                printf("%-16s ", "SERVICE");
        printf("%-40s %-16s %-14s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "SIZE");
}

static void print_row(const char *service, const char *ref, const struct image *img)
{
        _cleanup_free_ char *repo = NULL, *tag = NULL;
        ref_columns(ref, &repo, &tag);
        char size[32];
        human_size(img->size, size, sizeof(size));
        if (service)
                printf("%-16s ", service);
        printf("%-40s %-16s %-14.12s %s\n", repo, tag, short_id(img->id), size);
}

static int image_ls_cmd(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            CMD_LIST_OPTION_QUIET,
            CMD_LIST_OPTION_FORMAT,
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cmd_list_options lo = {0};
        int c, k;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                if ((k = cmd_list_option("image ls", c, optarg, &lo)) < 0)
                        return EXIT_USAGE;
                if (k > 0)
                        continue;
                if (c != 'h')
                        return cmd_usage_error("image ls", "unknown option");
                printf("Usage: stack image ls [--quiet] [--format table|json]\n\nList stored images.\n");
                return EXIT_OK;
        }
        bool quiet = lo.quiet, json = lo.json;
        if (optind < argc)
                return cmd_usage_error("image ls", "unexpected argument \"%s\"", argv[optind]);
        _cleanup_image_store_ struct image_store *s = NULL;
        int rc = open_store(g, &s);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_error_ struct stack_error err = {0};
        struct image **l = NULL;
        if (image_list(s, &l, &err) < 0)
                return cmd_fail(&err);
        if (json) {
                printf("[");
                for (struct image **i = l; *i; i++) {
                        _cleanup_free_ char *doc = image_inspect_json(s, *i);
                        printf("%s%s", i == l ? "" : ",\n", doc);
                }
                printf("]\n");
        } else if (quiet) {
                for (struct image **i = l; *i; i++)
                        printf("%.12s\n", short_id((*i)->id));
        } else {
                print_table_header(false);
                for (struct image **i = l; *i; i++) {
                        if (!(*i)->references[0])
                                print_row(NULL, NULL, *i);
                        STRV_FOREACH (r, (*i)->references)
                                print_row(NULL, *r, *i);
                }
        }
        image_list_free(l);
        return EXIT_OK;
}

static int image_inspect_cmd(struct cmd_global *g, int argc, char **argv)
{
        if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                printf("Usage: stack image inspect REFERENCE...\n\nShow images as JSON.\n");
                return EXIT_OK;
        }
        if (argc < 2)
                return cmd_usage_error("image inspect", "expected REFERENCE");
        _cleanup_image_store_ struct image_store *s = NULL;
        int rc = open_store(g, &s);
        if (rc != EXIT_OK)
                return rc;
        struct strbuf out = {0};
        strbuf_puts(&out, "[");
        for (int i = 1; i < argc; i++) {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_image_ struct image *img = NULL;
                if (image_lookup(s, argv[i], &img, &err) < 0) {
                        strbuf_free(&out);
                        return cmd_fail(&err);
                }
                _cleanup_free_ char *doc = image_inspect_json(s, img);
                strbuf_printf(&out, "%s%s", i == 1 ? "" : ",\n", doc);
        }
        strbuf_puts(&out, "]\n");
        fputs(out.buf, stdout);
        strbuf_free(&out);
        return EXIT_OK;
}

static int image_rm_cmd(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct image_remove_options o = {.run_root = g->run_root};
        int c;
        while ((c = getopt_long(argc, argv, "fh", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        o.force = true;
                        break;
                case 'h':
                        printf(
                            "Usage: stack image rm [--force] REFERENCE...\n\n"
                            "Untag images and remove those left without a name. An image a container uses\n"
                            "is not removed.\n");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("image rm", "unknown option");
                }
        }
        if (optind >= argc)
                return cmd_usage_error("image rm", "expected REFERENCE");
        _cleanup_image_store_ struct image_store *s = NULL;
        int rc = open_store(g, &s);
        if (rc != EXIT_OK)
                return rc;
        int ret = EXIT_OK;
        for (int i = optind; i < argc; i++) {
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_strv_free_ char **untagged = NULL;
                _cleanup_free_ char *deleted = NULL;
                if (image_remove(s, argv[i], &o, &untagged, &deleted, &err) < 0) {
                        ret = cmd_fail(&err);
                        continue;
                }
                STRV_FOREACH (u, untagged)
                        printf("Untagged: %s\n", *u);
                if (deleted)
                        printf("Deleted: %s\n", deleted);
        }
        return ret;
}

static int image_tag_cmd(struct cmd_global *g, int argc, char **argv)
{
        if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                printf("Usage: stack image tag SOURCE TARGET\n\nGive a stored image another name.\n");
                return EXIT_OK;
        }
        if (argc != 3)
                return cmd_usage_error("image tag", "expected SOURCE TARGET");
        _cleanup_image_store_ struct image_store *s = NULL;
        int rc = open_store(g, &s);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_ struct image *img = NULL;
        if (image_lookup(s, argv[1], &img, &err) < 0 || image_tag(s, img->id, argv[2], &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

static void image_usage(FILE *f)
{
        fputs("Usage: stack image COMMAND\n"
              "\n"
              "Manage the image store.\n"
              "\n"
              "Commands:\n"
              "  import PATH [REF]  Import an OCI layout or archive, a docker save archive or a rootfs "
              "tarball\n"
              "  ls                 List images\n"
              "  inspect REF...     Show images as JSON\n"
              "  rm REF...          Remove images\n"
              "  tag SRC DST        Name an image\n"
              "  pull REF           Pull an image from its registry\n"
              "  push REF           Push an image to its registry\n",
              f);
}

int cmd_image(struct cmd_global *g, int argc, char **argv)
{
        if (argc < 2) {
                image_usage(stderr);
                return EXIT_USAGE;
        }
        const char *sub = argv[1];
        if (streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
                image_usage(stdout);
                return EXIT_OK;
        }
        /* The subcommand parses its own options from a fresh getopt state. */
        optind = 0;
        if (streq(sub, "import") || streq(sub, "load"))
                return image_import_cmd(g, argc - 1, argv + 1);
        if (streq(sub, "ls") || streq(sub, "list"))
                return image_ls_cmd(g, argc - 1, argv + 1);
        if (streq(sub, "inspect"))
                return image_inspect_cmd(g, argc - 1, argv + 1);
        if (streq(sub, "rm") || streq(sub, "remove"))
                return image_rm_cmd(g, argc - 1, argv + 1);
        if (streq(sub, "tag"))
                return image_tag_cmd(g, argc - 1, argv + 1);
        if (streq(sub, "pull"))
                return cmd_image_pull(g, argc - 1, argv + 1);
        if (streq(sub, "push"))
                return cmd_image_push(g, argc - 1, argv + 1);
        fprintf(stderr, "stack image: unknown command \"%s\"\n", sub);
        image_usage(stderr);
        return EXIT_USAGE;
}

int cmd_images(struct cmd_global *g, int argc, char **argv)
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
                        printf("Usage: stack images [--quiet] [SERVICE...]\n\n"
                               "List the images the project's services use.\n");
                        return EXIT_OK;
                default:
                        return cmd_usage_error("images", "unknown option");
                }
        }
        _cleanup_project_ struct stack_project *p = NULL;
        int rc = cmd_load_project(g, argv + optind, &p);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_image_store_ struct image_store *s = NULL;
        _cleanup_error_ struct stack_error open_err = {0};
        if (image_store_open_readonly(g->root, &s, &open_err) < 0)
                return cmd_fail(&open_err);
        if (!quiet)
                print_table_header(true);
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *svc = &p->services[i];
                if (optind < argc && !strv_contains(argv + optind, svc->name))
                        continue;
                if (isempty(svc->image))
                        continue;
                _cleanup_error_ struct stack_error err = {0};
                _cleanup_image_ struct image *img = NULL;
                if (image_lookup(s, svc->image, &img, &err) < 0) {
                        if (err.code != ENOENT)
                                return cmd_fail(&err);
                        if (!quiet)
                                printf("%-16s %-40s %-16s %-14s %s\n", svc->name, svc->image, "",
                                       "<missing>", "");
                        continue;
                }
                if (quiet)
                        printf("%s\n", img->id);
                else
                        print_row(svc->name, img->reference, img);
        }
        return EXIT_OK;
}
