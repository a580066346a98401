/* Rule generation: a project's networks and published ports -> the chains that implement them, IPv4 and
 * IPv6. Pure: no I/O, so every rule is unit-tested without root. The backends only install what is built
 * here; the dispatch to the backend chosen at run time sits at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall.h"
#include "net/nft-backend.h"

static const struct fw_base_chain base_chains4[] = {
    {FW_IPV4, FW_TABLE_RAW, "STACK-PRE", "PREROUTING", false},
    {FW_IPV4, FW_TABLE_FILTER, "STACK-FORWARD", "FORWARD", false},
    {FW_IPV4, FW_TABLE_FILTER, "STACK-INPUT", "INPUT", false},
    {FW_IPV4, FW_TABLE_NAT, "STACK-DNAT", "PREROUTING", true},
    {FW_IPV4, FW_TABLE_NAT, "STACK-DNAT", "OUTPUT", true},
    {FW_IPV4, FW_TABLE_NAT, "STACK-POSTROUTING", "POSTROUTING", false},
    {0, 0, NULL, NULL, false},
};

/* IPv6 has the isolation only: no NAT66, no published ports, no loopback guard (::1 is never routed). */
static const struct fw_base_chain base_chains6[] = {
    {FW_IPV6, FW_TABLE_FILTER, "STACK-FORWARD", "FORWARD", false},
    {0, 0, NULL, NULL, false},
};

/* Per-project chain parts: name suffix, table, shared parent, group. */
struct part {
        const char *suffix;
        enum fw_table table;
        const char *parent;
        enum fw_group group;
};

enum {
        PART_PRE,
        PART_INT,
        PART_ISO,
        PART_FWD,
        PART_IN,
        PART_DNAT,
        PART_POST,
        _PART_MAX,
};

static const struct part parts[_PART_MAX] = {
    [PART_PRE] = {"PRE", FW_TABLE_RAW, "STACK-PRE", FW_GROUP_INTO},
    [PART_INT] = {"INT", FW_TABLE_FILTER, "STACK-FORWARD", FW_GROUP_INTERNAL},
    [PART_ISO] = {"ISO", FW_TABLE_FILTER, "STACK-FORWARD", FW_GROUP_INTO},
    [PART_FWD] = {"FWD", FW_TABLE_FILTER, "STACK-FORWARD", FW_GROUP_OUT},
    [PART_IN] = {"IN", FW_TABLE_FILTER, "STACK-INPUT", FW_GROUP_INTO},
    [PART_DNAT] = {"DNAT", FW_TABLE_NAT, "STACK-DNAT", FW_GROUP_INTO},
    [PART_POST] = {"POST", FW_TABLE_NAT, "STACK-POSTROUTING", FW_GROUP_INTO},
};

const struct fw_base_chain *firewall_base_chains(enum fw_family family)
{
        return family == FW_IPV6 ? base_chains6 : base_chains4;
}

const char *fw_table_name(enum fw_table t)
{
        static const char *const names[_FW_TABLE_MAX] = {"raw", "filter", "nat"};
        return t < _FW_TABLE_MAX ? names[t] : "?";
}

const char *fw_proto_name(enum fw_proto p)
{
        return p == FW_PROTO_UDP ? "udp" : "tcp";
}

void firewall_chain_prefix(const char *project, char ret[FW_CHAIN_MAX])
{
        /* FNV-1a: project names can be longer than a chain name, so chains carry a hash; 40 bits keep an
         * accidental collision out of reach for the handful of projects on one host. */
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const unsigned char *p = (const unsigned char *) project; *p; p++) {
                h ^= *p;
                h *= 0x100000001b3ULL;
        }
        snprintf(ret, FW_CHAIN_MAX, "STACK-%010llx-", (unsigned long long) (h & 0xffffffffffULL));
}

enum fw_group firewall_chain_group(const char *chain)
{
        const char *dash = strrchr(chain, '-');
        if (dash)
                for (size_t i = 0; i < _PART_MAX; i++)
                        if (streq(dash + 1, parts[i].suffix))
                                return parts[i].group;
        return FW_GROUP_INTO;
}

void firewall_jump_rule(const char *project, const struct fw_chain *c, struct fw_rule *ret)
{
        *ret = (struct fw_rule){.verdict = FW_JUMP};
        snprintf(ret->jump, sizeof(ret->jump), "%s", c->name);
        snprintf(ret->comment, sizeof(ret->comment), "stack:%s", project);
}

static struct in_addr mask_of(unsigned len)
{
        return (struct in_addr){.s_addr = len ? htonl(~0U << (32 - len)) : 0};
}

static bool in_subnet(struct in_addr a, struct in_addr net, unsigned len)
{
        struct in_addr m = mask_of(len);
        return (a.s_addr & m.s_addr) == (net.s_addr & m.s_addr);
}

/* Is 127.0.0.1 one of the addresses the port is published on? */
static bool reaches_loopback(const struct fw_port *p)
{
        return p->host_ip.s_addr == INADDR_ANY || (ntohl(p->host_ip.s_addr) >> 24) == 127;
}

static unsigned port_count(const struct fw_port *p)
{
        return p->count ? p->count : 1;
}

struct builder {
        const struct fw_project *project;
        struct fw_chain chains[_PART_MAX];
        size_t cap[_PART_MAX];
        struct fw_chain chains6[_PART_MAX]; /* PART_INT and PART_ISO only */
        size_t cap6[_PART_MAX];
};

static struct fw_rule *add_to(struct builder *b, enum fw_family f, int part, const struct fw_network *n,
                              enum fw_verdict v)
{
        struct fw_chain *c = f == FW_IPV6 ? &b->chains6[part] : &b->chains[part];
        size_t *cap = f == FW_IPV6 ? &b->cap6[part] : &b->cap[part];
        GROW(c->rules, *cap, c->n_rules + 1);
        struct fw_rule *r = &c->rules[c->n_rules++];
        *r = (struct fw_rule){.verdict = v};
        snprintf(r->comment, sizeof(r->comment), "stack:%s:%s", b->project->name, n->name);
        return r;
}

static struct fw_rule *add(struct builder *b, int part, const struct fw_network *n, enum fw_verdict v)
{
        return add_to(b, FW_IPV4, part, n, v);
}

static void set_if(char dst[FW_IFNAME_MAX], const char *name)
{
        snprintf(dst, FW_IFNAME_MAX, "%s", name);
}

static void set_net(struct in_addr *a, unsigned *len, struct in_addr net, unsigned plen)
{
        *a = (struct in_addr){.s_addr = net.s_addr & mask_of(plen).s_addr};
        *len = plen;
}

static struct in_addr lo_net(void)
{
        return (struct in_addr){.s_addr = htonl(0x7f000000)};
}

static uint8_t ipproto(enum fw_proto p)
{
        return p == FW_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static void build_network(struct builder *b, const struct fw_network *n)
{
        const struct fw_project *pr = b->project;
        bool localnet = false;
        struct fw_rule *r;

        /* raw: nothing but lo may send to 127.0.0.0/8 through the bridge (route_localnet is on there),
         * and the subnet is reached only through its bridge, never routed in from elsewhere. */
        r = add(b, PART_PRE, n, FW_DROP);
        set_if(r->in_if, n->bridge);
        set_net(&r->dst, &r->dst_len, lo_net(), 8);
        r = add(b, PART_PRE, n, FW_DROP);
        set_if(r->in_if, n->bridge);
        r->in_if_not = true;
        set_net(&r->dst, &r->dst_len, n->subnet, n->prefixlen);

        if (n->internal) {
                /* Nothing leaves an internal bridge (except towards its own gateway address, for DNS);
                 * this group comes before any other bridge admits published traffic. */
                r = add(b, PART_INT, n, FW_DROP);
                set_if(r->in_if, n->bridge);
                set_if(r->out_if, n->bridge);
                r->out_if_not = true;
                r = add(b, PART_IN, n, FW_DROP);
                set_if(r->in_if, n->bridge);
                r->dst = n->gateway;
                r->dst_len = 32;
                r->dst_not = true;
        } else {
                r = add(b, PART_ISO, n, FW_ACCEPT);
                set_if(r->out_if, n->bridge);
                r->ctstate = FW_CT_ESTABLISHED | FW_CT_RELATED;
        }

        for (size_t i = 0; i < pr->n_ports; i++) {
                const struct fw_port *p = &pr->ports[i];
                if (!streq(p->network, n->name))
                        continue;
                if (reaches_loopback(p))
                        localnet = true;
                for (unsigned k = 0; k < port_count(p); k++) {
                        /* Only what was destination-NATed to this very port passes: the container's
                         * address is not a way in by itself. */
                        r = add(b, PART_ISO, n, FW_ACCEPT);
                        set_if(r->out_if, n->bridge);
                        r->dst = p->container_ip;
                        r->dst_len = 32;
                        r->proto = ipproto(p->proto);
                        r->dport = p->container_port + k;
                        r->ctstate = FW_CT_DNAT;

                        r = add(b, PART_DNAT, n, FW_DNAT);
                        if (p->host_ip.s_addr != INADDR_ANY) {
                                r->dst = p->host_ip;
                                r->dst_len = 32;
                        }
                        r->proto = ipproto(p->proto);
                        r->dport = p->host_port + k;
                        r->to_addr = p->container_ip;
                        r->to_port = p->container_port + k;

                        if (reaches_loopback(p)) {
                                /* CVE-2020-8558: 127.0.0.1:port is DNATed before routing, so a
                                 * neighbour could reach it; only lo may. */
                                r = add(b, PART_PRE, n, FW_DROP);
                                set_net(&r->dst, &r->dst_len, lo_net(), 8);
                                set_if(r->in_if, "lo");
                                r->in_if_not = true;
                                r->proto = ipproto(p->proto);
                                r->dport = p->host_port + k;
                        }
                }
        }

        /* Same-network traffic (bridged with br_netfilter, or routed hairpin) always passes; anything
         * else into the bridge is dropped, which keeps other networks and other hosts out. */
        r = add(b, PART_ISO, n, FW_ACCEPT);
        set_if(r->in_if, n->bridge);
        set_if(r->out_if, n->bridge);
        r = add(b, PART_ISO, n, FW_DROP);
        set_if(r->out_if, n->bridge);

        if (n->internal)
                return;

        /* The bridge and the veths run with a large MTU (net/network.c), so a container announces an MSS
         * no link outside the host carries. Both SYNs of a connection that leaves the host pass here (the
         * container's and its SYN-ACK to an outside client), and get the MSS of the route they take. */
        r = add(b, PART_FWD, n, FW_CLAMP_MSS);
        set_if(r->in_if, n->bridge);
        set_if(r->out_if, n->bridge);
        r->out_if_not = true;
        r->proto = IPPROTO_TCP;
        r->tcp_syn = true;
        r = add(b, PART_FWD, n, FW_ACCEPT);
        set_if(r->in_if, n->bridge);

        r = add(b, PART_POST, n, FW_MASQUERADE);
        set_net(&r->src, &r->src_len, n->subnet, n->prefixlen);
        set_if(r->out_if, n->bridge);
        r->out_if_not = true;
        /* Hairpin: a container reaching a published port of its own network must see the reply come
         * back through the host, so the connection is masqueraded to the gateway. */
        r = add(b, PART_POST, n, FW_MASQUERADE);
        set_net(&r->src, &r->src_len, n->subnet, n->prefixlen);
        set_if(r->out_if, n->bridge);
        r->ctstate = FW_CT_DNAT;
        if (localnet) {
                /* 127.0.0.1 from the host, DNATed into the bridge: the container cannot answer a
                 * loopback source, so it gets the gateway's. */
                r = add(b, PART_POST, n, FW_MASQUERADE);
                set_net(&r->src, &r->src_len, lo_net(), 8);
                set_if(r->out_if, n->bridge);
        }
}

/* The IPv6 isolation of a bridge with an IPv6 subnet: the same shape as the IPv4 one, without addresses
 * (the bridge names the network) and without published ports. */
static void build_network6(struct builder *b, const struct fw_network *n)
{
        struct fw_rule *r;
        if (n->internal) {
                r = add_to(b, FW_IPV6, PART_INT, n, FW_DROP);
                set_if(r->in_if, n->bridge);
                set_if(r->out_if, n->bridge);
                r->out_if_not = true;
        }
        /* Into the bridge only replies and its own traffic (bridged with br_netfilter on). */
        r = add_to(b, FW_IPV6, PART_ISO, n, FW_ACCEPT);
        set_if(r->out_if, n->bridge);
        r->ctstate = FW_CT_ESTABLISHED | FW_CT_RELATED;
        r = add_to(b, FW_IPV6, PART_ISO, n, FW_ACCEPT);
        set_if(r->in_if, n->bridge);
        set_if(r->out_if, n->bridge);
        r = add_to(b, FW_IPV6, PART_ISO, n, FW_DROP);
        set_if(r->out_if, n->bridge);
}

static int validate(const struct fw_project *pr, struct stack_error *err)
{
        if (isempty(pr->name))
                return stack_error_set(err, EINVAL, "firewall: project without a name");
        for (size_t i = 0; i < pr->n_networks; i++) {
                const struct fw_network *n = &pr->networks[i];
                if (isempty(n->name) || isempty(n->bridge) || strlen(n->bridge) >= FW_IFNAME_MAX)
                        return stack_error_set(err, EINVAL,
                                               "firewall: network '%s': invalid bridge name '%s'",
                                               n->name ? n->name : "", n->bridge ? n->bridge : "");
                if (n->prefixlen > 32)
                        return stack_error_set(err, EINVAL,
                                               "firewall: network '%s': invalid prefix length %u", n->name,
                                               n->prefixlen);
                for (size_t j = 0; j < i; j++)
                        if (streq(pr->networks[j].name, n->name))
                                return stack_error_set(err, EINVAL, "firewall: network '%s' given twice",
                                                       n->name);
        }
        for (size_t i = 0; i < pr->n_ports; i++) {
                const struct fw_port *p = &pr->ports[i];
                const struct fw_network *n = NULL;
                char hip[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &p->host_ip, hip, sizeof(hip));
                for (size_t j = 0; j < pr->n_networks; j++)
                        if (streq_ptr(pr->networks[j].name, p->network))
                                n = &pr->networks[j];
                if (!n)
                        return stack_error_set(err, EINVAL, "firewall: port %s:%u/%s: unknown network '%s'",
                                               hip, p->host_port, fw_proto_name(p->proto),
                                               p->network ? p->network : "");
                if (n->internal)
                        return stack_error_set(err, EINVAL,
                                               "firewall: port %s:%u/%s: network '%s' is internal, nothing "
                                               "can be published from it",
                                               hip, p->host_port, fw_proto_name(p->proto), n->name);
                if (p->host_port == 0 || p->container_port == 0)
                        return stack_error_set(err, EINVAL, "firewall: port %s:%u->%u/%s: no port number",
                                               hip, p->host_port, p->container_port,
                                               fw_proto_name(p->proto));
                if (p->host_port + port_count(p) - 1 > 65535 ||
                    p->container_port + port_count(p) - 1 > 65535)
                        return stack_error_set(err, EINVAL, "firewall: port %s:%u/%s: range beyond 65535",
                                               hip, p->host_port, fw_proto_name(p->proto));
                if (!in_subnet(p->container_ip, n->subnet, n->prefixlen))
                        return stack_error_set(
                            err, EINVAL,
                            "firewall: port %s:%u/%s: container address is outside network "
                            "'%s'",
                            hip, p->host_port, fw_proto_name(p->proto), n->name);
        }
        return 0;
}

int firewall_build(const struct fw_project *pr, struct fw_ruleset *ret, struct stack_error *err)
{
        int r = validate(pr, err);
        if (r < 0)
                return r;

        struct builder b = {.project = pr};
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(pr->name, prefix);
        for (size_t i = 0; i < _PART_MAX; i++) {
                struct fw_chain *c = &b.chains[i];
                c->family = FW_IPV4;
                c->table = parts[i].table;
                snprintf(c->name, sizeof(c->name), "%s%s", prefix, parts[i].suffix);
                snprintf(c->parent, sizeof(c->parent), "%s", parts[i].parent);
                c->group = parts[i].group;
                b.chains6[i] = *c;
                b.chains6[i].family = FW_IPV6;
        }

        struct fw_ruleset rs = {.project = xstrdup(pr->name)};
        for (size_t i = 0; i < pr->n_networks; i++) {
                const struct fw_network *n = &pr->networks[i];
                if (n->ipv6)
                        build_network6(&b, n);
                /* Without IPv4 there is nothing to guard here, and a /0 "subnet" would make the
                 * anti-spoofing and NAT rules match every address on the host. */
                if (n->prefixlen == 0)
                        continue;
                build_network(&b, n);
                bool localnet = false;
                for (size_t j = 0; j < pr->n_ports; j++)
                        if (streq(pr->ports[j].network, n->name) && reaches_loopback(&pr->ports[j]))
                                localnet = true;
                if (localnet && !strv_contains(rs.localnet_bridges, n->bridge))
                        strv_push(&rs.localnet_bridges, n->bridge);
        }

        /* Empty chains are left out: a project without ports has no DNAT chain at all. */
        rs.chains = xcalloc(2 * _PART_MAX, sizeof(*rs.chains));
        for (size_t i = 0; i < _PART_MAX; i++)
                if (b.chains[i].n_rules > 0)
                        rs.chains[rs.n_chains++] = b.chains[i];
        for (size_t i = 0; i < _PART_MAX; i++)
                if (b.chains6[i].n_rules > 0)
                        rs.chains[rs.n_chains++] = b.chains6[i];
        *ret = rs;
        return 0;
}

void fw_ruleset_free(struct fw_ruleset *rs)
{
        if (!rs)
                return;
        for (size_t i = 0; i < rs->n_chains; i++)
                free(rs->chains[i].rules);
        free(rs->chains);
        free(rs->project);
        strv_free(rs->localnet_bridges);
        *rs = (struct fw_ruleset){0};
}

bool fw_ruleset_has(const struct fw_ruleset *rs, enum fw_family family, enum fw_table table)
{
        for (size_t i = 0; i < rs->n_chains; i++)
                if (rs->chains[i].family == family && rs->chains[i].table == table)
                        return true;
        return false;
}

size_t fw_ruleset_count(const struct fw_ruleset *rs)
{
        size_t n = 0;
        for (size_t i = 0; i < rs->n_chains; i++)
                n += rs->chains[i].n_rules;
        return n;
}

static void put_addr(struct strbuf *b, const char *opt, bool neg, struct in_addr a, unsigned len)
{
        char s[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, s, sizeof(s));
        strbuf_printf(b, " %s%s %s/%u", neg ? "! " : "", opt, s, len);
}

char *fw_rule_format(const char *chain, const struct fw_rule *r)
{
        struct strbuf b = {0};
        strbuf_printf(&b, "-A %s", chain);
        if (r->src_len)
                put_addr(&b, "-s", r->src_not, r->src, r->src_len);
        if (r->dst_len)
                put_addr(&b, "-d", r->dst_not, r->dst, r->dst_len);
        if (r->in_if[0])
                strbuf_printf(&b, " %s-i %s", r->in_if_not ? "! " : "", r->in_if);
        if (r->out_if[0])
                strbuf_printf(&b, " %s-o %s", r->out_if_not ? "! " : "", r->out_if);
        const char *proto = r->proto == IPPROTO_TCP ? "tcp" : r->proto == IPPROTO_UDP ? "udp" : NULL;
        if (proto)
                strbuf_printf(&b, " -p %s", proto);
        if (r->dst_local)
                strbuf_puts(&b, " -m addrtype --dst-type LOCAL");
        if (r->ctstate) {
                const char *sep = "";
                strbuf_puts(&b, " -m conntrack --ctstate ");
                if (r->ctstate & FW_CT_RELATED) {
                        strbuf_printf(&b, "%sRELATED", sep);
                        sep = ",";
                }
                if (r->ctstate & FW_CT_ESTABLISHED) {
                        strbuf_printf(&b, "%sESTABLISHED", sep);
                        sep = ",";
                }
                if (r->ctstate & FW_CT_DNAT)
                        strbuf_printf(&b, "%sDNAT", sep);
        }
        if (r->comment[0])
                strbuf_printf(&b, " -m comment --comment \"%s\"", r->comment);
        if (proto && (r->dport || (r->tcp_syn && r->proto == IPPROTO_TCP)))
                strbuf_printf(&b, " -m %s", proto);
        if (proto && r->dport)
                strbuf_printf(&b, " --dport %u", r->dport);
        if (r->tcp_syn && r->proto == IPPROTO_TCP)
                strbuf_puts(&b, " --tcp-flags SYN,RST SYN");
        switch (r->verdict) {
        case FW_ACCEPT:
                strbuf_puts(&b, " -j ACCEPT");
                break;
        case FW_DROP:
                strbuf_puts(&b, " -j DROP");
                break;
        case FW_RETURN:
                strbuf_puts(&b, " -j RETURN");
                break;
        case FW_JUMP:
                strbuf_printf(&b, " -j %s", r->jump);
                break;
        case FW_DNAT: {
                char s[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &r->to_addr, s, sizeof(s));
                strbuf_printf(&b, " -j DNAT --to-destination %s:%u", s, r->to_port);
                break;
        }
        case FW_MASQUERADE:
                strbuf_puts(&b, " -j MASQUERADE");
                break;
        case FW_CLAMP_MSS:
                strbuf_puts(&b, " -j TCPMSS --clamp-mss-to-pmtu");
                break;
        }
        return strbuf_take(&b);
}

static void format_family(struct strbuf *b, const struct fw_ruleset *rs, enum fw_family f)
{
        for (int t = 0; t < _FW_TABLE_MAX; t++) {
                bool any = false;
                for (size_t i = 0; i < rs->n_chains; i++) {
                        const struct fw_chain *c = &rs->chains[i];
                        if (c->family != f || c->table != (enum fw_table) t)
                                continue;
                        if (!any)
                                strbuf_printf(b, "*%s\n", fw_table_name(c->table));
                        any = true;
                        struct fw_rule jump;
                        firewall_jump_rule(rs->project, c, &jump);
                        _cleanup_free_ char *j = fw_rule_format(c->parent, &jump);
                        strbuf_printf(b, "%s\n", j);
                        for (size_t k = 0; k < c->n_rules; k++) {
                                _cleanup_free_ char *line = fw_rule_format(c->name, &c->rules[k]);
                                strbuf_printf(b, "%s\n", line);
                        }
                }
        }
}

char *fw_ruleset_format(const struct fw_ruleset *rs)
{
        struct strbuf b = {0};
        format_family(&b, rs, FW_IPV4);
        if (fw_ruleset_has(rs, FW_IPV6, FW_TABLE_FILTER)) {
                strbuf_puts(&b, "# ip6tables\n");
                format_family(&b, rs, FW_IPV6);
        }
        return strbuf_take(&b);
}

/* ---- backend dispatch ---- */

struct firewall *firewall_new(const struct firewall_ops *ops, void *userdata)
{
        struct firewall *fw = xcalloc(1, sizeof(*fw));
        fw->ops = ops;
        fw->userdata = userdata;
        return fw;
}

void firewall_free(struct firewall *fw)
{
        if (!fw)
                return;
        if (fw->ops && fw->ops->free)
                fw->ops->free(fw);
        free(fw);
}

static const struct {
        const char *name;
        int (*open)(struct firewall **ret, struct stack_error *err);
} backends[] = {
    {"iptables", firewall_open_iptc},
    {"nftables", firewall_open_nft},
};

int firewall_open(const char *backend, struct firewall **ret, struct stack_error *err)
{
        if (!backend)
                backend = getenv("STACK_FIREWALL_BACKEND");
        if (isempty(backend) || streq(backend, "auto"))
                backend = firewall_nft_detect();
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (streq(backends[i].name, backend))
                        return backends[i].open(ret, err);
        struct strbuf names = {0};
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                strbuf_printf(&names, "%s%s", i ? ", " : "", backends[i].name);
        strbuf_puts(&names, ", auto");
        _cleanup_free_ char *list = strbuf_take(&names);
        return stack_error_set(err, EINVAL, "firewall: unknown backend '%s' (choose one of: %s)", backend,
                               list);
}

int firewall_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err)
{
        int r = fw->ops->apply(fw, rs, err);
        if (r < 0)
                return r;
        firewall_flush_stale_udp(fw, rs);
        return 0;
}

int firewall_remove_project(struct firewall *fw, const char *project, struct stack_error *err)
{
        int r = fw->ops->remove_project(fw, project, err);
        if (r < 0)
                return r;
        /* `down` removes the project whichever backend brought it up. */
        _cleanup_error_ struct stack_error e = {0};
        if (firewall_remove_elsewhere(fw, project, &e) < 0)
                firewall_warn(fw, "project '%s': the other firewall backend: %s", project,
                              e.msg ? e.msg : "cannot remove");
        return 0;
}

int firewall_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                            struct stack_error *err)
{
        return fw->ops->list_published(fw, ret, ret_n, err);
}

int firewall_drift(struct firewall *fw, const struct fw_ruleset *rs, size_t *ret_n, struct stack_error *err)
{
        if (!fw->ops->drift) {
                *ret_n = 0;
                return 0;
        }
        return fw->ops->drift(fw, rs, ret_n, err);
}

const char *firewall_name(const struct firewall *fw)
{
        return fw->ops->name;
}

unsigned firewall_commits(const struct firewall *fw, enum fw_family family)
{
        return family < _FW_FAMILY_MAX ? fw->commits[family] : 0;
}

void firewall_set_warn(struct firewall *fw, firewall_warn_fn fn, void *userdata)
{
        fw->warn = fn;
        fw->warn_userdata = userdata;
}

void firewall_warn(struct firewall *fw, const char *fmt, ...)
{
        if (!fw->warn)
                return; /* nobody asked for warnings: there is no one to tell */
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        fw->warn(fw->warn_userdata, msg ? msg : fmt);
}

void fw_published_free(struct fw_published *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(p[i].project);
                free(p[i].network);
        }
        free(p);
}
