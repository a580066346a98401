/* What every firewall backend does around its rules, whatever the framework: route_localnet on the
 * bridges that publish on 127.0.0.1, the port clash check under the backend's lock, and the cleanup of
 * stale UDP conntrack entries after a change. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/conntrack.h"
#include "net/firewall.h"

static int set_route_localnet(const char *bridge, struct stack_error *err)
{
        _cleanup_free_ char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return stack_error_errno(err, errno, "firewall: bridge %s: route_localnet", bridge);
        if (write(fd, "1", 1) != 1)
                return stack_error_errno(err, errno, "firewall: bridge %s: route_localnet", bridge);
        return 0;
}

int firewall_route_localnet(const struct fw_ruleset *rs, struct stack_error *err)
{
        STRV_FOREACH (br, rs->localnet_bridges) {
                int r = set_route_localnet(*br, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int clash(const struct fw_ruleset *rs, const struct fw_rule *rule, const struct fw_published *pub,
                 size_t n_pub, struct stack_error *err)
{
        enum fw_proto proto = rule->proto == IPPROTO_UDP ? FW_PROTO_UDP : FW_PROTO_TCP;
        struct in_addr ip = rule->dst_len ? rule->dst : (struct in_addr){INADDR_ANY};
        for (size_t j = 0; j < n_pub; j++) {
                const struct fw_published *p = &pub[j];
                if (streq_ptr(p->project, rs->project) || p->proto != proto || p->host_port != rule->dport ||
                    !(ip.s_addr == INADDR_ANY || p->host_ip.s_addr == INADDR_ANY ||
                      ip.s_addr == p->host_ip.s_addr))
                        continue;
                char a[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &ip, a, sizeof(a));
                return stack_error_set(
                    err, EADDRINUSE, "port %s:%u/%s is already published by project '%s' (network '%s')", a,
                    rule->dport, fw_proto_name(proto), p->project, p->network ? p->network : "?");
        }
        return 0;
}

int firewall_check_clashes(const struct fw_ruleset *rs, const struct fw_published *pub, size_t n_pub,
                           struct stack_error *err)
{
        for (size_t i = 0; i < rs->n_chains; i++) {
                const struct fw_chain *c = &rs->chains[i];
                for (size_t k = 0; c->table == FW_TABLE_NAT && k < c->n_rules; k++) {
                        if (c->rules[k].verdict != FW_DNAT)
                                continue;
                        int r = clash(rs, &c->rules[k], pub, n_pub, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* UDP clients that kept sending while the port was not (or differently) published must meet the new
 * DNAT; failing to clean up is worth a warning, not a failed apply. */
void firewall_flush_stale_udp(struct firewall *fw, const struct fw_ruleset *rs)
{
        _cleanup_free_ struct conntrack_udp_target *t = NULL;
        size_t n = 0, cap = 0;
        for (size_t i = 0; i < rs->n_chains; i++)
                for (size_t k = 0; rs->chains[i].table == FW_TABLE_NAT && k < rs->chains[i].n_rules; k++) {
                        const struct fw_rule *r = &rs->chains[i].rules[k];
                        if (r->verdict != FW_DNAT || r->proto != IPPROTO_UDP)
                                continue;
                        GROW(t, cap, n + 1);
                        t[n++] = (struct conntrack_udp_target){
                            .host_ip = r->dst_len ? r->dst : (struct in_addr){INADDR_ANY},
                            .host_port = r->dport,
                            .to_addr = r->to_addr,
                            .to_port = r->to_port,
                        };
                }
        _cleanup_error_ struct stack_error e = {0};
        if (conntrack_flush_stale_udp(t, n, NULL, &e) < 0)
                firewall_warn(fw, "project '%s': %s", rs->project,
                              e.msg ? e.msg : "conntrack cleanup failed");
}
