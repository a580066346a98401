/* Drives net/network.h from the integration tests and the benchmark, one call per command, so a test can
 * stop half-way (as a crash would) and check the kernel in between.
 *
 *   net-tool [OPTIONS] setup PROJECT NETWORK             bridge, subnet, gateway
 *   net-tool [OPTIONS] netns PROJECT CONTAINER           the replica's namespace
 *   net-tool [OPTIONS] attach PROJECT NETWORK CONTAINER  setup + veth + addresses
 *   net-tool [OPTIONS] detach PROJECT NETWORK CONTAINER
 *   net-tool rm PROJECT CONTAINER                        veths, leases, namespace
 *   net-tool teardown PROJECT NETWORK
 *   net-tool down PROJECT                                everything of the project
 *   net-tool [OPTIONS] attach-many PROJECT NETWORK N     N replicas "PROJECT-c-<i>", timed
 *   net-tool status NETWORK
 *   net-tool mode PROJECT CONTAINER MODE                 netns path for network_mode
 *
 * Options: -s SUBNET -r IP_RANGE -g GATEWAY -6 (enable_ipv6, -S for its subnet) -N (enable_ipv4: false) -i
 * (internal) -x (external) -b BRIDGE -m MTU -a IPV4 -A IPV6 -n IFNAME -M MAC -d (default route) -l
 * LINK_LOCAL_IP (repeatable). Roots from STACK_ROOT and STACK_RUN_ROOT. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/netns.h"
#include "net/network.h"

static struct {
        const char *subnet, *range, *gateway, *subnet6, *bridge, *ip, *ip6, *ifname, *mac;
        char **link_local;
        bool ipv6, no_ipv4, internal, external, default_route;
        unsigned mtu;
} opt;

static int fail(struct stack_error *err)
{
        fprintf(stderr, "net-tool: %s\n", err->msg ? err->msg : strerror(err->code));
        return 1;
}

static int setup(struct network_ctx *ctx, const char *project, const char *name, struct network_info *ret,
                 struct stack_error *err)
{
        struct ipam_config cfg[2] = {{0}};
        size_t n = 0;
        if (opt.subnet)
                cfg[n++] = (struct ipam_config){
                    .subnet = opt.subnet, .ip_range = opt.range, .gateway = opt.gateway};
        if (opt.subnet6)
                cfg[n++] = (struct ipam_config){.subnet = opt.subnet6};
        struct network_spec spec = {
            .name = name,
            .project = project,
            .bridge = opt.bridge,
            .mtu = opt.mtu,
            .external = opt.external,
            .internal = opt.internal,
            .ipv4 = !opt.no_ipv4,
            .ipv6 = opt.ipv6,
            .ipam = cfg,
            .n_ipam = n,
        };
        return network_setup(ctx, &spec, ret, err);
}

static void print_info(const struct network_info *i)
{
        char a[IPAM_ADDRSTRLEN], b[IPAM_ADDRSTRLEN];
        printf("bridge=%s subnet=%s gateway=%s", i->bridge, ipam_prefix_format(&i->subnet4, a),
               ipam_addr_format(&i->gateway4, b));
        if (i->has6)
                printf(" subnet6=%s gateway6=%s", ipam_prefix_format(&i->subnet6, a),
                       ipam_addr_format(&i->gateway6, b));
        printf("\n");
}

static int attach(struct network_ctx *ctx, const struct network_info *net, const char *project,
                  const char *container, struct stack_error *err)
{
        int r = network_netns_create(ctx, project, container, NULL, err);
        if (r < 0)
                return r;
        struct network_attach_spec a = {
            .project = project,
            .container = container,
            .ifname = opt.ifname,
            .ipv4_address = opt.ip,
            .ipv6_address = opt.ip6,
            .mac_address = opt.mac,
            .link_local_ips = opt.link_local,
            .default_route = opt.default_route,
        };
        struct network_attachment at;
        r = network_attach(ctx, net, &a, &at, err);
        if (r < 0)
                return r;
        char x[IPAM_ADDRSTRLEN];
        printf("ifname=%s host=%s addr=%s", at.ifname, at.host_ifname, ipam_prefix_format(&at.addr4, x));
        if (at.has6)
                printf(" addr6=%s", ipam_prefix_format(&at.addr6, x));
        printf(" mac=%02x:%02x:%02x:%02x:%02x:%02x\n", at.mac[0], at.mac[1], at.mac[2], at.mac[3], at.mac[4],
               at.mac[5]);
        return 0;
}

int main(int argc, char **argv)
{
        int c;
        while ((c = getopt(argc, argv, "+s:r:g:6NS:ixb:m:a:A:n:M:dl:")) >= 0) {
                switch (c) {
                case 's':
                        opt.subnet = optarg;
                        break;
                case 'r':
                        opt.range = optarg;
                        break;
                case 'g':
                        opt.gateway = optarg;
                        break;
                case '6':
                        opt.ipv6 = true;
                        break;
                case 'N':
                        opt.no_ipv4 = true;
                        break;
                case 'S':
                        opt.subnet6 = optarg;
                        opt.ipv6 = true;
                        break;
                case 'i':
                        opt.internal = true;
                        break;
                case 'x':
                        opt.external = true;
                        break;
                case 'b':
                        opt.bridge = optarg;
                        break;
                case 'm':
                        opt.mtu = (unsigned) atoi(optarg);
                        break;
                case 'a':
                        opt.ip = optarg;
                        break;
                case 'A':
                        opt.ip6 = optarg;
                        break;
                case 'n':
                        opt.ifname = optarg;
                        break;
                case 'M':
                        opt.mac = optarg;
                        break;
                case 'd':
                        opt.default_route = true;
                        break;
                case 'l':
                        strv_push(&opt.link_local, optarg);
                        break;
                default:
                        return 2;
                }
        }
        argc -= optind;
        argv += optind;
        if (argc < 2) {
                fprintf(stderr, "usage: net-tool [OPTIONS] COMMAND ARGS...\n");
                return 2;
        }
        const char *root = getenv("STACK_ROOT"), *run_root = getenv("STACK_RUN_ROOT");
        if (isempty(root) || isempty(run_root)) {
                fprintf(stderr, "net-tool: STACK_ROOT and STACK_RUN_ROOT must be set\n");
                return 2;
        }
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_network_ctx_ struct network_ctx *ctx = NULL;
        if (network_ctx_open(root, run_root, &ctx, &err) < 0)
                return fail(&err);
        const char *cmd = argv[0];
        _cleanup_strv_free_ char **ll = opt.link_local; /* freed at exit, for the leak checker */

        if (streq(cmd, "setup") && argc == 3) {
                struct network_info i;
                if (setup(ctx, argv[1], argv[2], &i, &err) < 0)
                        return fail(&err);
                print_info(&i);
                network_info_done(&i);
        } else if (streq(cmd, "netns") && argc == 3) {
                _cleanup_free_ char *path = NULL;
                if (network_netns_create(ctx, argv[1], argv[2], &path, &err) < 0)
                        return fail(&err);
                printf("%s\n", path);
        } else if (streq(cmd, "attach") && argc == 4) {
                struct network_info i;
                if (setup(ctx, argv[1], argv[2], &i, &err) < 0)
                        return fail(&err);
                int r = attach(ctx, &i, argv[1], argv[3], &err);
                network_info_done(&i);
                if (r < 0)
                        return fail(&err);
        } else if (streq(cmd, "attach-many") && argc == 4) {
                /* The reconciler's scale-up: namespaces first, then one batched attach. */
                struct network_info i;
                if (setup(ctx, argv[1], argv[2], &i, &err) < 0)
                        return fail(&err);
                int n = atoi(argv[3]);
                _cleanup_strv_free_ char **names = NULL;
                _cleanup_free_ struct network_attach_spec *specs = xcalloc(n, sizeof(*specs));
                _cleanup_free_ struct network_attachment *res = xcalloc(n, sizeof(*res));
                uint64_t t0 = now_usec();
                int r = 0;
                for (int k = 0; k < n && r >= 0; k++) {
                        strv_consume(&names, xasprintf("%s-c-%d", argv[1], k + 1));
                        specs[k] = (struct network_attach_spec){
                            .project = argv[1],
                            .container = names[k],
                            .default_route = opt.default_route,
                        };
                        r = network_netns_create(ctx, argv[1], names[k], NULL, &err);
                }
                uint64_t t1 = now_usec();
                if (r >= 0)
                        r = network_attach_many(ctx, &i, specs, n, res, &err);
                network_info_done(&i);
                if (r < 0)
                        return fail(&err);
                printf("%llu usec, %llu in netns creation\n", (unsigned long long) (now_usec() - t0),
                       (unsigned long long) (t1 - t0));
        } else if (streq(cmd, "detach") && argc == 4) {
                if (network_detach(ctx, argv[2], argv[1], argv[3], &err) < 0)
                        return fail(&err);
        } else if (streq(cmd, "rm") && argc == 3) {
                if (network_container_remove(ctx, argv[1], argv[2], &err) < 0)
                        return fail(&err);
        } else if (streq(cmd, "teardown") && argc == 3) {
                if (network_teardown(ctx, argv[1], argv[2], &err) < 0)
                        return fail(&err);
        } else if (streq(cmd, "down") && argc == 2) {
                if (network_project_teardown(ctx, argv[1], &err) < 0)
                        return fail(&err);
        } else if (streq(cmd, "status") && argc == 2) {
                struct network_status s;
                if (network_status(ctx, argv[1], &s, &err) < 0)
                        return fail(&err);
                print_info(&s.info);
                printf("in_kernel=%s\n", s.in_kernel ? "yes" : "no");
                for (size_t k = 0; k < s.n_endpoints; k++) {
                        char a[IPAM_ADDRSTRLEN];
                        printf("endpoint %s %s\n", s.endpoints[k].container,
                               ipam_addr_format(&s.endpoints[k].addr4, a));
                }
                network_status_done(&s);
        } else if (streq(cmd, "mode") && argc == 4) {
                _cleanup_free_ char *path = NULL;
                if (network_mode_netns(ctx, argv[1], argv[2], argv[3], &path, &err) < 0)
                        return fail(&err);
                printf("%s\n", path ? path : "(host)");
        } else {
                fprintf(stderr, "net-tool: unknown command or wrong arguments: %s\n", cmd);
                return 2;
        }
        return 0;
}
