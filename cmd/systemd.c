/* stack systemd generate|install: a unit that brings the project up at boot (core/engine/unit.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/unit.h"

struct systemd_args {
        bool template_;
        bool install;
        bool enable;
        const char *output; /* directory; NULL: stdout for generate, /etc/systemd/system for install */
        const char *name;
};

static void systemd_usage(void)
{
        puts("Usage: stack systemd generate [--template] [--output DIR] [--name NAME]\n"
             "       stack systemd install [--template] [--output DIR] [--name NAME] [--enable]\n"
             "\n"
             "Write a systemd unit that runs the project at boot: Type=notify, ready once every service is\n"
             "running or healthy, stopped in reverse dependency order, timeouts derived from the file.\n"
             "\n"
             "  --template     The stack@.service template for any project directory instead\n"
             "  --output DIR   Write the unit into DIR (generate prints it by default; install writes\n"
             "                 into /etc/systemd/system)\n"
             "  --name NAME    Unit name (default stack-<project>.service, stack@.service with --template)\n"
             "  --enable       install: also enable the unit (systemctl enable)");
}

static int parse_args(int argc, char **argv, struct systemd_args *a)
{
        static const struct option options[] = {
            {"template", no_argument, NULL, 't'},   {"output", required_argument, NULL, 'o'},
            {"name", required_argument, NULL, 'n'}, {"enable", no_argument, NULL, 'e'},
            {"help", no_argument, NULL, 'h'},       {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        a->template_ = true;
                        break;
                case 'o':
                        a->output = optarg;
                        break;
                case 'n':
                        a->name = optarg;
                        break;
                case 'e':
                        if (!a->install)
                                return cmd_usage_error("systemd", "--enable is an option of install");
                        a->enable = true;
                        break;
                case 'h':
                        systemd_usage();
                        return -1;
                default:
                        return cmd_usage_error("systemd", "invalid option");
                }
        }
        if (optind < argc)
                return cmd_usage_error("systemd", "unexpected argument \"%s\"", argv[optind]);
        if (a->name && (strchr(a->name, '/') || !endswith(a->name, ".service")))
                return cmd_usage_error("systemd", "--name: \"%s\" is not a service unit name (NAME.service)",
                                       a->name);
        return EXIT_OK;
}

static int self_path(char **ret, struct stack_error *err)
{
        char buf[4096];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (n < 0)
                return stack_error_errno(err, -errno, "cannot find stack's own path (/proc/self/exe)");
        buf[n] = '\0';
        *ret = xstrdup(buf);
        return 0;
}

/* Root and run root go into the unit only where they are not the defaults, so the unit reads as written. */
static const char *non_default(const char *v, const char *fallback)
{
        return v && !streq(v, fallback) ? v : NULL;
}

static int render(const struct cmd_global *g, const struct systemd_args *a, char **ret_text, char **ret_name)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_free_ char *self = NULL;
        if (self_path(&self, &err) < 0)
                return cmd_fail(&err);
        struct unit_options o = {
            .stack_path = self,
            .root = non_default(g->root, "/var/lib/stack"),
            .run_root = non_default(g->run_root, "/run/stack"),
            .runtime = non_default(g->runtime, "crun"),
        };
        if (a->template_) {
                *ret_text = unit_render_template(&o);
                *ret_name = xstrdup(a->name ? a->name : "stack@.service");
                return EXIT_OK;
        }
        _cleanup_project_ struct stack_project *p = NULL;
        int r = cmd_load_project(g, NULL, &p);
        if (r != EXIT_OK)
                return r;
        if (unit_render_project(p, &o, ret_text, &err) < 0)
                return cmd_fail(&err);
        *ret_name = a->name ? xstrdup(a->name) : unit_name(p->name);
        return EXIT_OK;
}

static int write_unit(const char *dir, const char *name, const char *text, char **ret_path)
{
        _cleanup_error_ struct stack_error err = {0};
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                stack_error_set(&err, -ENOTDIR, "--output: %s is not a directory", dir);
                return cmd_fail(&err);
        }
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        if (write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
                return cmd_fail(&err);
        *ret_path = TAKE_PTR(path);
        return EXIT_OK;
}

static bool systemd_running(void)
{
        return access("/run/systemd/system", F_OK) == 0;
}

static int run_systemctl(const char *verb, const char *unit)
{
        _cleanup_free_ char *cmd =
            unit ? xasprintf("systemctl %s '%s'", verb, unit) : xasprintf("systemctl %s", verb);
        int r = system(cmd);
        if (r != 0) {
                fprintf(stderr, "stack: `%s` failed\n", cmd);
                return EXIT_ERROR;
        }
        return EXIT_OK;
}

static int install(const struct systemd_args *a, const char *name, const char *text)
{
        _cleanup_free_ char *path = NULL;
        int r = write_unit(a->output ? a->output : "/etc/systemd/system", name, text, &path);
        if (r != EXIT_OK)
                return r;
        printf("Wrote %s\n", path);
        if (!systemd_running()) {
                if (a->enable) {
                        fprintf(stderr,
                                "stack: systemd is not running here; %s was written but not enabled\n",
                                name);
                        return EXIT_ERROR;
                }
                printf(
                    "systemd is not running here: after boot, enable it with `systemctl enable --now %s`\n",
                    name);
                return EXIT_OK;
        }
        r = run_systemctl("daemon-reload", NULL);
        if (r != EXIT_OK)
                return r;
        if (a->enable)
                return run_systemctl("enable", name);
        printf("Start it now and at boot with `systemctl enable --now %s`\n", name);
        return EXIT_OK;
}

int cmd_systemd(struct cmd_global *g, int argc, char **argv)
{
        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                systemd_usage();
                return argc < 2 ? EXIT_USAGE : EXIT_OK;
        }
        struct systemd_args a = {.install = streq(argv[1], "install")};
        if (!a.install && !streq(argv[1], "generate"))
                return cmd_usage_error("systemd", "unknown subcommand \"%s\" (generate or install)",
                                       argv[1]);
        int r = parse_args(argc - 1, argv + 1, &a);
        if (r < 0)
                return EXIT_OK; /* --help */
        if (r != EXIT_OK)
                return r;
        _cleanup_free_ char *text = NULL, *name = NULL;
        r = render(g, &a, &text, &name);
        if (r != EXIT_OK)
                return r;
        if (a.install)
                return install(&a, name, text);
        if (!a.output) {
                fputs(text, stdout);
                return EXIT_OK;
        }
        _cleanup_free_ char *path = NULL;
        r = write_unit(a.output, name, text, &path);
        if (r == EXIT_OK)
                printf("Wrote %s\n", path);
        return r;
}
