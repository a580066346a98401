/* stack config: parse, resolve and render the compose file in canonical form, like docker compose config. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/hash.h"
#include "spec/load.h"
#include "spec/print.h"

static void usage(FILE *f)
{
        fputs("Usage: stack config [OPTIONS] [SERVICE...]\n"
              "\n"
              "Parse, resolve and render the compose file in canonical format.\n"
              "\n"
              "Options:\n"
              "      --format FORMAT     yaml (default) or json\n"
              "      --services          Print the service names, one per line\n"
              "      --volumes           Print the volume names, one per line\n"
              "      --networks          Print the network names, one per line\n"
              "      --profiles          Print the profile names, one per line\n"
              "      --images            Print the image names, one per line\n"
              "      --hash SERVICES     Print \"SERVICE HASH\" for each service (comma-separated, * for "
              "all)\n"
              "  -q, --quiet             Only validate the configuration, print nothing\n"
              "      --no-interpolate    Do not interpolate environment variables\n"
              "  -o, --output FILE       Save to FILE instead of printing\n"
              "  -h, --help              Show this help\n",
              f);
}

enum what {
        WHAT_MODEL,
        WHAT_SERVICES,
        WHAT_VOLUMES,
        WHAT_NETWORKS,
        WHAT_PROFILES,
        WHAT_IMAGES,
        WHAT_HASH,
};

static void list_profiles(const struct stack_project *p, struct strbuf *out)
{
        _cleanup_strv_free_ char **all = NULL;
        for (size_t i = 0; i < p->n_services; i++)
                STRV_FOREACH (pr, p->services[i].profiles)
                        if (!strv_contains(all, *pr))
                                strv_push(&all, *pr);
        STRV_FOREACH (pr, p->profiles)
                if (!streq(*pr, "*") && !strv_contains(all, *pr))
                        strv_push(&all, *pr);
        size_t n = strv_length(all);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(all[j - 1], all[j]) > 0; j--) {
                        char *t = all[j];
                        all[j] = all[j - 1];
                        all[j - 1] = t;
                }
        STRV_FOREACH (pr, all)
                strbuf_printf(out, "%s\n", *pr);
}

static int print_hashes(const struct stack_project *p, const char *spec, struct strbuf *out)
{
        _cleanup_strv_free_ char **names = strv_split(spec, ",");
        STRV_FOREACH (n, names) {
                for (size_t i = 0; i < p->n_services; i++) {
                        const struct stack_service *s = &p->services[i];
                        if (!streq(*n, "*") && !streq(*n, s->name))
                                continue;
                        char hash[65];
                        if (spec_service_hash(p, s, hash) < 0) {
                                fprintf(stderr, "stack: cannot compute the hash of service \"%s\"\n",
                                        s->name);
                                return EXIT_ERROR;
                        }
                        strbuf_printf(out, "%s %s\n", s->name, hash);
                }
                if (!streq(*n, "*") && !stack_project_service(p, *n)) {
                        fprintf(stderr, "stack: no such service: %s\n", *n);
                        return EXIT_ERROR;
                }
        }
        return EXIT_OK;
}

/* `stack config web` shows web and what it depends on, as docker compose does. */
static void select_services(struct stack_project *p, char **names)
{
        _cleanup_strv_free_ char **keep = strv_copy(names);
        for (size_t k = 0; keep[k]; k++) {
                const struct stack_service *s = stack_project_service(p, keep[k]);
                for (size_t i = 0; s && i < s->n_depends_on; i++)
                        if (!strv_contains(keep, s->depends_on[i].service))
                                strv_push(&keep, s->depends_on[i].service);
        }
        size_t n = 0;
        for (size_t i = 0; i < p->n_services; i++) {
                if (strv_contains(keep, p->services[i].name))
                        p->services[n++] = p->services[i];
                else
                        stack_service_free_contents(&p->services[i]);
        }
        p->n_services = n;
}

static int render(const struct stack_project *p, enum what what, enum spec_format format, const char *hash,
                  struct strbuf *out)
{
        switch (what) {
        case WHAT_MODEL: {
                _cleanup_free_ char *s = spec_project_format(p, format);
                strbuf_puts(out, s);
                break;
        }
        case WHAT_SERVICES:
                for (size_t i = 0; i < p->n_services; i++)
                        strbuf_printf(out, "%s\n", p->services[i].name);
                break;
        case WHAT_VOLUMES:
                for (size_t i = 0; i < p->n_volumes; i++)
                        strbuf_printf(out, "%s\n", p->volumes[i].key);
                break;
        case WHAT_NETWORKS:
                for (size_t i = 0; i < p->n_networks; i++)
                        strbuf_printf(out, "%s\n", p->networks[i].key);
                break;
        case WHAT_PROFILES:
                list_profiles(p, out);
                break;
        case WHAT_IMAGES:
                for (size_t i = 0; i < p->n_services; i++)
                        if (p->services[i].image)
                                strbuf_printf(out, "%s\n", p->services[i].image);
                break;
        case WHAT_HASH:
                return print_hashes(p, hash, out);
        }
        return EXIT_OK;
}

struct config_args {
        enum what what;
        enum spec_format format;
        bool quiet, no_interpolate;
        const char *output, *hash;
};

enum {
        ARG_FORMAT = 0x100,
        ARG_SERVICES,
        ARG_VOLUMES,
        ARG_NETWORKS,
        ARG_PROFILES,
        ARG_IMAGES,
        ARG_HASH,
        ARG_NO_INTERPOLATE,
};

/* --services, --volumes, ...: what to print instead of the model. Returns false for other options. */
static bool config_what(int c, struct config_args *a, int *n_what)
{
        static const struct {
                int arg;
                enum what what;
        } map[] = {
            {ARG_SERVICES, WHAT_SERVICES}, {ARG_VOLUMES, WHAT_VOLUMES}, {ARG_NETWORKS, WHAT_NETWORKS},
            {ARG_PROFILES, WHAT_PROFILES}, {ARG_IMAGES, WHAT_IMAGES},   {ARG_HASH, WHAT_HASH},
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (map[i].arg == c) {
                        a->what = map[i].what;
                        if (c == ARG_HASH)
                                a->hash = optarg;
                        (*n_what)++;
                        return true;
                }
        return false;
}

/* Returns -1 to go on, else the exit code. */
static int config_parse(int argc, char **argv, struct config_args *a)
{
        static const struct option options[] = {
            {"format", required_argument, NULL, ARG_FORMAT},
            {"services", no_argument, NULL, ARG_SERVICES},
            {"volumes", no_argument, NULL, ARG_VOLUMES},
            {"networks", no_argument, NULL, ARG_NETWORKS},
            {"profiles", no_argument, NULL, ARG_PROFILES},
            {"images", no_argument, NULL, ARG_IMAGES},
            {"hash", required_argument, NULL, ARG_HASH},
            {"quiet", no_argument, NULL, 'q'},
            {"no-interpolate", no_argument, NULL, ARG_NO_INTERPOLATE},
            {"output", required_argument, NULL, 'o'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int c, n_what = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "qo:h", options, NULL)) >= 0) {
                if (config_what(c, a, &n_what))
                        continue;
                switch (c) {
                case ARG_FORMAT:
                        if (streq(optarg, "yaml"))
                                a->format = SPEC_FORMAT_YAML;
                        else if (streq(optarg, "json"))
                                a->format = SPEC_FORMAT_JSON;
                        else
                                return cmd_usage_error("config", "unsupported format \"%s\" (yaml or json)",
                                                       optarg);
                        break;
                case 'q':
                        a->quiet = true;
                        break;
                case ARG_NO_INTERPOLATE:
                        a->no_interpolate = true;
                        break;
                case 'o':
                        a->output = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("config", "invalid option");
                }
        }
        if (n_what > 1)
                return cmd_usage_error(
                    "config", "--services, --volumes, --networks, --profiles, --images and --hash are "
                              "mutually exclusive");
        return -1;
}

static int config_write(const char *output, const char *text)
{
        if (output) {
                _cleanup_error_ struct stack_error err = {0};
                if (write_file_atomic(output, text, strlen(text), 0644, &err) < 0)
                        return cmd_fail(&err);
                return EXIT_OK;
        }
        fputs(text, stdout);
        if (fflush(stdout) != 0) {
                perror("stack config: stdout");
                return EXIT_ERROR;
        }
        return EXIT_OK;
}

int cmd_config(struct cmd_global *g, int argc, char **argv)
{
        struct config_args a = {.what = WHAT_MODEL, .format = SPEC_FORMAT_YAML};
        int r = config_parse(argc, argv, &a);
        if (r >= 0)
                return r;
        _cleanup_strv_free_ char **services = NULL;
        for (int i = optind; i < argc; i++)
                strv_push(&services, argv[i]);
        /* --profiles lists the profiles the file defines, so every profile is enabled for it. */
        char *all_profiles[] = {(char *) "*", NULL};
        struct spec_options o = {
            .files = g->files,
            .project_name = g->project_name,
            .project_dir = g->project_dir,
            .env_files = g->env_files,
            .profiles = a.what == WHAT_PROFILES ? all_profiles : g->profiles,
            .services = services,
            .no_interpolate = a.no_interpolate,
        };
        _cleanup_project_ struct stack_project *p = NULL;
        _cleanup_error_ struct stack_error err = {0};
        if (spec_load(&o, &p, &err) < 0)
                return cmd_fail(&err);
        if (a.quiet)
                return EXIT_OK;
        if (services)
                select_services(p, services);
        struct strbuf out = {0};
        r = render(p, a.what, a.format, a.hash, &out);
        _cleanup_free_ char *text = strbuf_take(&out);
        if (r != EXIT_OK)
                return r;
        return config_write(a.output, text);
}
