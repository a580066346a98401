/* Rule generation for published ports, ranges, udp, host addresses and internal networks; the pure parts
 * of the host port checks. No privileges: nothing here touches the kernel. */
#include <arpa/inet.h>
#include <errno.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall.h"
#include "net/ports.h"
#include "tests/unit/tap.h"

static struct in_addr ip(const char *s)
{
        struct in_addr a;
        inet_pton(AF_INET, s, &a);
        return a;
}

static struct fw_network net(const char *name, const char *bridge, const char *subnet, unsigned len,
                             bool internal)
{
        struct in_addr gw = ip(subnet);
        gw.s_addr = htonl(ntohl(gw.s_addr) + 1);
        return (struct fw_network){name, bridge, ip(subnet), len, gw, internal};
}

static char *build_text(const struct fw_project *p, struct fw_ruleset *rs)
{
        _cleanup_error_ struct stack_error err = {0};
        if (firewall_build(p, rs, &err) < 0) {
                diag("build failed: %s", err.msg);
                return xstrdup("");
        }
        return fw_ruleset_format(rs);
}

/* Counts lines of `text` containing every one of the given substrings. */
static int count_lines(const char *text, const char *a, const char *b)
{
        int n = 0;
        _cleanup_strv_free_ char **lines = strv_split(text, "\n");
        STRV_FOREACH (l, lines)
                if (strstr(*l, a) && (!b || strstr(*l, b)))
                        n++;
        return n;
}

static void test_one_port(void)
{
        struct fw_network n = net("front", "stk1", "10.88.1.0", 24, false);
        struct fw_port p = {
            .network = "front", .host_port = 8080, .container_port = 80, .container_ip = ip("10.88.1.2")};
        struct fw_project pr = {"shop", &n, 1, &p, 1};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_free_ char *text = build_text(&pr, &rs);
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix("shop", prefix);
        _cleanup_free_ char *expected = xasprintf(
            "*raw\n"
            "-A STACK-PRE -m comment --comment \"stack:shop\" -j %1$sPRE\n"
            "-A %1$sPRE -d 127.0.0.0/8 -i stk1 -m comment --comment \"stack:shop:front\" -j DROP\n"
            "-A %1$sPRE -d 10.88.1.0/24 ! -i stk1 -m comment --comment \"stack:shop:front\" -j DROP\n"
            "-A %1$sPRE -d 127.0.0.0/8 ! -i lo -p tcp -m comment --comment \"stack:shop:front\" -m tcp "
            "--dport "
            "8080 -j DROP\n"
            "*filter\n"
            "-A STACK-FORWARD -m comment --comment \"stack:shop\" -j %1$sISO\n"
            "-A %1$sISO -o stk1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "
            "\"stack:shop:front\" -j ACCEPT\n"
            "-A %1$sISO -d 10.88.1.2/32 -o stk1 -p tcp -m conntrack --ctstate DNAT -m comment --comment "
            "\"stack:shop:front\" -m tcp --dport 80 -j ACCEPT\n"
            "-A %1$sISO -i stk1 -o stk1 -m comment --comment \"stack:shop:front\" -j ACCEPT\n"
            "-A %1$sISO -o stk1 -m comment --comment \"stack:shop:front\" -j DROP\n"
            "-A STACK-FORWARD -m comment --comment \"stack:shop\" -j %1$sFWD\n"
            "-A %1$sFWD -i stk1 ! -o stk1 -p tcp -m comment --comment \"stack:shop:front\" -m tcp "
            "--tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n"
            "-A %1$sFWD -i stk1 -m comment --comment \"stack:shop:front\" -j ACCEPT\n"
            "*nat\n"
            "-A STACK-DNAT -m comment --comment \"stack:shop\" -j %1$sDNAT\n"
            "-A %1$sDNAT -p tcp -m comment --comment \"stack:shop:front\" -m tcp --dport 8080 -j DNAT "
            "--to-destination 10.88.1.2:80\n"
            "-A STACK-POSTROUTING -m comment --comment \"stack:shop\" -j %1$sPOST\n"
            "-A %1$sPOST -s 10.88.1.0/24 ! -o stk1 -m comment --comment \"stack:shop:front\" -j MASQUERADE\n"
            "-A %1$sPOST -s 10.88.1.0/24 -o stk1 -m conntrack --ctstate DNAT -m comment --comment "
            "\"stack:shop:front\" -j MASQUERADE\n"
            "-A %1$sPOST -s 127.0.0.0/8 -o stk1 -m comment --comment \"stack:shop:front\" -j MASQUERADE\n",
            prefix);
        is_str(text, expected, "one tcp port on 0.0.0.0: the complete rule set");
        ok(rs.localnet_bridges && streq(rs.localnet_bridges[0], "stk1") && !rs.localnet_bridges[1],
           "route_localnet is asked for the bridge");
        is_int(fw_ruleset_count(&rs), 13, "13 rules, jumps not counted");
}

static void test_udp_range_hostip(void)
{
        struct fw_network n = net("front", "stk1", "10.88.1.0", 24, false);
        struct fw_port p[] = {
            {.network = "front",
             .host_port = 5000,
             .container_port = 53,
             .proto = FW_PROTO_UDP,
             .container_ip = ip("10.88.1.2")},
            {.network = "front",
             .host_port = 8090,
             .container_port = 90,
             .count = 3,
             .container_ip = ip("10.88.1.3")},
            {.network = "front",
             .host_ip = ip("192.0.2.10"),
             .host_port = 443,
             .container_port = 8443,
             .container_ip = ip("10.88.1.4")},
        };
        struct fw_project pr = {"shop", &n, 1, p, ELEMENTSOF(p)};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_free_ char *text = build_text(&pr, &rs);

        is_int(count_lines(text,
                           "-p udp -m comment --comment \"stack:shop:front\" -m udp --dport 5000 -j DNAT "
                           "--to-destination 10.88.1.2:53",
                           NULL),
               1, "udp: DNAT matches udp");
        is_int(count_lines(text, "-d 10.88.1.2/32 -o stk1 -p udp -m conntrack --ctstate DNAT",
                           "--dport 53 -j ACCEPT"),
               1, "udp: FORWARD accepts the DNATed udp port");
        is_int(count_lines(text, "--dport 8090 -j DNAT --to-destination 10.88.1.3:90", NULL), 1,
               "range: first port");
        is_int(count_lines(text, "--dport 8091 -j DNAT --to-destination 10.88.1.3:91", NULL), 1,
               "range: second port");
        is_int(count_lines(text, "--dport 8092 -j DNAT --to-destination 10.88.1.3:92", NULL), 1,
               "range: third port");
        is_int(count_lines(text, "-j DNAT", NULL), 5, "five DNAT rules in all");
        is_int(count_lines(text, "-d 192.0.2.10/32 -p tcp",
                           "--dport 443 -j DNAT --to-destination 10.88.1.4:8443"),
               1, "a host address restricts the DNAT to it");
        is_int(count_lines(text, "! -i lo", "--dport 443 "), 0,
               "no loopback guard for a port not on 127.0.0.1");
        is_int(count_lines(text, "! -i lo", "--dport 8091 "), 1,
               "a loopback guard for each port of a range on 0.0.0.0");
}

static void test_loopback_only(void)
{
        struct fw_network n[] = {net("a", "stk1", "10.88.1.0", 24, false),
                                 net("b", "stk2", "10.88.2.0", 24, false)};
        struct fw_port p[] = {
            {.network = "a",
             .host_ip = ip("127.0.0.1"),
             .host_port = 8082,
             .container_port = 82,
             .container_ip = ip("10.88.1.2")},
            {.network = "b",
             .host_ip = ip("192.0.2.10"),
             .host_port = 8083,
             .container_port = 83,
             .container_ip = ip("10.88.2.2")},
        };
        struct fw_project pr = {"shop", n, 2, p, 2};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_free_ char *text = build_text(&pr, &rs);
        is_int(count_lines(text, "-d 127.0.0.1/32 -p tcp",
                           "--dport 8082 -j DNAT --to-destination 10.88.1.2:82"),
               1, "127.0.0.1: DNAT only for that address");
        is_int(count_lines(text, "-d 127.0.0.0/8 ! -i lo -p tcp", "--dport 8082 -j DROP"), 1,
               "127.0.0.1: the CVE-2020-8558 guard drops what does not come from lo");
        is_int(count_lines(text, "-s 127.0.0.0/8 -o stk1", "MASQUERADE"), 1,
               "127.0.0.1: loopback sources masqueraded into the bridge");
        is_int(count_lines(text, "-s 127.0.0.0/8 -o stk2", "MASQUERADE"), 0,
               "no loopback masquerade where nothing is on 127.0.0.1");
        ok(rs.localnet_bridges && streq(rs.localnet_bridges[0], "stk1") && !rs.localnet_bridges[1],
           "route_localnet only for the bridge that needs it");
        is_int(count_lines(text, "stack:shop:b", NULL) > 0, 1, "rules of network b carry its marker");
        is_int(count_lines(text, "-d 10.88.2.0/24 ! -i stk2", "DROP"), 1,
               "each subnet is reached only through its bridge");
}

static void test_internal(void)
{
        struct fw_network n[] = {net("back", "stk9", "10.88.9.0", 24, true),
                                 net("front", "stk1", "10.88.1.0", 24, false)};
        struct fw_project pr = {"shop", n, 2, NULL, 0};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_free_ char *text = build_text(&pr, &rs);
        is_int(count_lines(text, "stk9", "MASQUERADE"), 0, "internal: no masquerade");
        is_int(count_lines(text, "-s 10.88.1.0/24 ! -o stk1", "MASQUERADE"), 1,
               "the other network still has outbound NAT");
        is_int(count_lines(text, "-i stk9 ! -o stk9", "-j DROP"), 1, "internal: nothing leaves the bridge");
        is_int(count_lines(text, "-i stk9 -j ACCEPT", NULL), 0, "internal: no outbound accept");
        is_int(count_lines(text, "-i stk9 ! -o stk9", "TCPMSS"), 0,
               "internal: nothing leaves, nothing to clamp");
        is_int(count_lines(text, "-i stk1 ! -o stk1 -p tcp", "--tcp-flags SYN,RST SYN -j TCPMSS"), 1,
               "the other network clamps the MSS of connections leaving the host");
        is_int(count_lines(text, "-d 10.88.9.1/32 -i stk9", "-j DROP"), 1,
               "internal: the host is reached only on the gateway address");
        is_int(count_lines(text, "-A STACK-INPUT", NULL), 1, "internal: one INPUT jump");

        /* The INT chain must come first in FORWARD: a lower group than ISO, which is lower than FWD. */
        const struct fw_chain *intc = NULL, *iso = NULL, *fwd = NULL;
        for (size_t i = 0; i < rs.n_chains; i++) {
                if (endswith(rs.chains[i].name, "-INT"))
                        intc = &rs.chains[i];
                if (endswith(rs.chains[i].name, "-ISO"))
                        iso = &rs.chains[i];
                if (endswith(rs.chains[i].name, "-FWD"))
                        fwd = &rs.chains[i];
        }
        ok(intc && iso && fwd && intc->group < iso->group && iso->group < fwd->group,
           "groups order internal drops, then admission into bridges, then leaving them");
        ok(intc && firewall_chain_group(intc->name) == intc->group && fwd &&
               firewall_chain_group(fwd->name) == fwd->group,
           "a chain's group is known from its name alone (for chains read back from the kernel)");

        struct fw_network solo = net("back", "stk9", "10.88.9.0", 24, true);
        struct fw_project pr2 = {"shop", &solo, 1, NULL, 0};
        _cleanup_ruleset_ struct fw_ruleset rs2 = {0};
        _cleanup_free_ char *text2 = build_text(&pr2, &rs2);
        is_int(count_lines(text2, "*nat", NULL), 0, "an internal network alone has no nat rules at all");
}

static void test_errors(void)
{
        struct fw_network n[] = {net("back", "stk9", "10.88.9.0", 24, true),
                                 net("front", "stk1", "10.88.1.0", 24, false)};
        struct {
                struct fw_port port;
                const char *msg;
        } cases[] = {
            {{.network = "back", .host_port = 80, .container_port = 80, .container_ip = ip("10.88.9.2")},
             "network 'back' is internal"},
            {{.network = "nope", .host_port = 80, .container_port = 80, .container_ip = ip("10.88.1.2")},
             "unknown network 'nope'"},
            {{.network = "front", .host_port = 80, .container_port = 80, .container_ip = ip("10.88.2.2")},
             "outside network 'front'"},
            {{.network = "front", .host_port = 0, .container_port = 80, .container_ip = ip("10.88.1.2")},
             "no port number"},
            {{.network = "front",
              .host_port = 65535,
              .container_port = 80,
              .count = 2,
              .container_ip = ip("10.88.1.2")},
             "range beyond 65535"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct fw_project pr = {"shop", n, 2, &cases[i].port, 1};
                struct fw_ruleset rs = {0};
                _cleanup_error_ struct stack_error err = {0};
                int r = firewall_build(&pr, &rs, &err);
                is_int(r, -EINVAL, "refused: %s", cases[i].msg);
                contains(err.msg, cases[i].msg, "the error says why (%s)", cases[i].msg);
                ok(rs.chains == NULL && rs.project == NULL, "nothing is returned on failure");
        }
        struct fw_network longbr = net("x", "a-bridge-name-too-long", "10.88.1.0", 24, false);
        struct fw_project pr = {"shop", &longbr, 1, NULL, 0};
        struct fw_ruleset rs = {0};
        _cleanup_error_ struct stack_error err = {0};
        is_int(firewall_build(&pr, &rs, &err), -EINVAL, "a bridge name longer than IFNAMSIZ is refused");
}

static void test_names(void)
{
        char a[FW_CHAIN_MAX], b[FW_CHAIN_MAX], a2[FW_CHAIN_MAX];
        firewall_chain_prefix("shop", a);
        firewall_chain_prefix("shop2", b);
        firewall_chain_prefix("shop", a2);
        is_str(a, a2, "chain names are deterministic (teardown needs no stored state)");
        ok(!streq(a, b), "projects get different chains");
        ok(strlen(a) + strlen("DNAT") <= 28, "chain names fit iptables' 28 characters");
        char big[300];
        memset(big, 'p', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        firewall_chain_prefix(big, a);
        ok(strlen(a) + strlen("DNAT") <= 28, "also for a very long project name");
        struct fw_network n = net("front", "stk1", "10.88.1.0", 24, false);
        struct fw_project pr = {big, &n, 1, NULL, 0};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_free_ char *text = build_text(&pr, &rs);
        ok(rs.n_chains > 0 && strlen(rs.chains[0].rules[0].comment) < FW_COMMENT_MAX,
           "a very long project name is cut to fit the comment match");
        const struct fw_base_chain *bc = firewall_base_chains(FW_IPV4);
        int hooks = 0;
        for (; bc->name; bc++)
                hooks++;
        is_int(
            hooks, 6,
            "six hook jumps: raw PREROUTING, filter FORWARD and INPUT, nat PREROUTING, OUTPUT, POSTROUTING");
        hooks = 0;
        for (bc = firewall_base_chains(FW_IPV6); bc->name; bc++)
                hooks++;
        is_int(hooks, 1, "one in IPv6: filter FORWARD");
}

static void test_ports_pure(void)
{
        struct fw_published pub[] = {
            {.project = "other", .network = "web", .host_port = 8080, .proto = FW_PROTO_TCP},
            {.project = "shop",
             .network = "front",
             .host_port = 8081,
             .proto = FW_PROTO_TCP,
             .container_ip = ip("10.88.1.2"),
             .container_port = 80},
        };
        _cleanup_error_ struct stack_error err = {0};
        struct fw_port p = {.network = "front", .host_port = 8080, .container_port = 80};
        is_int(ports_check("shop", &p, 1, pub, 2, &err), -EADDRINUSE,
               "a port published by another project is taken");
        contains(err.msg, "port 0.0.0.0:8080/tcp is already published by project 'other' (network 'web')",
                 "the error names the port and the owner");
        stack_error_clear(&err);

        p.proto = FW_PROTO_UDP;
        p.host_port = 8081;
        struct fw_port twice[] = {p, p};
        is_int(ports_check("shop", twice, 2, NULL, 0, &err), -EADDRINUSE,
               "the same port twice in one project is refused");
        contains(err.msg, "8081/udp is published twice", "and said so");
        stack_error_clear(&err);

        struct fw_port own = {
            .network = "front", .host_port = 8081, .container_port = 80, .container_ip = ip("10.88.1.2")};
        is_int(ports_check("shop", &own, 1, pub, 2, &err), 0,
               "the project's own published port is not a clash");

        struct fw_port other_ip = {.network = "front", .host_ip = ip("192.0.2.1"), .host_port = 8080};
        is_int(ports_check("shop", &other_ip, 1, pub, 1, &err), -EADDRINUSE,
               "a specific address clashes with a port published on every address");
        stack_error_clear(&err);

        struct fw_port keep = {
            .network = "front", .host_port = 0, .container_port = 80, .container_ip = ip("10.88.1.2")};
        is_int(ports_assign("shop", &keep, 1, pub, 2, &err), 0, "assign succeeds");
        is_int(keep.host_port, 8081,
               "a random port already published for the same target is kept on re-apply");

        struct fw_port range = {.network = "front", .host_port = 0, .container_port = 80, .count = 2};
        is_int(ports_assign("shop", &range, 1, NULL, 0, &err), -EINVAL,
               "a range without host ports is refused");

        uint16_t lo, hi;
        ports_ephemeral_range(&lo, &hi);
        ok(lo > 0 && lo <= hi, "the ephemeral range is read (%u-%u)", lo, hi);
}

/* A fake backend: the interface carries the ruleset through unchanged and counts. */
static int fake_applied;
static int fake_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err)
{
        fake_applied += (int) fw_ruleset_count(rs);
        fw->commits[FW_IPV4] += 3;
        firewall_warn(fw, "fake %s", "warning");
        return 0;
}
static int fake_remove(struct firewall *fw, const char *project, struct stack_error *err)
{
        return stack_error_set(err, ENOENT, "no project %s", project);
}

static char *warned;
static void on_warn(void *userdata, const char *msg)
{
        free(warned);
        warned = xasprintf("%s:%s", (const char *) userdata, msg);
}

static void test_backend_dispatch(void)
{
        static const struct firewall_ops ops = {
            .name = "fake", .apply = fake_apply, .remove_project = fake_remove};
        _cleanup_firewall_ struct firewall *fw = firewall_new(&ops, NULL);
        struct fw_network n = net("front", "stk1", "10.88.1.0", 24, false);
        struct fw_project pr = {"shop", &n, 1, NULL, 0};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_error_ struct stack_error err = {0};
        is_int(firewall_build(&pr, &rs, &err), 0, "build");
        firewall_set_warn(fw, on_warn, (void *) "ud");
        is_int(firewall_apply(fw, &rs, &err), 0, "apply through the ops table");
        is_int(fake_applied, (int) fw_ruleset_count(&rs), "the backend got the rules");
        is_int(firewall_commits(fw, FW_IPV4), 3, "commits are counted");
        is_int(firewall_commits(fw, FW_IPV6), 0, "per family");
        is_str(warned, "ud:fake warning", "a backend's warning goes to the caller's handler");
        is_str(firewall_name(fw), "fake", "the backend's name");
        is_int(firewall_remove_project(fw, "x", &err), -ENOENT, "errors come back as they are");
        free(warned);
        stack_error_clear(&err);

        struct firewall *none = NULL;
        is_int(firewall_open("no-such-backend", &none, &err), -EINVAL, "an unknown backend is refused");
        contains(err.msg, "no-such-backend", "naming it");
        contains(err.msg, "iptables", "and the choices");
        ok(!none, "and nothing is opened");
}

/* An IPv6-only network (enable_ipv4: false) reaches the builder with prefix length 0: it must get no IPv4
 * rule at all, or a /0 would drop or masquerade every packet of the host. */
static void test_ipv6_only(void)
{
        struct fw_network n[] = {net("v6only", "stk6", "0.0.0.0", 0, false),
                                 net("front", "stk1", "10.88.1.0", 24, false)};
        struct fw_project pr = {"shop", n, 2, NULL, 0};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        _cleanup_free_ char *text = build_text(&pr, &rs);
        is_int(count_lines(text, "stk6", NULL), 0, "IPv6-only network: no IPv4 rule names its bridge");
        is_int(count_lines(text, "0.0.0.0/0", NULL), 0, "and none matches every address");
        ok(count_lines(text, "stk1", NULL) > 0, "the IPv4 network beside it still has its rules");
}

int main(void)
{
        test_one_port();
        test_udp_range_hostip();
        test_loopback_only();
        test_internal();
        test_ipv6_only();
        test_errors();
        test_names();
        test_ports_pure();
        test_backend_dispatch();
        return done_testing();
}
