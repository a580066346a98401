/* stack ls: the projects stack has records of, with how many of their containers run. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/state.h"

/* "running(2), exited(1)"; NULL when the project is to be left out (nothing runs and not --all). */
static char *project_summary(const struct cmd_global *g, const char *name, bool all)
{
        struct status_config sc = cmd_status_config(g);
        _cleanup_project_status_ struct project_status st = {0};
        if (status_project(&sc, name, &st, NULL) < 0)
                return NULL;
        int running = 0, exited = 0;
        for (size_t i = 0; i < st.n; i++) {
                if (container_state_is_up(st.containers[i].state))
                        running++;
                else
                        exited++;
        }
        if (!all && running == 0)
                return NULL;
        if (running && exited)
                return xasprintf("running(%d), exited(%d)", running, exited);
        return running ? xasprintf("running(%d)", running) : xasprintf("exited(%d)", exited);
}

int cmd_ls(struct cmd_global *g, int argc, char **argv)
{
        static const struct option options[] = {
            CMD_LIST_OPTION_ALL,
            CMD_LIST_OPTION_QUIET,
            CMD_LIST_OPTION_FORMAT,
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct cmd_list_options o = {0};
        int c, k;
        while ((c = getopt_long(argc, argv, "aqh", options, NULL)) >= 0) {
                if ((k = cmd_list_option("ls", c, optarg, &o)) < 0)
                        return EXIT_USAGE;
                if (k > 0)
                        continue;
                if (c != 'h')
                        return cmd_usage_error("ls", "invalid option");
                puts("Usage: stack ls [OPTIONS]\n\nList projects on this host.\n\n"
                     "  -a, --all        Show all projects, also stopped ones\n"
                     "  -q, --quiet      Only display names\n"
                     "      --format F   table or json");
                return EXIT_OK;
        }
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **projects = NULL;
        if (state_project_list(g->root, &projects, &err) < 0)
                return cmd_fail(&err);
        _cleanup_(cJSON_Deletep) cJSON *out = cJSON_CreateArray();
        if (!o.quiet && !o.json)
                printf("%-24s %-20s %s\n", "NAME", "STATUS", "CONFIG FILES");
        STRV_FOREACH (name, projects) {
                _cleanup_free_ char *status = project_summary(g, *name, o.all);
                if (!status)
                        continue;
                _cleanup_strv_free_ char **files = NULL;
                (void) state_project_read(g->root, *name, NULL, &files, NULL); /* none: an empty column */
                _cleanup_free_ char *joined = strv_join(files, ",");
                if (o.quiet)
                        puts(*name);
                else if (o.json) {
                        cJSON *j = cJSON_CreateObject();
                        cJSON_AddStringToObject(j, "Name", *name);
                        cJSON_AddStringToObject(j, "Status", status);
                        cJSON_AddStringToObject(j, "ConfigFiles", joined);
                        cJSON_AddItemToArray(out, j);
                } else
                        printf("%-24s %-20s %s\n", *name, status, joined);
        }
        if (o.json) {
                _cleanup_free_ char *text = cJSON_PrintUnformatted(out);
                puts(text);
        }
        return EXIT_OK;
}
