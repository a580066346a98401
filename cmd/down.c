/* stack down: stop and remove the project's containers and networks (volumes with -v, images with --rmi),
 * from the compose file or, when it is gone, from stack's records. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/state.h"
#include "core/image/image.h"

#define USEC_PER_SEC 1000000ULL

/* The images `down --rmi` removes. `all`: every image a service of the project uses (from the file, and
 * from the records of its containers when the file is gone). `local`: compose's images built for a
 * service without an `image:` name; stack does not build, so there are none. */
static char **rmi_images(const struct cmd_global *g, const char *project, const struct stack_project *p,
                         bool all)
{
        char **refs = NULL;
        if (!all)
                return refs;
        for (size_t i = 0; p && i < p->n_services; i++)
                if (!isempty(p->services[i].image) && !strv_contains(refs, p->services[i].image))
                        strv_push(&refs, p->services[i].image);
        struct status_config sc = cmd_status_config(g);
        _cleanup_project_status_ struct project_status st = {0};
        if (status_project(&sc, project, &st, NULL) >= 0)
                for (size_t i = 0; i < st.n; i++)
                        if (!isempty(st.containers[i].image) && !strv_contains(refs, st.containers[i].image))
                                strv_push(&refs, st.containers[i].image);
        return refs;
}

/* Removes the images once the containers are gone; one still used by another project's container stays,
 * with a warning, as compose leaves an image in use. */
static int rmi_remove(const struct cmd_global *g, const struct reconcile_config *cfg, char **refs)
{
        if (!refs)
                return EXIT_OK;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_image_store_ struct image_store *s = NULL;
        if (image_store_open(g->root, &s, &err) < 0)
                return cmd_fail(&err);
        int ret = EXIT_OK;
        STRV_FOREACH (r, refs) {
                _cleanup_error_ struct stack_error e = {0};
                _cleanup_strv_free_ char **untagged = NULL;
                _cleanup_free_ char *deleted = NULL;
                struct image_remove_options o = {.run_root = cfg->run_root};
                int k = image_remove(s, *r, &o, &untagged, &deleted, &e);
                if (k == -ENOENT)
                        continue;
                if (k == -EBUSY)
                        log_warning("image %s is kept: %s", *r, e.msg);
                else if (k < 0)
                        ret = cmd_fail(&e);
                else
                        progress_line(cfg->events, "Image", *r, "Removed");
        }
        return ret;
}

static const char down_usage[] =
    "Usage: stack down [OPTIONS]\n"
    "\n"
    "Stop and remove containers, networks (and with -v, volumes).\n"
    "Works from the compose file or, when it is gone, from stack's records (-p NAME).\n"
    "\n"
    "Options:\n"
    "  -v, --volumes          Remove named volumes declared in the file and anonymous ones\n"
    "      --remove-orphans   Remove containers for services not defined in the file\n"
    "      --rmi local|all    Also remove images: all used by services, or only local ones\n"
    "                         (built without an image name: none, stack does not build)\n"
    "  -t, --timeout SECONDS  Shutdown timeout\n"
    "      --dry-run          Print the plan and change nothing\n"
    "  -h, --help             Show this help";

struct down_args {
        struct plan_options plan;
        int timeout;
        const char *rmi;
};

/* Returns -1 to go on, else the exit code. */
static int down_parse(struct cmd_global *g, int argc, char **argv, struct down_args *a)
{
        enum { ARG_REMOVE_ORPHANS = 0x100, ARG_RMI, ARG_DRY_RUN };
        static const struct option options[] = {
            {"volumes", no_argument, NULL, 'v'},
            {"remove-orphans", no_argument, NULL, ARG_REMOVE_ORPHANS},
            {"rmi", required_argument, NULL, ARG_RMI},
            {"timeout", required_argument, NULL, 't'},
            {"dry-run", no_argument, NULL, ARG_DRY_RUN},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "vt:h", options, NULL)) >= 0) {
                switch (c) {
                case 'v':
                        a->plan.remove_volumes = true;
                        break;
                case ARG_REMOVE_ORPHANS:
                        a->plan.remove_orphans = true;
                        break;
                case ARG_RMI:
                        if (!streq(optarg, "local") && !streq(optarg, "all"))
                                return cmd_usage_error("down", "--rmi: expected local or all");
                        a->rmi = optarg;
                        break;
                case 't':
                        if (cmd_parse_int("down", "--timeout", optarg, &a->timeout) != 0)
                                return EXIT_USAGE;
                        break;
                case ARG_DRY_RUN:
                        g->dry_run = true;
                        break;
                case 'h':
                        puts(down_usage);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("down", "invalid option");
                }
        }
        if (optind < argc)
                return cmd_usage_error("down", "unexpected argument \"%s\"", argv[optind]);
        return -1;
}

int cmd_down(struct cmd_global *g, int argc, char **argv)
{
        struct down_args a = {.plan = {.down = true, .max_orphans = -1}, .timeout = -1};
        int ret = down_parse(g, argc, argv, &a);
        if (ret >= 0)
                return ret;
        _cleanup_project_ struct stack_project *p = NULL;
        const char *name = g->project_name;
        if (g->files || !name) {
                if ((ret = cmd_load_project(g, NULL, &p)) != EXIT_OK)
                        return ret;
                name = p->name;
        } else
                cmd_load_project_quiet(g, name, &p); /* -p NAME: the file may be gone; the records know */
        struct reconcile_config cfg = cmd_reconcile_config(g);
        if (a.timeout >= 0)
                cfg.stop_timeout_usec = (int64_t) a.timeout * (int64_t) USEC_PER_SEC;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_close_ int lock = -1;
        if (!cfg.dry_run && state_lock_project(g->run_root, name, &lock, &err) < 0)
                return cmd_fail(&err);
        _cleanup_strv_free_ char **images = a.rmi ? rmi_images(g, name, p, streq(a.rmi, "all")) : NULL;
        if (reconcile_down(&cfg, name, p, &a.plan, &err) < 0)
                return cmd_fail(&err);
        if (cfg.dry_run) {
                STRV_FOREACH (r, images)
                        printf("remove image %s\n", *r);
                return EXIT_OK;
        }
        return rmi_remove(g, &cfg, images);
}
