/* The legacy x_tables backend (firewall.h's "iptables"): IPv4 through libiptc, IPv6 through libip6tc.
 *
 * This file holds the backend (one xtables lock around everything a change does in both families) and
 * the IPv4 family: the address header of an entry, the library calls that take entries, and reading the
 * published ports back from the DNAT rules. The IPv6 family is in firewall-ip6tc.c; what both share, the
 * matches and targets, the table transactions and the placement of a project among others, is in
 * firewall-xt.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_tcpudp.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall-xt.h"
#include "net/firewall.h"
#include "net/xtables-lock.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct xtc_handle *, iptc_free)
#define _cleanup_iptc_ _cleanup_(iptc_freep)

/* ---- the IPv4 family ---- */

static void set_iface(char name[IFNAMSIZ], unsigned char mask[IFNAMSIZ], const char *ifname)
{
        size_t len = strlen(ifname);
        memcpy(name, ifname, len);
        /* Exact match: the mask covers the name and its terminating NUL, as iptables sets it. */
        memset(mask, 0xff, len + 1 < IFNAMSIZ ? len + 1 : IFNAMSIZ);
}

static struct in_addr mask_of(unsigned len)
{
        return (struct in_addr){.s_addr = len ? htonl(~0U << (32 - len)) : 0};
}

static void put_header(struct xt_entry_buf *b, const struct fw_rule *r)
{
        struct ipt_entry *e = (struct ipt_entry *) b->buf;
        if (r->src_len) {
                e->ip.src = r->src;
                e->ip.smsk = mask_of(r->src_len);
                if (r->src_not)
                        e->ip.invflags |= IPT_INV_SRCIP;
        }
        if (r->dst_len) {
                e->ip.dst = r->dst;
                e->ip.dmsk = mask_of(r->dst_len);
                if (r->dst_not)
                        e->ip.invflags |= IPT_INV_DSTIP;
        }
        if (r->in_if[0]) {
                set_iface(e->ip.iniface, e->ip.iniface_mask, r->in_if);
                if (r->in_if_not)
                        e->ip.invflags |= IPT_INV_VIA_IN;
        }
        if (r->out_if[0]) {
                set_iface(e->ip.outiface, e->ip.outiface_mask, r->out_if);
                if (r->out_if_not)
                        e->ip.invflags |= IPT_INV_VIA_OUT;
        }
        e->ip.proto = r->proto;
}

static void set_offsets(struct xt_entry_buf *b, size_t target_offset, size_t next_offset)
{
        struct ipt_entry *e = (struct ipt_entry *) b->buf;
        e->target_offset = target_offset;
        e->next_offset = next_offset;
}

static bool header_equal(const void *have, const void *want)
{
        const struct ipt_entry *h = have, *w = want;
        return memcmp(&h->ip, &w->ip, sizeof(w->ip)) == 0;
}

static unsigned target_offset(const void *e)
{
        return ((const struct ipt_entry *) e)->target_offset;
}

static unsigned next_offset(const void *e)
{
        return ((const struct ipt_entry *) e)->next_offset;
}

static const void *first_rule(const char *chain, struct xtc_handle *h)
{
        return iptc_first_rule(chain, h);
}

static const void *next_rule(const void *prev, struct xtc_handle *h)
{
        return iptc_next_rule(prev, h);
}

static const char *get_target(const void *e, struct xtc_handle *h)
{
        return iptc_get_target(e, h);
}

static int insert_entry(const char *chain, const void *e, unsigned num, struct xtc_handle *h)
{
        return iptc_insert_entry(chain, e, num, h);
}

static int append_entry(const char *chain, const void *e, struct xtc_handle *h)
{
        return iptc_append_entry(chain, e, h);
}

static int delete_num_entry(const char *chain, unsigned num, struct xtc_handle *h)
{
        return iptc_delete_num_entry(chain, num, h);
}

static int delete_chain(const char *chain, struct xtc_handle *h)
{
        return iptc_delete_chain(chain, h);
}

static int get_references(unsigned *ref, const char *chain, struct xtc_handle *h)
{
        return iptc_get_references(ref, chain, h);
}

const struct xt_family xt_family4 = {
    .family = FW_IPV4,
    .what = "firewall",
    .xtc = &iptc_ops,
    .entry_size = sizeof(struct ipt_entry),
    .put_header = put_header,
    .set_offsets = set_offsets,
    .header_equal = header_equal,
    .target_offset = target_offset,
    .next_offset = next_offset,
    .first_rule = first_rule,
    .next_rule = next_rule,
    .get_target = get_target,
    .insert_entry = insert_entry,
    .append_entry = append_entry,
    .delete_num_entry = delete_num_entry,
    .delete_chain = delete_chain,
    .get_references = get_references,
};

/* ---- reading published ports back ---- */

static bool is_base_chain(enum fw_table t, const char *name)
{
        for (const struct fw_base_chain *bc = firewall_base_chains(FW_IPV4); bc->name; bc++)
                if (bc->table == t && streq(bc->name, name))
                        return true;
        return false;
}

static bool read_dnat(const struct ipt_entry *e, struct fw_published *p)
{
        const struct xt_entry_target *t = (const void *) ((const char *) e + e->target_offset);
        if (!streq(t->u.user.name, "DNAT"))
                return false;
        if (t->u.user.revision == 0) {
                const struct nf_nat_ipv4_multi_range_compat *m = (const void *) t->data;
                if (m->rangesize < 1)
                        return false;
                p->container_ip.s_addr = m->range[0].min_ip;
                p->container_port = ntohs(m->range[0].min.all);
        } else {
                /* Revisions 1 and 2 share the leading fields. */
                const struct nf_nat_range *m = (const void *) t->data;
                p->container_ip.s_addr = m->min_addr.ip;
                p->container_port = ntohs(m->min_proto.all);
        }
        p->host_ip = e->ip.dmsk.s_addr ? e->ip.dst : (struct in_addr){INADDR_ANY};
        p->proto = e->ip.proto == IPPROTO_UDP ? FW_PROTO_UDP : FW_PROTO_TCP;
        bool have_port = false;
        for (size_t off = sizeof(struct ipt_entry); off < e->target_offset;) {
                const struct xt_entry_match *mt = (const void *) ((const char *) e + off);
                if (mt->u.match_size == 0)
                        break;
                if (streq(mt->u.user.name, "comment")) {
                        const struct xt_comment_info *c = (const void *) mt->data;
                        char buf[XT_MAX_COMMENT_LEN];
                        snprintf(buf, sizeof(buf), "%s", c->comment);
                        const char *rest = startswith(buf, "stack:");
                        const char *colon = rest ? strchr(rest, ':') : NULL;
                        if (colon) {
                                p->project = xstrndup(rest, colon - rest);
                                p->network = xstrdup(colon + 1);
                        }
                } else if (streq(mt->u.user.name, "tcp")) {
                        p->host_port = ((const struct xt_tcp *) mt->data)->dpts[0];
                        have_port = true;
                } else if (streq(mt->u.user.name, "udp")) {
                        p->host_port = ((const struct xt_udp *) mt->data)->dpts[0];
                        have_port = true;
                }
                off += mt->u.match_size;
        }
        if (!have_port || !p->project) {
                free(p->project);
                free(p->network);
                return false;
        }
        return true;
}

static int list_published(struct fw_published **ret, size_t *ret_n, struct stack_error *err)
{
        _cleanup_iptc_ struct xtc_handle *h = iptc_init("nat");
        if (!h)
                return xt_fail(&xt_family4, err, FW_TABLE_NAT, NULL, "read table");
        struct fw_published *list = NULL;
        size_t n = 0, cap = 0;
        for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h)) {
                if (!startswith(c, "STACK-") || !endswith(c, "-DNAT") || is_base_chain(FW_TABLE_NAT, c))
                        continue;
                for (const struct ipt_entry *e = iptc_first_rule(c, h); e; e = iptc_next_rule(e, h)) {
                        struct fw_published p = {0};
                        if (!read_dnat(e, &p))
                                continue;
                        GROW(list, cap, n + 1);
                        list[n++] = p;
                }
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

/* ---- the backend ---- */

/* Filter and raw before nat: a port is exposed by its DNAT only once its FORWARD accept and its loopback
 * guard are in place. Removal the other way round: stop forwarding into the containers first. */
static const enum fw_table apply_order4[] = {FW_TABLE_RAW, FW_TABLE_FILTER, FW_TABLE_NAT};
static const enum fw_table remove_order4[] = {FW_TABLE_NAT, FW_TABLE_FILTER, FW_TABLE_RAW};
static const enum fw_table order6[] = {FW_TABLE_FILTER};

/* ports_check() ran before, without the lock; another project may have published the same port since.
 * Checked again under the lock and before the first change, so a race still leaves the host as it was. */
static int check_clashes(const struct fw_ruleset *rs, struct stack_error *err)
{
        if (!fw_ruleset_has(rs, FW_IPV4, FW_TABLE_NAT))
                return 0;
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        int r = list_published(&pub, &n_pub, err);
        if (r >= 0)
                r = firewall_check_clashes(rs, pub, n_pub, err);
        fw_published_free(pub, n_pub);
        return r;
}

static int iptc_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err)
{
        _cleanup_close_ int lock = xtables_lock("firewall", err);
        if (lock < 0)
                return lock;
        int r = check_clashes(rs, err);
        if (r >= 0)
                r = firewall_route_localnet(rs, err);
        if (r >= 0)
                r = xt_apply(fw, &xt_family4, rs, apply_order4, ELEMENTSOF(apply_order4), err);
        if (r >= 0)
                r = xt_apply(fw, &xt_family6, rs, order6, ELEMENTSOF(order6), err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", rs->project);
        return 0;
}

static int iptc_remove_project(struct firewall *fw, const char *project, struct stack_error *err)
{
        _cleanup_close_ int lock = xtables_lock("firewall", err);
        if (lock < 0)
                return lock;
        int r = xt_remove(fw, &xt_family4, project, remove_order4, ELEMENTSOF(remove_order4), err);
        if (r >= 0)
                r = xt_remove(fw, &xt_family6, project, order6, ELEMENTSOF(order6), err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", project);
        return 0;
}

static int iptc_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                               struct stack_error *err)
{
        return list_published(ret, ret_n, err);
}

static int iptc_drift(struct firewall *fw, const struct fw_ruleset *rs, size_t *ret_n,
                      struct stack_error *err)
{
        size_t n = 0;
        int r = xt_drift(&xt_family4, rs, apply_order4, ELEMENTSOF(apply_order4), &n, err);
        if (r >= 0)
                r = xt_drift(&xt_family6, rs, order6, ELEMENTSOF(order6), &n, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", rs->project);
        *ret_n = n;
        return 0;
}

static const struct firewall_ops iptc_ops_table = {
    .name = "iptables",
    .apply = iptc_apply,
    .remove_project = iptc_remove_project,
    .list_published = iptc_list_published,
    .drift = iptc_drift,
    .free = NULL,
};

int firewall_open_iptc(struct firewall **ret, struct stack_error *err)
{
        /* Fail early and clearly where x_tables is missing (e.g. no CAP_NET_ADMIN). */
        _cleanup_iptc_ struct xtc_handle *h = iptc_init("filter");
        if (!h)
                return xt_fail(&xt_family4, err, FW_TABLE_FILTER, NULL, "read table");
        *ret = firewall_new(&iptc_ops_table, NULL);
        return 0;
}
