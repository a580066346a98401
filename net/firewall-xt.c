/* The x_tables machinery both legacy families share (firewall-xt.h): rule encoding after the address
 * header, and the table transactions that replace or remove one project's chains.
 *
 * libiptc replaces a whole table per commit and the kernel only checks that nobody changed the number of
 * rules in between (EAGAIN), so every change runs under the xtables lock (taken by the backend around a
 * whole apply or remove) and a commit that lost a race is redone from a fresh snapshot. Only STACK-*
 * chains and the jumps into them are touched; other tools' rules are carried through the commit
 * unchanged. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_TCPMSS.h>
#include <linux/netfilter/xt_tcpudp.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall-xt.h"

#define COMMIT_ATTEMPTS 5

/* libxtc's standard target labels, the same in both families */
#define LABEL_ACCEPT "ACCEPT"
#define LABEL_DROP "DROP"
#define LABEL_RETURN "RETURN"

int xt_fail(const struct xt_family *f, struct stack_error *err, enum fw_table t, const char *chain,
            const char *what)
{
        int e = errno ? errno : EPROTO; /* errno 0: libiptc and kernel disagree on the ABI */
        if (chain)
                return stack_error_set(err, e, "%s: table %s: chain %s: %s: %s", f->what, fw_table_name(t),
                                       chain, what, f->xtc->strerror(e));
        return stack_error_set(err, e, "%s: table %s: %s: %s", f->what, fw_table_name(t), what,
                               f->xtc->strerror(e));
}

bool xt_table_exists(const struct xt_family *f, enum fw_table t)
{
        const char *path = f->family == FW_IPV6 ? "/proc/net/ip6_tables_names" : "/proc/net/ip_tables_names";
        _cleanup_fclose_ FILE *fp = fopen(path, "re");
        _cleanup_free_ char *want = xasprintf("%s\n", fw_table_name(t));
        char line[64];
        while (fp && fgets(line, sizeof(line), fp))
                if (streq(line, want))
                        return true;
        return false;
}

/* ---- fw_rule -> entry ---- */

static void *add_match(struct xt_entry_buf *b, const char *name, uint8_t revision, size_t payload)
{
        size_t size = XT_ALIGN(sizeof(struct xt_entry_match) + payload);
        struct xt_entry_match *m = (struct xt_entry_match *) (b->buf + b->off);
        m->u.user.match_size = size;
        snprintf(m->u.user.name, sizeof(m->u.user.name), "%s", name);
        m->u.user.revision = revision;
        b->off += size;
        return m->data;
}

static void *add_target(struct xt_entry_buf *b, const char *name, uint8_t revision, size_t size)
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

/* The TCP header's flag bits as xt_tcp's flg_mask and flg_cmp take them. */
enum {
        TCPHDR_SYN = 0x02,
        TCPHDR_RST = 0x04,
};

static void put_matches(struct xt_entry_buf *b, const struct fw_rule *r)
{
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
}

/* The NAT targets carry IPv4 ranges: the builder puts them in IPv4 chains only. */
static void put_target(struct xt_entry_buf *b, const struct fw_rule *r)
{
        size_t std = XT_ALIGN(sizeof(struct xt_standard_target));
        size_t masq =
            XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct nf_nat_ipv4_multi_range_compat));
        size_t dnat = XT_ALIGN(sizeof(struct xt_entry_target) + sizeof(struct nf_nat_range2));
        switch (r->verdict) {
        case FW_ACCEPT:
                add_target(b, LABEL_ACCEPT, 0, std);
                break;
        case FW_DROP:
                add_target(b, LABEL_DROP, 0, std);
                break;
        case FW_RETURN:
                add_target(b, LABEL_RETURN, 0, std);
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
}

const void *xt_entry_from_rule(const struct xt_family *f, struct xt_entry_buf *b, const struct fw_rule *r)
{
        memset(b, 0, sizeof(*b));
        f->put_header(b, r);
        b->off = XT_ALIGN(f->entry_size);
        put_matches(b, r);
        size_t target_offset = b->off;
        put_target(b, r);
        f->set_offsets(b, target_offset, b->off);
        return b->buf;
}

static const char *verdict_label(const struct fw_rule *r)
{
        switch (r->verdict) {
        case FW_ACCEPT:
                return LABEL_ACCEPT;
        case FW_DROP:
                return LABEL_DROP;
        case FW_RETURN:
                return LABEL_RETURN;
        case FW_JUMP:
                return r->jump;
        case FW_DNAT:
                return "DNAT";
        case FW_MASQUERADE:
                return "MASQUERADE";
        case FW_CLAMP_MSS:
                return "TCPMSS";
        }
        return NULL;
}

/* Compares the matches one by one: name, revision and payload. Not the whole block, because the kernel
 * hands the name fields back with whatever follows the terminating NUL. */
static bool matches_equal(const struct xt_family *f, const void *have, const void *want)
{
        for (size_t off = f->entry_size; off < f->target_offset(want);) {
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
static bool entry_equal(const struct xt_family *f, struct xtc_handle *h, const void *have,
                        const struct fw_rule *r)
{
        struct xt_entry_buf b;
        const void *want = xt_entry_from_rule(f, &b, r);
        if (!f->header_equal(have, want) || f->target_offset(have) != f->target_offset(want) ||
            f->next_offset(have) != f->next_offset(want) || !matches_equal(f, have, want))
                return false;
        const char *label = verdict_label(r), *t = f->get_target(have, h);
        if (!label || !t || !streq(t, label))
                return false;
        if (r->verdict != FW_DNAT && r->verdict != FW_MASQUERADE && r->verdict != FW_CLAMP_MSS)
                return true;
        const struct xt_entry_target *ht = (const void *) ((const char *) have + f->target_offset(have));
        const struct xt_entry_target *wt = (const void *) ((const char *) want + f->target_offset(want));
        return ht->u.user.target_size == wt->u.user.target_size &&
               ht->u.user.revision == wt->u.user.revision &&
               memcmp(ht->data, wt->data, wt->u.user.target_size - sizeof(*wt)) == 0;
}

/* ---- helpers on a table snapshot ---- */

/* One open table of one family. */
struct snap {
        const struct xt_family *f;
        struct xtc_handle *h;
        enum fw_table t;
        const struct fw_base_chain *base; /* the family's shared chains */
};

#define FOREACH_RULE(s, e, chain) \
        for (const void *e = (s)->f->first_rule((chain), (s)->h); e; e = (s)->f->next_rule(e, (s)->h))

static const char *target_of(const struct snap *s, const void *e)
{
        return s->f->get_target(e, s->h);
}

static bool is_chain(const struct snap *s, const char *chain)
{
        return s->f->xtc->is_chain(chain, s->h);
}

static unsigned count_jumps(const struct snap *s, const char *chain, const char *target)
{
        unsigned n = 0;
        if (!is_chain(s, chain))
                return 0;
        FOREACH_RULE(s, e, chain)
        {
                const char *t = target_of(s, e);
                if (t && streq(t, target))
                        n++;
        }
        return n;
}

/* Deletes every rule of `chain` whose target starts with `target` (or equals it when exact). */
static int delete_jumps(const struct snap *s, const char *chain, const char *target, bool exact,
                        bool *changed, struct stack_error *err)
{
        if (!is_chain(s, chain))
                return 0;
        for (;;) {
                unsigned num = 0;
                bool found = false;
                FOREACH_RULE(s, e, chain)
                {
                        const char *t = target_of(s, e);
                        if (t && (exact ? streq(t, target) : startswith(t, target) != NULL)) {
                                found = true;
                                break;
                        }
                        num++;
                }
                if (!found)
                        return 0;
                if (!s->f->delete_num_entry(chain, num, s->h))
                        return xt_fail(s->f, err, s->t, chain, "delete rule");
                *changed = true;
        }
}

static int delete_project_chains(const struct snap *s, const char *prefix, bool *changed,
                                 struct stack_error *err)
{
        _cleanup_strv_free_ char **names = NULL;
        for (const struct fw_base_chain *bc = s->base; bc->name; bc++) {
                if (bc->table != s->t)
                        continue;
                int r = delete_jumps(s, bc->name, prefix, false, changed, err);
                if (r < 0)
                        return r;
        }
        /* Collect first: the chain iterator is not stable while chains are deleted. */
        for (const char *c = s->f->xtc->first_chain(s->h); c; c = s->f->xtc->next_chain(s->h))
                if (startswith(c, prefix))
                        strv_push(&names, c);
        STRV_FOREACH (c, names) {
                if (!s->f->xtc->flush_entries(*c, s->h))
                        return xt_fail(s->f, err, s->t, *c, "flush");
                if (!s->f->delete_chain(*c, s->h))
                        return xt_fail(s->f, err, s->t, *c, "delete chain");
                *changed = true;
        }
        return 0;
}

/* Shared chains nobody jumps into any more go, with their hook jumps. */
static int delete_unused_base(const struct snap *s, bool *changed, struct stack_error *err)
{
        for (const struct fw_base_chain *bc = s->base; bc->name; bc++) {
                if (bc->table != s->t || !is_chain(s, bc->name) || s->f->first_rule(bc->name, s->h))
                        continue;
                for (const struct fw_base_chain *hk = s->base; hk->name; hk++) {
                        if (hk->table != s->t || !streq(hk->name, bc->name))
                                continue;
                        int r = delete_jumps(s, hk->hook, bc->name, true, changed, err);
                        if (r < 0)
                                return r;
                }
                /* The reference count may still be held by a rule of another tool; leave it then. */
                unsigned refs = 0;
                if (s->f->get_references(&refs, bc->name, s->h) && refs > 0)
                        continue;
                if (!s->f->delete_chain(bc->name, s->h))
                        return xt_fail(s->f, err, s->t, bc->name, "delete chain");
                *changed = true;
        }
        return 0;
}

static int ensure_base(const struct snap *s, const char *name, struct stack_error *err)
{
        if (!is_chain(s, name) && !s->f->xtc->create_chain(name, s->h))
                return xt_fail(s->f, err, s->t, name, "create chain");
        for (const struct fw_base_chain *bc = s->base; bc->name; bc++) {
                if (bc->table != s->t || !streq(bc->name, name) || count_jumps(s, bc->hook, name) > 0)
                        continue;
                struct fw_rule jr = {.verdict = FW_JUMP, .dst_local = bc->dst_local};
                snprintf(jr.jump, sizeof(jr.jump), "%s", name);
                struct xt_entry_buf b;
                /* At the top, so our accepts are seen before a DROP policy or another tool's rules. */
                if (!s->f->insert_entry(bc->hook, xt_entry_from_rule(s->f, &b, &jr), 0, s->h))
                        return xt_fail(s->f, err, s->t, bc->hook, "insert jump");
        }
        return 0;
}

/* Where a jump of group g may go in a shared chain: after every jump of an earlier group (*ret_first)
 * and before the first jump of a later one (*ret_last). */
static void group_span(const struct snap *s, const char *parent, enum fw_group g, unsigned *ret_first,
                       unsigned *ret_last)
{
        unsigned pos = 0, first = 0;
        FOREACH_RULE(s, e, parent)
        {
                const char *t = target_of(s, e);
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

static int index_of_jump(const struct snap *s, const char *parent, const char *target)
{
        int i = 0;
        FOREACH_RULE(s, e, parent)
        {
                const char *t = target_of(s, e);
                if (t && streq(t, target))
                        return i;
                i++;
        }
        return -1;
}

/* Before a project's jumps are deleted: the jump that follows each of them and is not the project's
 * own ("" for the end of the chain). Re-inserting in front of it keeps the project where it was among
 * the others, so a re-apply does not reorder the shared chains. */
static bool jump_anchor(const struct snap *s, const char *parent, const char *target, const char *prefix,
                        char ret[FW_CHAIN_MAX])
{
        bool found = false;
        ret[0] = '\0';
        if (!is_chain(s, parent))
                return false;
        FOREACH_RULE(s, e, parent)
        {
                const char *t = target_of(s, e);
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

static int install_chain(const struct snap *s, const char *project, const struct fw_chain *c,
                         const char *anchor, struct stack_error *err)
{
        struct xt_entry_buf b;
        int r = ensure_base(s, c->parent, err);
        if (r < 0)
                return r;
        if (!s->f->xtc->create_chain(c->name, s->h))
                return xt_fail(s->f, err, s->t, c->name, "create chain");
        for (size_t i = 0; i < c->n_rules; i++)
                if (!s->f->append_entry(c->name, xt_entry_from_rule(s->f, &b, &c->rules[i]), s->h))
                        return xt_fail(s->f, err, s->t, c->name, "append rule");

        unsigned first, last, pos;
        group_span(s, c->parent, c->group, &first, &last);
        pos = last;
        if (anchor) {
                int i = anchor[0] ? index_of_jump(s, c->parent, anchor) : -1;
                unsigned want = i >= 0 ? (unsigned) i : last;
                pos = want < first ? first : want > last ? last : want;
        }
        struct fw_rule jr;
        firewall_jump_rule(project, c, &jr);
        if (!s->f->insert_entry(c->parent, xt_entry_from_rule(s->f, &b, &jr), pos, s->h))
                return xt_fail(s->f, err, s->t, c->parent, "insert jump");
        return 0;
}

static bool wanted(const struct snap *s, const struct fw_chain *c)
{
        return c->family == s->f->family && c->table == s->t;
}

/* Does the table already hold exactly the project's desired chains, reached from their hooks? Then a
 * re-apply changes nothing and needs no commit (a reconcile without changes leaves the firewall alone). */
static bool table_up_to_date(const struct snap *s, const struct fw_ruleset *rs, const char *prefix)
{
        size_t want = 0, have = 0;
        for (size_t i = 0; i < rs->n_chains; i++) {
                const struct fw_chain *c = &rs->chains[i];
                if (!wanted(s, c))
                        continue;
                want++;
                if (!is_chain(s, c->name) || count_jumps(s, c->parent, c->name) != 1)
                        return false;
                for (const struct fw_base_chain *bc = s->base; bc->name; bc++)
                        if (bc->table == s->t && streq(bc->name, c->parent) &&
                            count_jumps(s, bc->hook, bc->name) != 1)
                                return false;
                const void *e = s->f->first_rule(c->name, s->h);
                for (size_t k = 0; k < c->n_rules; k++, e = s->f->next_rule(e, s->h))
                        if (!e || !entry_equal(s->f, s->h, e, &c->rules[k]))
                                return false;
                if (e)
                        return false; /* more rules than wanted */
        }
        for (const char *c = s->f->xtc->first_chain(s->h); c; c = s->f->xtc->next_chain(s->h))
                if (startswith(c, prefix))
                        have++;
        return have == want;
}

/* rs NULL: remove the project. */
static int change_table(const struct snap *s, const char *project, const struct fw_ruleset *rs,
                        bool *changed, struct stack_error *err)
{
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(project, prefix);
        if (rs && table_up_to_date(s, rs, prefix))
                return delete_unused_base(s, changed, err);
        size_t n = rs ? rs->n_chains : 0;
        _cleanup_free_ char(*anchors)[FW_CHAIN_MAX] = xcalloc(n + 1, FW_CHAIN_MAX);
        _cleanup_free_ bool *had = xcalloc(n + 1, sizeof(bool));
        for (size_t i = 0; i < n; i++)
                if (wanted(s, &rs->chains[i]))
                        had[i] =
                            jump_anchor(s, rs->chains[i].parent, rs->chains[i].name, prefix, anchors[i]);

        int r = delete_project_chains(s, prefix, changed, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!wanted(s, &rs->chains[i]))
                        continue;
                r = install_chain(s, project, &rs->chains[i], had[i] ? anchors[i] : NULL, err);
                if (r < 0)
                        return r;
                *changed = true;
        }
        return delete_unused_base(s, changed, err);
}

/* ---- the per-table transaction ---- */

/* Runs the change on a fresh snapshot of the table and commits it when it changed anything; a commit
 * that lost a race against a writer that ignores the lock (EAGAIN) is redone from a new snapshot. */
static int table_transaction(struct firewall *fw, const struct xt_family *f, enum fw_table t,
                             const char *project, const struct fw_ruleset *rs, struct stack_error *err)
{
        const char *table = fw_table_name(t);
        for (int attempt = 1;; attempt++) {
                struct snap s = {
                    .f = f, .h = f->xtc->init(table), .t = t, .base = firewall_base_chains(f->family)};
                if (!s.h)
                        return xt_fail(f, err, t, NULL, "read table");
                bool changed = false;
                int r = change_table(&s, project, rs, &changed, err);
                bool committed = r >= 0 && changed && f->xtc->commit(s.h);
                int e = errno;
                f->xtc->free(s.h);
                if (r < 0)
                        return r;
                if (!changed)
                        return 0;
                if (committed) {
                        fw->commits[f->family]++;
                        return 0;
                }
                errno = e;
                if (e != EAGAIN || attempt >= COMMIT_ATTEMPTS)
                        return xt_fail(f, err, t, NULL, "commit");
        }
}

int xt_apply(struct firewall *fw, const struct xt_family *f, const struct fw_ruleset *rs,
             const enum fw_table *order, size_t n_order, struct stack_error *err)
{
        for (size_t i = 0; i < n_order; i++) {
                /* Nothing of ours can be in a table the kernel does not have, and reading it would create
                 * it: a host without IPv6 filtering is no error for a project without IPv6. */
                if (!fw_ruleset_has(rs, f->family, order[i]) && !xt_table_exists(f, order[i]))
                        continue;
                int r = table_transaction(fw, f, order[i], rs->project, rs, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int xt_remove(struct firewall *fw, const struct xt_family *f, const char *project,
              const enum fw_table *order, size_t n_order, struct stack_error *err)
{
        for (size_t i = 0; i < n_order; i++) {
                if (!xt_table_exists(f, order[i]))
                        continue;
                int r = table_transaction(fw, f, order[i], project, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- drift: what an apply would change, counted ---- */

static size_t chain_drift(const struct snap *s, const struct fw_chain *c)
{
        if (!is_chain(s, c->name))
                return c->n_rules + 1; /* the rules and the jump into the chain */
        size_t n = count_jumps(s, c->parent, c->name) == 1 ? 0 : 1;
        const void *e = s->f->first_rule(c->name, s->h);
        for (size_t k = 0; k < c->n_rules; k++) {
                if (!e || !entry_equal(s->f, s->h, e, &c->rules[k]))
                        n++;
                if (e)
                        e = s->f->next_rule(e, s->h);
        }
        for (; e; e = s->f->next_rule(e, s->h))
                n++; /* more rules than wanted */
        return n;
}

static bool parent_wanted(const struct snap *s, const struct fw_ruleset *rs, const char *name)
{
        for (size_t i = 0; i < rs->n_chains; i++)
                if (wanted(s, &rs->chains[i]) && streq(rs->chains[i].parent, name))
                        return true;
        return false;
}

static size_t table_drift(const struct snap *s, const struct fw_ruleset *rs, const char *prefix)
{
        size_t n = 0, want = 0;
        for (size_t i = 0; i < rs->n_chains; i++)
                if (wanted(s, &rs->chains[i])) {
                        want++;
                        n += chain_drift(s, &rs->chains[i]);
                }
        /* Each hook jump once, however many of the project's chains hang below it. */
        for (const struct fw_base_chain *bc = s->base; bc->name; bc++)
                if (bc->table == s->t && parent_wanted(s, rs, bc->name) &&
                    count_jumps(s, bc->hook, bc->name) != 1)
                        n++;
        size_t have = 0;
        for (const char *c = s->f->xtc->first_chain(s->h); c; c = s->f->xtc->next_chain(s->h))
                if (startswith(c, prefix))
                        have++;
        if (have > want)
                n += have - want; /* chains of the project it no longer wants */
        /* Whatever the count missed (an order), table_up_to_date has the last word, as apply does. */
        if (n == 0 && !table_up_to_date(s, rs, prefix))
                n = 1;
        return n;
}

int xt_drift(const struct xt_family *f, const struct fw_ruleset *rs, const enum fw_table *order,
             size_t n_order, size_t *ret_n, struct stack_error *err)
{
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(rs->project, prefix);
        for (size_t i = 0; i < n_order; i++) {
                enum fw_table t = order[i];
                if (!xt_table_exists(f, t)) {
                        /* Nothing can be there; opening it would create it. */
                        for (size_t k = 0; k < rs->n_chains; k++)
                                if (rs->chains[k].family == f->family && rs->chains[k].table == t)
                                        *ret_n += rs->chains[k].n_rules + 1;
                        continue;
                }
                struct snap s = {.f = f,
                                 .h = f->xtc->init(fw_table_name(t)),
                                 .t = t,
                                 .base = firewall_base_chains(f->family)};
                if (!s.h)
                        return xt_fail(f, err, t, NULL, "read table");
                *ret_n += table_drift(&s, rs, prefix);
                f->xtc->free(s.h);
        }
        return 0;
}
