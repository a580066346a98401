/* The embedded DNS responder's pure half: message parsing, name lookup in the table, answers and resolv.conf
 * text. The sockets and the forwarder are in net/dns-server.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "net/dns.h"
#include "net/dns-internal.h"

uint16_t dns_rd16(const uint8_t *p)
{
        return (uint16_t) ((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
        return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

void dns_wr16(uint8_t *p, uint16_t v)
{
        p[0] = v >> 8;
        p[1] = v & 0xff;
}

int dns_name_read(const uint8_t *buf, size_t len, size_t *offset, uint8_t *wire, size_t *wire_len,
                  char *dotted)
{
        size_t pos = *offset, lowest = *offset, end = 0, wl = 0, dl = 0;
        bool jumped = false;

        for (;;) {
                uint8_t l;

                if (pos >= len)
                        return -EBADMSG;
                l = buf[pos];
                if ((l & 0xc0) == 0xc0) {
                        size_t ptr;

                        if (pos + 1 >= len)
                                return -EBADMSG;
                        ptr = ((size_t) (l & 0x3f) << 8) | buf[pos + 1];
                        /* Every jump must go below everything read so far: that alone rules out loops. */
                        if (ptr >= lowest)
                                return -EBADMSG;
                        if (!jumped)
                                end = pos + 2;
                        jumped = true;
                        lowest = pos = ptr;
                        continue;
                }
                if (l & 0xc0) /* the obsolete extended label types */
                        return -EBADMSG;
                if (l == 0) {
                        pos++;
                        break;
                }
                if (l > len - pos - 1)
                        return -EBADMSG;
                if (wl + 1 + l + 1 > 255)
                        return -EBADMSG;
                if (wire) {
                        wire[wl] = l;
                        memcpy(wire + wl + 1, buf + pos + 1, l);
                }
                wl += 1 + l;
                if (dotted) {
                        if (dl > 0)
                                dotted[dl++] = '.';
                        for (size_t i = 0; i < l; i++) {
                                uint8_t c = buf[pos + 1 + i];
                                if (c > 0x20 && c < 0x7f && c != '.' && c != '\\')
                                        dotted[dl++] = (char) c;
                                else
                                        dl += (size_t) sprintf(dotted + dl, "\\%03u", c);
                        }
                }
                pos += 1 + l;
        }
        if (wire)
                wire[wl] = 0;
        wl++;
        if (dotted)
                dotted[dl] = 0;
        if (wire_len)
                *wire_len = wl;
        *offset = jumped ? end : pos;
        return 0;
}

int dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *q, int *ret_rcode)
{
        size_t off = DNS_HEADER_SIZE;
        unsigned qd, an, ns, ar;

        memset(q, 0, sizeof(*q));
        *ret_rcode = DNS_RCODE_NOERROR;
        if (len < DNS_HEADER_SIZE)
                return -ENOMSG;
        q->id = dns_rd16(buf);
        q->flags = dns_rd16(buf + 2);
        /* Never answer an answer: two responders could otherwise bounce one packet forever. */
        if (q->flags & DNS_FLAG_QR)
                return -ENOMSG;
        qd = dns_rd16(buf + 4);
        an = dns_rd16(buf + 6);
        ns = dns_rd16(buf + 8);
        ar = dns_rd16(buf + 10);
        if (((q->flags >> 11) & 0xf) != 0) {
                *ret_rcode = DNS_RCODE_NOTIMP;
                return -EBADMSG;
        }
        *ret_rcode = DNS_RCODE_FORMERR;
        if (qd != 1)
                return -EBADMSG;
        if (dns_name_read(buf, len, &off, q->qname_wire, &q->qname_wire_len, q->qname) < 0)
                return -EBADMSG;
        if (len - off < 4)
                return -EBADMSG;
        q->qtype = dns_rd16(buf + off);
        q->qclass = dns_rd16(buf + off + 2);
        off += 4;

        /* A query has no answers, but tolerate and skip well-formed ones; look for EDNS in additional. */
        for (unsigned i = 0; i < an + ns + ar; i++) {
                size_t wl;
                uint16_t type, rdlen;

                if (dns_name_read(buf, len, &off, NULL, &wl, NULL) < 0 || len - off < 10)
                        return -EBADMSG;
                type = dns_rd16(buf + off);
                rdlen = dns_rd16(buf + off + 8);
                if (rdlen > len - off - 10)
                        return -EBADMSG;
                if (type == DNS_TYPE_OPT) {
                        uint32_t ttl = rd32(buf + off + 4);
                        /* RFC 6891 6.1.1: one OPT, owned by the root, in the additional section. */
                        if (i < an + ns || q->edns || wl != 1)
                                return -EBADMSG;
                        q->edns = true;
                        q->edns_udp_size = dns_rd16(buf + off + 2);
                        q->edns_version = (ttl >> 16) & 0xff;
                        q->edns_do = ttl & 0x8000;
                }
                off += 10 + rdlen;
        }
        *ret_rcode = DNS_RCODE_NOERROR;
        return 0;
}

int dns_reverse_name_parse(const char *name, struct dns_addr *ret)
{
        struct dns_addr a = {0};
        size_t len = strlen(name);
        const char *p = name;

        if (len > 0 && name[len - 1] == '.')
                len--;
        if (len > 13 && strncasecmp(name + len - 13, ".in-addr.arpa", 13) == 0) {
                uint8_t *b = (uint8_t *) &a.in;
                a.family = AF_INET;
                for (int i = 3; i >= 0; i--) {
                        unsigned v = 0, digits = 0;
                        while (p < name + len && isdigit((unsigned char) *p) && digits < 4) {
                                v = v * 10 + (unsigned) (*p++ - '0');
                                digits++;
                        }
                        if (digits == 0 || digits > 3 || v > 255 || *p != '.')
                                return -EINVAL;
                        b[i] = (uint8_t) v;
                        p++;
                }
                if (p != name + len - 12)
                        return -EINVAL;
        } else if (len > 9 && strncasecmp(name + len - 9, ".ip6.arpa", 9) == 0) {
                uint8_t *b = (uint8_t *) &a.in6;
                a.family = AF_INET6;
                if (len != 32 * 2 + 8) /* 32 nibbles with their dots, then "ip6.arpa" */
                        return -EINVAL;
                for (int i = 31; i >= 0; i--) {
                        int c = tolower((unsigned char) p[0]), v;
                        if (c >= '0' && c <= '9')
                                v = c - '0';
                        else if (c >= 'a' && c <= 'f')
                                v = c - 'a' + 10;
                        else
                                return -EINVAL;
                        if (p[1] != '.')
                                return -EINVAL;
                        b[i / 2] |= (uint8_t) (i % 2 ? v : v << 4);
                        p += 2;
                }
        } else
                return -EINVAL;
        *ret = a;
        return 0;
}

static bool network_has_addr(const struct dns_network *n, const struct dns_addr *a,
                             const struct dns_entry **ret)
{
        for (size_t i = 0; i < n->n_entries; i++)
                for (size_t j = 0; j < n->entries[i].n_addrs; j++)
                        if (dns_addr_equal(&n->entries[i].addrs[j], a)) {
                                if (ret)
                                        *ret = &n->entries[i];
                                return true;
                        }
        return false;
}

static bool network_contains(const struct dns_network *n, const struct dns_addr *a)
{
        for (size_t i = 0; i < n->n_subnets; i++)
                if (dns_subnet_contains(&n->subnets[i], a))
                        return true;
        return network_has_addr(n, a, NULL);
}

static bool table_is_gateway(const struct dns_table *t, const struct dns_addr *a)
{
        for (size_t i = 0; i < t->n_networks; i++)
                for (size_t j = 0; j < t->networks[i].n_gateways; j++)
                        if (dns_addr_equal(&t->networks[i].gateways[j], a))
                                return true;
        return false;
}

/* The networks whose names the asker sees, the one it is on first. The query's arrival socket says
 * which gateway was asked, but any container can route to any gateway address of the host, so the
 * source address decides: the asker's own network, plus every other network the same container is
 * attached to (a container on two networks resolves the names of both, as with docker). Returns the
 * count, 0 when the asker is on none of our networks. vis holds t->n_networks slots. */
static size_t visible_networks(const struct dns_table *t, const char *network, const struct dns_addr *source,
                               const struct dns_network **vis)
{
        const struct dns_network *arrival = dns_table_find_network(t, network), *asker = NULL;
        const struct dns_entry *self = NULL;
        size_t n = 0;

        if (!arrival)
                return 0;
        if (!source || network_contains(arrival, source))
                asker = arrival;
        for (size_t i = 0; !asker && i < t->n_networks; i++)
                if (network_contains(&t->networks[i], source))
                        asker = &t->networks[i];
        /* The host itself asks from the gateway address; with no subnets known we cannot tell. */
        if (!asker && (arrival->n_subnets == 0 || table_is_gateway(t, source)))
                asker = arrival;
        if (!asker)
                return 0;
        vis[n++] = asker;
        if (source)
                network_has_addr(asker, source, &self);
        if (!self || !self->id)
                return n;
        for (size_t i = 0; i < t->n_networks; i++) {
                const struct dns_network *o = &t->networks[i];
                if (o == asker)
                        continue;
                for (size_t j = 0; j < o->n_entries; j++)
                        if (streq_ptr(o->entries[j].id, self->id)) {
                                vis[n++] = o;
                                break;
                        }
        }
        return n;
}

static bool entry_has_name(const struct dns_entry *e, const char *name)
{
        STRV_FOREACH (s, e->names)
                if (strcasecmp(*s, name) == 0)
                        return true;
        return false;
}

/* Whether name is one of the entry's names, bare or followed by ".<network>" (as docker answers
 * "web.myapp_default"): the suffix only picks among networks the asker sees anyway. */
static bool entry_matches(const struct dns_entry *e, const struct dns_network *n, const char *name)
{
        size_t len = strlen(name), nlen = strlen(n->name);

        if (entry_has_name(e, name))
                return true;
        if (len > nlen + 1 && name[len - nlen - 1] == '.' && strcasecmp(name + len - nlen, n->name) == 0) {
                char bare[DNS_NAME_MAX + 2];
                if (len - nlen - 1 >= sizeof(bare))
                        return false;
                memcpy(bare, name, len - nlen - 1);
                bare[len - nlen - 1] = 0;
                return entry_has_name(e, bare);
        }
        return false;
}

/* Strips a trailing dot and the table's domain. *in_domain tells whether the name was under it (then
 * it is ours even when unknown: NXDOMAIN, not forwarded). Returns false for names too long to be ours. */
static bool name_local_part(const struct dns_table *t, const char *name, char *buf, size_t size,
                            bool *in_domain)
{
        size_t len = strlen(name);

        *in_domain = false;
        if (len > 0 && name[len - 1] == '.')
                len--;
        if (len >= size)
                return false;
        memcpy(buf, name, len);
        buf[len] = 0;
        if (t->domain) {
                size_t dlen = strlen(t->domain);
                if (strcasecmp(buf, t->domain) == 0) {
                        *in_domain = true;
                        buf[0] = 0;
                } else if (len > dlen + 1 && buf[len - dlen - 1] == '.' &&
                           strcasecmp(buf + len - dlen, t->domain) == 0) {
                        *in_domain = true;
                        buf[len - dlen - 1] = 0;
                }
        }
        return true;
}

enum dns_lookup_result dns_lookup(const struct dns_table *t, const char *network,
                                  const struct dns_addr *source, const char *name, int family,
                                  struct dns_addr *ret, size_t max, size_t *ret_n)
{
        _cleanup_free_ const struct dns_network **vis = xcalloc(t->n_networks + 1, sizeof(*vis));
        size_t n_vis, n = 0;
        char local[DNS_NAME_MAX + 2];
        bool in_domain, found = false;

        *ret_n = 0;
        n_vis = visible_networks(t, network, source, vis);
        if (n_vis == 0)
                return DNS_LOOKUP_REFUSED;
        if (!name_local_part(t, name, local, sizeof(local), &in_domain))
                return DNS_LOOKUP_FOREIGN;
        if (local[0] == 0) /* the domain itself: ours, with no addresses */
                return in_domain ? DNS_LOOKUP_FOUND : DNS_LOOKUP_FOREIGN;

        for (size_t i = 0; i < n_vis; i++)
                for (size_t j = 0; j < vis[i]->n_entries; j++) {
                        const struct dns_entry *e = &vis[i]->entries[j];
                        if (!entry_matches(e, vis[i], local))
                                continue;
                        found = true;
                        for (size_t k = 0; k < e->n_addrs; k++) {
                                bool dup = false;
                                if (family != AF_UNSPEC && e->addrs[k].family != family)
                                        continue;
                                for (size_t m = 0; m < n && !dup; m++)
                                        dup = dns_addr_equal(&ret[m], &e->addrs[k]);
                                if (!dup && n < max)
                                        ret[n++] = e->addrs[k];
                        }
                }
        if (found) {
                *ret_n = n;
                return DNS_LOOKUP_FOUND;
        }
        for (size_t i = 0; i < t->n_networks; i++)
                for (size_t j = 0; j < t->networks[i].n_entries; j++)
                        if (entry_matches(&t->networks[i].entries[j], &t->networks[i], local))
                                return DNS_LOOKUP_HIDDEN;
        return in_domain ? DNS_LOOKUP_HIDDEN : DNS_LOOKUP_FOREIGN;
}

enum dns_lookup_result dns_lookup_addr(const struct dns_table *t, const char *network,
                                       const struct dns_addr *source, const struct dns_addr *addr,
                                       const char **ret)
{
        _cleanup_free_ const struct dns_network **vis = xcalloc(t->n_networks + 1, sizeof(*vis));
        size_t n_vis = visible_networks(t, network, source, vis);
        const struct dns_entry *e;

        if (n_vis == 0)
                return DNS_LOOKUP_REFUSED;
        for (size_t i = 0; i < n_vis; i++)
                if (network_has_addr(vis[i], addr, &e)) {
                        *ret = e->names[0];
                        return DNS_LOOKUP_FOUND;
                }
        for (size_t i = 0; i < t->n_networks; i++)
                if (network_has_addr(&t->networks[i], addr, NULL))
                        return DNS_LOOKUP_HIDDEN;
        return DNS_LOOKUP_FOREIGN;
}

bool dns_may_forward(const struct dns_table *t, const char *network, const struct dns_addr *source)
{
        _cleanup_free_ const struct dns_network **vis = xcalloc(t->n_networks + 1, sizeof(*vis));
        size_t n_vis = visible_networks(t, network, source, vis);

        /* Forwarded queries are a way out (DNS tunnels are a thing): only for containers with at least
         * one network that has one. */
        for (size_t i = 0; i < n_vis; i++)
                if (!vis[i]->internal)
                        return true;
        return false;
}

/* A reply under construction, bounded by the buffer (DNS_MESSAGE_MAX). */
struct msg {
        uint8_t *buf;
        size_t len;
        bool overflow;
};

static void put(struct msg *m, const void *p, size_t n)
{
        if (m->overflow || n > DNS_MESSAGE_MAX - m->len) {
                m->overflow = true;
                return;
        }
        memcpy(m->buf + m->len, p, n);
        m->len += n;
}

static void put16(struct msg *m, uint16_t v)
{
        uint8_t b[2];
        dns_wr16(b, v);
        put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
        put16(m, v >> 16);
        put16(m, v & 0xffff);
}

/* Our names are validated (no dots or escapes inside labels), so splitting at dots is exact. */
static void put_name(struct msg *m, const char *name, const char *domain)
{
        const char *parts[2] = {name, domain};
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                const char *p = parts[i];
                while (p && *p) {
                        size_t l = strcspn(p, ".");
                        uint8_t lb = (uint8_t) l;
                        put(m, &lb, 1);
                        put(m, p, l);
                        p += l;
                        if (*p == '.')
                                p++;
                }
        }
        put(m, "", 1);
}

static void put_header(struct msg *m, const struct dns_query *q, uint16_t flags, int rcode, bool question)
{
        m->len = 0;
        put16(m, q->id);
        put16(m, DNS_FLAG_QR | (q->flags & (0xf << 11)) | (q->flags & DNS_FLAG_RD) | DNS_FLAG_RA | flags |
                     (rcode & 0xf));
        put16(m, question ? 1 : 0);
        put16(m, 0);
        put16(m, 0);
        put16(m, 0);
        if (question) {
                put(m, q->qname_wire, q->qname_wire_len);
                put16(m, q->qtype);
                put16(m, q->qclass);
        }
}

static void put_opt(struct msg *m, const struct dns_query *q, int rcode)
{
        if (!q->edns)
                return;
        put(m, "", 1);
        put16(m, DNS_TYPE_OPT);
        put16(m, DNS_UDP_MAX_EDNS);
        /* extended rcode (upper 8 bits), version 0, DO copied as RFC 3225 asks */
        put32(m, ((uint32_t) (rcode >> 4) << 24) | (q->edns_do ? 0x8000 : 0));
        put16(m, 0);
        dns_wr16(m->buf + 10, dns_rd16(m->buf + 10) + 1);
}

size_t dns_udp_limit(const struct dns_query *q)
{
        if (!q->edns || q->edns_udp_size <= DNS_UDP_MAX_PLAIN)
                return DNS_UDP_MAX_PLAIN;
        return q->edns_udp_size < DNS_UDP_MAX_EDNS ? q->edns_udp_size : DNS_UDP_MAX_EDNS;
}

static size_t finish_error(struct msg *m, const struct dns_query *q, int rcode, bool question)
{
        put_header(m, q, 0, rcode, question);
        put_opt(m, q, rcode);
        return m->len;
}

size_t dns_error_reply(const uint8_t *query, size_t len, int rcode, uint8_t *out, size_t size)
{
        struct dns_query q;
        struct msg m = {.buf = out};
        int prc;
        int r = dns_query_parse(query, len, &q, &prc);

        if (r == -ENOMSG || size < DNS_MESSAGE_MAX)
                return 0;
        return finish_error(&m, &q, r < 0 ? prc : rcode, r == 0);
}

enum dns_verdict dns_answer(const struct dns_table *t, const char *network, const struct dns_addr *source,
                            const uint8_t *query, size_t len, size_t max_size, unsigned rotate, uint8_t *out,
                            size_t *ret_len)
{
        _cleanup_free_ struct dns_addr *addrs = NULL;
        struct dns_query q;
        struct msg m = {.buf = out};
        enum dns_lookup_result res;
        const char *ptr_name = NULL;
        struct dns_addr rev;
        size_t n = 0, limit, qend, rr_size;
        int rcode, family = -1;
        uint16_t ancount = 0;
        int r = dns_query_parse(query, len, &q, &rcode);

        if (r == -ENOMSG)
                return DNS_VERDICT_DROP;
        if (r < 0) {
                *ret_len = finish_error(&m, &q, rcode, false);
                return DNS_VERDICT_ANSWER;
        }
        limit = max_size ? max_size : dns_udp_limit(&q);
        if (q.edns && q.edns_version > 0) {
                *ret_len = finish_error(&m, &q, DNS_RCODE_BADVERS, false);
                return DNS_VERDICT_ANSWER;
        }
        if (q.qclass != DNS_CLASS_IN && q.qclass != DNS_CLASS_ANY) {
                *ret_len = finish_error(&m, &q, DNS_RCODE_REFUSED, true);
                return DNS_VERDICT_ANSWER;
        }

        if (q.qtype == DNS_TYPE_PTR && dns_reverse_name_parse(q.qname, &rev) == 0) {
                res = dns_lookup_addr(t, network, source, &rev, &ptr_name);
        } else {
                if (q.qtype == DNS_TYPE_A)
                        family = AF_INET;
                else if (q.qtype == DNS_TYPE_AAAA)
                        family = AF_INET6;
                else if (q.qtype == DNS_TYPE_ANY)
                        family = AF_UNSPEC;
                addrs = xmalloc(DNS_MAX_ADDRS * sizeof(*addrs));
                res = dns_lookup(t, network, source, q.qname, family, addrs, family < 0 ? 0 : DNS_MAX_ADDRS,
                                 &n);
        }
        switch (res) {
        case DNS_LOOKUP_FOREIGN:
                if (dns_may_forward(t, network, source))
                        return DNS_VERDICT_FORWARD;
                *ret_len = finish_error(&m, &q, DNS_RCODE_REFUSED, true);
                return DNS_VERDICT_ANSWER;
        case DNS_LOOKUP_REFUSED:
                *ret_len = finish_error(&m, &q, DNS_RCODE_REFUSED, true);
                return DNS_VERDICT_ANSWER;
        case DNS_LOOKUP_HIDDEN:
                put_header(&m, &q, DNS_FLAG_AA, DNS_RCODE_NXDOMAIN, true);
                put_opt(&m, &q, 0);
                *ret_len = m.len;
                return DNS_VERDICT_ANSWER;
        case DNS_LOOKUP_FOUND:
                break;
        }

        put_header(&m, &q, DNS_FLAG_AA, DNS_RCODE_NOERROR, true);
        qend = m.len;
        if (ptr_name) {
                put16(&m, 0xc000 | DNS_HEADER_SIZE); /* the question's name */
                put16(&m, DNS_TYPE_PTR);
                put16(&m, DNS_CLASS_IN);
                put32(&m, DNS_TTL);
                size_t rdlen_at = m.len;
                put16(&m, 0);
                put_name(&m, ptr_name, t->domain);
                if (!m.overflow)
                        dns_wr16(m.buf + rdlen_at, (uint16_t) (m.len - rdlen_at - 2));
                ancount = 1;
        }
        for (size_t i = 0; i < n; i++) {
                const struct dns_addr *a = &addrs[(i + rotate) % n];
                bool v4 = a->family == AF_INET;
                put16(&m, 0xc000 | DNS_HEADER_SIZE);
                put16(&m, v4 ? DNS_TYPE_A : DNS_TYPE_AAAA);
                put16(&m, DNS_CLASS_IN);
                put32(&m, DNS_TTL);
                put16(&m, v4 ? 4 : 16);
                put(&m, v4 ? (const void *) &a->in : (const void *) &a->in6, v4 ? 4 : 16);
                ancount++;
        }
        rr_size = q.edns ? 11 : 0;
        if (m.overflow || m.len + rr_size > limit) {
                /* It does not fit: say so (TC) with no answers, and the client asks again over TCP. */
                m.overflow = false;
                m.len = qend;
                ancount = 0;
                dns_wr16(m.buf + 2, dns_rd16(m.buf + 2) | DNS_FLAG_TC);
        }
        dns_wr16(m.buf + 6, ancount);
        put_opt(&m, &q, 0);
        *ret_len = m.len;
        return DNS_VERDICT_ANSWER;
}

char **dns_resolv_conf_servers(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        char **l = NULL;

        if (!f)
                return NULL;
        while (getline(&line, &cap, f) >= 0) {
                char *p = line, *e;
                struct dns_addr a;

                p += strspn(p, " \t");
                if (!startswith(p, "nameserver") || !strchr(" \t", p[10]) || p[10] == 0)
                        continue;
                p += 10;
                p += strspn(p, " \t");
                e = p + strcspn(p, " \t\r\n#;");
                *e = 0;
                /* Link-local servers with a %scope would need the interface: not supported. */
                if (dns_addr_parse(p, &a) == 0)
                        strv_push(&l, p);
        }
        return l;
}

char *dns_container_resolv_conf(const struct dns_addr *servers, size_t n_servers, const char *domain,
                                const char *host_resolv_conf)
{
        _cleanup_fclose_ FILE *f = host_resolv_conf ? fopen(host_resolv_conf, "re") : NULL;
        _cleanup_free_ char *line = NULL;
        _cleanup_strv_free_ char **search = NULL, **options = NULL;
        struct strbuf b = {0};
        size_t cap = 0;
        bool ndots = false;

        if (domain)
                strv_push(&search, domain);
        while (f && getline(&line, &cap, f) >= 0) {
                _cleanup_strv_free_ char **w = NULL;
                char *p = line, *save = NULL;

                p[strcspn(p, "#;\n")] = 0;
                for (char *tok = strtok_r(p, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save))
                        strv_push(&w, tok);
                if (!w)
                        continue;
                /* "domain" and "search" replace each other; the last one wins, as in glibc. */
                if (streq(w[0], "search") || streq(w[0], "domain")) {
                        strv_free(search);
                        search = NULL;
                        if (domain)
                                strv_push(&search, domain);
                        STRV_FOREACH (x, w + 1)
                                if (!strv_contains(search, *x))
                                        strv_push(&search, *x);
                } else if (streq(w[0], "options")) {
                        STRV_FOREACH (x, w + 1) {
                                if (startswith(*x, "ndots:"))
                                        ndots = true;
                                strv_push(&options, *x);
                        }
                }
        }
        strbuf_puts(&b, "# Written by stack: the project's DNS responder answers on the network gateway.\n");
        for (size_t i = 0; i < n_servers; i++) {
                char buf[INET6_ADDRSTRLEN];
                strbuf_printf(&b, "nameserver %s\n", dns_addr_format(&servers[i], buf, sizeof(buf)));
        }
        if (search) {
                _cleanup_free_ char *j = strv_join(search, " ");
                strbuf_printf(&b, "search %s\n", j);
        }
        if (!ndots)
                strv_push(&options, "ndots:0");
        _cleanup_free_ char *o = strv_join(options, " ");
        strbuf_printf(&b, "options %s\n", o);
        return strbuf_take(&b);
}
