/* The pure parts of net/network.h: a service's interface order and default route, network_mode,
 * names of kernel objects. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/netlink.h"
#include "net/network.h"
#include "tests/unit/tap.h"

static void test_plan(void)
{
        struct stack_network nets[] = {
            {.key = "a", .name = "p_a"},
            {.key = "b", .name = "p_b"},
            {.key = "c", .name = "p_c"},
        };
        struct stack_project p = {.name = "p", .networks = nets, .n_networks = 3};
        struct stack_service_network sn[] = {
            {.name = "a"},
            {.name = "b", .priority = 10},
            {.name = "c", .gw_priority = 5},
        };
        struct stack_service s = {.name = "web", .networks = sn, .n_networks = 3};
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_free_ struct network_plan_entry *e = NULL;
        size_t n = 0;
        is_int(network_service_plan(&p, &s, &e, &n, &err), 0, "plan");
        is_int(n, 3, "three attachments");
        is_str(e[0].sn->name, "b", "highest priority first");
        is_str(e[0].ifname, "eth0", "and it is eth0");
        is_str(e[1].sn->name, "a", "then file order");
        is_str(e[2].ifname, "eth2", "eth2 last");
        ok(e[2].default_route && !e[0].default_route && !e[1].default_route,
           "the default route goes through the highest gw_priority");

        free(TAKE_PTR(e));
        sn[0].interface_name = (char *) "eth0";
        is_int(network_service_plan(&p, &s, &e, &n, &err), 0, "plan with an interface_name");
        is_str(e[1].ifname, "eth0", "interface_name honoured");
        is_str(e[0].ifname, "eth1", "automatic names skip a taken one");
        is_str(e[2].ifname, "eth2", "and go on");

        free(TAKE_PTR(e));
        sn[2].gw_priority = 0;
        sn[0].interface_name = NULL;
        is_int(network_service_plan(&p, &s, &e, &n, &err), 0, "plan without gw_priority");
        ok(e[0].default_route, "the first network gets the default route on a tie");

        free(TAKE_PTR(e));
        sn[1].interface_name = (char *) "eth1";
        sn[2].interface_name = (char *) "eth1";
        _cleanup_error_ struct stack_error e2 = {0};
        ok(network_service_plan(&p, &s, &e, &n, &e2) < 0, "two networks on one interface name is an error");
        contains(e2.msg, "both use interface 'eth1'", "it says which");

        sn[2].interface_name = NULL;
        sn[2].name = (char *) "zzz";
        _cleanup_error_ struct stack_error e3 = {0};
        ok(network_service_plan(&p, &s, &e, &n, &e3) < 0, "an undeclared network is an error");
        contains(e3.msg, "network 'zzz' is not declared", "naming it");
}

static void test_mode(void)
{
        struct network_mode m;
        _cleanup_error_ struct stack_error err = {0};
        ok(network_mode_parse(NULL, &m, &err) == 0 && m.kind == NETWORK_MODE_BRIDGE, "unset: bridge");
        ok(network_mode_parse("none", &m, &err) == 0 && m.kind == NETWORK_MODE_NONE, "none");
        ok(network_mode_parse("host", &m, &err) == 0 && m.kind == NETWORK_MODE_HOST, "host");
        ok(network_mode_parse("service:db", &m, &err) == 0 && m.kind == NETWORK_MODE_SERVICE &&
               streq(m.target, "db"),
           "service:NAME");
        ok(network_mode_parse("container:x-1", &m, &err) == 0 && m.kind == NETWORK_MODE_CONTAINER &&
               streq(m.target, "x-1"),
           "container:NAME");
        ok(network_mode_parse("service:", &m, &err) < 0, "service: without a name");
        stack_error_clear(&err);
        ok(network_mode_parse("bridged", &m, &err) < 0, "an unknown mode");
        contains(err.msg, "network_mode \"bridged\"", "the error quotes it");
}

static void test_names(void)
{
        char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ];
        netlink_bridge_name("proj_default", a);
        netlink_bridge_name("proj_default", b);
        is_str(a, b, "bridge names are deterministic");
        is_int(strlen(a), 11, "stk + 8 hex digits");
        ok(startswith(a, "stk") != NULL, "with the stk prefix");
        netlink_veth_name("proj_default", "proj-web-1", a);
        netlink_veth_name("proj_default", "proj-web-2", b);
        netlink_veth_name("proj_other", "proj-web-1", c);
        is_int(strlen(a), 15, "veth names use all 15 characters");
        int same = 0;
        for (int i = 3; i < 15; i++)
                same += a[i] == b[i];
        ok(same < 6, "one character of difference changes most of the name (%d of 12 alike)", same);
        ok(!streq(a, c), "the network is part of the veth name");
        ok(netlink_ifname_valid("eth0") && !netlink_ifname_valid("a/b") &&
               !netlink_ifname_valid("sixteen-chars-xx") && !netlink_ifname_valid(""),
           "interface name validation");
}

static void test_spec(void)
{
        struct stack_kv opts[] = {{"com.docker.network.bridge.name", "br-x"},
                                  {"com.docker.network.driver.mtu", "9000"}};
        struct stack_network n = {.key = "x", .name = "p_x", .enable_ipv4 = true, .driver_opts = {opts, 2}};
        struct network_spec s;
        _cleanup_error_ struct stack_error err = {0};
        is_int(network_spec_from_model("p", &n, &s, &err), 0, "spec from the model");
        is_str(s.bridge, "br-x", "bridge name from driver_opts");
        is_int(s.mtu, 9000, "MTU from driver_opts");
        n.driver = (char *) "overlay";
        ok(network_spec_from_model("p", &n, &s, &err) == -EOPNOTSUPP, "other drivers are refused");
        contains(err.msg, "driver 'overlay' is not supported", "saying so");
}

int main(void)
{
        test_plan();
        test_mode();
        test_names();
        test_spec();
        return done_testing();
}
