/* The responder's name table: builders, validation and the JSON file the reconciler writes. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "net/dns-records.h"

#define DNS_RECORDS_VERSION 1

int dns_addr_parse(const char *s, struct dns_addr *ret)
{
        struct dns_addr a = {0};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, &a.in) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, &a.in6) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

static size_t addr_len(int family)
{
        return family == AF_INET ? 4 : 16;
}

static const uint8_t *addr_bytes(const struct dns_addr *a)
{
        return a->family == AF_INET ? (const uint8_t *) &a->in : (const uint8_t *) &a->in6;
}

int dns_subnet_parse(const char *s, struct dns_subnet *ret)
{
        const char *slash;
        char *end;
        unsigned long plen;
        struct dns_subnet sn = {0};

        if (!s || !(slash = strchr(s, '/')))
                return -EINVAL;
        _cleanup_free_ char *host = xstrndup(s, slash - s);
        if (dns_addr_parse(host, &sn.addr) < 0)
                return -EINVAL;
        errno = 0;
        plen = strtoul(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end || plen > addr_len(sn.addr.family) * 8)
                return -EINVAL;
        sn.prefixlen = plen;

        /* Clear the host bits so that containment is a plain prefix comparison. */
        uint8_t *b = sn.addr.family == AF_INET ? (uint8_t *) &sn.addr.in : (uint8_t *) &sn.addr.in6;
        for (size_t i = 0; i < addr_len(sn.addr.family); i++) {
                unsigned bits = i * 8 >= plen ? 0 : plen - i * 8;
                if (bits < 8)
                        b[i] &= (uint8_t) (0xff00 >> bits);
        }
        *ret = sn;
        return 0;
}

bool dns_addr_equal(const struct dns_addr *a, const struct dns_addr *b)
{
        return a->family == b->family && memcmp(addr_bytes(a), addr_bytes(b), addr_len(a->family)) == 0;
}

bool dns_subnet_contains(const struct dns_subnet *s, const struct dns_addr *a)
{
        const uint8_t *x = addr_bytes(&s->addr), *y = addr_bytes(a);

        if (s->addr.family != a->family)
                return false;
        for (unsigned i = 0; i < addr_len(a->family); i++) {
                unsigned bits = i * 8 >= s->prefixlen ? 0 : s->prefixlen - i * 8;
                uint8_t mask = bits >= 8 ? 0xff : (uint8_t) (0xff00 >> bits);
                if ((x[i] & mask) != (y[i] & mask))
                        return false;
        }
        return true;
}

const char *dns_addr_format(const struct dns_addr *a, char *buf, size_t size)
{
        if (!inet_ntop(a->family, addr_bytes(a), buf, size))
                snprintf(buf, size, "?");
        return buf;
}

/* Characters a label may hold in a name we answer for. The dot separates labels; space, comma and
 * backslash never appear in compose names and would make the file or the wire form ambiguous. */
static bool label_char_ok(char c)
{
        return c > 0x20 && c < 0x7f && c != '.' && c != ',' && c != '\\';
}

bool dns_name_valid(const char *s)
{
        size_t len, label = 0;

        if (isempty(s))
                return false;
        len = strlen(s);
        if (s[len - 1] == '.')
                len--;
        if (len == 0 || len > DNS_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                        continue;
                }
                if (!label_char_ok(s[i]) || ++label > 63)
                        return false;
        }
        return label > 0;
}

char *dns_name_normalize(const char *s)
{
        char *n;
        size_t len;

        if (!dns_name_valid(s))
                return NULL;
        len = strlen(s);
        if (s[len - 1] == '.')
                len--;
        n = xstrndup(s, len);
        for (char *p = n; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return n;
}

struct dns_table *dns_table_new(void)
{
        return xcalloc(1, sizeof(struct dns_table));
}

static void entry_done(struct dns_entry *e)
{
        free(e->id);
        strv_free(e->names);
        free(e->addrs);
        strv_free(e->upstreams);
        *e = (struct dns_entry){0};
}

void dns_network_done(struct dns_network *n)
{
        free(n->name);
        free(n->gateways);
        free(n->subnets);
        for (size_t i = 0; i < n->n_entries; i++)
                entry_done(&n->entries[i]);
        free(n->entries);
        *n = (struct dns_network){0};
}

void dns_table_free(struct dns_table *t)
{
        if (!t)
                return;
        free(t->domain);
        for (size_t i = 0; i < t->n_networks; i++)
                dns_network_done(&t->networks[i]);
        free(t->networks);
        strv_free(t->skipped);
        free(t);
}

static void *memdup_n(const void *p, size_t n, size_t size)
{
        void *q;

        if (n == 0)
                return NULL;
        q = xmalloc(n * size);
        memcpy(q, p, n * size);
        return q;
}

void dns_network_copy(struct dns_network *dst, const struct dns_network *src)
{
        *dst = (struct dns_network){
            .name = xstrdup(src->name),
            .gateways = memdup_n(src->gateways, src->n_gateways, sizeof(struct dns_addr)),
            .n_gateways = src->n_gateways,
            .subnets = memdup_n(src->subnets, src->n_subnets, sizeof(struct dns_subnet)),
            .n_subnets = src->n_subnets,
            .internal = src->internal,
            .entries = src->n_entries ? xcalloc(src->n_entries, sizeof(struct dns_entry)) : NULL,
            .n_entries = src->n_entries,
        };
        for (size_t i = 0; i < src->n_entries; i++) {
                const struct dns_entry *e = &src->entries[i];
                dst->entries[i] = (struct dns_entry){
                    .id = e->id ? xstrdup(e->id) : NULL,
                    .names = strv_copy(e->names),
                    .addrs = memdup_n(e->addrs, e->n_addrs, sizeof(struct dns_addr)),
                    .n_addrs = e->n_addrs,
                    .upstreams = e->upstreams ? strv_copy(e->upstreams) : NULL,
                };
        }
}

int dns_table_set_domain(struct dns_table *t, const char *domain, struct stack_error *err)
{
        char *d = NULL;

        if (domain && !(d = dns_name_normalize(domain)))
                return stack_error_set(err, EINVAL, "domain '%s' is not a valid DNS name", domain);
        free(t->domain);
        t->domain = d;
        return 0;
}

struct dns_network *dns_table_find_network(const struct dns_table *t, const char *name)
{
        for (size_t i = 0; i < t->n_networks; i++)
                if (streq(t->networks[i].name, name))
                        return &t->networks[i];
        return NULL;
}

int dns_table_add_network(struct dns_table *t, const char *name, struct dns_network **ret,
                          struct stack_error *err)
{
        size_t cap = t->n_networks;

        if (isempty(name))
                return stack_error_set(err, EINVAL, "network without a name");
        if (dns_table_find_network(t, name))
                return stack_error_set(err, EEXIST, "network '%s' is listed twice", name);
        GROW(t->networks, cap, t->n_networks);
        t->networks[t->n_networks] = (struct dns_network){.name = xstrdup(name)};
        if (ret)
                *ret = &t->networks[t->n_networks];
        t->n_networks++;
        return 0;
}

int dns_network_add_gateway(struct dns_network *n, const char *addr, struct stack_error *err)
{
        struct dns_addr a;
        size_t cap = n->n_gateways;

        if (dns_addr_parse(addr, &a) < 0)
                return stack_error_set(err, EINVAL, "gateway '%s' is not an IP address", addr ? addr : "");
        for (size_t i = 0; i < n->n_gateways; i++)
                if (dns_addr_equal(&n->gateways[i], &a))
                        return 0;
        GROW(n->gateways, cap, n->n_gateways);
        n->gateways[n->n_gateways++] = a;
        return 0;
}

int dns_network_add_subnet(struct dns_network *n, const char *subnet, struct stack_error *err)
{
        struct dns_subnet s;
        size_t cap = n->n_subnets;

        if (dns_subnet_parse(subnet, &s) < 0)
                return stack_error_set(err, EINVAL, "subnet '%s' is not an address/prefix",
                                       subnet ? subnet : "");
        GROW(n->subnets, cap, n->n_subnets);
        n->subnets[n->n_subnets++] = s;
        return 0;
}

int dns_network_add_entry(struct dns_network *n, const char *id, char *const *names, char *const *addrs,
                          struct stack_error *err)
{
        _cleanup_strv_free_ char **norm = NULL;
        _cleanup_free_ struct dns_addr *a = NULL;
        size_t n_a = 0, cap = n->n_entries;

        STRV_FOREACH (s, names) {
                char *x = dns_name_normalize(*s);
                if (!x)
                        return stack_error_set(err, EINVAL, "'%s' is not a valid DNS name", *s);
                if (strv_contains(norm, x))
                        free(x);
                else
                        strv_consume(&norm, x);
        }
        if (!norm)
                return stack_error_set(err, EINVAL, "entry '%s' has no names", id ? id : "");
        a = xcalloc(strv_length(addrs) + 1, sizeof(struct dns_addr));
        STRV_FOREACH (s, addrs) {
                if (dns_addr_parse(*s, &a[n_a]) < 0)
                        return stack_error_set(err, EINVAL, "'%s' is not an IP address", *s);
                n_a++;
        }
        GROW(n->entries, cap, n->n_entries);
        n->entries[n->n_entries++] = (struct dns_entry){
            .id = xstrdup(id ? id : norm[0]),
            .names = TAKE_PTR(norm),
            .addrs = TAKE_PTR(a),
            .n_addrs = n_a,
        };
        return 0;
}

int dns_network_set_upstreams(struct dns_network *n, const char *id, char *const *servers,
                              struct stack_error *err)
{
        struct dns_entry *e = NULL;
        struct dns_addr a;

        for (size_t i = 0; i < n->n_entries && !e; i++)
                if (streq_ptr(n->entries[i].id, id))
                        e = &n->entries[i];
        if (!e)
                return stack_error_set(err, ENOENT, "network '%s' has no entry '%s'", n->name, id ? id : "");
        STRV_FOREACH (s, servers)
                if (dns_addr_parse(*s, &a) < 0)
                        return stack_error_set(err, EINVAL, "dns server '%s' is not an IP address", *s);
        strv_free(e->upstreams);
        e->upstreams = servers && servers[0] ? strv_copy(servers) : NULL;
        return 0;
}

char *const *dns_table_upstreams(const struct dns_table *t, const struct dns_addr *source)
{
        if (!source)
                return NULL;
        for (size_t i = 0; i < t->n_networks; i++)
                for (size_t j = 0; j < t->networks[i].n_entries; j++) {
                        const struct dns_entry *e = &t->networks[i].entries[j];
                        for (size_t k = 0; k < e->n_addrs; k++)
                                if (e->upstreams && e->upstreams[0] && dns_addr_equal(&e->addrs[k], source))
                                        return e->upstreams;
                }
        return NULL;
}

/* Reads a JSON array of strings into a NULL-terminated vector; a missing key is an empty list. */
static int records_strv(const cJSON *obj, const char *key, const char *where, char ***ret,
                        struct stack_error *err)
{
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
        _cleanup_strv_free_ char **l = NULL;
        size_t i = 0;

        if (!arr) {
                *ret = NULL;
                return 0;
        }
        if (!cJSON_IsArray(arr))
                return stack_error_set(err, EINVAL, "%s.%s: expected a list of strings", where, key);
        cJSON_ArrayForEach(it, arr)
        {
                if (!cJSON_IsString(it))
                        return stack_error_set(err, EINVAL, "%s.%s[%zu]: expected a string", where, key, i);
                strv_push(&l, it->valuestring);
                i++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_network(const cJSON *jn, const char *where, struct dns_table *t, struct stack_error *err)
{
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(jn, "name");
        const cJSON *entries = cJSON_GetObjectItemCaseSensitive(jn, "entries"), *je;
        _cleanup_strv_free_ char **gws = NULL, **subnets = NULL;
        struct dns_network *n;
        size_t i = 0;
        int r;

        if (!cJSON_IsObject(jn))
                return stack_error_set(err, EINVAL, "%s: expected an object", where);
        if (!cJSON_IsString(name))
                return stack_error_set(err, EINVAL, "%s.name: expected a string", where);
        if ((r = records_strv(jn, "gateways", where, &gws, err)) < 0 ||
            (r = records_strv(jn, "subnets", where, &subnets, err)) < 0)
                return r;
        if ((r = dns_table_add_network(t, name->valuestring, &n, err)) < 0)
                return stack_error_prefix(err, "%s", where);
        STRV_FOREACH (s, gws)
                if ((r = dns_network_add_gateway(n, *s, err)) < 0)
                        return stack_error_prefix(err, "%s.gateways", where);
        STRV_FOREACH (s, subnets)
                if ((r = dns_network_add_subnet(n, *s, err)) < 0)
                        return stack_error_prefix(err, "%s.subnets", where);
        const cJSON *internal = cJSON_GetObjectItemCaseSensitive(jn, "internal");
        if (internal && !cJSON_IsBool(internal))
                return stack_error_set(err, EINVAL, "%s.internal: expected true or false", where);
        n->internal = cJSON_IsTrue(internal);
        if (entries && !cJSON_IsArray(entries))
                return stack_error_set(err, EINVAL, "%s.entries: expected a list", where);
        cJSON_ArrayForEach(je, entries)
        {
                _cleanup_free_ char *w = xasprintf("%s.entries[%zu]", where, i++);
                _cleanup_strv_free_ char **names = NULL, **addrs = NULL, **dns = NULL;
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(je, "id");

                if (!cJSON_IsObject(je))
                        return stack_error_set(err, EINVAL, "%s: expected an object", w);
                if (id && !cJSON_IsString(id))
                        return stack_error_set(err, EINVAL, "%s.id: expected a string", w);
                if ((r = records_strv(je, "names", w, &names, err)) < 0 ||
                    (r = records_strv(je, "addresses", w, &addrs, err)) < 0 ||
                    (r = records_strv(je, "dns", w, &dns, err)) < 0)
                        return r;
                /* A name nobody can ask for (a label over 63 bytes, say, from a long project name) must
                 * not cost the whole project its names: skip it and keep the rest. */
                _cleanup_strv_free_ char **usable = NULL;
                STRV_FOREACH (x, names) {
                        if (dns_name_valid(*x))
                                strv_push(&usable, *x);
                        else
                                strv_consume(&t->skipped,
                                             xasprintf("%s: skipping '%s': not a valid DNS name", w, *x));
                }
                if (!usable) {
                        strv_consume(&t->skipped, xasprintf("%s: skipped: no valid DNS name", w));
                        continue;
                }
                if ((r = dns_network_add_entry(n, id ? id->valuestring : NULL, usable, addrs, err)) < 0 ||
                    (r = dns_network_set_upstreams(n, n->entries[n->n_entries - 1].id, dns, err)) < 0)
                        return stack_error_prefix(err, "%s", w);
        }
        return 0;
}

int dns_records_parse(const char *json, struct dns_table **ret, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_Parse(json);
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        const cJSON *version, *domain, *networks, *jn;
        size_t i = 0;
        int r;

        if (!root || !cJSON_IsObject(root))
                return stack_error_set(err, EINVAL, "not a JSON object");
        version = cJSON_GetObjectItemCaseSensitive(root, "version");
        if (!cJSON_IsNumber(version) || version->valueint != DNS_RECORDS_VERSION)
                return stack_error_set(err, EINVAL, "version: expected %d", DNS_RECORDS_VERSION);
        domain = cJSON_GetObjectItemCaseSensitive(root, "domain");
        if (domain && !cJSON_IsNull(domain)) {
                if (!cJSON_IsString(domain))
                        return stack_error_set(err, EINVAL, "domain: expected a string");
                if ((r = dns_table_set_domain(t, domain->valuestring, err)) < 0)
                        return r;
        }
        networks = cJSON_GetObjectItemCaseSensitive(root, "networks");
        if (networks && !cJSON_IsArray(networks))
                return stack_error_set(err, EINVAL, "networks: expected a list");
        cJSON_ArrayForEach(jn, networks)
        {
                _cleanup_free_ char *w = xasprintf("networks[%zu]", i++);
                if ((r = parse_network(jn, w, t, err)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

static cJSON *addr_array(const struct dns_addr *a, size_t n)
{
        cJSON *arr = cJSON_CreateArray();
        char buf[INET6_ADDRSTRLEN];

        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(dns_addr_format(&a[i], buf, sizeof(buf))));
        return arr;
}

char *dns_records_format(const struct dns_table *t)
{
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        cJSON *networks;
        char *s;

        cJSON_AddNumberToObject(root, "version", DNS_RECORDS_VERSION);
        if (t->domain)
                cJSON_AddStringToObject(root, "domain", t->domain);
        networks = cJSON_AddArrayToObject(root, "networks");
        for (size_t i = 0; i < t->n_networks; i++) {
                const struct dns_network *n = &t->networks[i];
                cJSON *jn = cJSON_CreateObject(), *subnets, *entries;
                char buf[INET6_ADDRSTRLEN];

                cJSON_AddItemToArray(networks, jn);
                cJSON_AddStringToObject(jn, "name", n->name);
                if (n->internal)
                        cJSON_AddTrueToObject(jn, "internal");
                cJSON_AddItemToObject(jn, "gateways", addr_array(n->gateways, n->n_gateways));
                subnets = cJSON_AddArrayToObject(jn, "subnets");
                for (size_t j = 0; j < n->n_subnets; j++) {
                        _cleanup_free_ char *sn =
                            xasprintf("%s/%u", dns_addr_format(&n->subnets[j].addr, buf, sizeof(buf)),
                                      n->subnets[j].prefixlen);
                        cJSON_AddItemToArray(subnets, cJSON_CreateString(sn));
                }
                entries = cJSON_AddArrayToObject(jn, "entries");
                for (size_t j = 0; j < n->n_entries; j++) {
                        const struct dns_entry *e = &n->entries[j];
                        cJSON *je = cJSON_CreateObject(), *names;

                        cJSON_AddItemToArray(entries, je);
                        cJSON_AddStringToObject(je, "id", e->id);
                        names = cJSON_AddArrayToObject(je, "names");
                        STRV_FOREACH (s2, e->names)
                                cJSON_AddItemToArray(names, cJSON_CreateString(*s2));
                        cJSON_AddItemToObject(je, "addresses", addr_array(e->addrs, e->n_addrs));
                        if (e->upstreams) {
                                cJSON *dns = cJSON_AddArrayToObject(je, "dns");
                                STRV_FOREACH (s2, e->upstreams)
                                        cJSON_AddItemToArray(dns, cJSON_CreateString(*s2));
                        }
                }
        }
        s = cJSON_Print(root);
        if (!s)
                abort(); /* cJSON only fails on allocation, as xmalloc would */
        return s;
}

char *dns_records_path(const char *run_root, const char *project)
{
        return xasprintf("%s/projects/%s/dns.json", run_root, project);
}

int dns_records_load(const char *path, struct dns_table **ret, struct stack_error *err)
{
        _cleanup_free_ char *data = NULL;
        int r;

        if ((r = read_full_file(path, &data, NULL, err)) < 0)
                return r;
        if ((r = dns_records_parse(data, ret, err)) < 0)
                return stack_error_prefix(err, "%s", path);
        return 0;
}

int dns_records_write(const char *path, const struct dns_table *t, struct stack_error *err)
{
        _cleanup_free_ char *s = dns_records_format(t);
        _cleanup_free_ char *text = xasprintf("%s\n", s);

        return write_file_atomic(path, text, strlen(text), 0644, err);
}
