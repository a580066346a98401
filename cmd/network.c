/* `stack network ls|inspect`: the project's networks as the kernel and the IPAM records have them. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "cmd/cmd.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/network.h"

static int open_ctx(const struct cmd_global *g, struct network_ctx **ret)
{
        _cleanup_error_ struct stack_error err = {0};
        if (network_ctx_open(g->root, g->run_root, ret, &err) < 0)
                return cmd_fail(&err);
        return EXIT_OK;
}

/* A network of the project by compose key or by full name. */
static const struct stack_network *find_network(const struct stack_project *p, const char *name)
{
        const struct stack_network *n = stack_project_network(p, name);
        for (size_t i = 0; !n && i < p->n_networks; i++)
                if (streq(p->networks[i].name, name))
                        n = &p->networks[i];
        return n;
}

static cJSON *kv_object(const struct stack_kvlist *l)
{
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; i < l->n; i++)
                cJSON_AddStringToObject(o, l->items[i].key, l->items[i].value ? l->items[i].value : "");
        return o;
}

static void add_prefix(cJSON *o, const char *key, const struct ipam_prefix *p)
{
        char b[IPAM_ADDRSTRLEN];
        cJSON_AddStringToObject(o, key, ipam_prefix_format(p, b));
}

static void add_addr(cJSON *o, const char *key, const struct ipam_addr *a)
{
        char b[IPAM_ADDRSTRLEN];
        cJSON_AddStringToObject(o, key, a->family ? ipam_addr_format(a, b) : "");
}

/* docker network inspect's shape, with containers keyed by name and stack's own facts under "Stack". */
static cJSON *inspect_json(const struct stack_project *p, const struct stack_network *n,
                           const struct network_status *s)
{
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Name", n->name);
        cJSON_AddStringToObject(o, "Driver", n->driver ? n->driver : "bridge");
        cJSON_AddStringToObject(o, "Scope", "local");
        cJSON_AddBoolToObject(o, "EnableIPv4", n->enable_ipv4);
        cJSON_AddBoolToObject(o, "EnableIPv6", n->enable_ipv6);
        cJSON_AddBoolToObject(o, "Internal", n->internal);
        cJSON_AddBoolToObject(o, "Attachable", n->attachable);
        cJSON_AddBoolToObject(o, "External", n->external);
        cJSON *ipam = cJSON_AddObjectToObject(o, "IPAM");
        cJSON_AddStringToObject(ipam, "Driver", n->ipam_driver ? n->ipam_driver : "default");
        cJSON *cfg = cJSON_AddArrayToObject(ipam, "Config");
        if (s) {
                for (int fam = 0; fam < 2; fam++) {
                        bool has = fam ? s->info.has6 : s->info.has4;
                        if (!has)
                                continue;
                        cJSON *c = cJSON_CreateObject();
                        add_prefix(c, "Subnet", fam ? &s->info.subnet6 : &s->info.subnet4);
                        add_addr(c, "Gateway", fam ? &s->info.gateway6 : &s->info.gateway4);
                        cJSON_AddItemToArray(cfg, c);
                }
        }
        cJSON *ctrs = cJSON_AddObjectToObject(o, "Containers");
        for (size_t i = 0; s && i < s->n_endpoints; i++) {
                const struct network_endpoint *e = &s->endpoints[i];
                cJSON *c = cJSON_AddObjectToObject(ctrs, e->container);
                cJSON_AddStringToObject(c, "Name", e->container);
                cJSON_AddStringToObject(c, "Project", e->project);
                char b[IPAM_ADDRSTRLEN + 8];
                if (e->addr4.family) {
                        ipam_addr_format(&e->addr4, b);
                        snprintf(b + strlen(b), 8, "/%u", s->info.subnet4.len);
                }
                cJSON_AddStringToObject(c, "IPv4Address", e->addr4.family ? b : "");
                if (e->addr6.family) {
                        ipam_addr_format(&e->addr6, b);
                        snprintf(b + strlen(b), 8, "/%u", s->info.subnet6.len);
                }
                cJSON_AddStringToObject(c, "IPv6Address", e->addr6.family ? b : "");
        }
        cJSON_AddItemToObject(o, "Options", kv_object(&n->driver_opts));
        cJSON_AddItemToObject(o, "Labels", kv_object(&n->labels));
        cJSON *st = cJSON_AddObjectToObject(o, "Stack");
        cJSON_AddStringToObject(st, "Project", s ? s->info.project : p->name);
        cJSON_AddStringToObject(st, "Bridge", s ? s->info.bridge : "");
        cJSON_AddBoolToObject(st, "Created", s && s->in_kernel);
        if (s && s->in_kernel)
                cJSON_AddNumberToObject(st, "MTU", s->info.mtu);
        return o;
}

/* The network's status, or false when it was never set up (or is gone from both records and kernel). */
static int status_of(struct network_ctx *ctx, const struct stack_network *n, struct network_status *ret)
{
        _cleanup_error_ struct stack_error err = {0};
        int r = network_status(ctx, n->name, ret, &err);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                cmd_fail(&err);
                return -1;
        }
        return 1;
}

static int network_ls(struct cmd_global *g, int argc, char **argv)
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
                if ((k = cmd_list_option("network ls", c, optarg, &lo)) < 0)
                        return EXIT_USAGE;
                if (k > 0)
                        continue;
                if (c != 'h')
                        return cmd_usage_error("network ls", "unknown option");
                printf("Usage: stack network ls [--quiet] [--format table|json]\n\n"
                       "List the project's networks: bridge, subnet, gateway, attached containers.\n");
                return EXIT_OK;
        }
        bool quiet = lo.quiet, json = lo.json;
        if (optind < argc)
                return cmd_usage_error("network ls", "unexpected argument \"%s\"", argv[optind]);
        _cleanup_project_ struct stack_project *p = NULL;
        int rc = cmd_load_project(g, NULL, &p);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_network_ctx_ struct network_ctx *ctx = NULL;
        rc = open_ctx(g, &ctx);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_(cJSON_Deletep) cJSON *arr = json ? cJSON_CreateArray() : NULL;
        if (!json && !quiet)
                printf("%-30s %-8s %-16s %-18s %-16s %s\n", "NAME", "DRIVER", "BRIDGE", "SUBNET", "GATEWAY",
                       "CONTAINERS");
        for (size_t i = 0; i < p->n_networks; i++) {
                const struct stack_network *n = &p->networks[i];
                struct network_status s = {0};
                int have = status_of(ctx, n, &s);
                if (have < 0)
                        return EXIT_ERROR;
                if (json)
                        cJSON_AddItemToArray(arr, inspect_json(p, n, have ? &s : NULL));
                else if (quiet)
                        printf("%s\n", n->name);
                else {
                        char sub[IPAM_ADDRSTRLEN] = "-", gw[IPAM_ADDRSTRLEN] = "-";
                        if (have && s.info.has4) {
                                ipam_prefix_format(&s.info.subnet4, sub);
                                ipam_addr_format(&s.info.gateway4, gw);
                        } else if (have && s.info.has6) {
                                ipam_prefix_format(&s.info.subnet6, sub);
                                ipam_addr_format(&s.info.gateway6, gw);
                        }
                        printf("%-30s %-8s %-16s %-18s %-16s %zu\n", n->name,
                               n->driver ? n->driver : "bridge", have && s.in_kernel ? s.info.bridge : "-",
                               sub, gw, have ? s.n_endpoints : 0);
                }
                if (have)
                        network_status_done(&s);
        }
        if (json) {
                _cleanup_free_ char *out = cJSON_Print(arr);
                printf("%s\n", out);
        }
        return EXIT_OK;
}

static int network_inspect(struct cmd_global *g, int argc, char **argv)
{
        if (argc >= 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                printf("Usage: stack network inspect NETWORK...\n\n"
                       "Show networks of the project (by compose key or full name) as JSON.\n");
                return EXIT_OK;
        }
        if (argc < 2)
                return cmd_usage_error("network inspect", "expected NETWORK");
        _cleanup_project_ struct stack_project *p = NULL;
        int rc = cmd_load_project(g, NULL, &p);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_network_ctx_ struct network_ctx *ctx = NULL;
        rc = open_ctx(g, &ctx);
        if (rc != EXIT_OK)
                return rc;
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        for (int i = 1; i < argc; i++) {
                const struct stack_network *n = find_network(p, argv[i]);
                if (!n) {
                        fprintf(stderr, "stack: network \"%s\" is not a network of project \"%s\"\n",
                                argv[i], p->name);
                        return EXIT_ERROR;
                }
                struct network_status s = {0};
                int have = status_of(ctx, n, &s);
                if (have < 0)
                        return EXIT_ERROR;
                cJSON_AddItemToArray(arr, inspect_json(p, n, have ? &s : NULL));
                if (have)
                        network_status_done(&s);
        }
        _cleanup_free_ char *out = cJSON_Print(arr);
        printf("%s\n", out);
        return EXIT_OK;
}

static void network_usage(FILE *f)
{
        fputs("Usage: stack network COMMAND\n\n"
              "Commands:\n"
              "  ls                 List the project's networks\n"
              "  inspect NETWORK... Show networks as JSON\n",
              f);
}

int cmd_network(struct cmd_global *g, int argc, char **argv)
{
        if (argc < 2) {
                network_usage(stderr);
                return EXIT_USAGE;
        }
        const char *sub = argv[1];
        if (streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
                network_usage(stdout);
                return EXIT_OK;
        }
        optind = 0;
        if (streq(sub, "ls") || streq(sub, "list"))
                return network_ls(g, argc - 1, argv + 1);
        if (streq(sub, "inspect"))
                return network_inspect(g, argc - 1, argv + 1);
        fprintf(stderr, "stack network: unknown command \"%s\"\n", sub);
        network_usage(stderr);
        return EXIT_USAGE;
}
