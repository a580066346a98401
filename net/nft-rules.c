/* fw rules -> nft text, the kernel's listing -> what is there, and the batch between the two. Pure. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/nft-rules.h"

/* ---- rule text ---- */

/* Comments go between double quotes; nft has no escape for them there. */
static void put_comment(struct strbuf *b, const char *comment)
{
        strbuf_puts(b, " comment \"");
        for (const char *p = comment; *p; p++)
                strbuf_putc(b, *p == '"' || *p == '\\' || (unsigned char) *p < 0x20 ? '_' : *p);
        strbuf_putc(b, '"');
}

static void put_sep(struct strbuf *b)
{
        if (b->len > 0)
                strbuf_putc(b, ' ');
}

static void put_addr(struct strbuf *b, const char *what, bool neg, struct in_addr a, unsigned len)
{
        char s[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, s, sizeof(s));
        put_sep(b);
        /* nft prints a /32 as the bare address */
        if (len == 32)
                strbuf_printf(b, "ip %s %s%s", what, neg ? "!= " : "", s);
        else
                strbuf_printf(b, "ip %s %s%s/%u", what, neg ? "!= " : "", s, len);
}

static void put_proto(struct strbuf *b, const struct fw_rule *r)
{
        const char *name = r->proto == IPPROTO_TCP ? "tcp" : r->proto == IPPROTO_UDP ? "udp" : NULL;
        if (!r->proto)
                return;
        put_sep(b);
        if (!name) {
                strbuf_printf(b, "meta l4proto %u", r->proto);
                return;
        }
        bool syn = r->tcp_syn && r->proto == IPPROTO_TCP;
        /* A port or flag match implies the protocol; nft leaves the implied l4proto out of a listing. */
        if (r->dport)
                strbuf_printf(b, "%s dport %u", name, r->dport);
        if (syn)
                strbuf_printf(b, "%stcp flags syn / syn,rst", r->dport ? " " : "");
        if (!r->dport && !syn)
                strbuf_printf(b, "meta l4proto %s", name);
}

static void put_ct(struct strbuf *b, unsigned ct)
{
        unsigned st = ct & (FW_CT_ESTABLISHED | FW_CT_RELATED);
        if (st) {
                put_sep(b);
                strbuf_printf(b, "ct state %s",
                              st == (FW_CT_ESTABLISHED | FW_CT_RELATED) ? "established,related"
                              : st == FW_CT_ESTABLISHED                 ? "established"
                                                                        : "related");
        }
        if (ct & FW_CT_DNAT) {
                put_sep(b);
                strbuf_puts(b, "ct status dnat");
        }
}

static void put_verdict(struct strbuf *b, const struct fw_rule *r)
{
        char s[INET_ADDRSTRLEN];
        put_sep(b);
        switch (r->verdict) {
        case FW_ACCEPT:
                strbuf_puts(b, "accept");
                break;
        case FW_DROP:
                strbuf_puts(b, "drop");
                break;
        case FW_RETURN:
                strbuf_puts(b, "return");
                break;
        case FW_JUMP:
                strbuf_printf(b, "jump %s", r->jump);
                break;
        case FW_DNAT:
                inet_ntop(AF_INET, &r->to_addr, s, sizeof(s));
                strbuf_printf(b, "dnat ip to %s:%u", s, r->to_port);
                break;
        case FW_MASQUERADE:
                strbuf_puts(b, "masquerade");
                break;
        case FW_CLAMP_MSS:
                strbuf_puts(b, "tcp option maxseg size set rt mtu");
                break;
        }
}

char *nft_rule_text(const struct fw_rule *r)
{
        struct strbuf b = {0};
        if (r->in_if[0])
                strbuf_printf(&b, "iifname %s\"%s\"", r->in_if_not ? "!= " : "", r->in_if);
        if (r->out_if[0]) {
                put_sep(&b);
                strbuf_printf(&b, "oifname %s\"%s\"", r->out_if_not ? "!= " : "", r->out_if);
        }
        if (r->src_len)
                put_addr(&b, "saddr", r->src_not, r->src, r->src_len);
        if (r->dst_len)
                put_addr(&b, "daddr", r->dst_not, r->dst, r->dst_len);
        put_proto(&b, r);
        if (r->dst_local) {
                put_sep(&b);
                strbuf_puts(&b, "fib daddr type local");
        }
        put_ct(&b, r->ctstate);
        put_verdict(&b, r);
        if (r->comment[0])
                put_comment(&b, r->comment);
        return strbuf_take(&b);
}

/* ---- the project's chains ---- */

void nft_chain_prefix(const char *project, char ret[FW_CHAIN_MAX])
{
        firewall_chain_prefix(project, ret);
}

/* The nft base chain for one xtables hook of a shared chain. */
struct hook_map {
        enum fw_table table;
        const char *hook;
        const char *suffix;
        const char *type;
};

static const struct hook_map hooks[] = {
    {FW_TABLE_RAW, "PREROUTING", "raw", "type filter hook prerouting priority raw; policy accept;"},
    {FW_TABLE_FILTER, "FORWARD", "forward", "type filter hook forward priority filter; policy accept;"},
    {FW_TABLE_FILTER, "INPUT", "input", "type filter hook input priority filter; policy accept;"},
    {FW_TABLE_NAT, "PREROUTING", "dnat", "type nat hook prerouting priority dstnat; policy accept;"},
    {FW_TABLE_NAT, "OUTPUT", "dnat-out", "type nat hook output priority -100; policy accept;"},
    {FW_TABLE_NAT, "POSTROUTING", "snat", "type nat hook postrouting priority srcnat; policy accept;"},
};

static const struct hook_map *hook_of(enum fw_table t, const char *hook)
{
        for (size_t i = 0; i < ELEMENTSOF(hooks); i++)
                if (hooks[i].table == t && streq(hooks[i].hook, hook))
                        return &hooks[i];
        return NULL;
}

static void chain_push_rule(struct nft_chain *c, size_t *cap, char *text)
{
        GROW(c->rules, *cap, c->n_rules + 1);
        c->rules[c->n_rules++] = text;
}

static void nft_chain_done(struct nft_chain *c)
{
        free(c->name);
        free(c->type);
        for (size_t i = 0; i < c->n_rules; i++)
                free(c->rules[i]);
        free(c->rules);
        free(c->handles);
        *c = (struct nft_chain){0};
}

struct desired_builder {
        struct nft_desired *d;
        size_t cap_chains, cap_accepts;
        size_t *cap_rules; /* per chain */
};

static struct nft_chain *find_chain(struct nft_chain *chains, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(chains[i].name, name))
                        return &chains[i];
        return NULL;
}

static size_t add_chain(struct desired_builder *b, const char *name, const char *type)
{
        struct nft_desired *d = b->d;
        size_t old = b->cap_chains;
        GROW(d->chains, b->cap_chains, d->n_chains + 1);
        if (b->cap_chains != old) {
                b->cap_rules = xrealloc(b->cap_rules, b->cap_chains * sizeof(size_t));
                memset(b->cap_rules + old, 0, (b->cap_chains - old) * sizeof(size_t));
        }
        d->chains[d->n_chains] =
            (struct nft_chain){.name = xstrdup(name), .type = type ? xstrdup(type) : NULL};
        return d->n_chains++;
}

static size_t base_chain(struct desired_builder *b, const char *prefix, const struct hook_map *h)
{
        _cleanup_free_ char *name = xasprintf("%s%s", prefix, h->suffix);
        struct nft_chain *c = find_chain(b->d->chains, b->d->n_chains, name);
        if (c)
                return c - b->d->chains;
        return add_chain(b, name, h->type);
}

static int add_ruleset(struct desired_builder *b, const char *project, const struct fw_ruleset *rs,
                       enum fw_family family, enum fw_group g, struct stack_error *err)
{
        char prefix[FW_CHAIN_MAX];
        nft_chain_prefix(project, prefix);
        for (size_t i = 0; rs && i < rs->n_chains; i++) {
                const struct fw_chain *c = &rs->chains[i];
                bool v6 = family == FW_IPV6;
                if (c->group != g || c->family != family)
                        continue;
                _cleanup_free_ char *name = xasprintf("%s%s", c->name, v6 ? "6" : "");
                size_t k = add_chain(b, name, NULL);
                for (size_t j = 0; j < c->n_rules; j++) {
                        if (c->rules[j].verdict == FW_JUMP)
                                return stack_error_set(
                                    err, EINVAL, "firewall (nftables): chain %s: jumps are not expected",
                                    c->name);
                        chain_push_rule(&b->d->chains[k], &b->cap_rules[k], nft_rule_text(&c->rules[j]));
                }
                bool hooked = false;
                for (const struct fw_base_chain *bc = firewall_base_chains(family); bc->name; bc++) {
                        if (bc->table != c->table || !streq(bc->name, c->parent))
                                continue;
                        const struct hook_map *h = hook_of(bc->table, bc->hook);
                        if (!h)
                                return stack_error_set(err, EINVAL, "firewall (nftables): no hook for %s",
                                                       bc->hook);
                        size_t bi = base_chain(b, prefix, h);
                        struct fw_rule jr;
                        firewall_jump_rule(project, c, &jr);
                        snprintf(jr.jump, sizeof(jr.jump), "%s", name);
                        jr.dst_local = bc->dst_local;
                        _cleanup_free_ char *text = nft_rule_text(&jr);
                        chain_push_rule(&b->d->chains[bi], &b->cap_rules[bi],
                                        xasprintf("meta nfproto %s %s", v6 ? "ipv6" : "ipv4", text));
                        hooked = true;
                }
                if (!hooked)
                        return stack_error_set(err, EINVAL,
                                               "firewall (nftables): chain %s: unknown parent %s", c->name,
                                               c->parent);
        }
        return 0;
}

static bool hook_is(const char *type, const char *hook)
{
        _cleanup_free_ char *want = xasprintf(" hook %s ", hook);
        return type && strstr(type, want);
}

static bool policy_drop(const char *type)
{
        return type && strstr(type, "policy drop;");
}

static void add_accept(struct desired_builder *b, const struct nft_foreign *f, char *rule)
{
        struct nft_desired *d = b->d;
        GROW(d->accepts, b->cap_accepts, d->n_accepts + 1);
        d->accepts[d->n_accepts++] = (struct nft_accept){
            .family = xstrdup(f->family),
            .table = xstrdup(f->table),
            .chain = xstrdup(f->chain.name),
            .rule = rule,
        };
}

/* One of the project's bridges, as its rule set names it. */
struct bridge {
        char name[FW_IFNAME_MAX];
        const char *network; /* in the rule's comment */
        bool internal, v4, v6;
};

/* The bridges are those whose own traffic the isolation chains accept ("-i br -o br -j ACCEPT", one per
 * network and family); an internal one also has "-i br ! -o br -j DROP". */
static size_t collect_bridges(const struct fw_ruleset *rs, struct bridge **list, size_t n, size_t *cap)
{
        for (size_t i = 0; rs && i < rs->n_chains; i++) {
                const struct fw_chain *c = &rs->chains[i];
                bool v6 = c->family == FW_IPV6;
                for (size_t k = 0; c->table == FW_TABLE_FILTER && k < c->n_rules; k++) {
                        const struct fw_rule *r = &c->rules[k];
                        if (!r->in_if[0] || r->in_if_not || !streq(r->in_if, r->out_if))
                                continue;
                        bool own = r->verdict == FW_ACCEPT && !r->out_if_not;
                        bool internal = r->verdict == FW_DROP && r->out_if_not;
                        if (!own && !internal)
                                continue;
                        struct bridge *b = NULL;
                        for (size_t j = 0; j < n; j++)
                                if (streq((*list)[j].name, r->in_if))
                                        b = &(*list)[j];
                        if (!b) {
                                GROW(*list, *cap, n + 1);
                                b = &(*list)[n++];
                                *b = (struct bridge){0};
                                snprintf(b->name, sizeof(b->name), "%s", r->in_if);
                        }
                        const char *tag = startswith(r->comment, "stack:");
                        const char *net = tag ? strchr(tag, ':') : NULL;
                        if (net)
                                b->network = net + 1;
                        b->internal = b->internal || internal;
                        if (v6)
                                b->v6 = true;
                        else
                                b->v4 = true;
                }
        }
        return n;
}

/* Does a table of this family see the bridge's traffic? */
static bool family_covers(const char *family, const struct bridge *b)
{
        if (streq(family, "inet"))
                return true;
        if (streq(family, "ip"))
                return b->v4;
        if (streq(family, "ip6"))
                return b->v6;
        return false; /* bridge, arp, netdev: not where routed traffic is dropped */
}

static void add_accepts(struct desired_builder *b, const char *project, const struct bridge *bridges,
                        size_t n_bridges, const struct nft_listing *have)
{
        for (size_t i = 0; have && i < have->n_foreign; i++) {
                const struct nft_foreign *f = &have->foreign[i];
                if (!policy_drop(f->chain.type))
                        continue;
                bool fwd = hook_is(f->chain.type, "forward"), in = hook_is(f->chain.type, "input");
                for (size_t k = 0; k < n_bridges; k++) {
                        const struct bridge *n = &bridges[k];
                        if (!family_covers(f->family, n))
                                continue;
                        struct fw_rule r = {.verdict = FW_ACCEPT};
                        snprintf(r.comment, sizeof(r.comment), "stack:%s:%s", project,
                                 n->network ? n->network : "");
                        if (fwd) {
                                snprintf(r.out_if, sizeof(r.out_if), "%s", n->name);
                                add_accept(b, f, nft_rule_text(&r));
                                r.out_if[0] = '\0';
                                snprintf(r.in_if, sizeof(r.in_if), "%s", n->name);
                                if (n->internal)
                                        snprintf(r.out_if, sizeof(r.out_if), "%s", n->name);
                                add_accept(b, f, nft_rule_text(&r));
                        }
                        if (in) {
                                snprintf(r.in_if, sizeof(r.in_if), "%s", n->name);
                                r.dport = 53;
                                r.proto = IPPROTO_UDP;
                                add_accept(b, f, nft_rule_text(&r));
                                r.proto = IPPROTO_TCP;
                                add_accept(b, f, nft_rule_text(&r));
                        }
                }
        }
}

int nft_desired_build(const char *project, const struct fw_ruleset *rs, const struct nft_listing *have,
                      struct nft_desired *ret, struct stack_error *err)
{
        _cleanup_free_ struct nft_desired *d = xcalloc(1, sizeof(*d));
        d->project = xstrdup(project);
        struct desired_builder b = {.d = d};
        int r = 0;
        /* Base chains list their jumps in group order, IPv4 before IPv6 within a group. */
        static const enum fw_group groups[] = {FW_GROUP_INTERNAL, FW_GROUP_INTO, FW_GROUP_OUT};
        for (size_t g = 0; g < ELEMENTSOF(groups) && r == 0; g++) {
                r = add_ruleset(&b, project, rs, FW_IPV4, groups[g], err);
                if (r == 0)
                        r = add_ruleset(&b, project, rs, FW_IPV6, groups[g], err);
        }
        free(b.cap_rules);
        if (r < 0) {
                nft_desired_free(d);
                return r;
        }
        _cleanup_free_ struct bridge *bridges = NULL;
        size_t n_bridges = 0, cap = 0;
        n_bridges = collect_bridges(rs, &bridges, n_bridges, &cap);
        if (d->n_chains > 0)
                add_accepts(&b, project, bridges, n_bridges, have);
        *ret = *d;
        return 0;
}

void nft_desired_free(struct nft_desired *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_chains; i++)
                nft_chain_done(&d->chains[i]);
        free(d->chains);
        for (size_t i = 0; i < d->n_accepts; i++) {
                free(d->accepts[i].family);
                free(d->accepts[i].table);
                free(d->accepts[i].chain);
                free(d->accepts[i].rule);
        }
        free(d->accepts);
        free(d->project);
        *d = (struct nft_desired){0};
}

/* ---- the listing ---- */

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = '\0';
        return s;
}

/* Braces opened minus closed, outside double quotes. */
static int brace_delta(const char *s)
{
        int d = 0;
        bool quoted = false;
        for (; *s; s++) {
                if (*s == '"')
                        quoted = !quoted;
                else if (!quoted && *s == '{')
                        d++;
                else if (!quoted && *s == '}')
                        d--;
        }
        return d;
}

/* Cuts a trailing "# handle N" off the line. */
static uint64_t cut_handle(char *line)
{
        char *h = strstr(line, "# handle ");
        if (!h)
                return 0;
        uint64_t v = strtoull(h + strlen("# handle "), NULL, 10);
        *h = '\0';
        trim(line);
        return v;
}

struct listing_builder {
        struct nft_listing *l;
        size_t cap_chains, cap_foreign;
        size_t cap_rules;
        struct nft_chain *cur;
        char *family, *table;
        bool ours;
};

static struct nft_chain *listing_chain(struct listing_builder *b, const char *name)
{
        struct nft_listing *l = b->l;
        b->cap_rules = 0;
        if (b->ours) {
                GROW(l->chains, b->cap_chains, l->n_chains + 1);
                l->chains[l->n_chains] = (struct nft_chain){.name = xstrdup(name)};
                return &l->chains[l->n_chains++];
        }
        GROW(l->foreign, b->cap_foreign, l->n_foreign + 1);
        l->foreign[l->n_foreign] = (struct nft_foreign){
            .family = xstrdup(b->family),
            .table = xstrdup(b->table),
            .chain = {.name = xstrdup(name)},
        };
        return &l->foreign[l->n_foreign++].chain;
}

static int listing_line(struct listing_builder *b, int depth, char *t, uint64_t handle,
                        struct stack_error *err)
{
        char w1[64], w2[256], w3[256];
        if (depth == 0 && startswith(t, "table ")) {
                if (sscanf(t, "table %63s %255s", w1, w2) != 2)
                        return -EBADMSG;
                free(b->family);
                free(b->table);
                b->family = xstrdup(w1);
                b->table = xstrdup(w2);
                b->ours = streq(w1, NFT_FAMILY) && streq(w2, NFT_TABLE);
                if (b->ours)
                        b->l->have_table = true;
                else
                        b->l->n_other_tables++;
                return 0;
        }
        if (depth == 1 && startswith(t, "chain ")) {
                if (sscanf(t, "chain %255s %255s", w2, w3) != 2 || !streq(w3, "{"))
                        return -EBADMSG;
                b->cur = listing_chain(b, w2);
                return 0;
        }
        if (depth != 2 || !b->cur || isempty(t))
                return 0;
        struct nft_chain *c = b->cur;
        if (c->n_rules == 0 && !c->type && startswith(t, "type ")) {
                c->type = xstrdup(t);
                return 0;
        }
        if (c->n_rules == 0 &&
            (startswith(t, "comment ") || startswith(t, "devices ") || startswith(t, "policy ")))
                return 0;
        size_t cap = b->cap_rules;
        GROW(c->rules, b->cap_rules, c->n_rules + 1);
        if (b->cap_rules != cap)
                c->handles = xrealloc(c->handles, b->cap_rules * sizeof(uint64_t));
        c->rules[c->n_rules] = xstrdup(t);
        c->handles[c->n_rules++] = handle;
        return 0;
}

int nft_listing_parse(const char *text, struct nft_listing *ret, struct stack_error *err)
{
        _cleanup_free_ struct nft_listing *l = xcalloc(1, sizeof(*l));
        struct listing_builder b = {.l = l};
        _cleanup_free_ char *copy = xstrdup(text);
        int depth = 0, lineno = 0, r = 0;
        for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line && r == 0;
             line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                char *t = trim(line);
                uint64_t handle = cut_handle(t);
                int delta = brace_delta(t);
                if (streq(t, "}")) {
                        if (depth == 2)
                                b.cur = NULL;
                } else
                        r = listing_line(&b, depth, t, handle, err);
                depth += delta;
                if (depth < 0)
                        r = -EBADMSG;
        }
        free(b.family);
        free(b.table);
        if (r < 0 || depth != 0) {
                nft_listing_free(l);
                return stack_error_set(
                    err, EBADMSG, "firewall (nftables): cannot read the ruleset listing (line %d)", lineno);
        }
        *ret = *l;
        return 0;
}

void nft_listing_free(struct nft_listing *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n_chains; i++)
                nft_chain_done(&l->chains[i]);
        free(l->chains);
        for (size_t i = 0; i < l->n_foreign; i++) {
                free(l->foreign[i].family);
                free(l->foreign[i].table);
                nft_chain_done(&l->foreign[i].chain);
        }
        free(l->foreign);
        *l = (struct nft_listing){0};
}

/* ---- the batch ---- */

/* The "stack:<project>:..." tag of a rule, as the comment carries it. */
static bool rule_of_project(const char *rule, const char *project)
{
        const char *c = strstr(rule, " comment \"stack:");
        if (!c)
                return false;
        c += strlen(" comment \"stack:");
        size_t n = strlen(project);
        return strncmp(c, project, n) == 0 && (c[n] == ':' || c[n] == '"');
}

static bool chain_equal(const struct nft_chain *a, const struct nft_chain *b)
{
        if (!streq_ptr(a->type, b->type) || a->n_rules != b->n_rules)
                return false;
        for (size_t i = 0; i < a->n_rules; i++)
                if (!streq(a->rules[i], b->rules[i]))
                        return false;
        return true;
}

static bool own_up_to_date(const struct nft_listing *have, const struct nft_desired *want,
                           const char *prefix)
{
        size_t n_have = 0;
        for (size_t i = 0; i < have->n_chains; i++)
                if (startswith(have->chains[i].name, prefix))
                        n_have++;
        if (n_have != want->n_chains)
                return false;
        for (size_t i = 0; i < want->n_chains; i++) {
                const struct nft_chain *h = find_chain(have->chains, have->n_chains, want->chains[i].name);
                if (!h || !chain_equal(h, &want->chains[i]))
                        return false;
        }
        return true;
}

static bool accept_wanted(const struct nft_desired *want, const struct nft_foreign *f, const char *rule,
                          bool *used)
{
        for (size_t i = 0; i < want->n_accepts; i++) {
                const struct nft_accept *a = &want->accepts[i];
                if (!used[i] && streq(a->family, f->family) && streq(a->table, f->table) &&
                    streq(a->chain, f->chain.name) && streq(a->rule, rule)) {
                        used[i] = true;
                        return true;
                }
        }
        return false;
}

static bool accepts_up_to_date(const struct nft_listing *have, const struct nft_desired *want)
{
        _cleanup_free_ bool *used = xcalloc(want->n_accepts + 1, sizeof(bool));
        size_t found = 0;
        for (size_t i = 0; i < have->n_foreign; i++) {
                const struct nft_foreign *f = &have->foreign[i];
                for (size_t k = 0; k < f->chain.n_rules; k++) {
                        if (!rule_of_project(f->chain.rules[k], want->project))
                                continue;
                        if (!accept_wanted(want, f, f->chain.rules[k], used))
                                return false;
                        found++;
                }
        }
        return found == want->n_accepts;
}

/* Do chains of the table other than the project's remain? */
static bool others_in_table(const struct nft_listing *have, const char *prefix)
{
        for (size_t i = 0; i < have->n_chains; i++)
                if (!startswith(have->chains[i].name, prefix))
                        return true;
        return false;
}

char *nft_batch(const struct nft_listing *have, const struct nft_desired *want)
{
        char prefix[FW_CHAIN_MAX];
        nft_chain_prefix(want->project, prefix);
        bool own_ok = own_up_to_date(have, want, prefix);
        bool acc_ok = accepts_up_to_date(have, want);
        bool drop_table = want->n_chains == 0 && have->have_table && !others_in_table(have, prefix);
        if (own_ok && acc_ok && !(drop_table && have->n_chains == 0))
                return NULL;

        struct strbuf b = {0};
        const char *tbl = NFT_FAMILY " " NFT_TABLE;
        if (!acc_ok) {
                /* Accepts in other tables first out, last in: a port is opened there only once stack's
                 * own chains are in place, in the same transaction anyway. */
                for (size_t i = 0; i < have->n_foreign; i++) {
                        const struct nft_foreign *f = &have->foreign[i];
                        for (size_t k = 0; k < f->chain.n_rules; k++)
                                if (rule_of_project(f->chain.rules[k], want->project))
                                        strbuf_printf(&b, "delete rule %s %s %s handle %llu\n", f->family,
                                                      f->table, f->chain.name,
                                                      (unsigned long long) f->chain.handles[k]);
                }
        }
        if (!own_ok || drop_table) {
                if (want->n_chains > 0)
                        strbuf_printf(&b, "add table %s\n", tbl);
                for (size_t i = 0; i < have->n_chains; i++)
                        if (startswith(have->chains[i].name, prefix))
                                strbuf_printf(&b, "flush chain %s %s\n", tbl, have->chains[i].name);
                if (drop_table)
                        strbuf_printf(&b, "delete table %s\n", tbl);
                else {
                        for (size_t i = 0; i < have->n_chains; i++)
                                if (startswith(have->chains[i].name, prefix) &&
                                    !find_chain(want->chains, want->n_chains, have->chains[i].name))
                                        strbuf_printf(&b, "delete chain %s %s\n", tbl, have->chains[i].name);
                        /* Regular chains exist before the base chains' jumps name them. */
                        for (int base = 0; base < 2; base++)
                                for (size_t i = 0; i < want->n_chains; i++) {
                                        const struct nft_chain *c = &want->chains[i];
                                        if (!!c->type != base)
                                                continue;
                                        if (c->type)
                                                strbuf_printf(&b, "add chain %s %s { %s }\n", tbl, c->name,
                                                              c->type);
                                        else
                                                strbuf_printf(&b, "add chain %s %s\n", tbl, c->name);
                                }
                        for (int base = 0; base < 2; base++)
                                for (size_t i = 0; i < want->n_chains; i++) {
                                        const struct nft_chain *c = &want->chains[i];
                                        if (!!c->type != base)
                                                continue;
                                        for (size_t k = 0; k < c->n_rules; k++)
                                                strbuf_printf(&b, "add rule %s %s %s\n", tbl, c->name,
                                                              c->rules[k]);
                                }
                }
        }
        if (!acc_ok)
                for (size_t i = want->n_accepts; i-- > 0;) {
                        const struct nft_accept *a = &want->accepts[i];
                        /* At the top, before the chain's own drops; inserted backwards to keep the order. */
                        strbuf_printf(&b, "insert rule %s %s %s %s\n", a->family, a->table, a->chain,
                                      a->rule);
                }
        if (b.len == 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_take(&b);
}

/* ---- drift ---- */

static size_t nft_chain_drift(const struct nft_chain *have, const struct nft_chain *want)
{
        if (!have)
                return want->n_rules ? want->n_rules : 1;
        size_t n = streq_ptr(have->type, want->type) ? 0 : 1;
        for (size_t k = 0; k < want->n_rules; k++)
                if (k >= have->n_rules || !streq(have->rules[k], want->rules[k]))
                        n++;
        if (have->n_rules > want->n_rules)
                n += have->n_rules - want->n_rules;
        return n;
}

static size_t accepts_drift(const struct nft_listing *have, const struct nft_desired *want)
{
        _cleanup_free_ bool *used = xcalloc(want->n_accepts + 1, sizeof(bool));
        size_t n = 0, found = 0;
        for (size_t i = 0; i < have->n_foreign; i++) {
                const struct nft_foreign *f = &have->foreign[i];
                for (size_t k = 0; k < f->chain.n_rules; k++) {
                        if (!rule_of_project(f->chain.rules[k], want->project))
                                continue;
                        if (accept_wanted(want, f, f->chain.rules[k], used))
                                found++;
                        else
                                n++; /* an accept the project no longer wants */
                }
        }
        return n + (want->n_accepts - found);
}

size_t nft_drift(const struct nft_listing *have, const struct nft_desired *want)
{
        char prefix[FW_CHAIN_MAX];
        nft_chain_prefix(want->project, prefix);
        size_t n = 0;
        for (size_t i = 0; i < want->n_chains; i++)
                n += nft_chain_drift(find_chain(have->chains, have->n_chains, want->chains[i].name),
                                     &want->chains[i]);
        for (size_t i = 0; i < have->n_chains; i++)
                if (startswith(have->chains[i].name, prefix) &&
                    !find_chain(want->chains, want->n_chains, have->chains[i].name))
                        n++;
        n += accepts_drift(have, want);
        if (n == 0) {
                /* What the count cannot see (an empty table left behind) still makes a batch. */
                _cleanup_free_ char *batch = nft_batch(have, want);
                if (batch)
                        n = 1;
        }
        return n;
}

/* ---- published ports ---- */

/* `[ip daddr A ]tcp|udp dport P dnat ip to C:Q comment "stack:<project>:<network>"` */
static bool parse_dnat(const char *rule, struct fw_published *p)
{
        _cleanup_strv_free_ char **w = strv_split(rule, " ");
        size_t n = strv_length(w), i = 0;
        *p = (struct fw_published){.host_ip = {INADDR_ANY}};
        if (i + 2 < n && streq(w[i], "ip") && streq(w[i + 1], "daddr")) {
                if (inet_pton(AF_INET, w[i + 2], &p->host_ip) != 1)
                        return false;
                i += 3;
        }
        if (i + 3 > n || !streq(w[i + 1], "dport"))
                return false;
        if (streq(w[i], "udp"))
                p->proto = FW_PROTO_UDP;
        else if (!streq(w[i], "tcp"))
                return false;
        unsigned long hp = strtoul(w[i + 2], NULL, 10);
        i += 3;
        if (i + 6 > n || !streq(w[i], "dnat") || !streq(w[i + 1], "ip") || !streq(w[i + 2], "to") ||
            !streq(w[i + 4], "comment"))
                return false;
        char *colon = strrchr(w[i + 3], ':');
        if (!colon || hp == 0 || hp > 65535)
                return false;
        *colon = '\0';
        unsigned long cp = strtoul(colon + 1, NULL, 10);
        if (inet_pton(AF_INET, w[i + 3], &p->container_ip) != 1 || cp == 0 || cp > 65535)
                return false;
        const char *tag = startswith(w[i + 5], "\"stack:");
        const char *sep = tag ? strchr(tag, ':') : NULL;
        if (!sep || !endswith(w[i + 5], "\""))
                return false;
        p->host_port = hp;
        p->container_port = cp;
        p->project = xstrndup(tag, sep - tag);
        p->network = xstrndup(sep + 1, strlen(sep + 1) - 1);
        return true;
}

int nft_listing_published(const struct nft_listing *l, struct fw_published **ret, size_t *ret_n)
{
        struct fw_published *list = NULL;
        size_t n = 0, cap = 0;
        for (size_t i = 0; i < l->n_chains; i++) {
                const struct nft_chain *c = &l->chains[i];
                if (c->type || !startswith(c->name, "STACK-") || !endswith(c->name, "-DNAT"))
                        continue;
                for (size_t k = 0; k < c->n_rules; k++) {
                        struct fw_published p;
                        if (!parse_dnat(c->rules[k], &p))
                                continue;
                        GROW(list, cap, n + 1);
                        list[n++] = p;
                }
        }
        *ret = list;
        *ret_n = n;
        return 0;
}
