/* The libiptc backend: legacy x_tables, IPv4.
 *
 * libiptc replaces a whole table per commit and the kernel only checks that nobody changed the number of
 * rules in between (EAGAIN), so every change runs under /run/xtables.lock, the lock the iptables binary
 * takes, and a commit that lost a race is redone from a fresh snapshot. Only STACK-* chains and the jumps
 * into them are touched; other tools' rules are carried through the commit unchanged.
 * research/NET-RUNTIME.md §4 has the background. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_TCPMSS.h>
#include <linux/netfilter/xt_tcpudp.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "net/conntrack.h"
#include "net/firewall.h"
#include "net/xtables-lock.h"

#define COMMIT_ATTEMPTS 5

DEFINE_TRIVIAL_CLEANUP_FUNC(struct xtc_handle *, iptc_free)
#define _cleanup_iptc_ _cleanup_(iptc_freep)

static int iptc_fail(struct stack_error *err, const char *table, const char *chain, const char *what)
{
        int e = errno ? errno : EPROTO; /* errno 0: libiptc and kernel disagree on the ABI */
        if (chain)
                return stack_error_set(err, e, "firewall: table %s: chain %s: %s: %s", table, chain, what,
                                       iptc_strerror(e));
        return stack_error_set(err, e, "firewall: table %s: %s: %s", table, what, iptc_strerror(e));
}

/* ---- fw_rule -> struct ipt_entry ---- */

struct entry_builder {
        unsigned char buf[2048];
        size_t off;
};

static void *add_match(struct entry_builder *b, const char *name, uint8_t revision, size_t payload)
{
        size_t size = XT_ALIGN(sizeof(struct xt_entry_match) + payload);
        struct xt_entry_match *m = (struct xt_entry_match *) (b->buf + b->off);
        m->u.user.match_size = size;
        snprintf(m->u.user.name, sizeof(m->u.user.name), "%s", name);
        m->u.user.revision = revision;
        b->off += size;
        return m->data;
}

static void *add_target(struct entry_builder *b, const char *name, uint8_t revision, size_t size)
{
        struct xt_entry_target *t = (struct xt_entry_target *) (b->buf + b->off);
        t->u.user.target_size = size;
        t->u.user.revision = revision;
        /* Names longer than a target name are refused when the chains are built. */
        size_t len = strnlen(name, sizeof(t->u.user.name) - 1);
        memcpy(t->u.user.name, name, len);
        b->off += size;
        return t->data;
}

static void set_iface(char name[IFNAMSIZ], unsigned char mask[IFNAMSIZ], const char *ifname)
{
        size_t len = strlen(ifname);
        memcpy(name, ifname, len);
        /* Exact match: the mask covers the name and its terminating NUL, as iptables sets it. */
        memset(mask, 0xff, len + 1 < IFNAMSIZ ? len + 1 : IFNAMSIZ);
}

/* The TCP header's flag bits as xt_tcp's flg_mask and flg_cmp take them. */
enum {
        TCPHDR_SYN = 0x02,
        TCPHDR_RST = 0x04,
};

static struct in_addr mask_of(unsigned len)
{
        return (struct in_addr){.s_addr = len ? htonl(~0U << (32 - len)) : 0};
}

static const struct ipt_entry *entry_from_rule(struct entry_builder *b, const struct fw_rule *r)
{
        memset(b, 0, sizeof(*b));
        struct ipt_entry *e = (struct ipt_entry *) b->buf;
        b->off = XT_ALIGN(sizeof(struct ipt_entry));

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

        if (r->dst_local) {
                struct xt_addrtype_info_v1 *a = add_match(b, "addrtype", 1, sizeof(*a));
                a->dest = XT_ADDRTYPE_LOCAL;
        }
        if (r->ctstate) {
                struct xt_conntrack_mtinfo3 *c = add_match(b, "conntrack", 3, sizeof(*c));
                c->match_flags = XT_CONNTRACK_STATE;
                if (r->ctstate & FW_CT_ESTABLISHED)
                        c->state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
                if (r->ctstate & FW_CT_RELATED)
                        c->state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
                if (r->ctstate & FW_CT_DNAT)
                        c->state_mask |= XT_CONNTRACK_STATE_DNAT;
        }
        if (r->comment[0]) {
                struct xt_comment_info *c = add_match(b, "comment", 0, sizeof(*c));
                snprintf(c->comment, sizeof(c->comment), "%s", r->comment);
        }
        if (r->proto == IPPROTO_TCP && (r->dport || r->tcp_syn)) {
                struct xt_tcp *t = add_match(b, "tcp", 0, sizeof(*t));
                t->spts[1] = 0xffff;
                /* host byte order, unlike NAT ranges */
                t->dpts[0] = r->dport;
                t->dpts[1] = r->dport ? r->dport : 0xffff;
                if (r->tcp_syn) {
                        t->flg_mask = TCPHDR_SYN | TCPHDR_RST;
                        t->flg_cmp = TCPHDR_SYN;
                }
        } else if (r->proto == IPPROTO_UDP && r->dport) {
                struct xt_udp *u = add_match(b, "udp", 0, sizeof(*u));
                u->spts[1] = 0xffff;
                u->dpts[0] = u->dpts[1] = r->dport;
        }

        e->target_offset = b->off;
        size_t std = XT_ALIGN(sizeof(struct xt_standard_target));
        size_t masq =
            XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct nf_nat_ipv4_multi_range_compat));
        size_t dnat = XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct nf_nat_range2));
        switch (r->verdict) {
        case FW_ACCEPT:
                add_target(b, IPTC_LABEL_ACCEPT, 0, std);
                break;
        case FW_DROP:
                add_target(b, IPTC_LABEL_DROP, 0, std);
                break;
        case FW_RETURN:
                add_target(b, IPTC_LABEL_RETURN, 0, std);
                break;
        case FW_JUMP:
                /* libiptc resolves a chain name in a standard target into the jump offset. */
                add_target(b, r->jump, 0, std);
                break;
        case FW_DNAT: {
                /* Revision 2, what iptables 1.8 writes, so iptables-save shows it as its own. */
                struct nf_nat_range2 *m = add_target(b, "DNAT", 2, dnat);
                m->flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
                m->min_addr.ip = m->max_addr.ip = r->to_addr.s_addr;
                m->min_proto.all = m->max_proto.all = htons(r->to_port); /* network byte order */
                break;
        }
        case FW_MASQUERADE: {
                struct nf_nat_ipv4_multi_range_compat *m = add_target(b, "MASQUERADE", 0, masq);
                m->rangesize = 1;
                break;
        }
        case FW_CLAMP_MSS: {
                struct xt_tcpmss_info *m =
                    add_target(b, "TCPMSS", 0,
                               XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct xt_tcpmss_info)));
                m->mss = XT_TCPMSS_CLAMP_PMTU;
                break;
        }
        }
        e->next_offset = b->off;
        return e;
}

/* ---- helpers on a table snapshot ---- */

static bool is_base_chain(enum fw_table t, const char *name)
{
        for (const struct fw_base_chain *bc = firewall_base_chains(); bc->name; bc++)
                if (bc->table == t && streq(bc->name, name))
                        return true;
        return false;
}

/* Deletes every rule of `chain` whose target starts with `prefix` (or equals it when exact). */
static int delete_jumps(struct xtc_handle *h, const char *table, const char *chain, const char *target,
                        bool exact, bool *changed, struct stack_error *err)
{
        if (!iptc_is_chain(chain, h))
                return 0;
        for (;;) {
                unsigned num = 0, found = 0;
                for (const struct ipt_entry *e = iptc_first_rule(chain, h); e; e = iptc_next_rule(e, h)) {
                        const char *t = iptc_get_target(e, h);
                        if (t && (exact ? streq(t, target) : startswith(t, target) != NULL)) {
                                found = num + 1;
                                break;
                        }
                        num++;
                }
                if (!found)
                        return 0;
                if (!iptc_delete_num_entry(chain, found - 1, h))
                        return iptc_fail(err, table, chain, "delete rule");
                *changed = true;
        }
}

static int delete_project_chains(struct xtc_handle *h, enum fw_table t, const char *prefix, bool *changed,
                                 struct stack_error *err)
{
        const char *table = fw_table_name(t);
        _cleanup_strv_free_ char **names = NULL;

        for (const struct fw_base_chain *bc = firewall_base_chains(); bc->name; bc++) {
                if (bc->table != t)
                        continue;
                int r = delete_jumps(h, table, bc->name, prefix, false, changed, err);
                if (r < 0)
                        return r;
        }
        /* Collect first: the chain iterator is not stable while chains are deleted. */
        for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h))
                if (startswith(c, prefix))
                        strv_push(&names, c);
        STRV_FOREACH (c, names) {
                if (!iptc_flush_entries(*c, h))
                        return iptc_fail(err, table, *c, "flush");
                if (!iptc_delete_chain(*c, h))
                        return iptc_fail(err, table, *c, "delete chain");
                *changed = true;
        }
        return 0;
}

static bool chain_empty(struct xtc_handle *h, const char *chain)
{
        return iptc_first_rule(chain, h) == NULL;
}

/* Shared chains nobody jumps into any more go, with their hook jumps. */
static int delete_unused_base(struct xtc_handle *h, enum fw_table t, bool *changed, struct stack_error *err)
{
        const char *table = fw_table_name(t);
        for (const struct fw_base_chain *bc = firewall_base_chains(); bc->name; bc++) {
                if (bc->table != t || !iptc_is_chain(bc->name, h) || !chain_empty(h, bc->name))
                        continue;
                for (const struct fw_base_chain *hk = firewall_base_chains(); hk->name; hk++) {
                        if (hk->table != t || !streq(hk->name, bc->name))
                                continue;
                        int r = delete_jumps(h, table, hk->hook, bc->name, true, changed, err);
                        if (r < 0)
                                return r;
                }
                /* The reference count may still be held by a rule of another tool; leave it then. */
                unsigned refs = 0;
                if (iptc_get_references(&refs, bc->name, h) && refs > 0)
                        continue;
                if (!iptc_delete_chain(bc->name, h))
                        return iptc_fail(err, table, bc->name, "delete chain");
                *changed = true;
        }
        return 0;
}

static bool has_jump(struct xtc_handle *h, const char *chain, const char *target)
{
        for (const struct ipt_entry *e = iptc_first_rule(chain, h); e; e = iptc_next_rule(e, h)) {
                const char *t = iptc_get_target(e, h);
                if (t && streq(t, target))
                        return true;
        }
        return false;
}

static int ensure_base(struct xtc_handle *h, enum fw_table t, const char *name, struct stack_error *err)
{
        const char *table = fw_table_name(t);
        if (!iptc_is_chain(name, h) && !iptc_create_chain(name, h))
                return iptc_fail(err, table, name, "create chain");
        for (const struct fw_base_chain *bc = firewall_base_chains(); bc->name; bc++) {
                if (bc->table != t || !streq(bc->name, name) || has_jump(h, bc->hook, name))
                        continue;
                struct fw_rule jr = {.verdict = FW_JUMP, .dst_local = bc->dst_local};
                snprintf(jr.jump, sizeof(jr.jump), "%s", name);
                struct entry_builder b;
                /* At the top, so our accepts are seen before a DROP policy or another tool's rules. */
                if (!iptc_insert_entry(bc->hook, entry_from_rule(&b, &jr), 0, h))
                        return iptc_fail(err, table, bc->hook, "insert jump");
        }
        return 0;
}

/* Where a jump of group g may go in a shared chain: after every jump of an earlier group (*ret_first)
 * and before the first jump of a later one (*ret_last). */
static void group_span(struct xtc_handle *h, const char *parent, enum fw_group g, unsigned *ret_first,
                       unsigned *ret_last)
{
        unsigned pos = 0, first = 0;
        for (const struct ipt_entry *e = iptc_first_rule(parent, h); e; e = iptc_next_rule(e, h)) {
                const char *t = iptc_get_target(e, h);
                enum fw_group eg = t ? firewall_chain_group(t) : g;
                if (eg > g)
                        break;
                if (eg < g)
                        first = pos + 1;
                pos++;
        }
        *ret_first = first;
        *ret_last = pos;
}

static int index_of_jump(struct xtc_handle *h, const char *parent, const char *target)
{
        int i = 0;
        for (const struct ipt_entry *e = iptc_first_rule(parent, h); e; e = iptc_next_rule(e, h), i++) {
                const char *t = iptc_get_target(e, h);
                if (t && streq(t, target))
                        return i;
        }
        return -1;
}

/* Before a project's jumps are deleted: the jump that follows each of them and is not the project's
 * own ("" for the end of the chain). Re-inserting in front of it keeps the project where it was among
 * the others, so a re-apply does not reorder the shared chains. */
static bool jump_anchor(struct xtc_handle *h, const char *parent, const char *target, const char *prefix,
                        char ret[FW_CHAIN_MAX])
{
        bool found = false;
        ret[0] = '\0';
        if (!iptc_is_chain(parent, h))
                return false;
        for (const struct ipt_entry *e = iptc_first_rule(parent, h); e; e = iptc_next_rule(e, h)) {
                const char *t = iptc_get_target(e, h);
                if (!t)
                        continue;
                if (!found) {
                        found = streq(t, target);
                        continue;
                }
                if (!startswith(t, prefix)) {
                        snprintf(ret, FW_CHAIN_MAX, "%s", t);
                        break;
                }
        }
        return found;
}

static int install_chain(struct xtc_handle *h, const char *project, const struct fw_chain *c,
                         const char *anchor, struct stack_error *err)
{
        const char *table = fw_table_name(c->table);
        struct entry_builder b;
        int r = ensure_base(h, c->table, c->parent, err);
        if (r < 0)
                return r;
        if (!iptc_create_chain(c->name, h))
                return iptc_fail(err, table, c->name, "create chain");
        for (size_t i = 0; i < c->n_rules; i++)
                if (!iptc_append_entry(c->name, entry_from_rule(&b, &c->rules[i]), h))
                        return iptc_fail(err, table, c->name, "append rule");

        unsigned first, last, pos;
        group_span(h, c->parent, c->group, &first, &last);
        pos = last;
        if (anchor) {
                int i = anchor[0] ? index_of_jump(h, c->parent, anchor) : -1;
                unsigned want = i >= 0 ? (unsigned) i : last;
                pos = want < first ? first : want > last ? last : want;
        }
        struct fw_rule jr;
        firewall_jump_rule(project, c, &jr);
        if (!iptc_insert_entry(c->parent, entry_from_rule(&b, &jr), pos, h))
                return iptc_fail(err, table, c->parent, "insert jump");
        return 0;
}

/* ---- locking and the per-table transaction ---- */

/* Runs `fn` on a fresh snapshot of the table and commits it when it changed anything; a commit that
 * lost a race against a writer that ignores the lock (EAGAIN) is redone from a new snapshot. */
typedef int (*table_fn)(struct xtc_handle *h, enum fw_table t, void *data, bool *changed,
                        struct stack_error *err);

static int table_transaction(struct firewall *fw, enum fw_table t, table_fn fn, void *data,
                             struct stack_error *err)
{
        const char *table = fw_table_name(t);
        for (int attempt = 1;; attempt++) {
                _cleanup_iptc_ struct xtc_handle *h = iptc_init(table);
                if (!h)
                        return iptc_fail(err, table, NULL, "read table");
                bool changed = false;
                int r = fn(h, t, data, &changed, err);
                if (r < 0)
                        return r;
                if (!changed)
                        return 0;
                if (iptc_commit(h)) {
                        fw->commits++;
                        return 0;
                }
                if (errno != EAGAIN || attempt >= COMMIT_ATTEMPTS)
                        return iptc_fail(err, table, NULL, "commit");
        }
}

struct apply_data {
        const struct fw_ruleset *rs;
};

static const char *verdict_label(enum fw_verdict v)
{
        switch (v) {
        case FW_ACCEPT:
                return IPTC_LABEL_ACCEPT;
        case FW_DROP:
                return IPTC_LABEL_DROP;
        case FW_RETURN:
                return IPTC_LABEL_RETURN;
        case FW_DNAT:
                return "DNAT";
        case FW_MASQUERADE:
                return "MASQUERADE";
        case FW_CLAMP_MSS:
                return "TCPMSS";
        case FW_JUMP:
                break;
        }
        return NULL;
}

/* Compares the matches one by one: name, revision and payload. Not the whole block, because the kernel
 * hands the name fields back with whatever follows the terminating NUL. */
static bool matches_equal(const struct ipt_entry *have, const struct ipt_entry *want)
{
        for (size_t off = sizeof(struct ipt_entry); off < want->target_offset;) {
                const struct xt_entry_match *hm = (const void *) ((const char *) have + off);
                const struct xt_entry_match *wm = (const void *) ((const char *) want + off);
                if (hm->u.user.match_size != wm->u.user.match_size || wm->u.user.match_size == 0 ||
                    strncmp(hm->u.user.name, wm->u.user.name, sizeof(wm->u.user.name)) != 0 ||
                    hm->u.user.revision != wm->u.user.revision ||
                    memcmp(hm->data, wm->data, wm->u.user.match_size - sizeof(*wm)) != 0)
                        return false;
                off += wm->u.user.match_size;
        }
        return true;
}

/* Is the rule in the kernel the one we would write? The addresses and interfaces round-trip byte for
 * byte; standard targets come back as verdicts, so those are compared by name. */
static bool entry_equal(struct xtc_handle *h, const struct ipt_entry *have, const struct fw_rule *r)
{
        struct entry_builder b;
        const struct ipt_entry *want = entry_from_rule(&b, r);
        if (memcmp(&have->ip, &want->ip, sizeof(want->ip)) != 0 ||
            have->target_offset != want->target_offset || have->next_offset != want->next_offset ||
            !matches_equal(have, want))
                return false;
        const char *label = verdict_label(r->verdict), *t = iptc_get_target(have, h);
        if (!label || !t || !streq(t, label))
                return false;
        if (r->verdict != FW_DNAT && r->verdict != FW_MASQUERADE && r->verdict != FW_CLAMP_MSS)
                return true;
        const struct xt_entry_target *ht = (const void *) ((const char *) have + have->target_offset);
        const struct xt_entry_target *wt = (const void *) ((const char *) want + want->target_offset);
        return ht->u.user.target_size == wt->u.user.target_size &&
               ht->u.user.revision == wt->u.user.revision &&
               memcmp(ht->data, wt->data, wt->u.user.target_size - sizeof(*wt)) == 0;
}

static unsigned count_jumps(struct xtc_handle *h, const char *chain, const char *target)
{
        unsigned n = 0;
        if (!iptc_is_chain(chain, h))
                return 0;
        for (const struct ipt_entry *e = iptc_first_rule(chain, h); e; e = iptc_next_rule(e, h)) {
                const char *t = iptc_get_target(e, h);
                if (t && streq(t, target))
                        n++;
        }
        return n;
}

/* Does the table already hold exactly the project's desired chains, reached from their hooks? Then a
 * re-apply changes nothing and needs no commit (a reconcile without changes leaves the firewall alone). */
static bool table_up_to_date(struct xtc_handle *h, enum fw_table t, const struct fw_ruleset *rs,
                             const char *prefix)
{
        size_t want = 0, have = 0;
        for (size_t i = 0; i < rs->n_chains; i++) {
                const struct fw_chain *c = &rs->chains[i];
                if (c->table != t)
                        continue;
                want++;
                if (!iptc_is_chain(c->name, h) || count_jumps(h, c->parent, c->name) != 1)
                        return false;
                for (const struct fw_base_chain *bc = firewall_base_chains(); bc->name; bc++)
                        if (bc->table == t && streq(bc->name, c->parent) &&
                            count_jumps(h, bc->hook, bc->name) != 1)
                                return false;
                const struct ipt_entry *e = iptc_first_rule(c->name, h);
                for (size_t k = 0; k < c->n_rules; k++, e = iptc_next_rule(e, h))
                        if (!e || !entry_equal(h, e, &c->rules[k]))
                                return false;
                if (e)
                        return false; /* more rules than wanted */
        }
        for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h))
                if (startswith(c, prefix))
                        have++;
        return have == want;
}

static int apply_table(struct xtc_handle *h, enum fw_table t, void *data, bool *changed,
                       struct stack_error *err)
{
        const struct fw_ruleset *rs = ((struct apply_data *) data)->rs;
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(rs->project, prefix);

        if (table_up_to_date(h, t, rs, prefix))
                return delete_unused_base(h, t, changed, err);
        _cleanup_free_ char(*anchors)[FW_CHAIN_MAX] = xcalloc(rs->n_chains + 1, FW_CHAIN_MAX);
        _cleanup_free_ bool *had = xcalloc(rs->n_chains + 1, sizeof(bool));
        for (size_t i = 0; i < rs->n_chains; i++)
                if (rs->chains[i].table == t)
                        had[i] =
                            jump_anchor(h, rs->chains[i].parent, rs->chains[i].name, prefix, anchors[i]);

        int r = delete_project_chains(h, t, prefix, changed, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rs->n_chains; i++) {
                if (rs->chains[i].table != t)
                        continue;
                r = install_chain(h, rs->project, &rs->chains[i], had[i] ? anchors[i] : NULL, err);
                if (r < 0)
                        return r;
                *changed = true;
        }
        return delete_unused_base(h, t, changed, err);
}

static int remove_table(struct xtc_handle *h, enum fw_table t, void *data, bool *changed,
                        struct stack_error *err)
{
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(data, prefix);
        int r = delete_project_chains(h, t, prefix, changed, err);
        if (r < 0)
                return r;
        return delete_unused_base(h, t, changed, err);
}

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

static int check_clashes(const struct fw_ruleset *rs, struct stack_error *err);

/* UDP clients that kept sending while the port was not (or differently) published must meet the new
 * DNAT; failing to clean up is worth a warning, not a failed apply. */
static void flush_stale_udp(const struct fw_ruleset *rs)
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
                log_warning("project '%s': %s", rs->project, e.msg ? e.msg : "conntrack cleanup failed");
}

static int iptc_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err)
{
        _cleanup_close_ int lock = xtables_lock("firewall", err);
        if (lock < 0)
                return lock;
        int r = check_clashes(rs, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", rs->project);
        /* route_localnet before the DNAT: a DNAT of 127.0.0.1 is useless without it, and the bridge must
         * exist. */
        STRV_FOREACH (br, rs->localnet_bridges) {
                r = set_route_localnet(*br, err);
                if (r < 0)
                        return r;
        }
        /* Filter and raw before nat: a port is exposed by its DNAT only once its FORWARD accept and
         * its loopback guard are in place. */
        static const enum fw_table order[] = {FW_TABLE_RAW, FW_TABLE_FILTER, FW_TABLE_NAT};
        struct apply_data d = {rs};
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                r = table_transaction(fw, order[i], apply_table, &d, err);
                if (r < 0)
                        return stack_error_prefix(err, "project '%s'", rs->project);
        }
        flush_stale_udp(rs);
        return 0;
}

static int iptc_remove_project(struct firewall *fw, const char *project, struct stack_error *err)
{
        _cleanup_close_ int lock = xtables_lock("firewall", err);
        if (lock < 0)
                return lock;
        /* nat first: stop forwarding into the containers before their accepts go. */
        static const enum fw_table order[] = {FW_TABLE_NAT, FW_TABLE_FILTER, FW_TABLE_RAW};
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                int r = table_transaction(fw, order[i], remove_table, (void *) project, err);
                if (r < 0)
                        return stack_error_prefix(err, "project '%s'", project);
        }
        return 0;
}

/* ---- reading published ports back ---- */

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
                return iptc_fail(err, "nat", NULL, "read table");
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

static int iptc_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                               struct stack_error *err)
{
        return list_published(ret, ret_n, err);
}

/* ports_check() ran before, without the lock; another project may have published the same port since.
 * Checked again under the lock and before the first change, so a race still leaves the host as it was. */
static int check_clashes(const struct fw_ruleset *rs, struct stack_error *err)
{
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        int r = list_published(&pub, &n_pub, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rs->n_chains && r == 0; i++) {
                const struct fw_chain *c = &rs->chains[i];
                for (size_t k = 0; c->table == FW_TABLE_NAT && k < c->n_rules && r == 0; k++) {
                        const struct fw_rule *rule = &c->rules[k];
                        if (rule->verdict != FW_DNAT)
                                continue;
                        enum fw_proto proto = rule->proto == IPPROTO_UDP ? FW_PROTO_UDP : FW_PROTO_TCP;
                        struct in_addr ip = rule->dst_len ? rule->dst : (struct in_addr){INADDR_ANY};
                        for (size_t j = 0; j < n_pub; j++) {
                                const struct fw_published *p = &pub[j];
                                if (streq_ptr(p->project, rs->project) || p->proto != proto ||
                                    p->host_port != rule->dport ||
                                    !(ip.s_addr == INADDR_ANY || p->host_ip.s_addr == INADDR_ANY ||
                                      ip.s_addr == p->host_ip.s_addr))
                                        continue;
                                char a[INET_ADDRSTRLEN];
                                inet_ntop(AF_INET, &ip, a, sizeof(a));
                                r = stack_error_set(
                                    err, EADDRINUSE,
                                    "port %s:%u/%s is already published by project '%s' (network "
                                    "'%s')",
                                    a, rule->dport, fw_proto_name(proto), p->project,
                                    p->network ? p->network : "?");
                                break;
                        }
                }
        }
        fw_published_free(pub, n_pub);
        return r;
}

static const struct firewall_ops iptc_ops_table = {
    .name = "iptables-legacy (libiptc)",
    .apply = iptc_apply,
    .remove_project = iptc_remove_project,
    .list_published = iptc_list_published,
    .free = NULL,
};

int firewall_open_iptc(struct firewall **ret, struct stack_error *err)
{
        /* Fail early and clearly where x_tables is missing (e.g. no CAP_NET_ADMIN). */
        _cleanup_iptc_ struct xtc_handle *h = iptc_init("filter");
        if (!h)
                return iptc_fail(err, "filter", NULL, "read table");
        *ret = firewall_new(&iptc_ops_table, NULL);
        return 0;
}
