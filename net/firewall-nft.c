/* The nftables backend (libnftables): the rules of net/firewall.c and net/firewall6.h, both families, in
 * table inet stack, plus narrow accepts in other tables' drop-policy chains (net/nft-rules.h has the
 * layout).
 *
 * Each apply reads the ruleset once, computes the batch in nft-rules.c and runs it as one libnftables
 * call, which the kernel commits as one transaction; when the listing already shows exactly the wanted
 * chains and accepts there is no call at all. Stack processes serialize on /run/xtables.lock, as the
 * libiptc backends do, so two projects never compute their batches from the same stale listing (the
 * table is deleted with the last project's chains, which must not race with another's first). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libiptc/libiptc.h>
#include <nftables/libnftables.h>

#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "net/conntrack.h"
#include "net/firewall.h"
#include "net/firewall6.h"
#include "net/nft-backend.h"
#include "net/nft-rules.h"
#include "net/xtables-lock.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free)
#define _cleanup_nft_ctx_ _cleanup_(nft_ctx_freep)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct xtc_handle *, iptc_free)
#define _cleanup_iptc_ _cleanup_(iptc_freep)

static void listing_freep(struct nft_listing *l)
{
        nft_listing_free(l);
}
static void desired_freep(struct nft_desired *d)
{
        nft_desired_free(d);
}

/* The first line of libnftables' error buffer: "Error: ..." with the offending command after it. */
static int nft_fail(struct stack_error *err, struct nft_ctx *ctx, const char *what)
{
        const char *e = nft_ctx_get_error_buffer(ctx);
        _cleanup_free_ char *msg = xstrdup(isempty(e) ? "failed" : e);
        char *nl = strchr(msg, '\n');
        if (nl)
                *nl = '\0';
        int code = strstr(msg, "Operation not permitted")   ? EPERM
                   : strstr(msg, "No such file")            ? ENOENT
                   : strstr(msg, "Device or resource busy") ? EBUSY
                                                            : EPROTO;
        return stack_error_set(err, code, "firewall (nftables): %s: %s", what, msg);
}

static int ctx_new(struct nft_ctx **ret, struct stack_error *err)
{
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return stack_error_set(err, ENOMEM, "firewall (nftables): cannot create a context");
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        /* Handles to delete our accepts in other tables; no counters, so a listing compares as text. */
        nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS);
        *ret = ctx;
        return 0;
}

static int read_ruleset(struct nft_ctx *ctx, struct nft_listing *ret, struct stack_error *err)
{
        if (nft_run_cmd_from_buffer(ctx, "list ruleset") != 0)
                return nft_fail(err, ctx, "list ruleset");
        return nft_listing_parse(nft_ctx_get_output_buffer(ctx), ret, err);
}

static int run_batch(struct firewall *fw, struct nft_ctx *ctx, const char *batch, struct stack_error *err)
{
        log_debug("firewall (nftables): transaction:\n%s", batch);
        if (nft_run_cmd_from_buffer(ctx, batch) != 0)
                return nft_fail(err, ctx, "transaction");
        fw->commits++;
        return 0;
}

static int set_route_localnet(const char *bridge, struct stack_error *err)
{
        _cleanup_free_ char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "1", 1) != 1)
                return stack_error_errno(err, errno, "firewall: bridge %s: route_localnet", bridge);
        return 0;
}

/* ports_check() ran without the lock; checked again under it, before anything changes. */
static int check_clashes(const struct nft_listing *have, const struct fw_ruleset *rs,
                         struct stack_error *err)
{
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        nft_listing_published(have, &pub, &n_pub);
        int r = 0;
        for (size_t i = 0; i < rs->n_chains && r == 0; i++) {
                const struct fw_chain *c = &rs->chains[i];
                for (size_t k = 0; c->table == FW_TABLE_NAT && k < c->n_rules && r == 0; k++) {
                        const struct fw_rule *rule = &c->rules[k];
                        if (rule->verdict != FW_DNAT)
                                continue;
                        enum fw_proto proto = rule->proto == IPPROTO_UDP ? FW_PROTO_UDP : FW_PROTO_TCP;
                        struct in_addr ip = rule->dst_len ? rule->dst : (struct in_addr){INADDR_ANY};
                        for (size_t j = 0; j < n_pub && r == 0; j++) {
                                const struct fw_published *p = &pub[j];
                                if (streq_ptr(p->project, rs->project) || p->proto != proto ||
                                    p->host_port != rule->dport ||
                                    !(ip.s_addr == INADDR_ANY || p->host_ip.s_addr == INADDR_ANY ||
                                      ip.s_addr == p->host_ip.s_addr))
                                        continue;
                                char a[INET_ADDRSTRLEN];
                                inet_ntop(AF_INET, &ip, a, sizeof(a));
                                r = stack_error_set(err, EADDRINUSE,
                                                    "port %s:%u/%s is already published by project '%s' "
                                                    "(network '%s')",
                                                    a, rule->dport, fw_proto_name(proto), p->project,
                                                    p->network ? p->network : "?");
                        }
                }
        }
        fw_published_free(pub, n_pub);
        return r;
}

/* UDP clients that kept sending while the port led elsewhere must meet the new DNAT (net/conntrack.h). */
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
        if (n > 0 && conntrack_flush_stale_udp(t, n, NULL, &e) < 0)
                log_warning("project '%s': %s", rs->project, e.msg ? e.msg : "conntrack cleanup failed");
}

/* rs4 NULL: remove the project. */
static int transaction(struct firewall *fw, const char *project, const struct fw_ruleset *rs4,
                       const struct fw_ruleset *rs6, const struct fw_network *networks, size_t n_networks,
                       struct stack_error *err)
{
        _cleanup_close_ int lock = xtables_lock("firewall (nftables)", err);
        if (lock < 0)
                return lock;
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, err);
        if (r < 0)
                return r;
        _cleanup_(listing_freep) struct nft_listing have = {0};
        r = read_ruleset(ctx, &have, err);
        if (r < 0)
                return r;
        if (rs4) {
                r = check_clashes(&have, rs4, err);
                if (r < 0)
                        return r;
                /* route_localnet before the DNAT of 127.0.0.1 that needs it. */
                STRV_FOREACH (br, rs4->localnet_bridges) {
                        r = set_route_localnet(*br, err);
                        if (r < 0)
                                return r;
                }
        }
        _cleanup_(desired_freep) struct nft_desired want = {0};
        r = nft_desired_build(project, rs4, rs6, &have, &want, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *batch = nft_batch(&have, &want);
        if (batch) {
                r = run_batch(fw, ctx, batch, err);
                if (r < 0)
                        return r;
        }
        if (rs4)
                flush_stale_udp(rs4);
        return 0;
}

int firewall_nft_apply(struct firewall *fw, const struct fw_project *project, struct stack_error *err)
{
        _cleanup_ruleset_ struct fw_ruleset rs4 = {0};
        _cleanup_ruleset_ struct fw_ruleset rs6 = {0};
        int r = firewall_build(project, &rs4, err);
        if (r >= 0)
                r = firewall6_build(project->name, project->networks, project->n_networks, &rs6, err);
        if (r >= 0)
                r = transaction(fw, project->name, &rs4, &rs6, project->networks, project->n_networks, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", project->name);
        return 0;
}

int firewall_nft_remove(struct firewall *fw, const char *project, struct stack_error *err)
{
        int r = transaction(fw, project, NULL, NULL, NULL, 0, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", project);
        return 0;
}

int firewall_nft_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                                struct stack_error *err)
{
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, err);
        if (r < 0)
                return r;
        _cleanup_(listing_freep) struct nft_listing have = {0};
        /* Only our table: the rest of the ruleset can be large and has no published port of ours. */
        if (nft_run_cmd_from_buffer(ctx, "list table " NFT_FAMILY " " NFT_TABLE) != 0) {
                const char *e = nft_ctx_get_error_buffer(ctx);
                if (e && strstr(e, "No such file or directory")) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return nft_fail(err, ctx, "list table " NFT_FAMILY " " NFT_TABLE);
        }
        r = nft_listing_parse(nft_ctx_get_output_buffer(ctx), &have, err);
        if (r < 0)
                return r;
        return nft_listing_published(&have, ret, ret_n);
}

int firewall_nft_probe(struct stack_error *err)
{
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, err);
        if (r < 0)
                return r;
        /* Fails clearly where nf_tables is missing or CAP_NET_ADMIN is not ours. */
        if (nft_run_cmd_from_buffer(ctx, "list tables") != 0)
                return nft_fail(err, ctx, "list tables");
        return 0;
}

int firewall_nft_table_count(unsigned *ret, struct stack_error *err)
{
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, err);
        if (r < 0)
                return r;
        if (nft_run_cmd_from_buffer(ctx, "list tables") != 0)
                return nft_fail(err, ctx, "list tables");
        unsigned n = 0;
        for (const char *p = nft_ctx_get_output_buffer(ctx); p && (p = strstr(p, "table ")); p += 6)
                if (!startswith(p, "table " NFT_FAMILY " " NFT_TABLE "\n"))
                        n++;
        *ret = n;
        return 0;
}

/* ---- which backend this host uses (net/firewall.h explains the choice) ---- */

/* Does one legacy IPv4 table hold anything: a rule, a chain of its own, a policy other than ACCEPT? */
static bool legacy_table_in_use(const char *table)
{
        _cleanup_iptc_ struct xtc_handle *h = iptc_init(table);
        if (!h)
                return false;
        for (const char *c = iptc_first_chain(h); c; c = iptc_next_chain(h)) {
                if (!iptc_builtin(c, h) || iptc_first_rule(c, h))
                        return true;
                struct xt_counters counters;
                const char *policy = iptc_get_policy(c, &counters, h);
                if (policy && !streq(policy, "ACCEPT"))
                        return true;
        }
        return false;
}

bool firewall_legacy_in_use(void)
{
        /* Only tables the kernel lists: reading one that is not there would create it. */
        _cleanup_fclose_ FILE *f = fopen("/proc/net/ip_tables_names", "re");
        char line[64];
        while (f && fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                if (legacy_table_in_use(line))
                        return true;
        }
        return false;
}

bool firewall_iptables_is_nft(void)
{
        static const char *const paths[] = {"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_free_ char *target = realpath(paths[i], NULL);
                if (target)
                        return endswith(target, "-nft-multi") || endswith(target, "-nft");
        }
        return false;
}

const char *firewall_nft_detect(void)
{
        if (firewall_legacy_in_use())
                return "iptables";
        unsigned tables = 0;
        _cleanup_error_ struct stack_error e = {0};
        if (firewall_iptables_is_nft() || (firewall_nft_table_count(&tables, &e) == 0 && tables > 0))
                return firewall_nft_probe(&e) == 0 ? "nftables" : "iptables";
        return "iptables";
}
