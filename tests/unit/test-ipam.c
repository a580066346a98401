/* IPAM: subnets from the pool, compose's ipam.config, persistent and unique addresses, release. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "net/ipam.h"
#include "tests/unit/tap.h"

static char root[] = "/tmp/stack-test-ipam-XXXXXX";

static const char *fmt_subnet(const struct ipam_network *n, int family, char *buf)
{
        const struct ipam_subnet *s = ipam_network_subnet(n, family);
        return s ? ipam_prefix_format(&s->subnet, buf) : "(none)";
}

static int ensure_net(struct ipam *ipam, const char *name, const char *project,
                      const struct ipam_prefix *in_use, size_t n_in_use, const struct ipam_config *cfg,
                      size_t n_cfg, bool v6, const struct ipam_network **ret, struct stack_error *err)
{
        struct ipam_network_request req = {
            .network = name,
            .project = project,
            .ipv4 = true,
            .ipv6 = v6,
            .config = cfg,
            .n_config = n_cfg,
            .in_use = in_use,
            .n_in_use = n_in_use,
        };
        return ipam_network_ensure(ipam, &req, ret, err);
}

static const char *addr_of(struct ipam *ipam, const char *net, const char *owner, const char *want,
                           char *buf)
{
        struct ipam_addr a;
        _cleanup_error_ struct stack_error err = {0};
        if (ipam_address_ensure(ipam, net, owner, "p", AF_INET, want, &a, &err) < 0) {
                snprintf(buf, IPAM_ADDRSTRLEN, "error");
                diag("%s", err.msg);
                return buf;
        }
        return ipam_addr_format(&a, buf);
}

static void test_parse(void)
{
        struct ipam_prefix p;
        char b[IPAM_ADDRSTRLEN];
        is_int(ipam_prefix_parse("10.1.2.3/16", &p), 0, "prefix parses");
        is_str(ipam_prefix_format(&p, b), "10.1.0.0/16", "host bits are cleared");
        is_int(ipam_prefix_parse("fd00:1::5/64", &p), 0, "IPv6 prefix parses");
        is_str(ipam_prefix_format(&p, b), "fd00:1::/64", "IPv6 prefix normalized");
        ok(ipam_prefix_parse("10.0.0.0/33", &p) < 0, "a /33 is refused");
        ok(ipam_prefix_parse("10.0.0.0", &p) < 0, "a prefix needs a length");
        struct ipam_prefix a, c;
        ipam_prefix_parse("10.0.0.0/8", &a);
        ipam_prefix_parse("10.200.0.0/24", &c);
        ok(ipam_prefix_overlaps(&a, &c) && ipam_prefix_overlaps(&c, &a), "overlap is symmetric");
        ipam_prefix_parse("11.0.0.0/24", &c);
        ok(!ipam_prefix_overlaps(&a, &c), "disjoint prefixes do not overlap");
}

static void test_pool(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ipam_ struct ipam *ipam = NULL;
        char b[IPAM_ADDRSTRLEN];
        is_int(ipam_open(root, &ipam, &err), 0, "open the store");
        const struct ipam_network *n1 = NULL, *n2 = NULL;
        struct ipam_prefix used[2];
        ipam_prefix_parse("172.30.0.0/24", &used[0]);
        ipam_prefix_parse("172.30.2.0/23", &used[1]);
        is_int(ensure_net(ipam, "p_a", "p", used, 2, NULL, 0, false, &n1, &err), 0, "first network");
        is_str(fmt_subnet(n1, AF_INET, b), "172.30.1.0/24", "pool skips the subnet routed on the host");
        const struct ipam_subnet *s = ipam_network_subnet(n1, AF_INET);
        is_str(ipam_addr_format(&s->gateway, b), "172.30.1.1", "gateway is the first address");
        is_int(ensure_net(ipam, "p_b", "p", used, 2, NULL, 0, true, &n2, &err), 0,
               "second network, with IPv6");
        is_str(fmt_subnet(n2, AF_INET, b), "172.30.4.0/24",
               "pool skips other networks and host routes wider than /24");
        is_str(fmt_subnet(n2, AF_INET6, b), "fd53:7461:636b::/64", "IPv6 subnet from the ULA pool");
        n1 = NULL;
        is_int(ensure_net(ipam, "p_a", "p", NULL, 0, NULL, 0, false, &n1, &err), 0, "ensure again");
        is_str(fmt_subnet(n1, AF_INET, b), "172.30.1.0/24", "an existing network keeps its subnet");
        is_int(ipam_save(ipam, &err), 0, "save");
}

static void test_config(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ipam_ struct ipam *ipam = NULL;
        char b[IPAM_ADDRSTRLEN];
        is_int(ipam_open(root, &ipam, &err), 0, "reopen");
        ok(ipam_network_find(ipam, "p_a") != NULL, "records persist across opens");

        struct ipam_aux_address aux[] = {{"host1", "10.5.0.3"}, {"host2", "10.5.0.5"}};
        struct ipam_config cfg = {
            .subnet = "10.5.0.0/24",
            .gateway = "10.5.0.254",
            .aux = aux,
            .n_aux = 2,
        };
        const struct ipam_network *n = NULL;
        is_int(ensure_net(ipam, "p_cfg", "p", NULL, 0, &cfg, 1, false, &n, &err), 0, "explicit subnet");
        const struct ipam_subnet *s = ipam_network_subnet(n, AF_INET);
        is_str(ipam_addr_format(&s->gateway, b), "10.5.0.254", "explicit gateway");
        is_str(addr_of(ipam, "p_cfg", "c1", NULL, b), "10.5.0.1", "first address (gateway is elsewhere)");
        is_str(addr_of(ipam, "p_cfg", "c2", NULL, b), "10.5.0.2", "second address");
        is_str(addr_of(ipam, "p_cfg", "c3", NULL, b), "10.5.0.4", "aux_addresses are skipped");
        is_str(addr_of(ipam, "p_cfg", "c1", NULL, b), "10.5.0.1", "an owner keeps its address");

        _cleanup_error_ struct stack_error e2 = {0};
        struct ipam_addr a;
        int r = ipam_address_ensure(ipam, "p_cfg", "c9", "p", AF_INET, "10.5.0.2", &a, &e2);
        ok(r == -EADDRINUSE, "a static address held by another container is refused");
        contains(e2.msg, "already used by 'c2'", "the error names the holder");
        stack_error_clear(&e2);
        r = ipam_address_ensure(ipam, "p_cfg", "c9", "p", AF_INET, "10.5.0.254", &a, &e2);
        contains(e2.msg, "the gateway", "the gateway cannot be a container's address");
        stack_error_clear(&e2);
        r = ipam_address_ensure(ipam, "p_cfg", "c9", "p", AF_INET, "10.6.0.1", &a, &e2);
        contains(e2.msg, "is not in network", "an address outside the subnet is refused");
        is_str(addr_of(ipam, "p_cfg", "c9", "10.5.0.77", b), "10.5.0.77", "a static address");

        struct ipam_config clash = {.subnet = "10.5.0.128/25"};
        _cleanup_error_ struct stack_error e3 = {0};
        r = ensure_net(ipam, "p_clash", "p", NULL, 0, &clash, 1, false, &n, &e3);
        ok(r < 0, "an overlapping explicit subnet is refused");
        contains(e3.msg, "overlaps network 'p_cfg'", "the error names the other network");

        struct ipam_config ranged = {.subnet = "10.7.0.0/16", .ip_range = "10.7.5.0/24"};
        is_int(ensure_net(ipam, "p_range", "p", NULL, 0, &ranged, 1, false, &n, &err), 0, "ip_range");
        is_str(addr_of(ipam, "p_range", "r1", NULL, b), "10.7.5.0", "dynamic addresses come from ip_range");
        is_str(addr_of(ipam, "p_range", "r2", NULL, b), "10.7.5.1", "next one from ip_range");
        is_str(addr_of(ipam, "p_range", "r3", "10.7.9.9", b), "10.7.9.9",
               "a static address may lie outside ip_range, inside the subnet");

        struct ipam_config bad = {.subnet = "10.8.0.0/24", .ip_range = "10.9.0.0/24"};
        _cleanup_error_ struct stack_error e4 = {0};
        ok(ensure_net(ipam, "p_bad", "p", NULL, 0, &bad, 1, false, &n, &e4) < 0,
           "ip_range outside the subnet");
        contains(e4.msg, "ipam.config[0].ip_range", "the error names the key");

        struct ipam_config moved = {.subnet = "10.50.0.0/24"};
        _cleanup_error_ struct stack_error e5 = {0};
        ok(ensure_net(ipam, "p_cfg", "p", NULL, 0, &moved, 1, false, &n, &e5) == -EBUSY,
           "changing the subnet of a network with containers is refused");
        is_int(ipam_save(ipam, &err), 0, "save");
}

static void test_release(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ipam_ struct ipam *ipam = NULL;
        char b[IPAM_ADDRSTRLEN];
        is_int(ipam_open(root, &ipam, &err), 0, "reopen");
        is_str(addr_of(ipam, "p_cfg", "c2", NULL, b), "10.5.0.2", "leases persist across opens");
        ipam_address_release(ipam, "p_cfg", "c2");
        ok(!ipam_lease_find(ipam, "p_cfg", "c2", AF_INET), "released");
        is_str(addr_of(ipam, "p_cfg", "c4", NULL, b), "10.5.0.2", "a released address is reused");
        ipam_address_release(ipam, "p_cfg", "c2");
        ok(true, "releasing twice is harmless");

        /* Another project's container on p_cfg keeps the network. */
        struct ipam_addr a;
        is_int(ipam_address_ensure(ipam, "p_cfg", "q-x-1", "q", AF_INET, NULL, &a, &err), 0,
               "other project");
        _cleanup_error_ struct stack_error e = {0};
        ok(ipam_network_release(ipam, "p_cfg", "p", &e) == -EBUSY,
           "a network in use by another project stays");
        contains(e.msg, "q-x-1", "the error names the other project's container");
        ipam_address_release(ipam, NULL, "q-x-1");
        is_int(ipam_network_release(ipam, "p_cfg", "p", &err), 0, "release the network");
        ok(!ipam_network_find(ipam, "p_cfg") && !ipam_lease_find(ipam, "p_cfg", "c1", AF_INET),
           "network and its leases are gone");
        is_int(ipam_network_release(ipam, "p_cfg", "p", &err), 0, "releasing an unknown network is success");
        const struct ipam_network *n = NULL;
        is_int(ensure_net(ipam, "p_c", "p", NULL, 0, NULL, 0, false, &n, &err), 0, "a new pool network");
        is_str(fmt_subnet(n, AF_INET, b), "172.30.0.0/24", "released pool subnets are reused");
        is_int(ipam_save(ipam, &err), 0, "save");
}

/* Several processes allocate at once; the lock makes every address unique. */
static void test_concurrent(void)
{
        enum { PROCS = 6, EACH = 15 };
        for (int p = 0; p < PROCS; p++) {
                pid_t pid = fork();
                if (pid == 0) {
                        for (int i = 0; i < EACH; i++) {
                                struct stack_error err = {0};
                                struct ipam *ipam = NULL;
                                struct ipam_addr a;
                                char owner[64];
                                snprintf(owner, sizeof(owner), "c-%d-%d", p, i);
                                if (ipam_open(root, &ipam, &err) < 0 ||
                                    ipam_address_ensure(ipam, "p_c", owner, "p", AF_INET, NULL, &a, &err) <
                                        0 ||
                                    ipam_save(ipam, &err) < 0)
                                        _exit(1);
                                ipam_free(ipam);
                        }
                        _exit(0);
                }
        }
        int failures = 0;
        for (int p = 0; p < PROCS; p++) {
                int st;
                if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        failures++;
        }
        is_int(failures, 0, "concurrent allocators all succeed");
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ipam_ struct ipam *ipam = NULL;
        is_int(ipam_open(root, &ipam, &err), 0, "reopen");
        size_t n = 0, dup = 0;
        for (size_t i = 0; i < ipam->n_leases; i++) {
                if (!streq(ipam->leases[i].network, "p_c"))
                        continue;
                n++;
                for (size_t j = i + 1; j < ipam->n_leases; j++)
                        if (streq(ipam->leases[j].network, "p_c") &&
                            ipam_addr_equal(&ipam->leases[i].addr, &ipam->leases[j].addr))
                                dup++;
        }
        is_int(n, PROCS * EACH, "every allocation was recorded");
        is_int(dup, 0, "no address was handed out twice");
}

static void test_exhaustion(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ipam_ struct ipam *ipam = NULL;
        char b[IPAM_ADDRSTRLEN];
        is_int(ipam_open(root, &ipam, &err), 0, "reopen");
        struct ipam_config tiny = {.subnet = "192.168.77.0/30"};
        const struct ipam_network *n = NULL;
        is_int(ensure_net(ipam, "p_tiny", "p", NULL, 0, &tiny, 1, false, &n, &err), 0, "a /30");
        is_str(addr_of(ipam, "p_tiny", "t1", NULL, b), "192.168.77.2",
               "the only host address after the gateway");
        struct ipam_addr a;
        _cleanup_error_ struct stack_error e = {0};
        ok(ipam_address_ensure(ipam, "p_tiny", "t2", "p", AF_INET, NULL, &a, &e) == -ENOSPC, "full subnet");
        contains(e.msg, "no free IPv4 address", "the error says so");

        struct ipam_pool pool;
        ipam_prefix_parse("10.99.0.0/23", &pool.base);
        pool.size = 24;
        struct ipam_network_request req = {.network = "p_x", .project = "p", .ipv4 = true, .pool4 = &pool};
        is_int(ipam_network_ensure(ipam, &req, &n, &err), 0, "custom pool, first");
        req.network = "p_y";
        is_int(ipam_network_ensure(ipam, &req, &n, &err), 0, "custom pool, second");
        req.network = "p_z";
        _cleanup_error_ struct stack_error e2 = {0};
        ok(ipam_network_ensure(ipam, &req, &n, &e2) == -ENOSPC, "an exhausted pool is an error");
        contains(e2.msg, "no free /24 left in the address pool 10.99.0.0/23", "the error names the pool");
}

/* Static addresses of the file are never handed out dynamically, whichever container comes first, and a
 * dynamic lease that sits on one (from before it was declared) moves off it. */
static void test_declared(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_ipam_ struct ipam *ipam = NULL;
        char b[IPAM_ADDRSTRLEN];
        is_int(ipam_open(root, &ipam, &err), 0, "reopen");
        struct ipam_config cfg = {.subnet = "172.20.0.0/24"};
        const struct ipam_network *n = NULL;
        is_int(ensure_net(ipam, "p_static", "p", NULL, 0, &cfg, 1, false, &n, &err), 0, "a /24");
        char *declared[] = {"172.20.0.2", "172.20.0.3", NULL};
        struct ipam_addr a;
        is_int(
            ipam_address_ensure_declared(ipam, "p_static", "p-b-1", "p", AF_INET, NULL, declared, &a, &err),
            0, "b, dynamic, made first");
        is_str(ipam_addr_format(&a, b), "172.20.0.4", "skips the declared .2 and .3");
        is_int(ipam_address_ensure_declared(ipam, "p_static", "p-a-1", "p", AF_INET, "172.20.0.2", declared,
                                            &a, &err),
               0, "a then gets its declared address");
        is_str(ipam_addr_format(&a, b), "172.20.0.2", "the declared one");

        /* A lease from an earlier up, before .3 was declared, moves off it. */
        is_str(addr_of(ipam, "p_static", "p-c-1", NULL, b), "172.20.0.3", "without the list .3 is free");
        char *more[] = {"172.20.0.2", "172.20.0.3", "172.20.0.5", NULL};
        is_int(ipam_address_ensure_declared(ipam, "p_static", "p-c-1", "p", AF_INET, NULL, more, &a, &err),
               0, "c again, with .3 declared now");
        is_str(ipam_addr_format(&a, b), "172.20.0.6", "its lease moves off the declared address");
        is_int(ipam_address_ensure_declared(ipam, "p_static", "p-d-1", "p", AF_INET, "172.20.0.3", more, &a,
                                            &err),
               0, "and the service declaring it gets it");
}

int main(void)
{
        if (!mkdtemp(root)) {
                perror("mkdtemp");
                return 1;
        }
        test_parse();
        test_pool();
        test_config();
        test_release();
        test_concurrent();
        test_exhaustion();
        test_declared();
        _cleanup_error_ struct stack_error err = {0};
        rm_rf(root, &err);
        return done_testing();
}
