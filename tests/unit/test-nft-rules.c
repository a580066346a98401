/* nftables text of stack's rules, the listing parser and the batch between them. No privileges: the
 * listings here are written as `nft -a -s list ruleset` prints them. */
#include <arpa/inet.h>
#include <errno.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/firewall.h"
#include "net/nft-rules.h"
#include "tests/unit/tap.h"

static struct in_addr ip(const char *s)
{
        struct in_addr a;
        inet_pton(AF_INET, s, &a);
        return a;
}

static const struct fw_network nets[] = {
    {"front", "stkA", {0}, 24, {0}, false, true},
    {"secret", "stkC", {0}, 24, {0}, true, false},
};

static struct fw_network net_at(size_t i, const char *subnet, const char *gw)
{
        struct fw_network n = nets[i];
        n.subnet = ip(subnet);
        n.gateway = ip(gw);
        return n;
}

static void rule_texts(void)
{
        struct fw_rule r = {.verdict = FW_DNAT, .proto = IPPROTO_TCP, .dport = 8080, .dst_len = 32};
        r.dst = ip("127.0.0.1");
        r.to_addr = ip("10.88.1.2");
        r.to_port = 80;
        snprintf(r.comment, sizeof(r.comment), "stack:p1:front");
        _cleanup_free_ char *t1 = nft_rule_text(&r);
        is_str(t1, "ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 10.88.1.2:80 comment \"stack:p1:front\"",
               "DNAT of one host address: /32 printed bare, the family on the nat statement");

        struct fw_rule g = {
            .verdict = FW_DROP, .in_if_not = true, .proto = IPPROTO_UDP, .dport = 53, .dst_len = 8};
        snprintf(g.in_if, sizeof(g.in_if), "lo");
        g.dst = ip("127.0.0.0");
        _cleanup_free_ char *t2 = nft_rule_text(&g);
        is_str(t2, "iifname != \"lo\" ip daddr 127.0.0.0/8 udp dport 53 drop",
               "the loopback guard, negated");

        struct fw_rule m = {
            .verdict = FW_CLAMP_MSS, .proto = IPPROTO_TCP, .tcp_syn = true, .out_if_not = true};
        snprintf(m.in_if, sizeof(m.in_if), "stkA");
        snprintf(m.out_if, sizeof(m.out_if), "stkA");
        _cleanup_free_ char *t3 = nft_rule_text(&m);
        is_str(
            t3,
            "iifname \"stkA\" oifname != \"stkA\" tcp flags syn / syn,rst tcp option maxseg size set rt mtu",
            "the MSS clamp on SYNs leaving the bridge");

        struct fw_rule c = {.verdict = FW_ACCEPT, .ctstate = FW_CT_ESTABLISHED | FW_CT_RELATED};
        snprintf(c.out_if, sizeof(c.out_if), "stkA");
        snprintf(c.comment, sizeof(c.comment), "stack:p\"1:x");
        _cleanup_free_ char *t4 = nft_rule_text(&c);
        is_str(t4, "oifname \"stkA\" ct state established,related accept comment \"stack:p_1:x\"",
               "conntrack state; a quote cannot end the comment early");

        struct fw_rule d = {
            .verdict = FW_ACCEPT, .ctstate = FW_CT_DNAT, .proto = IPPROTO_TCP, .dport = 80, .dst_len = 32};
        d.dst = ip("10.88.1.2");
        _cleanup_free_ char *t5 = nft_rule_text(&d);
        is_str(t5, "ip daddr 10.88.1.2 tcp dport 80 ct status dnat accept",
               "only what was DNATed to the port");

        struct fw_rule q = {.verdict = FW_MASQUERADE, .src_len = 24, .out_if_not = true};
        q.src = ip("10.88.1.0");
        snprintf(q.out_if, sizeof(q.out_if), "stkA");
        _cleanup_free_ char *t6 = nft_rule_text(&q);
        is_str(t6, "oifname != \"stkA\" ip saddr 10.88.1.0/24 masquerade", "outbound masquerade");
}

struct fixture {
        struct fw_network n[2];
        struct fw_port port;
        struct fw_ruleset rs;
};

static void fixture_build(struct fixture *f, const char *project)
{
        *f = (struct fixture){0};
        f->n[0] = net_at(0, "10.88.1.0", "10.88.1.1");
        f->n[1] = net_at(1, "10.88.3.0", "10.88.3.1");
        f->port = (struct fw_port){.network = "front",
                                   .host_ip = {INADDR_ANY},
                                   .host_port = 8080,
                                   .container_port = 80,
                                   .container_ip = ip("10.88.1.2")};
        struct fw_project p = {project, f->n, 2, &f->port, 1};
        _cleanup_error_ struct stack_error err = {0};
        if (firewall_build(&p, &f->rs, &err) < 0)
                diag("build failed: %s", err.msg);
}

static void fixture_free(struct fixture *f)
{
        fw_ruleset_free(&f->rs);
}

static const struct nft_chain *chain_named(const struct nft_desired *d, const char *prefix,
                                           const char *suffix)
{
        _cleanup_free_ char *name = xasprintf("%s%s", prefix, suffix);
        for (size_t i = 0; i < d->n_chains; i++)
                if (streq(d->chains[i].name, name))
                        return &d->chains[i];
        return NULL;
}

/* The desired chains as `nft -a -s list ruleset` would show them, handles counting up from `handle`. */
static void listing_of(struct strbuf *b, const struct nft_desired *d, unsigned *handle)
{
        for (size_t i = 0; i < d->n_chains; i++) {
                const struct nft_chain *c = &d->chains[i];
                strbuf_printf(b, "\tchain %s { # handle %u\n", c->name, (*handle)++);
                if (c->type)
                        strbuf_printf(b, "\t\t%s\n", c->type);
                for (size_t k = 0; k < c->n_rules; k++)
                        strbuf_printf(b, "\t\t%s # handle %u\n", c->rules[k], (*handle)++);
                strbuf_puts(b, "\t}\n");
        }
}

static void layout(void)
{
        struct fixture f;
        fixture_build(&f, "p1");
        char prefix[FW_CHAIN_MAX];
        nft_chain_prefix("p1", prefix);
        _cleanup_error_ struct stack_error err = {0};
        struct nft_desired d = {0};
        struct nft_listing empty = {0};
        is_int(nft_desired_build("p1", &f.rs, &empty, &d, &err), 0, "desired chains build");

        const struct nft_chain *fwd = chain_named(&d, prefix, "forward");
        ok(fwd && fwd->type && streq(fwd->type, "type filter hook forward priority filter; policy accept;"),
           "a forward base chain of the project's own");
        /* secret is internal and IPv4 only, front has IPv6 too */
        if (fwd && fwd->n_rules == 4) {
                contains(fwd->rules[0], "meta nfproto ipv4 jump STACK-", "first the internal networks");
                contains(fwd->rules[0], "-INT comment \"stack:p1\"", "marked with the project");
                contains(fwd->rules[1], "-ISO ", "then the isolation");
                contains(fwd->rules[2], "meta nfproto ipv6 jump STACK-", "its IPv6 chain next");
                contains(fwd->rules[2], "-ISO6 ", "named with a 6");
                contains(fwd->rules[3], "-FWD ", "the way out last");
        } else
                ok(false, "forward chain has 4 jumps (got %zu)", fwd ? fwd->n_rules : 0);
        const struct nft_chain *dn = chain_named(&d, prefix, "dnat");
        ok(dn && dn->n_rules == 1 && strstr(dn->rules[0], "meta nfproto ipv4 fib daddr type local jump"),
           "published ports only towards local addresses");
        const struct nft_chain *dout = chain_named(&d, prefix, "dnat-out");
        ok(dout && strstr(dout->type, "hook output priority -100"), "and from the host itself");
        const struct nft_chain *iso = chain_named(&d, prefix, "ISO");
        bool found = false;
        for (size_t k = 0; iso && k < iso->n_rules; k++)
                found = found ||
                        streq(iso->rules[k], "oifname \"stkA\" ip daddr 10.88.1.2 tcp dport 80 ct status "
                                             "dnat accept comment \"stack:p1:front\"");
        ok(found, "the published port is admitted into the bridge");
        is_int(d.n_accepts, 0, "no other table: no accepts");

        /* Nothing there: one batch makes table and chains. */
        _cleanup_free_ char *batch = nft_batch(&empty, &d);
        contains(batch, "add table inet stack\n", "the table is added");
        _cleanup_free_ char *want_fwd =
            xasprintf("add chain inet stack %sforward { type filter hook forward", prefix);
        contains(batch, want_fwd, "the base chain with its hook");
        ok(batch && !strstr(batch, "flush"), "nothing to flush on a fresh host");
        ok(batch && strstr(batch, "-ISO\n") < strstr(batch, "forward {"),
           "regular chains before the base chains");

        /* The kernel already has exactly that (plus another project and Docker's table): no batch. */
        struct fixture g;
        fixture_build(&g, "p2");
        struct nft_desired d2 = {0};
        nft_desired_build("p2", &g.rs, &empty, &d2, &err);
        struct strbuf text = {0};
        unsigned handle = 1;
        strbuf_puts(&text,
                    "table ip filter { # handle 1\n\tchain FORWARD { # handle 1\n"
                    "\t\ttype filter hook forward priority filter; policy accept;\n"
                    "\t\tcounter jump DOCKER-USER # handle 3\n\t}\n\tset s { # handle 4\n"
                    "\t\ttype ipv4_addr\n\t\telements = { 10.0.0.1, 10.0.0.2,\n\t\t\t     10.0.0.3 }\n"
                    "\t}\n}\ntable inet stack { # handle 2\n");
        listing_of(&text, &d, &handle);
        listing_of(&text, &d2, &handle);
        strbuf_puts(&text, "}\n");
        struct nft_listing have = {0};
        is_int(nft_listing_parse(text.buf, &have, &err), 0,
               "the listing parses (a set with elements on two lines)");
        ok(have.have_table && have.n_foreign == 1 && have.n_other_tables == 1,
           "stack's table and one foreign base chain");
        _cleanup_free_ char *none = nft_batch(&have, &d);
        is_str(none, NULL, "unchanged: no transaction");
        is_int(nft_drift(&have, &d), 0, "and no drift");
        size_t n_rules = 0;
        for (size_t i = 0; i < d.n_chains; i++)
                n_rules += d.chains[i].n_rules;
        is_int(nft_drift(&empty, &d), n_rules, "table gone: every rule of the project is drift");

        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        nft_listing_published(&have, &pub, &n_pub);
        is_int(n_pub, 2, "the published ports of both projects are read back");
        if (n_pub == 2) {
                is_str(pub[0].project, "p1", "with the project");
                is_str(pub[0].network, "front", "and the network");
                is_int(pub[0].host_port, 8080, "host port");
                is_int(pub[0].container_port, 80, "container port");
                ok(pub[0].host_ip.s_addr == INADDR_ANY &&
                       pub[0].container_ip.s_addr == ip("10.88.1.2").s_addr,
                   "addresses");
        }
        fw_published_free(pub, n_pub);

        /* A removal touches only the project's chains. */
        struct nft_desired gone = {.project = xstrdup("p1")};
        _cleanup_free_ char *rm = nft_batch(&have, &gone);
        _cleanup_free_ char *flush = xasprintf("flush chain inet stack %sforward\n", prefix);
        contains(rm, flush, "the project's base chain is flushed");
        char prefix2[FW_CHAIN_MAX];
        nft_chain_prefix("p2", prefix2);
        ok(rm && !strstr(rm, prefix2), "the other project's chains are not touched");
        ok(rm && !strstr(rm, "delete table"), "the table stays while another project uses it");
        ok(rm && !strstr(rm, "ip filter"), "Docker's table is not touched");

        /* The last project out takes the table with it. */
        struct nft_desired gone2 = {.project = xstrdup("p2")};
        struct strbuf only = {0};
        handle = 1;
        strbuf_puts(&only, "table inet stack { # handle 2\n");
        listing_of(&only, &d2, &handle);
        strbuf_puts(&only, "}\n");
        struct nft_listing have2 = {0};
        nft_listing_parse(only.buf, &have2, &err);
        _cleanup_free_ char *rm2 = nft_batch(&have2, &gone2);
        contains(rm2, "delete table inet stack\n", "the last project deletes the table");
        struct nft_listing nothing = {0};
        _cleanup_free_ char *rm3 = nft_batch(&nothing, &gone2);
        is_str(rm3, NULL, "removing what is not there: no transaction");

        /* One rule changed behind our back: the project's chains are rebuilt. */
        free(have.chains[0].rules[0]);
        have.chains[0].rules[0] = xstrdup("drop");
        _cleanup_free_ char *fix = nft_batch(&have, &d);
        ok(fix && strstr(fix, "flush chain") && strstr(fix, "add rule"), "a changed rule is repaired");
        is_int(nft_drift(&have, &d), 1, "one changed rule is a drift of 1");
        is_int(nft_drift(&have, &d2), 0, "the other project has none");
        /* A flushed chain: each of its rules is missing. */
        size_t flushed = have.chains[1].n_rules;
        for (size_t k = 0; k < flushed; k++)
                free(have.chains[1].rules[k]);
        have.chains[1].n_rules = 0;
        is_int(nft_drift(&have, &d), 1 + flushed, "a flushed chain adds its rules");

        nft_listing_free(&have);
        nft_listing_free(&have2);
        nft_desired_free(&gone);
        nft_desired_free(&gone2);
        strbuf_free(&text);
        strbuf_free(&only);
        nft_desired_free(&d);
        nft_desired_free(&d2);
        fixture_free(&f);
        fixture_free(&g);
}

static void coexistence(void)
{
        struct fixture f;
        fixture_build(&f, "p1");
        _cleanup_error_ struct stack_error err = {0};
        const char *foreign = "table ip filter { # handle 1\n"
                              "\tchain FORWARD { # handle 1\n"
                              "\t\ttype filter hook forward priority filter; policy drop;\n"
                              "\t\tcounter jump DOCKER-USER # handle 3\n"
                              "\t}\n"
                              "\tchain DOCKER-USER { # handle 2\n\t}\n"
                              "}\n"
                              "table inet filter { # handle 5\n"
                              "\tchain input { # handle 1\n"
                              "\t\ttype filter hook input priority filter; policy drop;\n"
                              "\t}\n"
                              "\tchain output { # handle 2\n"
                              "\t\ttype filter hook output priority filter; policy drop;\n"
                              "\t}\n"
                              "}\n"
                              "table ip6 filter { # handle 6\n"
                              "\tchain FORWARD { # handle 1\n"
                              "\t\ttype filter hook forward priority filter; policy accept;\n"
                              "\t}\n"
                              "}\n";
        struct nft_listing have = {0};
        is_int(nft_listing_parse(foreign, &have, &err), 0, "a Docker and ufw-like ruleset parses");
        is_int(have.n_foreign, 5, "five foreign chains (DOCKER-USER has no hook)");
        struct nft_desired d = {0};
        nft_desired_build("p1", &f.rs, &have, &d, &err);
        /* ip filter FORWARD: 2 per network; inet filter input: 2 per network; none in output or where the
         * policy is accept. */
        is_int(d.n_accepts, 8, "accepts only in chains whose policy drops");
        _cleanup_free_ char *batch = nft_batch(&have, &d);
        contains(batch, "insert rule ip filter FORWARD oifname \"stkA\" accept comment \"stack:p1:front\"\n",
                 "into the bridge: stack's own table still decides");
        contains(batch, "insert rule ip filter FORWARD iifname \"stkA\" accept comment \"stack:p1:front\"\n",
                 "out of a normal bridge");
        contains(batch,
                 "insert rule ip filter FORWARD iifname \"stkC\" oifname \"stkC\" accept comment "
                 "\"stack:p1:secret\"\n",
                 "an internal bridge only to itself");
        contains(batch, "insert rule inet filter input iifname \"stkA\" udp dport 53 accept",
                 "DNS to the gateway");
        ok(batch && !strstr(batch, "ip6 filter") && !strstr(batch, "chain output"), "nothing elsewhere");

        /* With those accepts in place (in any order, with handles): no transaction; removal deletes them
         * by handle and nothing else of that table. */
        struct strbuf text = {0};
        strbuf_puts(&text, "table ip filter { # handle 1\n\tchain FORWARD { # handle 1\n"
                           "\t\ttype filter hook forward priority filter; policy drop;\n");
        unsigned handle = 10;
        for (size_t i = d.n_accepts; i-- > 0;)
                if (streq(d.accepts[i].table, "filter") && streq(d.accepts[i].family, "ip"))
                        strbuf_printf(&text, "\t\t%s # handle %u\n", d.accepts[i].rule, handle++);
        strbuf_puts(
            &text, "\t\tcounter jump DOCKER-USER # handle 3\n\t}\n\tchain DOCKER-USER { # handle 2\n\t}\n}\n"
                   "table inet filter { # handle 5\n\tchain input { # handle 1\n"
                   "\t\ttype filter hook input priority filter; policy drop;\n");
        for (size_t i = 0; i < d.n_accepts; i++)
                if (streq(d.accepts[i].family, "inet"))
                        strbuf_printf(&text, "\t\t%s # handle %u\n", d.accepts[i].rule, handle++);
        strbuf_puts(
            &text,
            "\t}\n\tchain output { # handle 2\n\t\ttype filter hook output priority filter; policy drop;\n"
            "\t}\n}\ntable inet stack { # handle 7\n");
        unsigned h2 = 100;
        listing_of(&text, &d, &h2);
        strbuf_puts(&text, "}\n");
        struct nft_listing have2 = {0};
        nft_listing_parse(text.buf, &have2, &err);
        struct nft_desired d2 = {0};
        nft_desired_build("p1", &f.rs, &have2, &d2, &err);
        _cleanup_free_ char *none = nft_batch(&have2, &d2);
        is_str(none, NULL, "accepts in place: no transaction");
        is_int(nft_drift(&have2, &d2), 0, "and no drift");
        /* `nft flush ruleset` and Docker back: our table and our accepts are gone, each rule counts. */
        size_t n_rules = 0;
        for (size_t i = 0; i < d2.n_chains; i++)
                n_rules += d2.chains[i].n_rules;
        is_int(nft_drift(&have, &d2), n_rules + d2.n_accepts, "table and accepts gone: each rule is drift");
        struct nft_desired gone = {.project = xstrdup("p1")};
        _cleanup_free_ char *rm = nft_batch(&have2, &gone);
        contains(rm, "delete rule ip filter FORWARD handle 10\n", "removal deletes our accepts by handle");
        contains(rm, "delete rule inet filter input handle 17\n", "in every table");
        ok(rm && !strstr(rm, "handle 3\n"), "and not Docker's jump");
        /* Another project's accepts in the same chain are not ours to delete. */
        struct nft_desired other = {.project = xstrdup("p")};
        _cleanup_free_ char *rm_other = nft_batch(&have2, &other);
        ok(!rm_other || !strstr(rm_other, "delete rule"),
           "a project named as a prefix of ours deletes none of them");

        nft_desired_free(&other);
        nft_desired_free(&gone);
        nft_desired_free(&d2);
        nft_listing_free(&have2);
        strbuf_free(&text);
        nft_desired_free(&d);
        nft_listing_free(&have);
        fixture_free(&f);
}

static void bad_listing(void)
{
        _cleanup_error_ struct stack_error err = {0};
        struct nft_listing l = {0};
        is_int(nft_listing_parse("table inet stack {\n\tchain x {\n", &l, &err), -EBADMSG,
               "an unterminated listing is an error");
        contains(err.msg, "cannot read the ruleset listing", "with a message");
}

int main(void)
{
        rule_texts();
        layout();
        coexistence();
        bad_listing();
        return done_testing();
}
