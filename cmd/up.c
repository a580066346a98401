/* stack up: bring the project to what the file says, then wait for it (--wait), leave it (-d) or follow
 * its output until Ctrl-C or a container's exit (attached), stopping it on the way out. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "core/engine/images.h"
#include "core/image/image.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/options.h"
#include "core/engine/state.h"
#include "core/engine/stop.h"

#define USEC_PER_SEC 1000000ULL

static const char up_usage[] =
    "Usage: stack up [OPTIONS] [SERVICE...]\n"
    "\n"
    "Create and start containers.\n"
    "\n"
    "Options:\n"
    "      --build                  Build images before starting containers\n"
    "      --no-build               Do not build images, even when missing\n"
    "  -d, --detach                 Run containers in the background\n"
    "      --wait                   Wait for services to be running|healthy (implies -d)\n"
    "      --wait-timeout SECONDS   Maximum duration to wait for the project to be running|healthy\n"
    "      --remove-orphans         Remove containers for services not defined in the file\n"
    "      --max-orphans N          Keep at most N orphans, removing the oldest ($STACK_MAX_ORPHANS,\n"
    "                               x-stack.max_orphans; default 3)\n"
    "      --force-recreate         Recreate containers even if nothing changed\n"
    "      --no-recreate            Don't recreate containers that exist\n"
    "      --always-recreate-deps   Recreate dependent containers\n"
    "      --no-deps                Don't start linked services\n"
    "      --no-start               Don't start the services after creating them\n"
    "      --scale SERVICE=NUM      Scale SERVICE to NUM instances (overrides scale:)\n"
    "  -t, --timeout SECONDS        Shutdown timeout when stopping containers\n"
    "      --abort-on-container-exit     Stop all containers if any container was stopped\n"
    "      --abort-on-container-failure  Stop all containers if any container exited with failure\n"
    "      --exit-code-from SERVICE Return the exit code of the selected service container\n"
    "      --no-log-prefix          Don't print prefix in logs\n"
    "      --dry-run                Print the plan and change nothing\n"
    "      --pull always|missing|never  Pull images before starting (default: each pull_policy)\n"
    "      --quiet-pull             Pull without printing progress\n"
    "      --watch                  Watch the develop.watch rules while attached (see stack watch)\n"
    "  -h, --help                   Show this help";

struct up_args {
        struct plan_options plan;
        bool detach, wait, abort_exit, abort_failure, remove_orphans, build, no_build, watch;
        int wait_timeout, timeout, max_orphans;
        const char *exit_from;
        char **scales;
        struct cmd_log_printer printer;
        struct images_options images;
};

enum {
        ARG_WAIT = 0x100,
        ARG_WAIT_TIMEOUT,
        ARG_REMOVE_ORPHANS,
        ARG_MAX_ORPHANS,
        ARG_FORCE_RECREATE,
        ARG_NO_RECREATE,
        ARG_ALWAYS_RECREATE_DEPS,
        ARG_NO_DEPS,
        ARG_NO_START,
        ARG_SCALE,
        ARG_ABORT_EXIT,
        ARG_ABORT_FAILURE,
        ARG_EXIT_CODE_FROM,
        ARG_NO_LOG_PREFIX,
        ARG_DRY_RUN,
        ARG_NO_COLOR,
        ARG_BUILD,
        ARG_NO_BUILD,
        ARG_PULL,
        ARG_QUIET_PULL,
        ARG_WATCH,
};

static const struct option up_options[] = {
    {"detach", no_argument, NULL, 'd'},
    {"wait", no_argument, NULL, ARG_WAIT},
    {"wait-timeout", required_argument, NULL, ARG_WAIT_TIMEOUT},
    {"remove-orphans", no_argument, NULL, ARG_REMOVE_ORPHANS},
    {"max-orphans", required_argument, NULL, ARG_MAX_ORPHANS},
    {"force-recreate", no_argument, NULL, ARG_FORCE_RECREATE},
    {"no-recreate", no_argument, NULL, ARG_NO_RECREATE},
    {"always-recreate-deps", no_argument, NULL, ARG_ALWAYS_RECREATE_DEPS},
    {"no-deps", no_argument, NULL, ARG_NO_DEPS},
    {"no-start", no_argument, NULL, ARG_NO_START},
    {"scale", required_argument, NULL, ARG_SCALE},
    {"timeout", required_argument, NULL, 't'},
    {"abort-on-container-exit", no_argument, NULL, ARG_ABORT_EXIT},
    {"abort-on-container-failure", no_argument, NULL, ARG_ABORT_FAILURE},
    {"exit-code-from", required_argument, NULL, ARG_EXIT_CODE_FROM},
    {"no-log-prefix", no_argument, NULL, ARG_NO_LOG_PREFIX},
    {"dry-run", no_argument, NULL, ARG_DRY_RUN},
    {"no-color", no_argument, NULL, ARG_NO_COLOR},
    {"build", no_argument, NULL, ARG_BUILD},
    {"no-build", no_argument, NULL, ARG_NO_BUILD},
    {"quiet-pull", no_argument, NULL, ARG_QUIET_PULL},
    {"pull", required_argument, NULL, ARG_PULL},
    {"watch", no_argument, NULL, ARG_WATCH},
    {"help", no_argument, NULL, 'h'},
    {},
};

/* The options that only set a flag. Returns false when c is not one of them. */
static bool up_flag(int c, struct up_args *a)
{
        switch (c) {
        case 'd':
                a->detach = true;
                return true;
        case ARG_WAIT:
                a->wait = a->detach = true;
                return true;
        case ARG_REMOVE_ORPHANS:
                a->remove_orphans = true;
                return true;
        case ARG_FORCE_RECREATE:
                a->plan.force_recreate = true;
                return true;
        case ARG_NO_RECREATE:
                a->plan.no_recreate = true;
                return true;
        case ARG_ALWAYS_RECREATE_DEPS:
                a->plan.always_recreate_deps = true;
                return true;
        case ARG_NO_DEPS:
                a->plan.no_deps = true;
                return true;
        case ARG_NO_START:
                a->plan.no_start = true;
                return true;
        case ARG_ABORT_EXIT:
                a->abort_exit = true;
                return true;
        case ARG_ABORT_FAILURE:
                a->abort_failure = true;
                return true;
        case ARG_NO_LOG_PREFIX:
                a->printer.prefix = false;
                return true;
        case ARG_NO_COLOR:
                a->printer.color = false;
                return true;
        case ARG_QUIET_PULL:
                a->images.registry.progress = NULL;
                return true;
        case ARG_BUILD:
                a->build = true;
                return true;
        case ARG_NO_BUILD:
                a->no_build = true;
                return true;
        case ARG_WATCH:
                a->watch = true;
                return true;
        }
        return false;
}

/* The options with a value. Returns -1 when c is not one of them, 0 when taken, else EXIT_USAGE. */
static int up_value(int c, struct up_args *a)
{
        switch (c) {
        case ARG_WAIT_TIMEOUT:
                return cmd_parse_int("up", "--wait-timeout", optarg, &a->wait_timeout);
        case ARG_MAX_ORPHANS:
                if (cmd_parse_int("up", "--max-orphans", optarg, &a->max_orphans) != 0 || a->max_orphans < 0)
                        return EXIT_USAGE;
                return 0;
        case ARG_SCALE:
                if (!strchr(optarg, '='))
                        return cmd_usage_error("up", "--scale: expected SERVICE=NUM, got \"%s\"", optarg);
                strv_push(&a->scales, optarg);
                return 0;
        case 't':
                return cmd_parse_int("up", "--timeout", optarg, &a->timeout);
        case ARG_EXIT_CODE_FROM:
                a->exit_from = optarg;
                return 0;
        case ARG_PULL:
                if (!streq(optarg, "always") && !streq(optarg, "missing") && !streq(optarg, "never"))
                        return cmd_usage_error("up", "--pull: expected always, missing or never, got \"%s\"",
                                               optarg);
                a->images.policy = optarg;
                return 0;
        }
        return -1;
}

/* Returns -1 to go on, else the exit code. */
static int up_parse(struct cmd_global *g, int argc, char **argv, struct up_args *a)
{
        int c, k;
        while ((c = getopt_long(argc, argv, "dt:h", up_options, NULL)) >= 0) {
                if (up_flag(c, a))
                        continue;
                if ((k = up_value(c, a)) >= 0) {
                        if (k != 0)
                                return EXIT_USAGE;
                } else if (c == ARG_DRY_RUN)
                        g->dry_run = true;
                else if (c == 'h') {
                        puts(up_usage);
                        return EXIT_OK;
                } else
                        return cmd_usage_error("up", "invalid option");
        }
        if (a->plan.force_recreate && a->plan.no_recreate)
                return cmd_usage_error("up", "--force-recreate and --no-recreate are incompatible");
        if (a->watch && a->detach)
                return cmd_usage_error("up",
                                       "--watch follows the project attached: it cannot be combined with "
                                       "--detach or --wait");
        if (a->build && a->no_build)
                return cmd_usage_error("up", "--build and --no-build are incompatible");
        if (a->detach && (a->abort_exit || a->abort_failure || a->exit_from))
                return cmd_usage_error("up",
                                       "--abort-on-container-exit and --exit-code-from cannot be combined "
                                       "with --detach or --wait");
        return -1;
}

/* --scale, the named services and the orphan policy, applied to the loaded project. */
static int up_settle(struct up_args *a, struct stack_project *p, char **services)
{
        STRV_FOREACH (sc, a->scales) {
                _cleanup_error_ struct stack_error err = {0};
                if (options_scale(p, *sc, &err) < 0)
                        return cmd_usage_error("up", "%s", err.msg);
        }
        STRV_FOREACH (s, services)
                if (!stack_project_service(p, *s)) {
                        fprintf(stderr, "stack up: no such service: %s\n", *s);
                        return EXIT_ERROR;
                }
        a->plan.services = services;
        options_orphans(p, a->remove_orphans, a->max_orphans, &a->plan);
        return EXIT_OK;
}

static void stop_progress(void *userdata, const char *name, enum stop_phase phase,
                          const struct stack_error *err)
{
        /* Drawn as --progress says (quiet, json, ...), like the lines of the reconciler's plan. */
        const struct reconcile_events *events = userdata;
        if (phase == STOP_STOPPING || phase == STOP_STOPPED)
                progress_line(events, "Container", name, phase == STOP_STOPPING ? "Stopping" : "Stopped");
        else
                fprintf(stderr, "stack: %s: %s\n", name, err && err->msg ? err->msg : "stop failed");
}

/* Stops what runs, dependents first; a second Ctrl-C kills what is still stopping. */
static void up_stop(const struct cmd_global *g, const struct reconcile_config *cfg,
                    const struct stack_project *p)
{
        struct stop_config sc = {
            .status = cmd_status_config(g),
            .timeout_usec = cfg->stop_timeout_usec,
            .kill_fd = cmd_kill_fd,
            .progress = stop_progress,
            .userdata = (void *) cfg->events,
        };
        _cleanup_error_ struct stack_error err = {0};
        if (stop_project(&sc, p, &err) < 0)
                cmd_fail(&err);
}

/* One look at the containers for attached `up`: 1 to stop following (a container ended that the abort
 * options watch, or none is left), 0 to go on; *code gets the exit code the command returns. */
static int attach_check(const struct up_args *a, const struct project_status *st, char **services, int *code)
{
        bool any = false, stop = false, abort_exit = a->abort_exit || a->exit_from;
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (!container_info_in(c, services))
                        continue;
                any = true;
                bool exited = c->state == CONTAINER_STATE_EXITED || c->state == CONTAINER_STATE_DEAD;
                bool from = a->exit_from && streq(c->service, a->exit_from);
                if (exited && (abort_exit || (a->abort_failure && c->exit_code != 0) || from)) {
                        stop = true;
                        if (a->exit_from ? from : c->exit_code != 0)
                                *code = c->exit_code;
                }
        }
        return stop || !any;
}

/* Attached `up`: streams output until Ctrl-C (then stops gracefully; a second Ctrl-C kills) or, with the
 * abort options, until a container exits. Returns the exit code for the command. */
static int attach(const struct cmd_global *g, const struct reconcile_config *cfg,
                  const struct stack_project *p, char **services, struct up_args *a, struct logs *set)
{
        cmd_catch_interrupt(true);
        int code = EXIT_OK;
        while (!cmd_interrupted) {
                _cleanup_project_status_ struct project_status st = {0};
                struct status_config sc = cmd_status_config(g);
                if (status_project(&sc, p->name, &st, NULL) < 0)
                        break;
                int done = attach_check(a, &st, services, &code);
                logs_update(set, &st, services, -1, false);
                cmd_log_read(&a->printer, set);
                if (done)
                        break;
                usleep(100000);
        }
        if (cmd_interrupted)
                fputs("Gracefully stopping... (press Ctrl+C again to force)\n", stderr);
        if (!isempty(getenv("NOTIFY_SOCKET")))
                sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        up_stop(g, cfg, p);
        logs_flush(set, cmd_log_line, &a->printer);
        fflush(stdout);
        return code;
}

/* Under a Type=notify unit, systemd hears how far we are, and READY=1 only once every service is running
 * or healthy: units ordered after this one wait for the whole stack, at boot too. */
static int up_wait(const struct reconcile_config *cfg, const struct stack_project *p, char **services,
                   const struct up_args *a, bool notify)
{
        _cleanup_error_ struct stack_error err = {0};
        uint64_t timeout = (uint64_t) a->wait_timeout * USEC_PER_SEC;
        if (notify) {
                sd_notify(0, "STATUS=Waiting for services to be running or healthy");
                if (reconcile_wait_ready(cfg, p, services, timeout, &err) < 0) {
                        sd_notifyf(0, "STATUS=Failed: %s", err.msg);
                        return cmd_fail(&err);
                }
                sd_notifyf(0, "READY=1\nSTATUS=Project %s is up", p->name);
        }
        if (a->wait && reconcile_wait_ready(cfg, p, services, timeout, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

/* Every image the services need is present before anything is created (after --build has rebuilt every
 * service with build:): images_ensure() builds the missing ones (and pull_policy: build ones) through the
 * builder and pulls the rest per pull_policy and --pull. The config hash sees a new image ID, so only
 * services whose image changed are recreated. */
static int up_images(const struct cmd_global *g, const struct stack_project *p, struct up_args *a,
                     struct stack_error *err)
{
        struct cmd_build_context bctx = {.g = g, .p = p};
        if (!a->no_build) {
                a->images.build = cmd_build_image;
                a->images.build_userdata = &bctx;
        }
        _cleanup_image_store_ struct image_store *s = NULL;
        a->images.services = a->plan.services;
        a->images.include_deps = !a->plan.no_deps;
        if (streq(g->progress, "quiet"))
                a->images.registry.progress = NULL;
        int r = image_store_open(g->root, &s, err);
        return r < 0 ? r : images_ensure(s, p, &a->images, err);
}

/* The changes themselves, under the project's lock: the images the services need are made ready first,
 * then the reconciler makes the host match the file. */
static int up_reconcile(const struct cmd_global *g, const struct reconcile_config *cfg,
                        const struct stack_project *p, struct up_args *a, bool notify)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_close_ int lock = -1;
        if (!cfg->dry_run && state_lock_project(g->run_root, p->name, &lock, &err) < 0)
                return cmd_fail(&err);
        if (notify)
                sd_notifyf(0, "STATUS=Bringing up project %s", p->name);
        /* The builder prints its own error, so a failed --build ends here without a second one. */
        if (!cfg->dry_run && a->build) {
                int r = cmd_build_services(g, p, NULL, &(struct cmd_build_options){0});
                if (r != EXIT_OK) {
                        if (notify)
                                sd_notify(0, "STATUS=Failed: building the images");
                        return r;
                }
        }
        if ((!cfg->dry_run && up_images(g, p, a, &err) < 0) || reconcile_up(cfg, p, &a->plan, &err) < 0) {
                if (notify)
                        sd_notifyf(0, "STATUS=Failed: %s", err.msg);
                return cmd_fail(&err);
        }
        /* Waiting and attaching need no lock: other commands may act on the project meanwhile. */
        return EXIT_OK;
}

int cmd_up(struct cmd_global *g, int argc, char **argv)
{
        _cleanup_strv_free_ char **scales = NULL;
        struct up_args a = {
            .max_orphans = -1,
            .timeout = -1,
            .printer = {.prefix = true, .color = cmd_color(g, STDOUT_FILENO)},
            .images = {.parallel = g->parallel, .registry.progress = cmd_pull_progress},
        };
        int ret = up_parse(g, argc, argv, &a);
        scales = a.scales;
        if (ret >= 0)
                return ret;
        _cleanup_strv_free_ char **services = optind < argc ? strv_copy(argv + optind) : NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        if ((ret = cmd_load_project(g, services, &p)) != EXIT_OK ||
            (ret = up_settle(&a, p, services)) != EXIT_OK)
                return ret;
        struct reconcile_config cfg = cmd_reconcile_config(g);
        if (a.timeout >= 0)
                cfg.stop_timeout_usec = (int64_t) a.timeout * (int64_t) USEC_PER_SEC;
        bool notify = !isempty(getenv("NOTIFY_SOCKET")) && !cfg.dry_run;
        bool attached = !a.detach && !cfg.dry_run;
        /* Attached, the output shown starts now: note where each existing container's log ends. */
        _cleanup_logs_ struct logs *set = logs_new(&(struct logs_filter){0});
        if (attached) {
                _cleanup_project_status_ struct project_status before = {0};
                struct status_config sc = cmd_status_config(g);
                if (status_project(&sc, p->name, &before, NULL) >= 0)
                        logs_mark(set, &before);
        }
        if ((ret = up_reconcile(g, &cfg, p, &a, notify)) != EXIT_OK)
                return ret;
        if (cfg.dry_run || a.plan.no_start)
                return EXIT_OK;
        if ((ret = up_wait(&cfg, p, services, &a, notify)) != EXIT_OK || a.detach)
                return ret;
        pid_t watcher = 0;
        if (a.watch && cmd_watch_start(g, services, &watcher) < 0) {
                perror("stack up: --watch");
                return EXIT_ERROR;
        }
        ret = attach(g, &cfg, p, services, &a, set);
        cmd_watch_stop(watcher);
        return ret;
}
