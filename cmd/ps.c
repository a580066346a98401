/* stack ps: the project's containers as a table, names, services or JSON. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"

#define USEC_PER_SEC 1000000ULL

static char *format_uptime(uint64_t since)
{
        uint64_t now = realtime_usec();
        unsigned long long secs = since && now > since ? (now - since) / USEC_PER_SEC : 0;
        if (secs < 60)
                return xasprintf("%llu seconds", secs);
        if (secs < 3600)
                return xasprintf("%llu minutes", secs / 60);
        return xasprintf("%llu hours", secs / 3600);
}

/* docker's STATUS column: "Up 3 minutes (healthy)", "Exited (1)", "Restarting (1)", "Created". */
static char *format_status(const struct container_info *c)
{
        switch (c->state) {
        case CONTAINER_STATE_RESTARTING:
                return xasprintf("Restarting (%d)", c->exit_code);
        case CONTAINER_STATE_RUNNING: {
                _cleanup_free_ char *up = format_uptime(c->started_at);
                if (c->health != HEALTH_NONE)
                        return xasprintf("Up %s (%s)", up, health_status_name(c->health));
                return xasprintf("Up %s", up);
        }
        case CONTAINER_STATE_EXITED:
                return xasprintf("Exited (%d)", c->exit_code);
        case CONTAINER_STATE_CREATED:
                return xstrdup("Created");
        default:
                return xstrdup(container_state_to_string(c->state));
        }
}

static char *format_ports(const struct container_info *c)
{
        struct strbuf b = {0};
        for (size_t i = 0; i < c->n_ports; i++)
                strbuf_printf(&b, "%s%s:%d->%d/%s", i ? ", " : "", c->ports[i].host_ip,
                              c->ports[i].published, c->ports[i].target, c->ports[i].protocol);
        return strbuf_take(&b);
}

/* A whole number as JSON digits: cJSON keeps numbers as doubles and prints a large round one (a time in
 * microseconds) in exponent notation, 1.79e+15, which readers expecting an integer refuse. */
static void add_uint(cJSON *j, const char *key, uint64_t v)
{
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        cJSON_AddRawToObject(j, key, buf);
}

/* The shape compose's `ps --format json` has, with stack's own Number, LogPath and HealthLog. */
static cJSON *container_json(const struct container_info *c)
{
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "Name", c->name);
        cJSON_AddStringToObject(j, "Service", c->service);
        cJSON_AddNumberToObject(j, "Number", c->number);
        cJSON_AddStringToObject(j, "Image", c->image);
        cJSON_AddStringToObject(j, "Project", c->project);
        cJSON_AddStringToObject(j, "State", container_state_to_string(c->state));
        cJSON_AddStringToObject(j, "Health", health_status_name(c->health));
        cJSON_AddNumberToObject(j, "ExitCode", c->exit_code);
        cJSON_AddNumberToObject(j, "RestartCount", c->restart_count);
        add_uint(j, "StartedAt", c->started_at);
        add_uint(j, "FinishedAt", c->finished_at);
        add_uint(j, "Created", c->created_usec);
        if (c->has_health_log) {
                cJSON *log = cJSON_AddArrayToObject(j, "HealthLog");
                for (int i = 0; i < c->n_health_log; i++) {
                        const struct health_probe_result *p = &c->health_log[i];
                        cJSON *e = cJSON_CreateObject();
                        add_uint(e, "start", p->start_usec);
                        add_uint(e, "end", p->end_usec);
                        cJSON_AddNumberToObject(e, "exit_code", p->exit_code);
                        cJSON_AddStringToObject(e, "output", p->output ? p->output : "");
                        cJSON_AddItemToArray(log, e);
                }
        }
        cJSON *pubs = cJSON_AddArrayToObject(j, "Publishers");
        for (size_t i = 0; i < c->n_ports; i++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "URL", c->ports[i].host_ip);
                cJSON_AddNumberToObject(e, "TargetPort", c->ports[i].target);
                cJSON_AddNumberToObject(e, "PublishedPort", c->ports[i].published);
                cJSON_AddStringToObject(e, "Protocol", c->ports[i].protocol);
                cJSON_AddItemToArray(pubs, e);
        }
        cJSON_AddStringToObject(j, "LogPath", c->log_path);
        return j;
}

struct ps_args {
        struct cmd_list_options list;
        bool only_services;
        char **statuses;
};

static bool ps_shows(const struct ps_args *a, char **services, const struct container_info *c)
{
        if (!container_info_in(c, services))
                return false;
        if (a->statuses)
                return strv_contains(a->statuses, container_state_to_string(c->state));
        return a->list.all || container_state_is_up(c->state) || c->state == CONTAINER_STATE_PAUSED;
}

static void ps_print(const struct ps_args *a, const struct project_status *st, char **services)
{
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_(cJSON_Deletep) cJSON *arr = a->list.json ? cJSON_CreateArray() : NULL;
        bool table = !a->only_services && !a->list.quiet && !a->list.json;
        if (table)
                printf("%-28s %-30s %-12s %-26s %s\n", "NAME", "IMAGE", "SERVICE", "STATUS", "PORTS");
        for (size_t i = 0; i < st->n; i++) {
                const struct container_info *c = &st->containers[i];
                if (!ps_shows(a, services, c))
                        continue;
                if (a->only_services) {
                        if (!strv_contains(seen, c->service)) {
                                strv_push(&seen, c->service);
                                puts(c->service);
                        }
                } else if (a->list.quiet)
                        puts(c->name);
                else if (arr)
                        cJSON_AddItemToArray(arr, container_json(c));
                else {
                        _cleanup_free_ char *status = format_status(c), *ports = format_ports(c);
                        printf("%-28s %-30s %-12s %-26s %s\n", c->name, c->image, c->service, status, ports);
                }
        }
        if (arr && !a->only_services && !a->list.quiet) {
                _cleanup_free_ char *text = cJSON_PrintUnformatted(arr);
                puts(text);
        }
}

static const char ps_usage[] =
    "Usage: stack ps [OPTIONS] [SERVICE...]\n"
    "\n"
    "List containers.\n"
    "\n"
    "Options:\n"
    "  -a, --all            Show all containers, also stopped ones\n"
    "  -q, --quiet          Only display names\n"
    "      --services       Display services\n"
    "      --format FORMAT  table or json\n"
    "      --status STATUS  Filter by state: created, restarting, running, exited, dead\n"
    "  -h, --help           Show this help";

int cmd_ps(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_SERVICES = 0x100, ARG_STATUS };
        static const struct option options[] = {
            CMD_LIST_OPTION_ALL,
            CMD_LIST_OPTION_QUIET,
            CMD_LIST_OPTION_FORMAT,
            {"services", no_argument, NULL, ARG_SERVICES},
            {"status", required_argument, NULL, ARG_STATUS},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        _cleanup_strv_free_ char **statuses = NULL;
        struct ps_args a = {0};
        int c, k;
        while ((c = getopt_long(argc, argv, "aqh", options, NULL)) >= 0) {
                if ((k = cmd_list_option("ps", c, optarg, &a.list)) != 0) {
                        if (k < 0)
                                return EXIT_USAGE;
                } else if (c == ARG_SERVICES)
                        a.only_services = true;
                else if (c == ARG_STATUS)
                        strv_push(&statuses, optarg);
                else if (c == 'h') {
                        puts(ps_usage);
                        return EXIT_OK;
                } else
                        return cmd_usage_error("ps", "invalid option");
        }
        a.statuses = statuses;
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_free_ char *name = NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_project_for(g, services, &name, &p);
        if (ret != EXIT_OK)
                return ret;
        _cleanup_project_status_ struct project_status st = {0};
        ret = cmd_project_status(g, name, &st);
        if (ret != EXIT_OK || (ret = cmd_check_services("ps", p, &st, services)) != EXIT_OK)
                return ret;
        ps_print(&a, &st, services);
        return EXIT_OK;
}
