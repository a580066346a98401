/* The nftables backend (libnftables): the rules of net/firewall.c, both families, in table inet stack,
 * plus narrow accepts in other tables' drop-policy chains (net/nft-rules.h has the layout).
 *
 * Each apply reads the ruleset once, computes the batch in nft-rules.c and runs it as one libnftables
 * call, which the kernel commits as one transaction; when the listing already shows exactly the wanted
 * chains and accepts there is no call at all. That comparison is on rule text in the form nft 1.0.6
 * prints it (nft-rules.c writes rules that way); a libnftables that prints a rule differently costs an
 * idempotent extra transaction per apply, never a wrong rule. Stack processes serialize on
 * /run/xtables.lock, as the libiptc backend does, so two projects never compute their batches from the
 * same stale listing (the table is deleted with the last project's chains, which must not race with
 * another's first). */
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
#include "core/base/util.h"
#include "net/firewall.h"
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
        if (nft_run_cmd_from_buffer(ctx, batch) != 0)
                return nft_fail(err, ctx, "transaction");
        /* One transaction covers both families; it is counted once, as IPv4's. */
        fw->commits[FW_IPV4]++;
        return 0;
}

/* rs NULL: remove the project. */
static int transaction(struct firewall *fw, const char *project, const struct fw_ruleset *rs,
                       struct stack_error *err)
{
        _cleanup_close_ int lock = xtables_lock("firewall (nftables)", err);
        if (lock < 0)
                return lock;
        struct nft_ctx *ctx = fw->userdata;
        _cleanup_(listing_freep) struct nft_listing have = {0};
        int r = read_ruleset(ctx, &have, err);
        if (r < 0)
                return r;
        if (rs) {
                struct fw_published *pub = NULL;
                size_t n_pub = 0;
                nft_listing_published(&have, &pub, &n_pub);
                r = firewall_check_clashes(rs, pub, n_pub, err);
                fw_published_free(pub, n_pub);
                if (r >= 0)
                        r = firewall_route_localnet(rs, err);
                if (r < 0)
                        return r;
        }
        _cleanup_(desired_freep) struct nft_desired want = {0};
        r = nft_desired_build(project, rs, &have, &want, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *batch = nft_batch(&have, &want);
        return batch ? run_batch(fw, ctx, batch, err) : 0;
}

static int nft_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err)
{
        int r = transaction(fw, rs->project, rs, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", rs->project);
        return 0;
}

static int nft_remove_project(struct firewall *fw, const char *project, struct stack_error *err)
{
        int r = transaction(fw, project, NULL, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", project);
        return 0;
}

static int nft_list_published(struct firewall *fw, struct fw_published **ret, size_t *ret_n,
                              struct stack_error *err)
{
        struct nft_ctx *ctx = fw->userdata;
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
        int r = nft_listing_parse(nft_ctx_get_output_buffer(ctx), &have, err);
        if (r < 0)
                return r;
        return nft_listing_published(&have, ret, ret_n);
}

static int nft_drift_op(struct firewall *fw, const struct fw_ruleset *rs, size_t *ret_n,
                        struct stack_error *err)
{
        struct nft_ctx *ctx = fw->userdata;
        _cleanup_(listing_freep) struct nft_listing have = {0};
        _cleanup_(desired_freep) struct nft_desired want = {0};
        int r = read_ruleset(ctx, &have, err);
        if (r >= 0)
                r = nft_desired_build(rs->project, rs, &have, &want, err);
        if (r < 0)
                return stack_error_prefix(err, "project '%s'", rs->project);
        *ret_n = nft_drift(&have, &want);
        return 0;
}

static void nft_free(struct firewall *fw)
{
        nft_ctx_free(fw->userdata);
}

static const struct firewall_ops nft_ops_table = {
    .name = "nftables",
    .apply = nft_apply,
    .remove_project = nft_remove_project,
    .list_published = nft_list_published,
    .drift = nft_drift_op,
    .free = nft_free,
};

int firewall_open_nft(struct firewall **ret, struct stack_error *err)
{
        /* One context for the backend's life: setting one up costs more than a small transaction, and
         * its cache follows the kernel's ruleset generation, so another writer's change is seen. */
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        int r = ctx_new(&ctx, err);
        if (r < 0)
                return r;
        /* Fails clearly where nf_tables is missing or CAP_NET_ADMIN is not ours. */
        if (nft_run_cmd_from_buffer(ctx, "list tables") != 0)
                return nft_fail(err, ctx, "list tables");
        *ret = firewall_new(&nft_ops_table, TAKE_PTR(ctx));
        return 0;
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

/* ---- a project brought up with the other backend ---- */

static bool legacy_tables_exist(void)
{
        static const char *const lists[] = {"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"};
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                _cleanup_fclose_ FILE *f = fopen(lists[i], "re");
                if (f && fgetc(f) != EOF)
                        return true;
        }
        return false;
}

static bool stack_table_exists(void)
{
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        _cleanup_error_ struct stack_error e = {0};
        if (ctx_new(&ctx, &e) < 0 || nft_run_cmd_from_buffer(ctx, "list tables " NFT_FAMILY) != 0)
                return false;
        const char *out = nft_ctx_get_output_buffer(ctx);
        return out && strstr(out, "table " NFT_FAMILY " " NFT_TABLE "\n");
}

int firewall_remove_elsewhere(struct firewall *fw, const char *project, struct stack_error *err)
{
        _cleanup_firewall_ struct firewall *other = NULL;
        int r = 0;
        /* Only where the other backend can hold something: opening libiptc would create the legacy
         * tables, and a host without nf_tables has no table of ours there. */
        if (fw->ops == &nft_ops_table && legacy_tables_exist())
                r = firewall_open_iptc(&other, err);
        else if (streq_ptr(fw->ops->name, "iptables") && stack_table_exists())
                r = firewall_open_nft(&other, err);
        if (r >= 0 && other)
                r = other->ops->remove_project(other, project, err);
        return r;
}
