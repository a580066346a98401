/* The DNS responder's message layer and name table: parse, build, visibility, replicas, PTR, limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "net/dns.h"
#include "tests/unit/tap.h"

/* ---- building queries ---- */

static size_t put_qname(uint8_t *p, const char *name)
{
        size_t n = 0;
        while (*name) {
                size_t l = strcspn(name, ".");
                p[n++] = (uint8_t) l;
                memcpy(p + n, name, l);
                n += l;
                name += l;
                if (*name == '.')
                        name++;
        }
        p[n++] = 0;
        return n;
}

/* A standard query with RD; edns_size 0 means no OPT record. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype, uint16_t edns_size)
{
        size_t n = 12;
        memset(buf, 0, 12);
        buf[0] = id >> 8;
        buf[1] = id & 0xff;
        buf[2] = 0x01; /* RD */
        buf[5] = 1;
        n += put_qname(buf + n, name);
        buf[n++] = qtype >> 8;
        buf[n++] = qtype & 0xff;
        buf[n++] = 0;
        buf[n++] = 1;
        if (edns_size) {
                buf[11] = 1;
                buf[n++] = 0;
                buf[n++] = 0;
                buf[n++] = 41;
                buf[n++] = edns_size >> 8;
                buf[n++] = edns_size & 0xff;
                memset(buf + n, 0, 6);
                n += 6;
        }
        return n;
}

/* ---- reading replies ---- */

struct reply {
        uint16_t id, flags;
        int rcode;
        unsigned qd, an, ar;
        char addrs[64][INET6_ADDRSTRLEN]; /* A/AAAA answers, in order */
        unsigned n_addrs;
        char ptr[1024];
        bool opt;
        bool ok;
};

static uint16_t g16(const uint8_t *p)
{
        return (uint16_t) (p[0] << 8 | p[1]);
}

static struct reply parse_reply(const uint8_t *b, size_t len)
{
        struct reply r = {0};
        size_t off = 12;

        if (len < 12)
                return r;
        r.id = g16(b);
        r.flags = g16(b + 2);
        r.rcode = r.flags & 0xf;
        r.qd = g16(b + 4);
        r.an = g16(b + 6);
        r.ar = g16(b + 10);
        for (unsigned i = 0; i < r.qd; i++) {
                if (dns_name_read(b, len, &off, NULL, NULL, NULL) < 0)
                        return r;
                off += 4;
        }
        for (unsigned i = 0; i < r.an + r.ar; i++) {
                uint16_t type, rdlen;
                if (dns_name_read(b, len, &off, NULL, NULL, NULL) < 0 || off + 10 > len)
                        return r;
                type = g16(b + off);
                rdlen = g16(b + off + 8);
                off += 10;
                if (off + rdlen > len)
                        return r;
                if (type == 1 && rdlen == 4 && r.n_addrs < 64)
                        inet_ntop(AF_INET, b + off, r.addrs[r.n_addrs++], INET6_ADDRSTRLEN);
                else if (type == 28 && rdlen == 16 && r.n_addrs < 64)
                        inet_ntop(AF_INET6, b + off, r.addrs[r.n_addrs++], INET6_ADDRSTRLEN);
                else if (type == 12) {
                        size_t o = off;
                        if (dns_name_read(b, len, &o, NULL, NULL, r.ptr) < 0)
                                return r;
                } else if (type == 41)
                        r.opt = true;
                off += rdlen;
        }
        r.ok = off == len;
        return r;
}

static bool has_addr(const struct reply *r, const char *a)
{
        for (unsigned i = 0; i < r->n_addrs; i++)
                if (streq(r->addrs[i], a))
                        return true;
        return false;
}

/* ---- the table used by most tests ----
 * front (10.1.0.0/24, gw 10.1.0.1, fd01::1): web-1 10.1.0.2 + fd01::2, web-2 10.1.0.3, api-1 10.1.0.4
 *   (also on back), alias "www" for web.
 * back (10.2.0.0/24, gw 10.2.0.1): api-1 10.2.0.4, db-1 10.2.0.5 (alias "database", hostname "dbhost"). */
static struct dns_table *make_table(void)
{
        _cleanup_error_ struct stack_error err = {0};
        struct dns_table *t = dns_table_new();
        struct dns_network *front, *back;
        int r = 0;

        r |= dns_table_add_network(t, "demo_front", &front, &err);
        r |= dns_network_add_gateway(front, "10.1.0.1", &err);
        r |= dns_network_add_gateway(front, "fd01::1", &err);
        r |= dns_network_add_subnet(front, "10.1.0.0/24", &err);
        r |= dns_network_add_subnet(front, "fd01::/64", &err);
        r |= dns_network_add_entry(front, "demo-web-1", (char *[]){"demo-web-1", "web", "WWW.", NULL},
                                   (char *[]){"10.1.0.2", "fd01::2", NULL}, &err);
        r |= dns_network_add_entry(front, "demo-web-2", (char *[]){"demo-web-2", "web", "www", NULL},
                                   (char *[]){"10.1.0.3", NULL}, &err);
        r |= dns_network_add_entry(front, "demo-api-1", (char *[]){"demo-api-1", "api", NULL},
                                   (char *[]){"10.1.0.4", NULL}, &err);
        r |= dns_table_add_network(t, "demo_back", &back, &err);
        r |= dns_network_add_gateway(back, "10.2.0.1", &err);
        r |= dns_network_add_subnet(back, "10.2.0.0/24", &err);
        r |= dns_network_add_entry(back, "demo-api-1", (char *[]){"demo-api-1", "api", NULL},
                                   (char *[]){"10.2.0.4", NULL}, &err);
        r |= dns_network_add_entry(back, "demo-db-1",
                                   (char *[]){"demo-db-1", "db", "database", "dbhost", NULL},
                                   (char *[]){"10.2.0.5", NULL}, &err);
        if (!ok(r == 0, "test table builds"))
                diag("%s", err.msg ? err.msg : "?");
        return t;
}

static struct dns_addr A(const char *s) {
        struct dns_addr a = {0};
        if (dns_addr_parse(s, &a) < 0)
                abort();
        return a;
}

/* A pointer to a parsed address that lives until a few more calls. */
static const struct dns_addr *
AP(const char *s)
{
        static struct dns_addr ring[8];
        static unsigned i;
        struct dns_addr *a = &ring[i++ % ELEMENTSOF(ring)];
        *a = A(s);
        return a;
}

/* Asks `name` on `network` from `src` over UDP (max 0) or TCP, and parses the reply. */
static enum dns_verdict ask(const struct dns_table *t, const char *network, const char *src,
                            const char *name, uint16_t qtype, uint16_t edns, size_t max, struct reply *ret)
{
        uint8_t q[600];
        _cleanup_free_ uint8_t *out = xmalloc(DNS_MESSAGE_MAX);
        size_t qlen = make_query(q, 0x1234, name, qtype, edns), olen = 0;
        struct dns_addr sa = src ? A(src) : (struct dns_addr){0};
        enum dns_verdict v = dns_answer(t, network, src ? &sa : NULL, q, qlen, max, 0, out, &olen);

        *ret = v == DNS_VERDICT_ANSWER ? parse_reply(out, olen) : (struct reply){0};
        if (v == DNS_VERDICT_ANSWER && max == 0)
                ok(olen <= (edns ? (edns > 1232 ? 1232 : (edns < 512 ? 512 : edns)) : 512),
                   "UDP reply for %s fits the limit (%zu bytes)", name, olen);
        return v;
}

static void test_addr_and_names(void)
{
        struct dns_subnet sn;
        struct dns_addr a;
        char buf[INET6_ADDRSTRLEN];

        ok(dns_subnet_parse("10.1.0.77/24", &sn) == 0 && sn.prefixlen == 24, "subnet parses");
        is_str(dns_addr_format(&sn.addr, buf, sizeof(buf)), "10.1.0.0", "host bits cleared");
        ok(dns_subnet_contains(&sn, AP("10.1.0.200")), "10.1.0.200 is in 10.1.0.0/24");
        ok(!dns_subnet_contains(&sn, AP("10.1.1.1")), "10.1.1.1 is not");
        ok(dns_subnet_parse("fd00:1::/60", &sn) == 0 && dns_subnet_contains(&sn, AP("fd00:1:0:f::9")),
           "IPv6 prefix containment");
        ok(dns_subnet_parse("10.0.0.0/33", &sn) < 0 && dns_subnet_parse("10.0.0.0", &sn) < 0 &&
               dns_subnet_parse("x/8", &sn) < 0,
           "bad subnets refused");
        ok(dns_addr_parse("300.1.1.1", &a) < 0, "bad address refused");

        ok(dns_name_valid("web") && dns_name_valid("demo-web-1.") && dns_name_valid("my_svc.local"),
           "usual names are valid");
        ok(!dns_name_valid("") && !dns_name_valid(".") && !dns_name_valid("a..b") &&
               !dns_name_valid("a b") && !dns_name_valid(".web") && !dns_name_valid("a,b"),
           "empty labels, spaces and commas are not");
        char longlabel[70];
        memset(longlabel, 'x', 64);
        longlabel[64] = 0;
        ok(!dns_name_valid(longlabel), "a 64-byte label is not valid");
        _cleanup_free_ char *n = dns_name_normalize("Demo-WEB-1.");
        is_str(n, "demo-web-1", "normalized: lower case, no trailing dot");
}

static void test_records_file(void)
{
        _cleanup_dns_table_ struct dns_table *t = make_table(), *back = NULL, *bad = NULL;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        char dir[] = "/tmp/stack-test-dns-XXXXXX";

        ok(dns_table_set_domain(t, "Demo.Internal.", &err) == 0, "domain set");
        ok(dns_network_set_upstreams(&t->networks[0], "demo-web-2", (char *[]){"192.0.2.53", NULL}, &err) ==
               0,
           "own upstream set");
        ok(dns_network_set_upstreams(&t->networks[0], "demo-web-2", (char *[]){"resolver", NULL}, &err) < 0,
           "an upstream must be an address");
        ok(dns_network_set_upstreams(&t->networks[0], "nobody", NULL, &err) < 0, "unknown entry refused");
        stack_error_clear(&err);
        json = dns_records_format(t);
        contains(json, "\"demo_front\"", "format names the network");
        contains(json, "\"www\"", "aliases are lower case in the file");
        ok(dns_records_parse(json, &back, &err) == 0, "formatted table parses back");
        json2 = back ? dns_records_format(back) : NULL;
        is_str(json2, json, "parse(format(t)) formats the same");
        is_str(back ? back->domain : NULL, "demo.internal", "domain normalized");
        char *const *up = back ? dns_table_upstreams(back, AP("10.1.0.3")) : NULL;
        ok(up && streq(up[0], "192.0.2.53") && !up[1], "own upstreams survive the file");
        ok(back && dns_table_upstreams(back, AP("10.1.0.2")) == NULL,
           "others have none: the host's are used");
        struct dns_network copy;
        dns_network_copy(&copy, &t->networks[0]);
        ok(copy.n_entries == 3 && copy.entries[1].upstreams &&
               streq(copy.entries[1].upstreams[0], "192.0.2.53") && streq(copy.entries[2].names[1], "api") &&
               copy.n_subnets == 2 && copy.n_gateways == 2,
           "a copied network keeps entries, names, upstreams, subnets and gateways");
        ok(!copy.entries[0].upstreams, "an entry without upstreams has none in the copy either");
        dns_network_done(&copy);

        ok(mkdtemp(dir) != NULL, "temp dir");
        _cleanup_free_ char *path = path_join(dir, "dns.json");
        ok(dns_records_write(path, t, &err) == 0, "records written");
        dns_table_free(back);
        back = NULL;
        ok(dns_records_load(path, &back, &err) == 0 && back && back->n_networks == 2 &&
               back->networks[0].n_entries == 3 && back->networks[1].entries[1].n_addrs == 1,
           "records loaded from the file");
        unlink(path);
        rmdir(dir);

        stack_error_clear(&err);
        ok(dns_records_parse("{\"version\": 2}", &bad, &err) < 0, "unknown version refused");
        contains(err.msg, "version", "error names the field");
        stack_error_clear(&err);
        ok(dns_records_parse("{\"version\":1,\"networks\":[{\"name\":\"n\",\"entries\":[{\"id\":\"x\","
                             "\"names\":[\"x\"],\"addresses\":[\"10.0.0.1\",\"nope\"]}]}]}",
                             &bad, &err) < 0,
           "a bad address is refused");
        contains(err.msg, "networks[0].entries[0]", "error says where");
        contains(err.msg, "nope", "error names the value");
        stack_error_clear(&err);
        ok(dns_records_parse("{\"version\":1,\"networks\":[{\"name\":\"n\",\"entries\":[{\"id\":\"x\","
                             "\"names\":[\"a b\"],\"addresses\":[\"10.0.0.1\"]},{\"id\":\"y\",\"names\":["
                             "\"an-overly-long-project-name-with-a-long-service-name-in-it-web-1\",\"web\"],"
                             "\"addresses\":[\"10.0.0.2\"]}]}]}",
                             &bad, &err) == 0 &&
               bad->networks[0].n_entries == 1 && strv_length(bad->networks[0].entries[0].names) == 1 &&
               streq(bad->networks[0].entries[0].names[0], "web"),
           "names that cannot be asked for are skipped, not fatal; an entry with none is dropped");
        is_int((int) strv_length(bad->skipped), 3, "the caller learns of every skip");
        contains(bad->skipped[0], "'a b': not a valid DNS name", "naming the name");
        contains(bad->skipped[1], "networks[0].entries[0]: skipped", "and the entry dropped");
        dns_table_free(bad);
        bad = NULL;
        stack_error_clear(&err);
        ok(dns_records_parse("{\"version\":1,\"networks\":[{\"name\":\"n\"},{\"name\":\"n\"}]}", &bad,
                             &err) < 0,
           "a network listed twice is refused");
        stack_error_clear(&err);
        ok(dns_records_parse("[", &bad, &err) < 0, "broken JSON is refused");
        ok(bad == NULL, "nothing returned on error");
}

static void test_name_read(void)
{
        uint8_t wire[256];
        char dotted[1024];
        size_t off, wl;

        /* "www.example" at 12, then "a" + pointer to 16 ("example") at 25. */
        uint8_t m[64] = {0};
        size_t n = 12;
        n += put_qname(m + n, "www.example");
        size_t second = n;
        m[n++] = 1;
        m[n++] = 'a';
        m[n++] = 0xc0;
        m[n++] = 16;
        off = second;
        ok(dns_name_read(m, n, &off, wire, &wl, dotted) == 0, "compressed name reads");
        is_str(dotted, "a.example", "pointer followed");
        is_int(off, n, "offset ends after the pointer");
        is_int(wl, 1 + 1 + 1 + 7 + 1, "wire form uncompressed");

        /* A pointer to itself, and a forward pointer. */
        m[second] = 0xc0;
        m[second + 1] = (uint8_t) second;
        off = second;
        ok(dns_name_read(m, n, &off, NULL, NULL, NULL) == -EBADMSG, "self pointer refused");
        m[second + 1] = (uint8_t) (second + 2);
        off = second;
        ok(dns_name_read(m, n, &off, NULL, NULL, NULL) == -EBADMSG, "forward pointer refused");
        /* Two pointers bouncing between each other. */
        uint8_t loop[20] = {0};
        loop[12] = 0xc0;
        loop[13] = 14;
        loop[14] = 0xc0;
        loop[15] = 12;
        off = 14;
        ok(dns_name_read(loop, 16, &off, NULL, NULL, NULL) == -EBADMSG, "pointer loop refused");
        /* Truncated label, reserved label type. */
        uint8_t tr[] = {3, 'a', 'b'};
        off = 0;
        ok(dns_name_read(tr, sizeof(tr), &off, NULL, NULL, NULL) == -EBADMSG, "truncated label refused");
        uint8_t ext[] = {0x41, 0};
        off = 0;
        ok(dns_name_read(ext, sizeof(ext), &off, NULL, NULL, NULL) == -EBADMSG,
           "extended label type refused");
        /* Over 255 bytes. */
        uint8_t big[320];
        size_t bn = 0;
        for (int i = 0; i < 5; i++) {
                big[bn++] = 60;
                memset(big + bn, 'x', 60);
                bn += 60;
        }
        big[bn++] = 0;
        off = 0;
        ok(dns_name_read(big, bn, &off, NULL, NULL, NULL) == -EBADMSG, "name over 255 bytes refused");
        /* Odd bytes are escaped, so they can never match a name of ours. */
        uint8_t odd[] = {3, 'a', '.', 0x01, 0};
        off = 0;
        ok(dns_name_read(odd, sizeof(odd), &off, NULL, NULL, dotted) == 0, "binary label reads");
        is_str(dotted, "a\\046\\001", "dot and control byte escaped");
}

static void test_query_parse(void)
{
        uint8_t q[600];
        struct dns_query p;
        int rc;
        size_t n = make_query(q, 7, "Web.", DNS_TYPE_A, 1400);

        ok(dns_query_parse(q, n, &p, &rc) == 0, "query parses");
        is_str(p.qname, "Web", "case kept");
        ok(p.edns && p.edns_udp_size == 1400 && p.edns_version == 0, "EDNS seen");
        ok(dns_query_parse(q, 11, &p, &rc) == -ENOMSG, "short packet: nothing to answer");
        q[2] |= 0x80;
        ok(dns_query_parse(q, n, &p, &rc) == -ENOMSG, "a response is not answered");
        q[2] &= 0x7f;
        q[2] |= 2 << 3; /* opcode STATUS */
        ok(dns_query_parse(q, n, &p, &rc) == -EBADMSG && rc == DNS_RCODE_NOTIMP, "other opcodes: NOTIMP");
        q[2] = 1;
        q[5] = 2;
        ok(dns_query_parse(q, n, &p, &rc) == -EBADMSG && rc == DNS_RCODE_FORMERR, "two questions: FORMERR");
        q[5] = 1;
        ok(dns_query_parse(q, n - 3, &p, &rc) == -EBADMSG && rc == DNS_RCODE_FORMERR,
           "truncated OPT: FORMERR");
        /* Two OPT records. */
        memcpy(q + n, q + n - 11, 11);
        q[11] = 2;
        ok(dns_query_parse(q, n + 11, &p, &rc) == -EBADMSG && rc == DNS_RCODE_FORMERR, "two OPT: FORMERR");
}

static void test_lookup(void)
{
        _cleanup_dns_table_ struct dns_table *t = make_table();
        struct reply r;

        is_int(ask(t, "demo_front", "10.1.0.2", "web", DNS_TYPE_A, 0, 0, &r), DNS_VERDICT_ANSWER,
               "service name answered");
        ok(r.rcode == 0 && (r.flags & DNS_FLAG_AA) && (r.flags & DNS_FLAG_QR) && r.id == 0x1234 && r.qd == 1,
           "NOERROR, authoritative, id echoed, question kept");
        ok(r.n_addrs == 2 && has_addr(&r, "10.1.0.2") && has_addr(&r, "10.1.0.3"), "both replicas answered");
        ok(r.ok, "reply well formed");

        ask(t, "demo_front", "10.1.0.3", "WWW.", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 2, "alias, upper case with trailing dot");
        ask(t, "demo_front", "10.1.0.3", "demo-web-1", DNS_TYPE_A, 0, 0, &r);
        ok(r.n_addrs == 1 && has_addr(&r, "10.1.0.2"), "container name gives that container only");
        ask(t, "demo_front", "10.1.0.3", "web", DNS_TYPE_AAAA, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 1 && has_addr(&r, "fd01::2"), "AAAA answered");
        ask(t, "demo_front", "10.1.0.3", "demo-web-2", DNS_TYPE_AAAA, 0, 0, &r);
        ok(r.rcode == 0 && r.an == 0, "no AAAA for an IPv4-only container: NODATA");
        ask(t, "demo_front", "10.1.0.3", "web", DNS_TYPE_MX, 0, 0, &r);
        ok(r.rcode == 0 && r.an == 0, "other types of our names: NODATA");
        ask(t, "demo_front", "10.1.0.3", "web", DNS_TYPE_ANY, 0, 0, &r);
        ok(r.n_addrs == 3, "ANY gives A and AAAA");

        /* Visibility. */
        ask(t, "demo_front", "10.1.0.2", "db", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == DNS_RCODE_NXDOMAIN && r.an == 0, "a service of another network: NXDOMAIN");
        ask(t, "demo_front", "10.1.0.2", "database", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "its alias too");
        ask(t, "demo_front", "10.1.0.2", "dbhost", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "its hostname too");
        ask(t, "demo_back", "10.2.0.5", "web", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "and the other way round");
        ask(t, "demo_back", "10.2.0.5", "database", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 1 && has_addr(&r, "10.2.0.5"), "alias on its own network");
        ask(t, "demo_back", "10.2.0.5", "api", DNS_TYPE_A, 0, 0, &r);
        ok(r.n_addrs == 1 && has_addr(&r, "10.2.0.4"),
           "a service on two networks: the asker's network's address");
        /* A container on both networks sees both. */
        ask(t, "demo_front", "10.1.0.4", "db", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && has_addr(&r, "10.2.0.5"), "a container on two networks resolves names of both");
        /* Asking another network's gateway does not widen what one sees. */
        ask(t, "demo_back", "10.1.0.2", "db", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "asking the other network's gateway still answers by the asker");
        ask(t, "demo_back", "10.1.0.2", "web", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 2, "... with the asker's own names");
        /* name.<network>, as docker answers. */
        ask(t, "demo_front", "10.1.0.2", "web.demo_front", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 2, "service.<network> resolves");
        ask(t, "demo_front", "10.1.0.4", "api.DEMO_BACK.", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 1 && has_addr(&r, "10.2.0.4"),
           "the suffix picks the network's address");
        ask(t, "demo_front", "10.1.0.2", "db.demo_back", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "<name>.<network> of a network the asker is not on: NXDOMAIN");
        is_int(ask(t, "demo_front", "10.1.0.2", "web.demo_nope", DNS_TYPE_A, 0, 0, &r), DNS_VERDICT_FORWARD,
               "an unknown suffix is not ours");
        /* Strangers. */
        ask(t, "demo_front", "192.168.9.9", "web", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_REFUSED, "an asker on none of our networks is refused");
        is_int(ask(t, "demo_front", "192.168.9.9", "example.com", DNS_TYPE_A, 0, 0, &r), DNS_VERDICT_ANSWER,
               "... and not forwarded for");
        ask(t, "demo_front", "10.1.0.1", "web", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 2, "the host (from a gateway address) is answered");
        ask(t, "demo_nope", "10.1.0.2", "web", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_REFUSED, "an unknown network refuses");

        /* Forwarding. */
        is_int(ask(t, "demo_front", "10.1.0.2", "example.com", DNS_TYPE_A, 0, 0, &r), DNS_VERDICT_FORWARD,
               "other names are forwarded");
        is_int(ask(t, "demo_front", "10.1.0.2", "web.example.com", DNS_TYPE_A, 0, 0, &r),
               DNS_VERDICT_FORWARD, "a longer name ending in another domain is forwarded");
        is_int(ask(t, "demo_front", "10.1.0.2", "", DNS_TYPE_NS, 0, 0, &r), DNS_VERDICT_FORWARD,
               "the root is forwarded");

        /* Domain. */
        struct stack_error err = {0};
        dns_table_set_domain(t, "demo.internal", &err);
        ask(t, "demo_front", "10.1.0.2", "Web.Demo.Internal.", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 2, "name under the search domain resolves");
        ask(t, "demo_front", "10.1.0.2", "nothing.demo.internal", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "unknown name under our domain: NXDOMAIN, not forwarded");
        ask(t, "demo_front", "10.1.0.2", "db.demo.internal", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "hidden name under our domain: NXDOMAIN");
        dns_table_set_domain(t, NULL, &err);

        /* Without subnets, the arrival network is trusted. */
        _cleanup_dns_table_ struct dns_table *t2 = dns_table_new();
        struct dns_network *n2;
        dns_table_add_network(t2, "plain", &n2, &err);
        dns_network_add_entry(n2, NULL, (char *[]){"svc", NULL}, (char *[]){"172.30.0.2", NULL}, &err);
        ask(t2, "plain", "8.8.8.8", "svc", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 1,
           "no subnets known: any asker on the network's gateway is answered");
        stack_error_clear(&err);
}

static void test_internal(void)
{
        _cleanup_dns_table_ struct dns_table *t = make_table();
        _cleanup_dns_table_ struct dns_table *back = NULL;
        _cleanup_error_ struct stack_error err = {0};
        struct dns_network *priv;
        struct reply r;

        dns_table_add_network(t, "demo_priv", &priv, &err);
        priv->internal = true;
        dns_network_add_subnet(priv, "10.3.0.0/24", &err);
        dns_network_add_entry(priv, "demo-vault-1", (char *[]){"demo-vault-1", "vault", NULL},
                              (char *[]){"10.3.0.2", NULL}, &err);
        /* api-1 is on front and, now, on the internal network too. */
        dns_network_add_entry(priv, "demo-api-1", (char *[]){"demo-api-1", "api", NULL},
                              (char *[]){"10.3.0.4", NULL}, &err);
        ask(t, "demo_priv", "10.3.0.2", "example.com", DNS_TYPE_A, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_REFUSED,
               "only on an internal network: other names are refused, not forwarded");
        ok(!dns_may_forward(t, "demo_priv", AP("10.3.0.2")), "dns_may_forward says no");
        ask(t, "demo_priv", "10.3.0.2", "vault", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 1, "its own names still resolve");
        is_int(ask(t, "demo_priv", "10.3.0.4", "example.com", DNS_TYPE_A, 0, 0, &r), DNS_VERDICT_FORWARD,
               "a container also on a network with a way out is forwarded for");
        ask(t, "demo_front", "10.1.0.4", "vault", DNS_TYPE_A, 0, 0, &r);
        ok(r.rcode == 0 && r.n_addrs == 1, "and sees the internal network's names");

        _cleanup_free_ char *json = dns_records_format(t);
        contains(json, "\"internal\":\ttrue", "internal is written");
        ok(dns_records_parse(json, &back, &err) == 0 && back->networks[2].internal &&
               !back->networks[0].internal,
           "and read back");
}

static void test_ptr(void)
{
        _cleanup_dns_table_ struct dns_table *t = make_table();
        struct dns_addr a;
        struct reply r;

        ok(dns_reverse_name_parse("2.0.1.10.in-addr.arpa", &a) == 0 && dns_addr_equal(&a, AP("10.1.0.2")),
           "in-addr.arpa parses");
        ok(dns_reverse_name_parse("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.d.f.ip6.arpa.",
                                  &a) < 0,
           "ip6.arpa with a wrong nibble count refused");
        ok(dns_reverse_name_parse("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.d.f.IP6.ARPA",
                                  &a) == 0 &&
               dns_addr_equal(&a, AP("fd01::2")),
           "ip6.arpa parses");
        ok(dns_reverse_name_parse("1.10.in-addr.arpa", &a) < 0 &&
               dns_reverse_name_parse("256.0.1.10.in-addr.arpa", &a) < 0 &&
               dns_reverse_name_parse("x.0.1.10.in-addr.arpa", &a) < 0,
           "partial and bad reverse names refused");

        ask(t, "demo_front", "10.1.0.3", "2.0.1.10.in-addr.arpa", DNS_TYPE_PTR, 0, 0, &r);
        ok(r.rcode == 0 && r.an == 1, "PTR for a container address");
        is_str(r.ptr, "demo-web-1", "PTR names the container");
        ask(t, "demo_front", "10.1.0.3",
            "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.d.f.ip6.arpa", DNS_TYPE_PTR, 0, 0,
            &r);
        is_str(r.ptr, "demo-web-1", "PTR for its IPv6 address");
        ask(t, "demo_front", "10.1.0.3", "5.0.2.10.in-addr.arpa", DNS_TYPE_PTR, 0, 0, &r);
        is_int(r.rcode, DNS_RCODE_NXDOMAIN, "PTR of another network's container: NXDOMAIN");
        is_int(ask(t, "demo_front", "10.1.0.3", "8.8.8.8.in-addr.arpa", DNS_TYPE_PTR, 0, 0, &r),
               DNS_VERDICT_FORWARD, "PTR of other addresses is forwarded");
        struct stack_error err = {0};
        dns_table_set_domain(t, "demo.internal", &err);
        ask(t, "demo_front", "10.1.0.3", "3.0.1.10.in-addr.arpa", DNS_TYPE_PTR, 0, 0, &r);
        is_str(r.ptr, "demo-web-2.demo.internal", "PTR carries the domain when there is one");
}

static void test_limits(void)
{
        _cleanup_dns_table_ struct dns_table *t = dns_table_new();
        _cleanup_error_ struct stack_error err = {0};
        struct dns_network *n;
        struct reply r;
        uint8_t q[600];
        _cleanup_free_ uint8_t *out = xmalloc(DNS_MESSAGE_MAX);
        size_t qlen, olen;

        dns_table_add_network(t, "big", &n, &err);
        dns_network_add_subnet(n, "10.9.0.0/16", &err);
        for (int i = 1; i <= 60; i++) {
                _cleanup_free_ char *id = xasprintf("big-app-%d", i), *ip = xasprintf("10.9.0.%d", i + 1);
                dns_network_add_entry(n, id, (char *[]){id, "app", NULL}, (char *[]){ip, NULL}, &err);
        }
        ask(t, "big", "10.9.0.2", "app", DNS_TYPE_A, 0, 0, &r);
        ok((r.flags & DNS_FLAG_TC) && r.an == 0 && r.rcode == 0,
           "60 replicas over plain UDP: TC, no answers");
        ask(t, "big", "10.9.0.2", "app", DNS_TYPE_A, 4096, 0, &r);
        ok(!(r.flags & DNS_FLAG_TC) && r.n_addrs == 60 && r.opt,
           "with EDNS they fit, and an OPT comes back");
        ask(t, "big", "10.9.0.2", "app", DNS_TYPE_A, 0, DNS_MESSAGE_MAX, &r);
        ok(!(r.flags & DNS_FLAG_TC) && r.n_addrs == 60, "over TCP all 60");
        ask(t, "big", "10.9.0.2", "big-app-7", DNS_TYPE_A, 0, 0, &r);
        ok(r.n_addrs == 1 && has_addr(&r, "10.9.0.8"), "one replica by container name");

        /* Rotation spreads the first answer over the replicas. */
        qlen = make_query(q, 1, "app", DNS_TYPE_A, 0);
        dns_answer(t, "big", NULL, q, qlen, DNS_MESSAGE_MAX, 0, out, &olen);
        r = parse_reply(out, olen);
        _cleanup_free_ char *first0 = xstrdup(r.addrs[0]);
        dns_answer(t, "big", NULL, q, qlen, DNS_MESSAGE_MAX, 1, out, &olen);
        r = parse_reply(out, olen);
        ok(!streq(first0, r.addrs[0]) && r.n_addrs == 60, "rotation changes the first address");

        /* EDNS version 1: BADVERS. */
        qlen = make_query(q, 1, "app", DNS_TYPE_A, 1232);
        q[qlen - 5] = 1; /* version byte of the OPT TTL */
        is_int(dns_answer(t, "big", NULL, q, qlen, 0, 0, out, &olen), DNS_VERDICT_ANSWER, "EDNS1 answered");
        r = parse_reply(out, olen);
        ok(r.opt && r.rcode == 0 && olen >= 11 && out[olen - 6] == 1, "BADVERS in the OPT extended rcode");

        /* FORMERR keeps the id. */
        qlen = make_query(q, 0xbeef, "app", DNS_TYPE_A, 0);
        q[5] = 0;
        dns_answer(t, "big", NULL, q, qlen, 0, 0, out, &olen);
        r = parse_reply(out, olen);
        ok(r.id == 0xbeef && r.rcode == DNS_RCODE_FORMERR && r.qd == 0, "no question: FORMERR with the id");
        /* Non-IN class. */
        qlen = make_query(q, 2, "app", DNS_TYPE_A, 0);
        q[qlen - 1] = 3; /* CH */
        dns_answer(t, "big", NULL, q, qlen, 0, 0, out, &olen);
        is_int(parse_reply(out, olen).rcode, DNS_RCODE_REFUSED, "class CH refused");

        /* SERVFAIL for failed forwards. */
        qlen = make_query(q, 0x4242, "example.org", DNS_TYPE_AAAA, 1232);
        olen = dns_error_reply(q, qlen, DNS_RCODE_SERVFAIL, out, DNS_MESSAGE_MAX);
        r = parse_reply(out, olen);
        ok(r.id == 0x4242 && r.rcode == DNS_RCODE_SERVFAIL && r.qd == 1 && r.opt && r.ok, "SERVFAIL reply");
        is_int(dns_error_reply(q, 5, DNS_RCODE_SERVFAIL, out, DNS_MESSAGE_MAX), 0,
               "no reply without a header");
}

static void test_resolv_conf(void)
{
        char path[] = "/tmp/stack-test-resolv-XXXXXX";
        int fd = mkstemp(path);
        const char *text =
            "# comment\nsearch example.com\nnameserver 127.0.0.53\n  nameserver\t10.0.0.2 # x\n"
            "nameserver fe80::1%eth0\nnameserver bogus\nnameserver2 1.1.1.1\nnameserver ::1\n";

        ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t) strlen(text), "resolv.conf written");
        close(fd);
        _cleanup_strv_free_ char **l = dns_resolv_conf_servers(path);
        _cleanup_free_ char *j = strv_join(l, ",");
        is_str(j, "127.0.0.53,10.0.0.2,::1",
               "nameservers in order, loopback kept, scoped and bad ones skipped");
        unlink(path);
        ok(dns_resolv_conf_servers("/nonexistent/resolv.conf") == NULL, "missing file: no servers");
}

static void test_container_resolv_conf(void)
{
        char path[] = "/tmp/stack-test-resolv-XXXXXX";
        int fd = mkstemp(path);
        const char *text = "nameserver 127.0.0.53\ndomain old.example\nsearch corp.example lab.example\n"
                           "options edns0 trust-ad\n";
        struct dns_addr gw[2] = {A("10.1.0.1"), A("fd01::1")};

        ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t) strlen(text), "host resolv.conf written");
        close(fd);
        _cleanup_free_ char *c = dns_container_resolv_conf(gw, 2, "demo.internal", path);
        contains(c, "nameserver 10.1.0.1\nnameserver fd01::1\n", "nameservers are the gateways");
        ok(!strstr(c, "127.0.0.53"), "the host's loopback stub is not given to the container");
        contains(c, "search demo.internal corp.example lab.example\n",
                 "our domain first, then the host's (last wins)");
        contains(c, "options edns0 trust-ad ndots:0\n", "host options kept, ndots:0 added");
        unlink(path);

        _cleanup_free_ char *d = dns_container_resolv_conf(gw, 1, NULL, "/nonexistent");
        ok(d && !strstr(d, "search") && strstr(d, "nameserver 10.1.0.1\noptions ndots:0\n"),
           "no host file, no domain: only our server and ndots:0");

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ok(fd >= 0 && write(fd, "options ndots:2\n", 16) == 16, "host with ndots");
        close(fd);
        _cleanup_free_ char *e = dns_container_resolv_conf(gw, 1, NULL, path);
        contains(e, "options ndots:2\n", "the host's ndots is kept, not overridden");
        unlink(path);

        _cleanup_free_ char *rp = dns_records_path("/run/stack", "demo");
        is_str(rp, "/run/stack/projects/demo/dns.json", "records path under the run root");
}

int main(void)
{
        test_addr_and_names();
        test_records_file();
        test_name_read();
        test_query_parse();
        test_lookup();
        test_internal();
        test_ptr();
        test_limits();
        test_resolv_conf();
        test_container_resolv_conf();
        return done_testing();
}
