/* stack events: the supervisor's event stream for the project's containers, as docker compose events
 * prints it. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/supervisor.h"
#include "core/runtime/logindex.h"

static const char events_usage[] =
    "Usage: stack events [OPTIONS] [SERVICE...]\n"
    "\n"
    "Receive real time events from containers: create, start, die (with its exit code), oom,\n"
    "kill, stop, restart, health_status and destroy, from the project's supervisor. Events that happen\n"
    "while no supervisor runs (no container of the project) are awaited.\n"
    "\n"
    "Options:\n"
    "      --json  Output events as a stream of json objects, one a line\n"
    "  -h, --help  Show this help";

static bool wanted(const cJSON *ev, char *const *services)
{
        if (!services)
                return true;
        const char *svc = json_get_str(ev, "service");
        for (char *const *s = services; *s; s++)
                if (svc && streq(svc, *s))
                        return true;
        return false;
}

/* {"time","type":"container","action","id","service","attributes"}, as docker compose events --json. The
 * container's name is its id: stack has no other. */
static void print_json(const cJSON *ev)
{
        char t[LOGINDEX_TIME_MAX];
        int64_t ns = (int64_t) json_get_num(ev, "time", 0) * 1000;
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "time", logindex_format_time(ns, t));
        cJSON_AddStringToObject(o, "type", "container");
        cJSON_AddStringToObject(o, "action", json_get_str(ev, "action") ?: "");
        cJSON_AddStringToObject(o, "id", json_get_str(ev, "name") ?: "");
        cJSON_AddStringToObject(o, "service", json_get_str(ev, "service") ?: "");
        cJSON_AddItemToObject(o, "attributes",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ev, "attributes"), true));
        _cleanup_free_ char *text = cJSON_PrintUnformatted(o);
        puts(text);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* "2026-12-05 07:25:16.123456 container die web-1 (exitCode=3, image=..., name=...)", local time. */
static void print_text(const cJSON *ev)
{
        uint64_t usec = (uint64_t) json_get_num(ev, "time", 0);
        time_t secs = (time_t) (usec / 1000000);
        struct tm tm;
        char date[32] = "";
        if (localtime_r(&secs, &tm))
                strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s.%06u container %s %s", date, (unsigned) (usec % 1000000),
               json_get_str(ev, "action") ?: "", json_get_str(ev, "name") ?: "");
        const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(ev, "attributes");
        _cleanup_strv_free_ char **kv = xcalloc(1, sizeof(char *));
        const cJSON *a;
        cJSON_ArrayForEach(a, attrs) if (cJSON_IsString(a))
            strv_consume(&kv, xasprintf("%s=%s", a->string, a->valuestring));
        qsort(kv, strv_length(kv), sizeof(char *), cmp_str);
        _cleanup_free_ char *joined = strv_join(kv, ", ");
        printf(kv[0] ? " (%s)\n" : "\n", joined);
}

/* Reads events from one subscription until it ends; *since moves past each event shown. Returns 1 when
 * the supervisor refused (an old one without events), else 0. */
static int follow(int fd, bool json, char *const *services, uint64_t *since)
{
        struct strbuf in = {0};
        int ret = 0;
        while (!cmd_interrupted) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 250) <= 0)
                        continue;
                char buf[4096];
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break; /* the supervisor left: wait for the next one */
                strbuf_add(&in, buf, (size_t) n);
                char *nl;
                while (in.buf && (nl = memchr(in.buf, '\n', in.len))) {
                        *nl = 0;
                        _cleanup_(cJSON_Deletep) cJSON *ev = cJSON_Parse(in.buf);
                        size_t used = (size_t) (nl - in.buf) + 1;
                        memmove(in.buf, nl + 1, in.len - used);
                        in.len -= used;
                        if (json_get_str(ev, "error")) {
                                fprintf(stderr, "stack events: %s\n", json_get_str(ev, "error"));
                                ret = 1;
                                goto out;
                        }
                        if (!ev || !json_get_str(ev, "action"))
                                continue; /* the subscription's {"ok": true} */
                        *since = (uint64_t) json_get_num(ev, "time", 0) + 1;
                        if (!wanted(ev, services))
                                continue;
                        if (json)
                                print_json(ev);
                        else
                                print_text(ev);
                        fflush(stdout);
                }
        }
out:
        strbuf_free(&in);
        return ret;
}

int cmd_events(struct cmd_global *g, int argc, char **argv)
{
        enum { ARG_JSON = 0x100 };
        static const struct option options[] = {
            {"json", no_argument, NULL, ARG_JSON},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool json = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_JSON:
                        json = true;
                        break;
                case 'h':
                        puts(events_usage);
                        return EXIT_OK;
                default:
                        return cmd_usage_error("events", "invalid option");
                }
        }
        char **services = optind < argc ? argv + optind : NULL;
        _cleanup_free_ char *name = NULL;
        _cleanup_project_ struct stack_project *p = NULL;
        int ret = cmd_project_for(g, services, &name, &p);
        if (ret != EXIT_OK)
                return ret;
        if (services) {
                _cleanup_project_status_ struct project_status st = {0};
                if ((ret = cmd_project_status(g, name, &st)) != EXIT_OK ||
                    (ret = cmd_check_services("events", p, &st, services)) != EXIT_OK)
                        return ret;
        }
        cmd_catch_interrupt(false);
        /* From now on: events of an `up` started right after this command are shown even if they happen
         * before the subscription is made (the supervisor keeps a short backlog). */
        uint64_t since = realtime_usec();
        while (!cmd_interrupted) {
                _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
                cJSON_AddStringToObject(req, "op", "events");
                cJSON_AddNumberToObject(req, "since", (double) since);
                struct stack_error e = {0};
                int fd;
                if (supervisor_send(g->run_root, name, req, &fd, &e) < 0) {
                        /* No supervisor yet (nothing runs): the next `up` starts one. */
                        stack_error_clear(&e);
                        usleep(200000);
                        continue;
                }
                int r = follow(fd, json, services, &since);
                close(fd);
                if (r)
                        return EXIT_ERROR;
        }
        return EXIT_OK;
}
