/* The legacy x_tables backend's machinery shared by its two families (firewall-iptc.c for IPv4 through
 * libiptc, firewall-ip6tc.c for IPv6 through libip6tc). Private to net/.
 *
 * The two libraries have the same shape with different entry types (struct ipt_entry, struct ip6t_entry)
 * and prefixes. A family fills `struct xt_family`: libxtc's own table of entry-free calls (iptc_ops,
 * ip6tc_ops), the calls that take entries (behind `const void *`), and the encoding of a rule's
 * address header. Everything else, the matches and targets, the search for jumps, the placement of a
 * project among others, the up-to-date check and the commit loop, is written once here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <libiptc/xtcshared.h>

#include "core/base/error.h"
#include "net/firewall.h"

/* One encoded entry: the family's header, then matches and target as x_tables lays them out. */
struct xt_entry_buf {
        _Alignas(8) unsigned char buf[2048];
        size_t off;
};

struct xt_family {
        enum fw_family family;
        const char *what;          /* message prefix: "firewall", "firewall6" */
        const struct xtc_ops *xtc; /* iptc_ops / ip6tc_ops */
        size_t entry_size;         /* sizeof(struct ipt_entry) / sizeof(struct ip6t_entry) */
        /* Fills the address header (addresses, interfaces, protocol) of b's entry from r. */
        void (*put_header)(struct xt_entry_buf *b, const struct fw_rule *r);
        /* Sets target_offset and next_offset of the entry at b->buf. */
        void (*set_offsets)(struct xt_entry_buf *b, size_t target_offset, size_t next_offset);
        bool (*header_equal)(const void *have, const void *want);
        unsigned (*target_offset)(const void *e);
        unsigned (*next_offset)(const void *e);

        const void *(*first_rule)(const char *chain, struct xtc_handle *h);
        const void *(*next_rule)(const void *prev, struct xtc_handle *h);
        const char *(*get_target)(const void *e, struct xtc_handle *h);
        int (*insert_entry)(const char *chain, const void *e, unsigned num, struct xtc_handle *h);
        int (*append_entry)(const char *chain, const void *e, struct xtc_handle *h);
        int (*delete_num_entry)(const char *chain, unsigned num, struct xtc_handle *h);
        int (*delete_chain)(const char *chain, struct xtc_handle *h);
        int (*get_references)(unsigned *ref, const char *chain, struct xtc_handle *h);
};

/* The two families (firewall-iptc.c, firewall-ip6tc.c). */
extern const struct xt_family xt_family4;
extern const struct xt_family xt_family6;

/* The entry for r in b (header by the family, matches and target here). */
const void *xt_entry_from_rule(const struct xt_family *f, struct xt_entry_buf *b, const struct fw_rule *r);
/* An error naming the family, table and chain, from errno and the library's wording. */
int xt_fail(const struct xt_family *f, struct stack_error *err, enum fw_table t, const char *chain,
            const char *what);
/* Is the table there in this network namespace? Reading one that is not would create it. */
bool xt_table_exists(const struct xt_family *f, enum fw_table t);

/* Replaces the project's chains of rs in every table of the family that rs uses or the kernel has, in
 * `order`; one commit per changed table, counted in fw->commits. */
int xt_apply(struct firewall *fw, const struct xt_family *f, const struct fw_ruleset *rs,
             const enum fw_table *order, size_t n_order, struct stack_error *err);
/* Removes the project's chains from the family's tables in `order`. */
int xt_remove(struct firewall *fw, const struct xt_family *f, const char *project,
              const enum fw_table *order, size_t n_order, struct stack_error *err);
/* firewall_ops.drift for one family: the rules of rs in the tables of `order` that the kernel lacks or
 * holds otherwise, added to *ret_n. Opens no table the kernel does not have. */
int xt_drift(const struct xt_family *f, const struct fw_ruleset *rs, const enum fw_table *order,
             size_t n_order, size_t *ret_n, struct stack_error *err);
