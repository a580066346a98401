#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/port.h"
#include "net/firewall.h"
#include "net/ipam.h"

#define PORT_ADDRS_MAX 16

/* The container's IPv4 addresses, on every network it is attached to. */
static int container_addrs(const char *root, const char *container, struct in_addr *addrs, size_t *ret_n,
                           struct stack_error *err)
{
        _cleanup_ipam_ struct ipam *ipam = NULL;
        int k = ipam_open(root, &ipam, err);
        if (k < 0)
                return k;
        size_t n = 0;
        for (size_t i = 0; i < ipam->n_leases && n < PORT_ADDRS_MAX; i++)
                if (streq(ipam->leases[i].owner, container) && ipam->leases[i].addr.family == AF_INET)
                        memcpy(&addrs[n++], ipam->leases[i].addr.bytes, 4);
        *ret_n = n;
        return 0;
}

static bool addr_in(const struct in_addr *addrs, size_t n, struct in_addr a)
{
        for (size_t i = 0; i < n; i++)
                if (addrs[i].s_addr == a.s_addr)
                        return true;
        return false;
}

int port_published(const char *root, const char *project, const char *container, const char *protocol,
                   int private_port, char ***ret, struct stack_error *err)
{
        enum fw_proto proto = streq(protocol, "udp") ? FW_PROTO_UDP : FW_PROTO_TCP;
        struct in_addr addrs[PORT_ADDRS_MAX];
        size_t n_addrs = 0;
        int k = container_addrs(root, container, addrs, &n_addrs, err);
        if (k < 0)
                return k;
        if (n_addrs == 0)
                return stack_error_set(err, ESRCH, "container %s is not running (no address)", container);
        _cleanup_firewall_ struct firewall *fw = NULL;
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        if ((k = firewall_open(NULL, &fw, err)) < 0 ||
            (k = firewall_list_published(fw, &pub, &n_pub, err)) < 0)
                return k;
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < n_pub; i++) {
                const struct fw_published *e = &pub[i];
                if (!streq(e->project, project) || e->proto != proto || e->container_port != private_port ||
                    !addr_in(addrs, n_addrs, e->container_ip))
                        continue;
                char ip[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &e->host_ip, ip, sizeof(ip));
                strv_consume(&l, xasprintf("%s:%u", ip, e->host_port));
        }
        fw_published_free(pub, n_pub);
        if (!l[0]) {
                strv_free(l);
                return stack_error_set(err, ENOENT, "no public port for %s:%d/%s", container, private_port,
                                       protocol);
        }
        *ret = l;
        return 0;
}
