/* The libip6tc backend of IPv6 isolation (firewall6.h): legacy x_tables, table filter only.
 *
 * The same discipline as the IPv4 backend (firewall-iptc.c): every change under /run/xtables.lock, one
 * commit of the whole table, redone from a fresh snapshot when it lost a race (EAGAIN), and only chains
 * starting with the project's prefix and the jumps into them are touched; a shared STACK-FORWARD goes
 * once no project jumps into it. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include <libiptc/libip6tc.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall6.h"
#include "net/xtables-lock.h"

#define COMMIT_ATTEMPTS 5

/* xt_chainlabel size: libip6tc reads the whole label. */
static const char BASE_CHAIN[FW_CHAIN_MAX] = "STACK-FORWARD";
static const char HOOK[FW_CHAIN_MAX] = "FORWARD";
static const char TABLE[] = "filter";

DEFINE_TRIVIAL_CLEANUP_FUNC(struct xtc_handle *, ip6tc_free)
#define _cleanup_ip6tc_ _cleanup_(ip6tc_freep)

/* ---- rule generation (pure) ---- */

static struct fw_rule *add_rule(struct fw_chain *c, size_t *cap, const char *project, const char *network,
                                enum fw_verdict v)
{
        GROW(c->rules, *cap, c->n_rules + 1);
        struct fw_rule *r = &c->rules[c->n_rules++];
        *r = (struct fw_rule){.verdict = v};
        snprintf(r->comment, sizeof(r->comment), "stack:%s:%s", project, network);
        return r;
}

int firewall6_build(const char *project, const struct fw_network *networks, size_t n_networks,
                    struct fw_ruleset *ret, struct stack_error *err)
{
        for (size_t i = 0; i < n_networks; i++)
                if (networks[i].ipv6 &&
                    (isempty(networks[i].bridge) || strlen(networks[i].bridge) >= IFNAMSIZ))
                        return stack_error_set(err, EINVAL, "firewall6: network '%s': bad bridge name '%s'",
                                               networks[i].name,
                                               networks[i].bridge ? networks[i].bridge : "");

        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(project, prefix);
        /* INT before ISO, as firewall.c lists its parts; the jumps are placed by group anyway. */
        struct fw_chain chains[2] = {
            {.table = FW_TABLE_FILTER, .group = FW_GROUP_INTERNAL},
            {.table = FW_TABLE_FILTER, .group = FW_GROUP_INTO},
        };
        size_t cap[2] = {0, 0};
        static const char *const suffix[2] = {"INT", "ISO"};
        for (size_t i = 0; i < 2; i++) {
                snprintf(chains[i].name, sizeof(chains[i].name), "%.20s%s", prefix, suffix[i]);
                snprintf(chains[i].parent, sizeof(chains[i].parent), "%s", BASE_CHAIN);
        }

        for (size_t i = 0; i < n_networks; i++) {
                const struct fw_network *n = &networks[i];
                if (!n->ipv6)
                        continue;
                struct fw_rule *r;
                if (n->internal) {
                        r = add_rule(&chains[0], &cap[0], project, n->name, FW_DROP);
                        snprintf(r->in_if, sizeof(r->in_if), "%s", n->bridge);
                        snprintf(r->out_if, sizeof(r->out_if), "%s", n->bridge);
                        r->out_if_not = true;
                }
                /* Into the bridge only replies and its own traffic (bridged with br_netfilter on). */
                r = add_rule(&chains[1], &cap[1], project, n->name, FW_ACCEPT);
                snprintf(r->out_if, sizeof(r->out_if), "%s", n->bridge);
                r->ctstate = FW_CT_ESTABLISHED | FW_CT_RELATED;
                r = add_rule(&chains[1], &cap[1], project, n->name, FW_ACCEPT);
                snprintf(r->in_if, sizeof(r->in_if), "%s", n->bridge);
                snprintf(r->out_if, sizeof(r->out_if), "%s", n->bridge);
                r = add_rule(&chains[1], &cap[1], project, n->name, FW_DROP);
                snprintf(r->out_if, sizeof(r->out_if), "%s", n->bridge);
        }

        struct fw_ruleset rs = {.project = xstrdup(project)};
        rs.chains = xcalloc(2, sizeof(*rs.chains));
        for (size_t i = 0; i < 2; i++)
                if (chains[i].n_rules > 0)
                        rs.chains[rs.n_chains++] = chains[i];
        *ret = rs;
        return 0;
}

/* ---- fw_rule -> struct ip6t_entry ---- */

struct entry_builder {
        unsigned char buf[1024];
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

static void set_iface(char name[IFNAMSIZ], unsigned char mask[IFNAMSIZ], const char *ifname)
{
        size_t len = strlen(ifname);
        memcpy(name, ifname, len);
        /* Exact match: the mask covers the name and its NUL, as ip6tables sets it. */
        memset(mask, 0xff, len + 1 < IFNAMSIZ ? len + 1 : IFNAMSIZ);
}

static const char *verdict_label(const struct fw_rule *r)
{
        switch (r->verdict) {
        case FW_ACCEPT:
                return IP6TC_LABEL_ACCEPT;
        case FW_DROP:
                return IP6TC_LABEL_DROP;
        case FW_RETURN:
                return IP6TC_LABEL_RETURN;
        case FW_JUMP:
                return r->jump;
        default:
                return NULL; /* no NAT or mangling in this backend */
        }
}

/* Only what firewall6_build and the jumps use: interfaces, conntrack state, comment, standard target. */
static const struct ip6t_entry *entry_from_rule(struct entry_builder *b, const struct fw_rule *r)
{
        memset(b, 0, sizeof(*b));
        struct ip6t_entry *e = (struct ip6t_entry *) b->buf;
        b->off = XT_ALIGN(sizeof(struct ip6t_entry));
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
        if (r->ctstate) {
                struct xt_conntrack_mtinfo3 *c = add_match(b, "conntrack", 3, sizeof(*c));
                c->match_flags = XT_CONNTRACK_STATE;
                if (r->ctstate & FW_CT_ESTABLISHED)
                        c->state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
                if (r->ctstate & FW_CT_RELATED)
                        c->state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
        }
        if (r->comment[0]) {
                struct xt_comment_info *c = add_match(b, "comment", 0, sizeof(*c));
                snprintf(c->comment, sizeof(c->comment), "%s", r->comment);
        }
        e->target_offset = b->off;
        size_t std = XT_ALIGN(sizeof(struct xt_standard_target));
        struct xt_entry_target *t = (struct xt_entry_target *) (b->buf + b->off);
        t->u.user.target_size = std;
        /* libip6tc resolves a chain name in a standard target into the jump offset. */
        const char *label = verdict_label(r) ? verdict_label(r) : "";
        memcpy(t->u.user.name, label, strnlen(label, sizeof(t->u.user.name) - 1));
        b->off += std;
        e->next_offset = b->off;
        return e;
}

static int ip6tc_fail(struct stack_error *err, const char *chain, const char *what)
{
        int e = errno ? errno : EPROTO;
        if (chain)
                return stack_error_set(err, e, "firewall6: table %s: chain %s: %s: %s", TABLE, chain, what,
                                       ip6tc_strerror(e));
        return stack_error_set(err, e, "firewall6: table %s: %s: %s", TABLE, what, ip6tc_strerror(e));
}

/* ---- helpers on a table snapshot ---- */

/* Matches name, revision and payload one by one: the kernel hands name fields back with bytes after the
 * NUL. */
static bool entry_equal(struct xtc_handle *h, const struct ip6t_entry *have, const struct fw_rule *r)
{
        struct entry_builder b;
        const struct ip6t_entry *want = entry_from_rule(&b, r);
        if (memcmp(&have->ipv6, &want->ipv6, sizeof(want->ipv6)) != 0 ||
            have->target_offset != want->target_offset || have->next_offset != want->next_offset)
                return false;
        for (size_t off = sizeof(struct ip6t_entry); off < want->target_offset;) {
                const struct xt_entry_match *hm = (const void *) ((const char *) have + off);
                const struct xt_entry_match *wm = (const void *) ((const char *) want + off);
                if (hm->u.user.match_size != wm->u.user.match_size || wm->u.user.match_size == 0 ||
                    strncmp(hm->u.user.name, wm->u.user.name, sizeof(wm->u.user.name)) != 0 ||
                    hm->u.user.revision != wm->u.user.revision ||
                    memcmp(hm->data, wm->data, wm->u.user.match_size - sizeof(*wm)) != 0)
                        return false;
                off += wm->u.user.match_size;
        }
        const char *t = ip6tc_get_target(have, h);
        return t && streq_ptr(t, verdict_label(r));
}

static unsigned count_jumps(struct xtc_handle *h, const char *chain, const char *target)
{
        unsigned n = 0;
        if (!ip6tc_is_chain(chain, h))
                return 0;
        for (const struct ip6t_entry *e = ip6tc_first_rule(chain, h); e; e = ip6tc_next_rule(e, h)) {
                const char *t = ip6tc_get_target(e, h);
                if (t && streq(t, target))
                        n++;
        }
        return n;
}

/* Exactly the wanted chains and jumps already: a re-apply makes no commit. */
static bool up_to_date(struct xtc_handle *h, const struct fw_ruleset *rs, const char *prefix)
{
        size_t have = 0;
        for (size_t i = 0; i < rs->n_chains; i++) {
                const struct fw_chain *c = &rs->chains[i];
                if (!ip6tc_is_chain(c->name, h) || count_jumps(h, c->parent, c->name) != 1 ||
                    count_jumps(h, HOOK, BASE_CHAIN) != 1)
                        return false;
                const struct ip6t_entry *e = ip6tc_first_rule(c->name, h);
                for (size_t k = 0; k < c->n_rules; k++, e = ip6tc_next_rule(e, h))
                        if (!e || !entry_equal(h, e, &c->rules[k]))
                                return false;
                if (e)
                        return false;
        }
        for (const char *c = ip6tc_first_chain(h); c; c = ip6tc_next_chain(h))
                if (startswith(c, prefix))
                        have++;
        return have == rs->n_chains;
}

/* Deletes the rules of `chain` whose target starts with `target` (or equals it when exact). */
static int delete_jumps(struct xtc_handle *h, const char *chain, const char *target, bool exact,
                        bool *changed, struct stack_error *err)
{
        if (!ip6tc_is_chain(chain, h))
                return 0;
        for (;;) {
                unsigned num = 0;
                bool found = false;
                for (const struct ip6t_entry *e = ip6tc_first_rule(chain, h); e; e = ip6tc_next_rule(e, h)) {
                        const char *t = ip6tc_get_target(e, h);
                        if (t && (exact ? streq(t, target) : startswith(t, target) != NULL)) {
                                found = true;
                                break;
                        }
                        num++;
                }
                if (!found)
                        return 0;
                if (!ip6tc_delete_num_entry(chain, num, h))
                        return ip6tc_fail(err, chain, "delete rule");
                *changed = true;
        }
}

static int delete_project_chains(struct xtc_handle *h, const char *prefix, bool *changed,
                                 struct stack_error *err)
{
        int r = delete_jumps(h, BASE_CHAIN, prefix, false, changed, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        /* Collect first: the chain iterator is not stable while chains are deleted. */
        for (const char *c = ip6tc_first_chain(h); c; c = ip6tc_next_chain(h))
                if (startswith(c, prefix))
                        strv_push(&names, c);
        STRV_FOREACH (c, names) {
                if (!ip6tc_flush_entries(*c, h))
                        return ip6tc_fail(err, *c, "flush");
                if (!ip6tc_delete_chain(*c, h))
                        return ip6tc_fail(err, *c, "delete chain");
                *changed = true;
        }
        return 0;
}

static int delete_unused_base(struct xtc_handle *h, bool *changed, struct stack_error *err)
{
        if (!ip6tc_is_chain(BASE_CHAIN, h) || ip6tc_first_rule(BASE_CHAIN, h))
                return 0;
        int r = delete_jumps(h, HOOK, BASE_CHAIN, true, changed, err);
        if (r < 0)
                return r;
        /* Another tool's rule may still jump here; leave the chain then. */
        unsigned refs = 0;
        if (ip6tc_get_references(&refs, BASE_CHAIN, h) && refs > 0)
                return 0;
        if (!ip6tc_delete_chain(BASE_CHAIN, h))
                return ip6tc_fail(err, BASE_CHAIN, "delete chain");
        *changed = true;
        return 0;
}

static int ensure_base(struct xtc_handle *h, struct stack_error *err)
{
        if (!ip6tc_is_chain(BASE_CHAIN, h) && !ip6tc_create_chain(BASE_CHAIN, h))
                return ip6tc_fail(err, BASE_CHAIN, "create chain");
        if (count_jumps(h, HOOK, BASE_CHAIN) > 0)
                return 0;
        struct fw_rule jr = {.verdict = FW_JUMP};
        snprintf(jr.jump, sizeof(jr.jump), "%s", BASE_CHAIN);
        struct entry_builder b;
        /* At the top, before a DROP policy or another tool's rules, as the IPv4 hook jump. */
        if (!ip6tc_insert_entry(HOOK, entry_from_rule(&b, &jr), 0, h))
                return ip6tc_fail(err, HOOK, "insert jump");
        return 0;
}

/* Where a jump of group g goes in STACK-FORWARD: after every jump of an earlier group, before the
 * first of a later one; with an anchor (the jump that followed the project's old one) in front of it. */
static unsigned jump_position(struct xtc_handle *h, enum fw_group g, const char *anchor)
{
        unsigned pos = 0, first = 0, at = 0;
        bool anchored = false;
        for (const struct ip6t_entry *e = ip6tc_first_rule(BASE_CHAIN, h); e; e = ip6tc_next_rule(e, h)) {
                const char *t = ip6tc_get_target(e, h);
                enum fw_group eg = t ? firewall_chain_group(t) : g;
                if (eg > g)
                        break;
                if (eg < g)
                        first = pos + 1;
                if (!anchored && anchor && anchor[0] && t && streq(t, anchor)) {
                        at = pos;
                        anchored = true;
                }
                pos++;
        }
        if (!anchored)
                return pos;
        return at < first ? first : at;
}

/* Before the project's jumps go: the next jump after `target` that is not the project's ("" for none). */
static void jump_anchor(struct xtc_handle *h, const char *target, const char *prefix, char ret[FW_CHAIN_MAX])
{
        bool found = false;
        ret[0] = '\0';
        if (!ip6tc_is_chain(BASE_CHAIN, h))
                return;
        for (const struct ip6t_entry *e = ip6tc_first_rule(BASE_CHAIN, h); e; e = ip6tc_next_rule(e, h)) {
                const char *t = ip6tc_get_target(e, h);
                if (!t)
                        continue;
                if (!found) {
                        found = streq(t, target);
                        continue;
                }
                if (!startswith(t, prefix)) {
                        snprintf(ret, FW_CHAIN_MAX, "%s", t);
                        return;
                }
        }
}

static int install_chain(struct xtc_handle *h, const char *project, const struct fw_chain *c,
                         const char *anchor, struct stack_error *err)
{
        struct entry_builder b;
        int r = ensure_base(h, err);
        if (r < 0)
                return r;
        if (!ip6tc_create_chain(c->name, h))
                return ip6tc_fail(err, c->name, "create chain");
        for (size_t i = 0; i < c->n_rules; i++)
                if (!ip6tc_append_entry(c->name, entry_from_rule(&b, &c->rules[i]), h))
                        return ip6tc_fail(err, c->name, "append rule");
        struct fw_rule jr;
        firewall_jump_rule(project, c, &jr);
        if (!ip6tc_insert_entry(BASE_CHAIN, entry_from_rule(&b, &jr), jump_position(h, c->group, anchor), h))
                return ip6tc_fail(err, BASE_CHAIN, "insert jump");
        return 0;
}

/* ---- lock and transaction ---- */

/* Is there an ip6tables filter table in this network namespace? Reading it would create one. */
static bool filter_table_exists(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/net/ip6_tables_names", "re");
        char line[64];
        while (f && fgets(line, sizeof(line), f))
                if (streq(line, "filter\n"))
                        return true;
        return false;
}

/* rs NULL: remove. */
static int transaction(const char *project, const struct fw_ruleset *rs, unsigned *ret_commits,
                       struct stack_error *err)
{
        unsigned commits = 0;
        if ((!rs || rs->n_chains == 0) && !filter_table_exists()) {
                /* Nothing of ours can exist, and a host without IPv6 filtering is no error then. */
                if (ret_commits)
                        *ret_commits = 0;
                return 0;
        }
        _cleanup_close_ int lock = xtables_lock("firewall6", err);
        if (lock < 0)
                return lock;
        char prefix[FW_CHAIN_MAX];
        firewall_chain_prefix(project, prefix);
        for (int attempt = 1;; attempt++) {
                _cleanup_ip6tc_ struct xtc_handle *h = ip6tc_init(TABLE);
                if (!h) {
                        ip6tc_fail(err, NULL, "read table");
                        return stack_error_prefix(err, "project '%s'", project);
                }
                bool changed = false;
                int r = 0;
                if (!rs || !up_to_date(h, rs, prefix)) {
                        size_t n = rs ? rs->n_chains : 0;
                        _cleanup_free_ char(*anchors)[FW_CHAIN_MAX] = xcalloc(n + 1, FW_CHAIN_MAX);
                        for (size_t i = 0; i < n; i++)
                                jump_anchor(h, rs->chains[i].name, prefix, anchors[i]);
                        r = delete_project_chains(h, prefix, &changed, err);
                        for (size_t i = 0; r >= 0 && i < n; i++) {
                                r = install_chain(h, project, &rs->chains[i], anchors[i], err);
                                changed = true;
                        }
                }
                if (r >= 0)
                        r = delete_unused_base(h, &changed, err);
                if (r < 0)
                        return stack_error_prefix(err, "project '%s'", project);
                if (changed && !ip6tc_commit(h)) {
                        if (errno == EAGAIN && attempt < COMMIT_ATTEMPTS)
                                continue;
                        ip6tc_fail(err, NULL, "commit");
                        return stack_error_prefix(err, "project '%s'", project);
                }
                commits += changed;
                break;
        }
        if (ret_commits)
                *ret_commits = commits;
        return 0;
}

int firewall6_apply(const char *project, const struct fw_network *networks, size_t n_networks,
                    unsigned *ret_commits, struct stack_error *err)
{
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        int r = firewall6_build(project, networks, n_networks, &rs, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", project);
        return transaction(project, &rs, ret_commits, err);
}

int firewall6_remove_project(const char *project, unsigned *ret_commits, struct stack_error *err)
{
        return transaction(project, NULL, ret_commits, err);
}
