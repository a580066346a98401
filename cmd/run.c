/* stack run: a one-off container of a service (core/engine/run.h), its dependencies started first. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/images.h"
#include "core/engine/run.h"
#include "core/engine/state.h"
#include "core/image/image.h"

static const char run_usage[] =
    "Usage: stack run [OPTIONS] SERVICE [COMMAND] [ARGS...]\n"
    "\n"
    "Run a one-off command on a service, in a new container named <project>-<service>-run-<id>.\n"
    "\n"
    "Options:\n"
    "      --cap-add CAP        Add a Linux capability (repeatable)\n"
    "      --cap-drop CAP       Drop a Linux capability (repeatable)\n"
    "  -d, --detach             Run the container in the background and print its name\n"
    "      --entrypoint CMD     Override the image's entrypoint\n"
    "  -e, --env KEY[=VALUE]    Set an environment variable (repeatable; KEY alone passes ours)\n"
    "  -l, --label KEY=VALUE    Add or override a label (repeatable)\n"
    "      --name NAME          Name the container\n"
    "      --no-deps            Don't start the services it depends on\n"
    "  -p, --publish [IP:][HOST:]PORT[/PROTO]  Publish a container port (repeatable)\n"
    "      --rm                 Remove the container when it exits\n"
    "      --service-ports      Publish the service's ports (not published otherwise)\n"
    "  -T, --no-TTY             Do not allocate a pseudo-terminal (the default when stdin is not one)\n"
    "  -u, --user USER          Run as this user (name or uid, with an optional :group)\n"
    "  -w, --workdir DIR        Working directory inside the container\n"
    "  -h, --help               Show this help\n"
    "\n"
    "Not supported yet (refused): -v/--volume, --build, --pull, --use-aliases, --rm with -d.";

enum {
        ARG_RM = 0x100,
        ARG_NAME,
        ARG_SERVICE_PORTS,
        ARG_ENTRYPOINT,
        ARG_NO_DEPS,
        ARG_CAP_ADD,
        ARG_CAP_DROP,
        ARG_UNSUPPORTED,
};

static const struct option run_options[] = {
    {"rm", no_argument, NULL, ARG_RM},
    {"detach", no_argument, NULL, 'd'},
    {"name", required_argument, NULL, ARG_NAME},
    {"env", required_argument, NULL, 'e'},
    {"user", required_argument, NULL, 'u'},
    {"workdir", required_argument, NULL, 'w'},
    {"label", required_argument, NULL, 'l'},
    {"service-ports", no_argument, NULL, ARG_SERVICE_PORTS},
    {"entrypoint", required_argument, NULL, ARG_ENTRYPOINT},
    {"no-deps", no_argument, NULL, ARG_NO_DEPS},
    {"no-TTY", no_argument, NULL, 'T'},
    {"no-tty", no_argument, NULL, 'T'},
    {"cap-add", required_argument, NULL, ARG_CAP_ADD},
    {"cap-drop", required_argument, NULL, ARG_CAP_DROP},
    {"volume", required_argument, NULL, 'v'},
    {"publish", required_argument, NULL, 'p'},
    {"build", no_argument, NULL, ARG_UNSUPPORTED},
    {"pull", required_argument, NULL, ARG_UNSUPPORTED},
    {"use-aliases", no_argument, NULL, ARG_UNSUPPORTED},
    {"help", no_argument, NULL, 'h'},
    {},
};

struct run_args {
        struct run_overrides o;
        const char *name;
        bool rm, detach, no_deps, no_tty;
};

static void run_args_done(struct run_args *a)
{
        strv_free(a->o.env);
        strv_free(a->o.labels);
        strv_free(a->o.cap_add);
        strv_free(a->o.cap_drop);
        strv_free(a->o.publish);
}

/* The options with a value. Returns 1 when c is one of them, 0 when not. */
static int run_value(int c, struct run_args *a)
{
        switch (c) {
        case 'e':
                strv_push(&a->o.env, optarg);
                return 1;
        case 'l':
                strv_push(&a->o.labels, optarg);
                return 1;
        case 'u':
                a->o.user = optarg;
                return 1;
        case 'w':
                a->o.workdir = optarg;
                return 1;
        case ARG_NAME:
                a->name = optarg;
                return 1;
        case ARG_ENTRYPOINT:
                a->o.entrypoint = optarg;
                return 1;
        case ARG_CAP_ADD:
                strv_push(&a->o.cap_add, optarg);
                return 1;
        case ARG_CAP_DROP:
                strv_push(&a->o.cap_drop, optarg);
                return 1;
        }
        return 0;
}

/* Returns -1 to go on, else the exit code. */
static int run_parse(int argc, char **argv, struct run_args *a)
{
        int c, longi = -1;
        /* "+": the options end at SERVICE; what follows is the command's. */
        while ((c = getopt_long(argc, argv, "+de:u:w:l:v:p:Th", run_options, &longi)) >= 0) {
                if (run_value(c, a))
                        continue;
                switch (c) {
                case ARG_RM:
                        a->rm = true;
                        break;
                case 'd':
                        a->detach = true;
                        break;
                case ARG_SERVICE_PORTS:
                        a->o.service_ports = true;
                        break;
                case ARG_NO_DEPS:
                        a->no_deps = true;
                        break;
                case 'T':
                        a->no_tty = true;
                        break;
                case 'p':
                        strv_push(&a->o.publish, optarg);
                        break;
                case 'v':
                        return cmd_usage_error("run", "-v is not supported yet");
                case ARG_UNSUPPORTED:
                        return cmd_usage_error("run", "--%s is not supported yet", run_options[longi].name);
                case 'h':
                        puts(run_usage);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("run", "invalid option");
                }
        }
        if (optind >= argc)
                return cmd_usage_error("run", "requires a SERVICE");
        if (a->rm && a->detach)
                return cmd_usage_error("run", "--rm with --detach is not supported yet");
        return -1;
}

/* The service's image (and with its dependencies theirs) present, as `up` makes them: built where the
 * service builds, else pulled by pull_policy. */
static int run_images(const struct cmd_global *g, const struct stack_project *p, char **services, bool deps,
                      struct stack_error *err)
{
        struct cmd_build_context bctx = {.g = g, .p = p};
        struct images_options io = {
            .services = services,
            .include_deps = deps,
            .parallel = g->parallel,
            .registry.progress = streq(g->progress, "quiet") ? NULL : cmd_pull_progress,
            .build = cmd_build_image,
            .build_userdata = &bctx,
        };
        _cleanup_image_store_ struct image_store *s = NULL;
        int k = image_store_open(g->root, &s, err);
        return k < 0 ? k : images_ensure(s, p, &io, err);
}

/* The services it depends on, brought up as `up SERVICE...` would, then waited on where their
 * condition asks for more than being started. */
static int run_deps(const struct reconcile_config *cfg, const struct stack_project *p,
                    const struct stack_service *s, struct stack_error *err)
{
        _cleanup_strv_free_ char **deps = xcalloc(1, sizeof(char *));
        _cleanup_strv_free_ char **wait = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < s->n_depends_on; i++) {
                if (!stack_project_service(p, s->depends_on[i].service))
                        continue; /* optional and disabled by profiles */
                strv_push(&deps, s->depends_on[i].service);
                if (s->depends_on[i].condition != STACK_DEP_STARTED)
                        strv_push(&wait, s->depends_on[i].service);
        }
        if (!deps[0])
                return 0;
        struct plan_options o = {.services = deps, .max_orphans = -1};
        {
                _cleanup_close_ int lock = -1;
                int k = state_lock_project(cfg->run_root, p->name, &lock, err);
                if (k >= 0)
                        k = reconcile_up(cfg, p, &o, err);
                if (k < 0)
                        return k;
        }
        return wait[0] ? reconcile_wait_ready(cfg, p, wait, 0, err) : 0;
}

int cmd_run(struct cmd_global *g, int argc, char **argv)
{
        _cleanup_(run_args_done) struct run_args a = {0};
        int ret = run_parse(argc, argv, &a);
        if (ret >= 0)
                return ret;
        const char *service = argv[optind];
        _cleanup_strv_free_ char **command = optind + 1 < argc ? strv_copy(argv + optind + 1) : NULL;
        a.o.command = command;
        char *services[] = {(char *) service, NULL};
        _cleanup_project_ struct stack_project *p = NULL;
        if ((ret = cmd_load_project(g, services, &p)) != EXIT_OK ||
            (ret = cmd_check_services("run", p, NULL, services)) != EXIT_OK)
                return ret;
        _cleanup_error_ struct stack_error err = {0};
        struct run_project *rp = NULL;
        if (run_project_new(p, service, &a.o, &rp, &err) < 0)
                return cmd_usage_error("run", "%s", err.msg);
        _cleanup_free_ char *name = a.name ? xstrdup(a.name) : run_container_name(p->name, service);
        struct run_request rq = {
            .project = run_project_get(rp),
            .service = service,
            .name = name,
            .detach = a.detach,
            /* As compose: a terminal unless -T or -d, and only when ours is one. */
            .tty = !a.no_tty && !a.detach && isatty(STDIN_FILENO),
            .stdio = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO},
        };
        struct reconcile_config cfg = cmd_reconcile_config(g);
        int k = run_images(g, rq.project, services, !a.no_deps, &err);
        if (k >= 0 && !a.no_deps)
                k = run_deps(&cfg, p, stack_project_service(p, service), &err);
        if (k >= 0)
                k = run_create(&cfg, &rq, &err);
        int code = EXIT_ERROR;
        if (k >= 0 && a.detach) {
                puts(name);
                code = EXIT_OK;
        } else if (k >= 0 && run_foreground(&cfg, &rq, &code, &err) < 0) {
                fprintf(stderr, "stack run: %s\n", err.msg);
                stack_error_clear(&err);
        }
        if (k < 0)
                cmd_fail(&err);
        /* --rm: whatever got made goes, a create that failed half-way included. */
        if (a.rm) {
                stack_error_clear(&err);
                if (run_remove(&cfg, rq.project, name, &err) < 0 && cmd_fail(&err) && code == EXIT_OK)
                        code = EXIT_ERROR;
        }
        run_project_free(rp);
        return code;
}
