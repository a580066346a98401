/* The IPv6 family of the legacy x_tables backend, through libip6tc: the address header of an entry and
 * the library calls that take entries. Everything else is shared with IPv4 (firewall-xt.c); the backend
 * itself is in firewall-iptc.c. */
#include <string.h>

#include <libiptc/libip6tc.h>

#include "net/firewall-xt.h"

static void set_iface(char name[IFNAMSIZ], unsigned char mask[IFNAMSIZ], const char *ifname)
{
        size_t len = strlen(ifname);
        memcpy(name, ifname, len);
        /* Exact match: the mask covers the name and its NUL, as ip6tables sets it. */
        memset(mask, 0xff, len + 1 < IFNAMSIZ ? len + 1 : IFNAMSIZ);
}

/* IPv6 rules match on interfaces only (see firewall_build): no addresses to encode. */
static void put_header(struct xt_entry_buf *b, const struct fw_rule *r)
{
        struct ip6t_entry *e = (struct ip6t_entry *) b->buf;
        if (r->in_if[0]) {
                set_iface(e->ipv6.iniface, e->ipv6.iniface_mask, r->in_if);
                if (r->in_if_not)
                        e->ipv6.invflags |= IP6T_INV_VIA_IN;
        }
        if (r->out_if[0]) {
                set_iface(e->ipv6.outiface, e->ipv6.outiface_mask, r->out_if);
                if (r->out_if_not)
                        e->ipv6.invflags |= IP6T_INV_VIA_OUT;
        }
        if (r->proto) {
                e->ipv6.proto = r->proto;
                e->ipv6.flags |= IP6T_F_PROTO;
        }
}

static void set_offsets(struct xt_entry_buf *b, size_t target_offset, size_t next_offset)
{
        struct ip6t_entry *e = (struct ip6t_entry *) b->buf;
        e->target_offset = target_offset;
        e->next_offset = next_offset;
}

static bool header_equal(const void *have, const void *want)
{
        const struct ip6t_entry *h = have, *w = want;
        return memcmp(&h->ipv6, &w->ipv6, sizeof(w->ipv6)) == 0;
}

static unsigned target_offset(const void *e)
{
        return ((const struct ip6t_entry *) e)->target_offset;
}

static unsigned next_offset(const void *e)
{
        return ((const struct ip6t_entry *) e)->next_offset;
}

static const void *first_rule(const char *chain, struct xtc_handle *h)
{
        return ip6tc_first_rule(chain, h);
}

static const void *next_rule(const void *prev, struct xtc_handle *h)
{
        return ip6tc_next_rule(prev, h);
}

static const char *get_target(const void *e, struct xtc_handle *h)
{
        return ip6tc_get_target(e, h);
}

static int insert_entry(const char *chain, const void *e, unsigned num, struct xtc_handle *h)
{
        return ip6tc_insert_entry(chain, e, num, h);
}

static int append_entry(const char *chain, const void *e, struct xtc_handle *h)
{
        return ip6tc_append_entry(chain, e, h);
}

static int delete_num_entry(const char *chain, unsigned num, struct xtc_handle *h)
{
        return ip6tc_delete_num_entry(chain, num, h);
}

static int delete_chain(const char *chain, struct xtc_handle *h)
{
        return ip6tc_delete_chain(chain, h);
}

static int get_references(unsigned *ref, const char *chain, struct xtc_handle *h)
{
        return ip6tc_get_references(ref, chain, h);
}

const struct xt_family xt_family6 = {
    .family = FW_IPV6,
    .what = "firewall6",
    .xtc = &ip6tc_ops,
    .entry_size = sizeof(struct ip6t_entry),
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
