/* stack-fw: drives net/firewall and net/ports from the command line, for the integration tests and the
 * benchmark (the reconciler calls the same functions). Not installed.
 *
 *   stack-fw [--backend NAME] print|apply PROJECT [--net
 * NAME,BRIDGE,SUBNET/LEN,GATEWAY[,internal][,ipv6]]...
 *                                [--port NET,[HOSTIP:]HOSTPORT[-END|~LAST],CONTAINERIP:PORT[/udp]]...
 *   stack-fw remove PROJECT
 *   stack-fw list
 *
 * HOSTPORT 0 asks for a random port, HOSTPORT~LAST for any free one in that range. `apply` checks every port
 * first (nothing changes on a clash;
 * --no-port-check skips that, as if another command had published the port in the meantime),
 * prints one "published HOSTIP:PORT/PROTO -> CONTAINERIP:PORT" line per port and "commits N".
 * A network flagged ipv6 also gets the IPv6 isolation; then `print` adds a "# ip6tables" section and
 * `apply` a "commits6 N" line (as does `remove` when it removed IPv6 rules). --backend picks the firewall
 * backend by name (firewall_open()); without it, the host's default. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/util.h"
#include "net/firewall.h"
#include "net/ports.h"

static int usage(void)
{
        fprintf(
            stderr,
            "usage: stack-fw [--backend NAME] print|apply|remove|list PROJECT [--net ...] [--port ...]\n");
        return 2;
}

static bool parse_u16(const char *s, uint16_t *ret)
{
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || *end || v > 65535)
                return false;
        *ret = v;
        return true;
}

static bool parse_net(char *spec, struct fw_network *n)
{
        _cleanup_strv_free_ char **f = strv_split(spec, ",");
        size_t k = strv_length(f);
        if (k < 4 || k > 6)
                return false;
        char *slash = strchr(f[2], '/');
        if (!slash)
                return false;
        *slash = '\0';
        n->name = xstrdup(f[0]);
        n->bridge = xstrdup(f[1]);
        n->prefixlen = atoi(slash + 1);
        for (size_t i = 4; i < k; i++) {
                if (streq(f[i], "internal"))
                        n->internal = true;
                else if (streq(f[i], "ipv6"))
                        n->ipv6 = true;
                else
                        return false;
        }
        return inet_pton(AF_INET, f[2], &n->subnet) == 1 && inet_pton(AF_INET, f[3], &n->gateway) == 1;
}

static bool parse_port(char *spec, struct fw_port *p)
{
        _cleanup_strv_free_ char **f = strv_split(spec, ",");
        if (strv_length(f) != 3)
                return false;
        p->network = xstrdup(f[0]);
        char *host = f[1], *colon = strrchr(host, ':');
        if (colon) {
                *colon = '\0';
                if (inet_pton(AF_INET, host, &p->host_ip) != 1)
                        return false;
                host = colon + 1;
        }
        char *tilde = strchr(host, '~');
        if (tilde) {
                /* LO~HI: any free port in the range, as compose's "8000-8010:80" */
                *tilde = '\0';
                if (!parse_u16(host, &p->pick_lo) || !parse_u16(tilde + 1, &p->pick_hi))
                        return false;
                host = (char *) "0";
        }
        char *dash = strchr(host, '-');
        uint16_t end = 0;
        if (dash) {
                *dash = '\0';
                if (!parse_u16(dash + 1, &end))
                        return false;
        }
        if (!parse_u16(host, &p->host_port))
                return false;
        p->count = dash ? end - p->host_port + 1 : 1;
        char *c = f[2], *proto = strchr(c, '/');
        if (proto) {
                *proto = '\0';
                if (streq(proto + 1, "udp"))
                        p->proto = FW_PROTO_UDP;
                else if (!streq(proto + 1, "tcp"))
                        return false;
        }
        colon = strrchr(c, ':');
        if (!colon)
                return false;
        *colon = '\0';
        return inet_pton(AF_INET, c, &p->container_ip) == 1 && parse_u16(colon + 1, &p->container_port);
}

static void free_desc(struct fw_network *nets, size_t n_nets, struct fw_port *ports, size_t n_ports)
{
        for (size_t i = 0; i < n_nets; i++) {
                free((char *) nets[i].name);
                free((char *) nets[i].bridge);
        }
        for (size_t i = 0; i < n_ports; i++)
                free((char *) ports[i].network);
        free(nets);
        free(ports);
}

static int fail(struct stack_error *err)
{
        fprintf(stderr, "stack-fw: %s\n", err->msg ? err->msg : strerror(err->code));
        return 1;
}

static void warn(void *userdata, const char *msg)
{
        fprintf(stderr, "stack-fw: warning: %s\n", msg);
}

static const char *backend;

static int open_fw(struct firewall **ret, struct stack_error *err)
{
        int r = firewall_open(backend, ret, err);
        if (r >= 0)
                firewall_set_warn(*ret, warn, NULL);
        return r;
}

int main(int argc, char **argv)
{
        _cleanup_error_ struct stack_error err = {0};
        if (argc >= 3 && streq(argv[1], "--backend")) {
                backend = argv[2];
                argc -= 2;
                argv += 2;
        }
        if (argc < 2)
                return usage();
        const char *cmd = argv[1];

        if (streq(cmd, "list")) {
                _cleanup_firewall_ struct firewall *fw = NULL;
                struct fw_published *pub = NULL;
                size_t n = 0;
                if (open_fw(&fw, &err) < 0 || firewall_list_published(fw, &pub, &n, &err) < 0)
                        return fail(&err);
                for (size_t i = 0; i < n; i++) {
                        char h[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
                        printf("%s %s %s:%u/%s -> %s:%u\n", pub[i].project, pub[i].network,
                               inet_ntop(AF_INET, &pub[i].host_ip, h, sizeof(h)), pub[i].host_port,
                               fw_proto_name(pub[i].proto),
                               inet_ntop(AF_INET, &pub[i].container_ip, c, sizeof(c)),
                               pub[i].container_port);
                }
                fw_published_free(pub, n);
                return 0;
        }
        if (argc < 3)
                return usage();
        const char *project = argv[2];

        if (streq(cmd, "remove")) {
                _cleanup_firewall_ struct firewall *fw = NULL;
                if (open_fw(&fw, &err) < 0 || firewall_remove_project(fw, project, &err) < 0)
                        return fail(&err);
                printf("commits %u\n", firewall_commits(fw, FW_IPV4));
                if (firewall_commits(fw, FW_IPV6) > 0)
                        printf("commits6 %u\n", firewall_commits(fw, FW_IPV6));
                return 0;
        }
        if (!streq(cmd, "print") && !streq(cmd, "apply"))
                return usage();

        struct fw_network *nets = NULL;
        struct fw_port *ports = NULL;
        size_t n_nets = 0, n_ports = 0, cap_nets = 0, cap_ports = 0;
        int rc = 0;
        bool port_check = true;
        for (int i = 3; i < argc && rc == 0; i++) {
                if (streq(argv[i], "--no-port-check"))
                        port_check = false; /* tests: let the backend's own check under the lock speak */
                else if (streq(argv[i], "--net") && i + 1 < argc) {
                        GROW(nets, cap_nets, n_nets + 1);
                        nets[n_nets] = (struct fw_network){0};
                        if (!parse_net(argv[++i], &nets[n_nets++])) {
                                fprintf(stderr, "stack-fw: bad --net %s\n", argv[i]);
                                rc = 2;
                        }
                } else if (streq(argv[i], "--port") && i + 1 < argc) {
                        GROW(ports, cap_ports, n_ports + 1);
                        ports[n_ports] = (struct fw_port){0};
                        if (!parse_port(argv[++i], &ports[n_ports++])) {
                                fprintf(stderr, "stack-fw: bad --port %s\n", argv[i]);
                                rc = 2;
                        }
                } else
                        rc = usage();
        }

        _cleanup_firewall_ struct firewall *fw = NULL;
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        if (rc == 0 && streq(cmd, "apply")) {
                if (open_fw(&fw, &err) < 0 || firewall_list_published(fw, &pub, &n_pub, &err) < 0 ||
                    ports_assign(project, ports, n_ports, pub, n_pub, &err) < 0 ||
                    (port_check && ports_check(project, ports, n_ports, pub, n_pub, &err) < 0))
                        rc = fail(&err);
        }

        struct fw_project desc = {project, nets, n_nets, ports, n_ports};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        if (rc == 0 && firewall_build(&desc, &rs, &err) < 0)
                rc = fail(&err);
        bool any6 = false;
        for (size_t i = 0; i < n_nets; i++)
                any6 = any6 || nets[i].ipv6;
        if (rc == 0 && streq(cmd, "print")) {
                _cleanup_free_ char *text = fw_ruleset_format(&rs);
                fputs(text, stdout);
        }
        if (rc == 0 && streq(cmd, "apply")) {
                if (firewall_apply(fw, &rs, &err) < 0)
                        rc = fail(&err);
                for (size_t i = 0; rc == 0 && i < n_ports; i++) {
                        char h[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
                        printf("published %s:%u/%s -> %s:%u\n",
                               inet_ntop(AF_INET, &ports[i].host_ip, h, sizeof(h)), ports[i].host_port,
                               fw_proto_name(ports[i].proto),
                               inet_ntop(AF_INET, &ports[i].container_ip, c, sizeof(c)),
                               ports[i].container_port);
                }
                if (rc == 0)
                        printf("rules %zu\ncommits %u\n", fw_ruleset_count(&rs),
                               firewall_commits(fw, FW_IPV4));
                if (rc == 0 && any6)
                        printf("commits6 %u\n", firewall_commits(fw, FW_IPV6));
        }
        fw_published_free(pub, n_pub);
        free_desc(nets, n_nets, ports, n_ports);
        return rc;
}
