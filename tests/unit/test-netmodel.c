/* The adapters from the compose model to net/'s terms (core/engine/netmodel.h): a service's interface
 * order and default route, a network's spec with its ipam.config, compose ports as firewall ports. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/netmodel.h"
#include "net/ports.h"
#include "tests/unit/tap.h"

static struct in_addr ip(const char *s)
{
        struct in_addr a;
        inet_pton(AF_INET, s, &a);
        return a;
}

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
        _cleanup_free_ struct netmodel_attachment *e = NULL;
        size_t n = 0;
        is_int(netmodel_service_plan(&p, &s, &e, &n, &err), 0, "plan");
        is_int(n, 3, "three attachments");
        is_str(e[0].sn->name, "b", "highest priority first");
        is_str(e[0].ifname, "eth0", "and it is eth0");
        is_str(e[1].sn->name, "a", "then file order");
        is_str(e[2].ifname, "eth2", "eth2 last");
        ok(e[2].default_route && !e[0].default_route && !e[1].default_route,
           "the default route goes through the highest gw_priority");

        free(TAKE_PTR(e));
        sn[0].interface_name = (char *) "eth0";
        is_int(netmodel_service_plan(&p, &s, &e, &n, &err), 0, "plan with an interface_name");
        is_str(e[1].ifname, "eth0", "interface_name honoured");
        is_str(e[0].ifname, "eth1", "automatic names skip a taken one");
        is_str(e[2].ifname, "eth2", "and go on");

        free(TAKE_PTR(e));
        sn[2].gw_priority = 0;
        sn[0].interface_name = NULL;
        is_int(netmodel_service_plan(&p, &s, &e, &n, &err), 0, "plan without gw_priority");
        ok(e[0].default_route, "the first network gets the default route on a tie");

        free(TAKE_PTR(e));
        sn[1].interface_name = (char *) "eth1";
        sn[2].interface_name = (char *) "eth1";
        _cleanup_error_ struct stack_error e2 = {0};
        ok(netmodel_service_plan(&p, &s, &e, &n, &e2) < 0, "two networks on one interface name is an error");
        contains(e2.msg, "both use interface 'eth1'", "it says which");

        sn[2].interface_name = NULL;
        sn[2].name = (char *) "zzz";
        _cleanup_error_ struct stack_error e3 = {0};
        ok(netmodel_service_plan(&p, &s, &e, &n, &e3) < 0, "an undeclared network is an error");
        contains(e3.msg, "network 'zzz' is not declared", "naming it");
}

static void test_spec(void)
{
        struct stack_kv opts[] = {{"com.docker.network.bridge.name", "br-x"},
                                  {"com.docker.network.driver.mtu", "9000"}};
        struct stack_network n = {.key = "x", .name = "p_x", .enable_ipv4 = true, .driver_opts = {opts, 2}};
        struct netmodel_network m;
        _cleanup_error_ struct stack_error err = {0};
        is_int(netmodel_network("p", &n, &m, &err), 0, "spec from the model");
        is_str(m.spec.bridge, "br-x", "bridge name from driver_opts");
        is_int(m.spec.mtu, 9000, "MTU from driver_opts");
        netmodel_network_done(&m);

        struct stack_kv aux[] = {{"host1", "10.5.0.3"}};
        struct stack_ipam_config cfg[] = {{.subnet = "10.5.0.0/24", .gateway = "10.5.0.254"},
                                          {.subnet = "fd00::/64", .aux_addresses = {aux, 1}}};
        n.ipam = cfg;
        n.n_ipam = 2;
        is_int(netmodel_network("p", &n, &m, &err), 0, "with ipam.config");
        is_int((int) m.spec.n_ipam, 2, "both entries");
        is_str(m.spec.ipam[0].gateway, "10.5.0.254", "the gateway carried over");
        ok(m.spec.ipam[0].n_aux == 0 && m.spec.ipam[1].n_aux == 1, "aux_addresses per entry");
        is_str(m.spec.ipam[1].aux[0].name, "host1", "named");
        is_str(m.spec.ipam[1].aux[0].addr, "10.5.0.3", "with their address");
        netmodel_network_done(&m);

        n.driver = (char *) "overlay";
        ok(netmodel_network("p", &n, &m, &err) == -EOPNOTSUPP, "other drivers are refused");
        contains(err.msg, "driver 'overlay' is not supported", "saying so");
}

static void test_from_spec(void)
{
        _cleanup_error_ struct stack_error err = {0};
        struct fw_port p;
        struct stack_port sp = {.target = 80, .published_start = 8080, .published_end = 8080};
        is_int(netmodel_port(&sp, "front", ip("10.88.1.2"), &p, &err), 0, "short syntax 8080:80");
        ok(p.host_port == 8080 && p.container_port == 80 && p.host_ip.s_addr == INADDR_ANY &&
               p.proto == FW_PROTO_TCP && p.container_ip.s_addr == ip("10.88.1.2").s_addr &&
               streq(p.network, "front"),
           "becomes 0.0.0.0:8080 -> 10.88.1.2:80/tcp");

        sp = (struct stack_port){.target = 53, .host_ip = "127.0.0.1", .protocol = STACK_PROTO_UDP};
        is_int(netmodel_port(&sp, "front", ip("10.88.1.2"), &p, &err), 0, "127.0.0.1::53/udp");
        ok(p.host_port == 0 && p.pick_lo == 0 && p.host_ip.s_addr == ip("127.0.0.1").s_addr &&
               p.proto == FW_PROTO_UDP,
           "a random host port on 127.0.0.1, udp");

        sp = (struct stack_port){.target = 80, .published_start = 8000, .published_end = 8010};
        is_int(netmodel_port(&sp, "front", ip("10.88.1.2"), &p, &err), 0, "8000-8010:80");
        ok(p.host_port == 0 && p.pick_lo == 8000 && p.pick_hi == 8010, "becomes a pick range");
        struct fw_published mine = {
            .project = "shop", .host_port = 8005, .container_ip = ip("10.88.1.2"), .container_port = 80};
        is_int(ports_assign("shop", &p, 1, &mine, 1, &err), 0, "assign in the range");
        is_int(p.host_port, 8005, "the port the project already has in the range is kept");
        mine.host_port = 9000;
        p.host_port = 0;
        struct fw_port outside = p;
        struct fw_published other = {.project = "other", .host_port = 8000};
        struct fw_published pubs[] = {mine, other};
        (void) ports_assign("shop", &outside, 1, pubs, 2, &err);
        ok(outside.host_port > 8000 && outside.host_port <= 8010,
           "otherwise a port of the range (%u), not the taken one", outside.host_port);

        sp = (struct stack_port){.target = 80, .protocol = STACK_PROTO_SCTP};
        is_int(netmodel_port(&sp, "front", ip("10.88.1.2"), &p, &err), -EOPNOTSUPP, "sctp is refused");
        stack_error_clear(&err);
        sp = (struct stack_port){.target = 80, .host_ip = "::1"};
        is_int(netmodel_port(&sp, "front", ip("10.88.1.2"), &p, &err), -EOPNOTSUPP,
               "an IPv6 host address is refused");
        contains(err.msg, "IPv6", "and said so");
}

int main(void)
{
        test_plan();
        test_spec();
        test_from_spec();
        return done_testing();
}
