/* The pure parts of net/network.h: network_mode and names of kernel objects. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/netlink.h"
#include "net/network.h"
#include "tests/unit/tap.h"

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

int main(void)
{
        test_mode();
        test_names();
        return done_testing();
}
