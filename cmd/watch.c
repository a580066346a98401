/* stack watch: bring the services up (unless --no-up), then follow their develop.watch rules until Ctrl-C:
 * one line per batch and action. Also the watcher of `up --watch`, run in a child process beside the
 * attached logs. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/watch.h"
#include "core/image/image.h"

static const char watch_usage[] =
    "Usage: stack watch [OPTIONS] [SERVICE...]\n"
    "\n"
    "Watch the build context and files of the services' develop.watch rules, and sync, restart, rebuild\n"
    "or run commands in the containers when files change.\n"
    "\n"
    "Options:\n"
    "      --no-up     Do not bring the services up before watching\n"
    "      --prune     Remove the image a rebuild replaced when nothing else uses it\n"
    "      --quiet     Hide the output of builds\n"
    "  -h, --help      Show this help";

struct watch_ctx {
        const struct cmd_global *g;
        bool prune, quiet;
};

static int stop_fd = -1;

static void on_stop(int sig)
{
        (void) sig;
        uint64_t one = 1;
        int saved = errno;
        (void) !write(stop_fd, &one, sizeof(one));
        errno = saved;
}

static int install_stop(void)
{
        stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_fd < 0)
                return -errno;
        struct sigaction sa = {.sa_handler = on_stop};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        return 0;
}

static void on_event(void *userdata, enum watch_event e, const char *service, size_t n, const char *detail)
{
        (void) userdata;
        switch (e) {
        case WATCH_READY:
                printf("Watch enabled (%zu rule%s)\n", n, n == 1 ? "" : "s");
                break;
        case WATCH_SYNCING:
                printf("⦿ Syncing %zu change%s to %s\n", n, n == 1 ? "" : "s", service);
                break;
        case WATCH_SYNCED:
                return;
        case WATCH_RESTARTING:
                printf("⦿ Restarting %s\n", service);
                break;
        case WATCH_REBUILDING:
                printf("⦿ Rebuilding %s\n", service);
                break;
        case WATCH_EXECUTING:
                printf("⦿ Running '%s' in %s\n", detail, service);
                break;
        case WATCH_NOTE:
                printf("⦿ %s: %s\n", service, detail);
                break;
        case WATCH_ERROR:
                fflush(stdout);
                fprintf(stderr, "✘ %s%s%s\n", service ? service : "", service ? ": " : "", detail);
                break;
        }
        fflush(stdout);
}

/* `stack up -d ARGS...` through the command itself: the same path, options and output as typed. */
static int run_up(const struct cmd_global *g, char **extra)
{
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, "up");
        strv_push(&argv, "-d");
        STRV_FOREACH (a, extra)
                strv_push(&argv, *a);
        optind = 0;
        return cmd_up((struct cmd_global *) g, (int) strv_length(argv), argv);
}

static char *image_id(const struct cmd_global *g, const char *ref)
{
        _cleanup_image_store_ struct image_store *s = NULL;
        _cleanup_image_ struct image *img = NULL;
        if (image_store_open(g->root, &s, NULL) < 0 || image_lookup(s, ref, &img, NULL) < 0)
                return NULL;
        return xstrdup(img->id);
}

/* --prune: the image the rebuild replaced goes when no tag and no container is left on it. */
static void prune(const struct cmd_global *g, const char *old_id, const char *ref)
{
        _cleanup_free_ char *now = image_id(g, ref);
        if (!old_id || (now && streq(now, old_id)))
                return;
        _cleanup_image_store_ struct image_store *s = NULL;
        if (image_store_open(g->root, &s, NULL) < 0)
                return;
        _cleanup_strv_free_ char **untagged = NULL;
        _cleanup_free_ char *deleted = NULL;
        struct image_remove_options o = {.run_root = g->run_root};
        /* In use or tagged elsewhere: it stays, as `image prune` would leave it. */
        if (image_remove(s, old_id, &o, &untagged, &deleted, NULL) >= 0 && deleted)
                printf("⦿ Removed image %s\n", deleted);
}

static int on_rebuild(void *userdata, const struct stack_service *s, struct stack_error *err)
{
        struct watch_ctx *w = userdata;
        _cleanup_project_ struct stack_project *p = NULL;
        char *names[] = {(char *) s->name, NULL};
        if (cmd_load_project(w->g, names, &p) != EXIT_OK)
                return stack_error_set(err, EINVAL, "the compose file does not load");
        _cleanup_free_ char *old = w->prune ? image_id(w->g, s->image) : NULL;
        if (cmd_build_services(w->g, p, names, &(struct cmd_build_options){.quiet = w->quiet}) != EXIT_OK)
                return stack_error_set(err, EIO, "building %s failed", s->name);
        char *extra[] = {(char *) "--no-deps", (char *) s->name, NULL};
        if (run_up(w->g, extra) != EXIT_OK)
                return stack_error_set(err, EIO, "recreating %s failed", s->name);
        if (w->prune)
                prune(w->g, old, s->image);
        return 0;
}

static int watch_loop(const struct cmd_global *g, char **services, struct watch_ctx *ctx)
{
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_load_project(g, services, &p);
        if (ret != EXIT_OK)
                return ret;
        STRV_FOREACH (s, services)
                if (!stack_project_service(p, *s)) {
                        fprintf(stderr, "stack watch: no such service: %s\n", *s);
                        return EXIT_ERROR;
                }
        if (install_stop() < 0) {
                perror("stack watch: eventfd");
                return EXIT_ERROR;
        }
        struct watch_config wc = {
            .project = p,
            .services = services,
            .status = cmd_status_config(g),
            .stop_fd = stop_fd,
            .exec_out_fd = STDOUT_FILENO,
            .ops = {.event = on_event, .rebuild = on_rebuild, .userdata = ctx},
        };
        _cleanup_error_ struct stack_error err = {0};
        if (watch_run(&wc, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

enum { ARG_NO_UP = 0x100, ARG_PRUNE, ARG_QUIET };

int cmd_watch(struct cmd_global *g, int argc, char **argv)
{
        static const struct option opts[] = {
            {"no-up", no_argument, NULL, ARG_NO_UP}, {"prune", no_argument, NULL, ARG_PRUNE},
            {"quiet", no_argument, NULL, ARG_QUIET}, {"detach", no_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},        {},
        };
        struct watch_ctx ctx = {.g = g};
        bool no_up = false;
        int c;
        while ((c = getopt_long(argc, argv, "dh", opts, NULL)) >= 0) {
                switch (c) {
                case ARG_NO_UP:
                        no_up = true;
                        break;
                case ARG_PRUNE:
                        ctx.prune = true;
                        break;
                case ARG_QUIET:
                        ctx.quiet = true;
                        break;
                case 'd':
                        return cmd_usage_error(
                            "watch", "-d: a detached watcher is not supported yet; run `stack watch` "
                                     "in a terminal of its own, or `stack up --watch`");
                case 'h':
                        puts(watch_usage);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("watch", "invalid option");
                }
        }
        _cleanup_strv_free_ char **services = optind < argc ? strv_copy(argv + optind) : NULL;
        if (!no_up) {
                int ret = run_up(g, services);
                if (ret != EXIT_OK)
                        return ret;
        }
        return watch_loop(g, services, &ctx);
}

int cmd_watch_start(const struct cmd_global *g, char **services, pid_t *ret)
{
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0) {
                *ret = pid;
                return 0;
        }
        /* The watcher ends with the `up` it serves, however that ends. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        struct watch_ctx ctx = {.g = g};
        _exit(watch_loop(g, services, &ctx));
}

void cmd_watch_stop(pid_t pid)
{
        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
