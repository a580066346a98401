#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "net/ipam.h"

typedef unsigned __int128 u128;

#define IPAM_MAGIC "stack-ipam 1"
/* Scanning for a free address stops after this many candidates, so a /64 is not walked to its end. */
#define IPAM_SCAN_MAX (1u << 24)

static unsigned family_bits(int family)
{
        return family == AF_INET6 ? 128 : 32;
}

static u128 addr_to_u128(const struct ipam_addr *a)
{
        unsigned n = family_bits(a->family) / 8;
        u128 v = 0;
        for (unsigned i = 0; i < n; i++)
                v = (v << 8) | a->bytes[i];
        return v;
}

static void addr_from_u128(int family, u128 v, struct ipam_addr *ret)
{
        unsigned n = family_bits(family) / 8;
        memset(ret, 0, sizeof(*ret));
        ret->family = family;
        for (unsigned i = n; i > 0; i--) {
                ret->bytes[i - 1] = (uint8_t) (v & 0xff);
                v >>= 8;
        }
}

static u128 prefix_mask(int family, unsigned len)
{
        unsigned bits = family_bits(family);
        u128 all = bits == 128 ? ~(u128) 0 : (((u128) 1 << 32) - 1);
        if (len == 0)
                return 0;
        return (all << (bits - len)) & all;
}

int ipam_addr_parse(const char *s, struct ipam_addr *ret)
{
        struct ipam_addr a = {0};
        if (isempty(s))
                return -EINVAL;
        if (inet_pton(AF_INET, s, a.bytes) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, a.bytes) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

int ipam_prefix_parse(const char *s, struct ipam_prefix *ret)
{
        if (isempty(s))
                return -EINVAL;
        const char *slash = strchr(s, '/');
        if (!slash)
                return -EINVAL;
        _cleanup_free_ char *head = xstrndup(s, slash - s);
        struct ipam_prefix p = {0};
        if (ipam_addr_parse(head, &p.addr) < 0)
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long len = strtoul(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || len > family_bits(p.addr.family))
                return -EINVAL;
        p.len = (unsigned) len;
        addr_from_u128(p.addr.family, addr_to_u128(&p.addr) & prefix_mask(p.addr.family, p.len), &p.addr);
        *ret = p;
        return 0;
}

const char *ipam_addr_format(const struct ipam_addr *a, char *buf)
{
        if (!a->family || !inet_ntop(a->family, a->bytes, buf, IPAM_ADDRSTRLEN))
                strcpy(buf, "-");
        return buf;
}

const char *ipam_prefix_format(const struct ipam_prefix *p, char *buf)
{
        ipam_addr_format(&p->addr, buf);
        if (p->addr.family)
                snprintf(buf + strlen(buf), IPAM_ADDRSTRLEN - strlen(buf), "/%u", p->len);
        return buf;
}

bool ipam_addr_equal(const struct ipam_addr *a, const struct ipam_addr *b)
{
        return a->family == b->family && memcmp(a->bytes, b->bytes, family_bits(a->family) / 8) == 0;
}

bool ipam_prefix_contains(const struct ipam_prefix *p, const struct ipam_addr *a)
{
        if (p->addr.family != a->family)
                return false;
        u128 m = prefix_mask(a->family, p->len);
        return (addr_to_u128(a) & m) == (addr_to_u128(&p->addr) & m);
}

bool ipam_prefix_overlaps(const struct ipam_prefix *a, const struct ipam_prefix *b)
{
        if (a->addr.family != b->addr.family)
                return false;
        unsigned len = a->len < b->len ? a->len : b->len;
        u128 m = prefix_mask(a->addr.family, len);
        return (addr_to_u128(&a->addr) & m) == (addr_to_u128(&b->addr) & m);
}

static bool prefix_equal(const struct ipam_prefix *a, const struct ipam_prefix *b)
{
        return a->len == b->len && ipam_addr_equal(&a->addr, &b->addr);
}

void ipam_pool_default(int family, struct ipam_pool *ret)
{
        int r = ipam_prefix_parse(family == AF_INET6 ? "fd53:7461:636b::/48" : "172.30.0.0/16", &ret->base);
        (void) r; /* constant input */
        ret->size = family == AF_INET6 ? 64 : 24;
}

/* ---- records ---- */

static void subnet_done(struct ipam_subnet *s)
{
        free(s->aux);
        *s = (struct ipam_subnet){0};
}

static void network_done(struct ipam_network *n)
{
        free(n->name);
        free(n->project);
        for (size_t i = 0; i < n->n_subnets; i++)
                subnet_done(&n->subnets[i]);
        free(n->subnets);
        *n = (struct ipam_network){0};
}

static void lease_done(struct ipam_lease *l)
{
        free(l->network);
        free(l->owner);
        free(l->project);
        *l = (struct ipam_lease){0};
}

void ipam_free(struct ipam *ipam)
{
        if (!ipam)
                return;
        for (size_t i = 0; i < ipam->n_networks; i++)
                network_done(&ipam->networks[i]);
        free(ipam->networks);
        for (size_t i = 0; i < ipam->n_leases; i++)
                lease_done(&ipam->leases[i]);
        free(ipam->leases);
        if (ipam->lock_fd >= 0)
                close(ipam->lock_fd); /* releases the flock */
        free(ipam->dir);
        free(ipam);
}

static struct ipam_network *network_find_mut(struct ipam *ipam, const char *name)
{
        for (size_t i = 0; i < ipam->n_networks; i++)
                if (streq(ipam->networks[i].name, name))
                        return &ipam->networks[i];
        return NULL;
}

const struct ipam_network *ipam_network_find(const struct ipam *ipam, const char *network)
{
        return network_find_mut((struct ipam *) ipam, network);
}

const struct ipam_subnet *ipam_network_subnet(const struct ipam_network *net, int family)
{
        for (size_t i = 0; net && i < net->n_subnets; i++)
                if (net->subnets[i].subnet.addr.family == family)
                        return &net->subnets[i];
        return NULL;
}

const struct ipam_lease *ipam_lease_find(const struct ipam *ipam, const char *network, const char *owner,
                                         int family)
{
        for (size_t i = 0; i < ipam->n_leases; i++) {
                const struct ipam_lease *l = &ipam->leases[i];
                if (streq(l->network, network) && streq(l->owner, owner) && l->addr.family == family)
                        return l;
        }
        return NULL;
}

/* Names go into a whitespace-separated file and into kernel link aliases. */
static bool name_ok(const char *s)
{
        if (isempty(s) || strlen(s) > 200)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int parse_line(struct ipam *ipam, char *line, struct stack_error *err)
{
        _cleanup_strv_free_ char **f = strv_split(line, " ");
        size_t n = strv_length(f);
        if (n == 0 || isempty(f[0]))
                return 0;
        if (streq(f[0], "network") && (n == 3 || n == 4)) {
                GROW(ipam->networks, ipam->cap_networks, ipam->n_networks);
                struct ipam_network *net = &ipam->networks[ipam->n_networks++];
                net->name = xstrdup(f[1]);
                net->project = xstrdup(f[2]);
                net->external = n == 4 && streq(f[3], "external");
                return 0;
        }
        if (streq(f[0], "subnet") && n == 6) {
                struct ipam_network *net = network_find_mut(ipam, f[1]);
                if (!net)
                        return -EINVAL;
                struct ipam_subnet s = {0};
                if (ipam_prefix_parse(f[2], &s.subnet) < 0 || ipam_addr_parse(f[3], &s.gateway) < 0)
                        return -EINVAL;
                s.range = s.subnet;
                if (!streq(f[4], "-") && ipam_prefix_parse(f[4], &s.range) < 0)
                        return -EINVAL;
                if (!streq(f[5], "-")) {
                        _cleanup_strv_free_ char **aux = strv_split(f[5], ",");
                        s.aux = xcalloc(strv_length(aux), sizeof(*s.aux));
                        STRV_FOREACH (a, aux)
                                if (ipam_addr_parse(*a, &s.aux[s.n_aux++]) < 0) {
                                        free(s.aux);
                                        return -EINVAL;
                                }
                }
                net->subnets = xrealloc(net->subnets, (net->n_subnets + 1) * sizeof(*net->subnets));
                net->subnets[net->n_subnets++] = s;
                return 0;
        }
        if (streq(f[0], "lease") && n == 5) {
                struct ipam_addr a;
                if (ipam_addr_parse(f[2], &a) < 0)
                        return -EINVAL;
                GROW(ipam->leases, ipam->cap_leases, ipam->n_leases);
                ipam->leases[ipam->n_leases++] = (struct ipam_lease){
                    .network = xstrdup(f[1]),
                    .owner = xstrdup(f[3]),
                    .project = xstrdup(f[4]),
                    .addr = a,
                };
                return 0;
        }
        return -EINVAL;
}

static int ipam_read(struct ipam *ipam, struct stack_error *err)
{
        _cleanup_free_ char *path = path_join(ipam->dir, "leases");
        _cleanup_free_ char *data = NULL;
        _cleanup_error_ struct stack_error e = {0};
        if (read_full_file(path, &data, NULL, &e) < 0) {
                if (e.code == ENOENT)
                        return 0;
                return stack_error_set(err, e.code, "%s", e.msg);
        }
        _cleanup_strv_free_ char **lines = strv_split(data, "\n");
        size_t lineno = 0;
        STRV_FOREACH (l, lines) {
                lineno++;
                if (lineno == 1) {
                        if (!streq(*l, IPAM_MAGIC))
                                return stack_error_set(
                                    err, EINVAL, "%s: not a stack IPAM file (first line \"%s\")", path, *l);
                        continue;
                }
                if (parse_line(ipam, *l, err) < 0)
                        return stack_error_set(err, EINVAL, "%s:%zu: malformed record", path, lineno);
        }
        return 0;
}

int ipam_open(const char *root, struct ipam **ret, struct stack_error *err)
{
        _cleanup_ipam_ struct ipam *ipam = xcalloc(1, sizeof(*ipam));
        ipam->lock_fd = -1;
        ipam->dir = path_join(root, "ipam");
        int r = mkdir_p(ipam->dir, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *lock = path_join(ipam->dir, "lock");
        ipam->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ipam->lock_fd < 0)
                return stack_error_errno(err, errno, "open %s", lock);
        while (flock(ipam->lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "lock %s", lock);
        r = ipam_read(ipam, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ipam);
        return 0;
}

int ipam_save(struct ipam *ipam, struct stack_error *err)
{
        if (!ipam->dirty)
                return 0;
        struct strbuf b = {0};
        char x[IPAM_ADDRSTRLEN], y[IPAM_ADDRSTRLEN], z[IPAM_ADDRSTRLEN];
        strbuf_puts(&b, IPAM_MAGIC "\n");
        for (size_t i = 0; i < ipam->n_networks; i++) {
                const struct ipam_network *n = &ipam->networks[i];
                strbuf_printf(&b, "network %s %s%s\n", n->name, n->project, n->external ? " external" : "");
                for (size_t j = 0; j < n->n_subnets; j++) {
                        const struct ipam_subnet *s = &n->subnets[j];
                        bool range = !prefix_equal(&s->range, &s->subnet);
                        strbuf_printf(&b, "subnet %s %s %s %s ", n->name, ipam_prefix_format(&s->subnet, x),
                                      ipam_addr_format(&s->gateway, y),
                                      range ? ipam_prefix_format(&s->range, z) : "-");
                        for (size_t k = 0; k < s->n_aux; k++)
                                strbuf_printf(&b, "%s%s", k ? "," : "", ipam_addr_format(&s->aux[k], x));
                        strbuf_puts(&b, s->n_aux ? "\n" : "-\n");
                }
        }
        for (size_t i = 0; i < ipam->n_leases; i++) {
                const struct ipam_lease *l = &ipam->leases[i];
                strbuf_printf(&b, "lease %s %s %s %s\n", l->network, ipam_addr_format(&l->addr, x), l->owner,
                              l->project);
        }
        _cleanup_free_ char *path = path_join(ipam->dir, "leases");
        int r = write_file_atomic(path, b.buf, b.len, 0600, err);
        strbuf_free(&b);
        if (r < 0)
                return r;
        ipam->dirty = false;
        return 0;
}

/* ---- networks ---- */

static bool subnet_equal(const struct ipam_subnet *a, const struct ipam_subnet *b)
{
        if (!prefix_equal(&a->subnet, &b->subnet) || !prefix_equal(&a->range, &b->range) ||
            !ipam_addr_equal(&a->gateway, &b->gateway) || a->n_aux != b->n_aux)
                return false;
        for (size_t i = 0; i < a->n_aux; i++)
                if (!ipam_addr_equal(&a->aux[i], &b->aux[i]))
                        return false;
        return true;
}

static bool subnet_usable_len(const struct ipam_prefix *p)
{
        return p->len <= (p->addr.family == AF_INET ? 30u : 126u);
}

/* Turns one ipam.config entry into a subnet; the gateway defaults to the subnet's first address. */
static int subnet_from_config(const char *network, size_t idx, const struct ipam_config *c,
                              struct ipam_subnet *ret, struct stack_error *err)
{
        _cleanup_free_ struct ipam_addr *aux = NULL;
        struct ipam_subnet s = {0};
        if (ipam_prefix_parse(c->subnet, &s.subnet) < 0)
                return stack_error_set(err, EINVAL,
                                       "network '%s': ipam.config[%zu].subnet: invalid subnet \"%s\"",
                                       network, idx, c->subnet ? c->subnet : "");
        if (!subnet_usable_len(&s.subnet))
                return stack_error_set(err, EINVAL, "network '%s': ipam.config[%zu].subnet: %s is too small",
                                       network, idx, c->subnet);
        s.range = s.subnet;
        if (c->ip_range) {
                if (ipam_prefix_parse(c->ip_range, &s.range) < 0 ||
                    s.range.addr.family != s.subnet.addr.family || s.range.len < s.subnet.len ||
                    !ipam_prefix_contains(&s.subnet, &s.range.addr))
                        return stack_error_set(
                            err, EINVAL,
                            "network '%s': ipam.config[%zu].ip_range: \"%s\" is not a range "
                            "inside %s",
                            network, idx, c->ip_range, c->subnet);
        }
        u128 first = addr_to_u128(&s.subnet.addr) + 1;
        addr_from_u128(s.subnet.addr.family, first, &s.gateway);
        if (c->gateway &&
            (ipam_addr_parse(c->gateway, &s.gateway) < 0 || !ipam_prefix_contains(&s.subnet, &s.gateway)))
                return stack_error_set(
                    err, EINVAL, "network '%s': ipam.config[%zu].gateway: \"%s\" is not an address in %s",
                    network, idx, c->gateway, c->subnet);
        if (c->n_aux > 0) {
                aux = xcalloc(c->n_aux, sizeof(*aux));
                for (size_t i = 0; i < c->n_aux; i++) {
                        const struct ipam_aux_address *x = &c->aux[i];
                        if (!x->addr || ipam_addr_parse(x->addr, &aux[i]) < 0 ||
                            !ipam_prefix_contains(&s.subnet, &aux[i]))
                                return stack_error_set(
                                    err, EINVAL,
                                    "network '%s': ipam.config[%zu].aux_addresses.%s: \"%s\" is "
                                    "not an address in %s",
                                    network, idx, x->name, x->addr ? x->addr : "", c->subnet);
                }
                s.n_aux = c->n_aux;
        }
        s.aux = TAKE_PTR(aux);
        *ret = s;
        return 0;
}

/* The subnet of another stack network (not `self`) that overlaps p, if any. */
static const struct ipam_network *overlapping_network(const struct ipam *ipam, const char *self,
                                                      const struct ipam_prefix *p)
{
        for (size_t i = 0; i < ipam->n_networks; i++) {
                const struct ipam_network *n = &ipam->networks[i];
                if (streq(n->name, self))
                        continue;
                for (size_t j = 0; j < n->n_subnets; j++)
                        if (ipam_prefix_overlaps(&n->subnets[j].subnet, p))
                                return n;
        }
        return NULL;
}

static int subnet_from_pool(const struct ipam *ipam, const struct ipam_network_request *req,
                            const struct ipam_pool *pool, struct ipam_subnet *ret, struct stack_error *err)
{
        int family = pool->base.addr.family;
        unsigned bits = family_bits(family);
        if (pool->size < pool->base.len || pool->size > bits ||
            !subnet_usable_len(&(struct ipam_prefix){.addr = pool->base.addr, .len = pool->size}))
                return stack_error_set(err, EINVAL, "address pool: bad subnet size /%u", pool->size);
        unsigned span = pool->size - pool->base.len;
        uint64_t count = span >= 24 ? (1u << 24) : ((uint64_t) 1 << span);
        u128 base = addr_to_u128(&pool->base.addr);
        for (uint64_t k = 0; k < count; k++) {
                struct ipam_prefix cand = {.len = pool->size};
                addr_from_u128(family, base + ((u128) k << (bits - pool->size)), &cand.addr);
                if (overlapping_network(ipam, req->network, &cand))
                        continue;
                bool used = false;
                for (size_t i = 0; i < req->n_in_use && !used; i++)
                        used = ipam_prefix_overlaps(&req->in_use[i], &cand);
                if (used)
                        continue;
                struct ipam_subnet s = {.subnet = cand, .range = cand};
                addr_from_u128(family, addr_to_u128(&cand.addr) + 1, &s.gateway);
                *ret = s;
                return 0;
        }
        char b[IPAM_ADDRSTRLEN];
        return stack_error_set(
            err, ENOSPC,
            "network '%s': no free /%u left in the address pool %s (every subnet is used by "
            "another network or routed on the host)",
            req->network, pool->size, ipam_prefix_format(&pool->base, b));
}

static size_t leases_on(const struct ipam *ipam, const char *network, const char *except_project,
                        struct strbuf *owners)
{
        size_t n = 0;
        for (size_t i = 0; i < ipam->n_leases; i++) {
                const struct ipam_lease *l = &ipam->leases[i];
                if (!streq(l->network, network))
                        continue;
                if (except_project && streq(l->project, except_project))
                        continue;
                if (owners)
                        strbuf_printf(owners, "%s%s", n ? ", " : "", l->owner);
                n++;
        }
        return n;
}

static void subnets_free(struct ipam_subnet *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                subnet_done(&s[i]);
}

int ipam_network_ensure(struct ipam *ipam, const struct ipam_network_request *req,
                        const struct ipam_network **ret, struct stack_error *err)
{
        if (!name_ok(req->network) || !name_ok(req->project))
                return stack_error_set(err, EINVAL, "network '%s': invalid name for IPAM",
                                       req->network ? req->network : "");
        struct ipam_subnet want[2] = {0};
        bool given[2] = {false, false};
        int r = 0;
        for (size_t i = 0; i < req->n_config && r >= 0; i++) {
                struct ipam_subnet s;
                if (!req->config[i].subnet) {
                        r = stack_error_set(err, EINVAL,
                                            "network '%s': ipam.config[%zu]: a subnet is required",
                                            req->network, i);
                        break;
                }
                r = subnet_from_config(req->network, i, &req->config[i], &s, err);
                if (r < 0)
                        break;
                int slot = s.subnet.addr.family == AF_INET6;
                if (given[slot] || (slot ? !req->ipv6 : !req->ipv4)) {
                        r = stack_error_set(err, EINVAL, "network '%s': ipam.config[%zu]: %s", req->network,
                                            i,
                                            given[slot] ? "only one subnet per address family is supported"
                                            : slot      ? "an IPv6 subnet needs enable_ipv6: true"
                                                   : "an IPv4 subnet on a network with enable_ipv4: false");
                        subnet_done(&s);
                        break;
                }
                want[slot] = s;
                given[slot] = true;
        }
        if (r < 0) {
                subnets_free(want, 2);
                return r;
        }

        struct ipam_network *have = network_find_mut(ipam, req->network);
        bool families[2] = {req->ipv4, req->ipv6};
        /* An existing record is kept when every family it must have is there and explicit subnets match:
         * that is what makes subnets persistent across `up`s. */
        bool match = have != NULL;
        for (int slot = 0; slot < 2 && match; slot++) {
                const struct ipam_subnet *cur = ipam_network_subnet(have, slot ? AF_INET6 : AF_INET);
                if (!families[slot])
                        match = cur == NULL;
                else if (!cur)
                        match = false;
                else if (given[slot])
                        match = subnet_equal(cur, &want[slot]);
        }
        if (match) {
                subnets_free(want, 2);
                if (have->external != req->external) {
                        have->external = req->external;
                        ipam->dirty = true;
                }
                *ret = have;
                return 0;
        }
        if (have) {
                _cleanup_(strbuf_free) struct strbuf owners = {0};
                if (leases_on(ipam, req->network, NULL, &owners) > 0) {
                        subnets_free(want, 2);
                        return stack_error_set(
                            err, EBUSY,
                            "network '%s': its addresses changed but containers are still "
                            "attached (%s); remove them first",
                            req->network, owners.buf);
                }
        }

        for (int slot = 0; slot < 2 && r >= 0; slot++) {
                if (!families[slot] || given[slot])
                        continue;
                /* Keep an existing pool subnet of this family: only the other family changed. */
                const struct ipam_subnet *cur = ipam_network_subnet(have, slot ? AF_INET6 : AF_INET);
                if (cur && !overlapping_network(ipam, req->network, &cur->subnet)) {
                        want[slot] = *cur;
                        want[slot].aux = cur->n_aux ? xmalloc(cur->n_aux * sizeof(*cur->aux)) : NULL;
                        if (cur->n_aux)
                                memcpy(want[slot].aux, cur->aux, cur->n_aux * sizeof(*cur->aux));
                        continue;
                }
                struct ipam_pool def;
                const struct ipam_pool *pool = slot ? req->pool6 : req->pool4;
                if (!pool) {
                        ipam_pool_default(slot ? AF_INET6 : AF_INET, &def);
                        pool = &def;
                }
                r = subnet_from_pool(ipam, req, pool, &want[slot], err);
        }
        for (int slot = 0; slot < 2 && r >= 0; slot++) {
                if (!given[slot])
                        continue;
                const struct ipam_network *other =
                    overlapping_network(ipam, req->network, &want[slot].subnet);
                if (other) {
                        char b[IPAM_ADDRSTRLEN];
                        r = stack_error_set(err, EEXIST, "network '%s': subnet %s overlaps network '%s'",
                                            req->network, ipam_prefix_format(&want[slot].subnet, b),
                                            other->name);
                }
        }
        if (r < 0) {
                subnets_free(want, 2);
                return r;
        }

        if (!have) {
                GROW(ipam->networks, ipam->cap_networks, ipam->n_networks);
                have = &ipam->networks[ipam->n_networks++];
                *have = (struct ipam_network){0};
                have->name = xstrdup(req->network);
                have->project = xstrdup(req->project);
        } else {
                for (size_t i = 0; i < have->n_subnets; i++)
                        subnet_done(&have->subnets[i]);
                free(have->subnets);
                have->subnets = NULL;
                have->n_subnets = 0;
        }
        have->external = req->external;
        for (int slot = 0; slot < 2; slot++) {
                if (!families[slot])
                        continue;
                have->subnets = xrealloc(have->subnets, (have->n_subnets + 1) * sizeof(*have->subnets));
                have->subnets[have->n_subnets++] = want[slot];
        }
        ipam->dirty = true;
        *ret = have;
        return 0;
}

int ipam_network_release(struct ipam *ipam, const char *network, const char *project,
                         struct stack_error *err)
{
        _cleanup_(strbuf_free) struct strbuf owners = {0};
        if (leases_on(ipam, network, project, &owners) > 0)
                return stack_error_set(err, EBUSY, "network '%s' has active endpoints of other projects: %s",
                                       network, owners.buf);
        size_t w = 0;
        for (size_t i = 0; i < ipam->n_leases; i++) {
                if (streq(ipam->leases[i].network, network)) {
                        lease_done(&ipam->leases[i]);
                        ipam->dirty = true;
                } else
                        ipam->leases[w++] = ipam->leases[i];
        }
        ipam->n_leases = w;
        struct ipam_network *n = network_find_mut(ipam, network);
        if (n) {
                network_done(n);
                size_t idx = n - ipam->networks;
                memmove(n, n + 1, (ipam->n_networks - idx - 1) * sizeof(*n));
                ipam->n_networks--;
                ipam->dirty = true;
        }
        return 0;
}

/* ---- addresses ---- */

static const struct ipam_lease *lease_by_addr(const struct ipam *ipam, const char *network,
                                              const struct ipam_addr *a)
{
        for (size_t i = 0; i < ipam->n_leases; i++)
                if (streq(ipam->leases[i].network, network) && ipam_addr_equal(&ipam->leases[i].addr, a))
                        return &ipam->leases[i];
        return NULL;
}

/* Why an address of the subnet cannot be given to a container; NULL when it can (leases aside). */
static const char *reserved_why(const struct ipam_subnet *s, const struct ipam_addr *a)
{
        u128 v = addr_to_u128(a), net = addr_to_u128(&s->subnet.addr);
        u128 last = net | ~prefix_mask(a->family, s->subnet.len);
        if (a->family == AF_INET)
                last &= ((u128) 1 << 32) - 1;
        if (v == net)
                return "the network address";
        if (a->family == AF_INET && v == last)
                return "the broadcast address";
        if (ipam_addr_equal(a, &s->gateway))
                return "the gateway";
        for (size_t i = 0; i < s->n_aux; i++)
                if (ipam_addr_equal(a, &s->aux[i]))
                        return "an aux_address";
        return NULL;
}

static void lease_add(struct ipam *ipam, const char *network, const char *owner, const char *project,
                      const struct ipam_addr *a)
{
        GROW(ipam->leases, ipam->cap_leases, ipam->n_leases);
        ipam->leases[ipam->n_leases++] = (struct ipam_lease){
            .network = xstrdup(network),
            .owner = xstrdup(owner),
            .project = xstrdup(project),
            .addr = *a,
        };
        ipam->dirty = true;
}

static void lease_drop(struct ipam *ipam, const struct ipam_lease *l)
{
        size_t idx = l - ipam->leases;
        lease_done(&ipam->leases[idx]);
        memmove(&ipam->leases[idx], &ipam->leases[idx + 1], (ipam->n_leases - idx - 1) * sizeof(*l));
        ipam->n_leases--;
        ipam->dirty = true;
}

int ipam_address_ensure(struct ipam *ipam, const char *network, const char *owner, const char *project,
                        int family, const char *want, struct ipam_addr *ret, struct stack_error *err)
{
        return ipam_address_ensure_declared(ipam, network, owner, project, family, want, NULL, ret, err);
}

/* Whether `a` is one of the declared addresses (text; those that do not parse are the caller's to refuse
 * where they are used). */
static bool declared_has(char *const *declared, const struct ipam_addr *a)
{
        for (char *const *d = declared; d && *d; d++) {
                struct ipam_addr x;
                if (ipam_addr_parse(*d, &x) == 0 && ipam_addr_equal(&x, a))
                        return true;
        }
        return false;
}

int ipam_address_ensure_declared(struct ipam *ipam, const char *network, const char *owner,
                                 const char *project, int family, const char *want, char *const *declared,
                                 struct ipam_addr *ret, struct stack_error *err)
{
        const char *fam = family == AF_INET6 ? "IPv6" : "IPv4";
        char b[IPAM_ADDRSTRLEN], c[IPAM_ADDRSTRLEN];
        if (!name_ok(owner) || !name_ok(project))
                return stack_error_set(err, EINVAL, "container '%s': invalid name for IPAM",
                                       owner ? owner : "");
        const struct ipam_network *net = ipam_network_find(ipam, network);
        const struct ipam_subnet *s = ipam_network_subnet(net, family);
        if (!s)
                return stack_error_set(err, ENOENT, "network '%s' has no %s subnet", network, fam);
        const struct ipam_lease *mine = ipam_lease_find(ipam, network, owner, family);

        if (want) {
                struct ipam_addr a;
                if (ipam_addr_parse(want, &a) < 0 || a.family != family)
                        return stack_error_set(err, EINVAL, "container '%s': \"%s\" is not an %s address",
                                               owner, want, fam);
                if (!ipam_prefix_contains(&s->subnet, &a))
                        return stack_error_set(err, EINVAL,
                                               "container '%s': address %s is not in network '%s' (%s)",
                                               owner, want, network, ipam_prefix_format(&s->subnet, b));
                const char *why = reserved_why(s, &a);
                if (why)
                        return stack_error_set(err, EADDRINUSE,
                                               "container '%s': address %s is %s of network '%s'", owner,
                                               want, why, network);
                const struct ipam_lease *other = lease_by_addr(ipam, network, &a);
                if (other && other != mine)
                        return stack_error_set(
                            err, EADDRINUSE,
                            "container '%s': address %s on network '%s' is already used by "
                            "'%s'",
                            owner, want, network, other->owner);
                if (mine && ipam_addr_equal(&mine->addr, &a)) {
                        *ret = a;
                        return 0;
                }
                if (mine)
                        lease_drop(ipam, mine);
                lease_add(ipam, network, owner, project, &a);
                *ret = a;
                return 0;
        }

        /* A lease outside the subnet is stale (the network was recreated with other addresses). */
        if (mine && ipam_prefix_contains(&s->subnet, &mine->addr) && !reserved_why(s, &mine->addr) &&
            !declared_has(declared, &mine->addr)) {
                *ret = mine->addr;
                return 0;
        }
        if (mine)
                lease_drop(ipam, mine);

        unsigned hostbits = family_bits(family) - s->range.len;
        uint64_t count = hostbits >= 24 ? IPAM_SCAN_MAX : ((uint64_t) 1 << hostbits);
        u128 base = addr_to_u128(&s->range.addr);
        for (uint64_t i = 0; i < count; i++) {
                struct ipam_addr a;
                addr_from_u128(family, base + i, &a);
                if (reserved_why(s, &a) || lease_by_addr(ipam, network, &a) || declared_has(declared, &a))
                        continue;
                lease_add(ipam, network, owner, project, &a);
                *ret = a;
                return 0;
        }
        return stack_error_set(err, ENOSPC, "network '%s': no free %s address left in %s", network, fam,
                               ipam_prefix_format(&s->range, c));
}

void ipam_address_release(struct ipam *ipam, const char *network, const char *owner)
{
        for (size_t i = 0; i < ipam->n_leases;) {
                const struct ipam_lease *l = &ipam->leases[i];
                if (streq(l->owner, owner) && (!network || streq(l->network, network)))
                        lease_drop(ipam, l);
                else
                        i++;
        }
}
