/* DNS queries as they arrive from containers: any bytes must give no reply or a well-formed one within
 * the transport's size limit, never a crash, a leak or a read out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/dns.h"
#include "tests/fuzz/fuzz.h"

static struct dns_table *table(void)
{
        struct dns_table *t = dns_table_new();
        struct dns_network *n;
        struct stack_error err = {0};

        if (dns_table_set_domain(t, "demo.internal", &err) < 0 ||
            dns_table_add_network(t, "front", &n, &err) < 0 ||
            dns_network_add_subnet(n, "10.1.0.0/24", &err) < 0 ||
            dns_network_add_entry(n, "demo-web-1", (char *[]){"demo-web-1", "web", NULL},
                                  (char *[]){"10.1.0.2", "fd01::2", NULL}, &err) < 0 ||
            dns_network_add_entry(n, "demo-web-2", (char *[]){"demo-web-2", "web", NULL},
                                  (char *[]){"10.1.0.3", NULL}, &err) < 0 ||
            dns_table_add_network(t, "back", &n, &err) < 0 ||
            dns_network_add_entry(n, "demo-db-1", (char *[]){"demo-db-1", "db", NULL},
                                  (char *[]){"10.2.0.5", NULL}, &err) < 0)
                abort();
        return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct dns_table *t;
        static uint8_t *out;
        struct dns_addr src;
        struct dns_query q;
        int rcode;

        if (!t) {
                t = table();
                out = xmalloc(DNS_MESSAGE_MAX);
        }
        if (dns_addr_parse("10.1.0.2", &src) < 0)
                abort();
        (void) dns_query_parse(data, size, &q, &rcode);

        for (int tcp = 0; tcp < 2; tcp++) {
                size_t len = 0;
                enum dns_verdict v = dns_answer(t, "front", &src, data, size, tcp ? DNS_MESSAGE_MAX : 0,
                                                (unsigned) size, out, &len);
                if (v != DNS_VERDICT_ANSWER)
                        continue;
                /* A reply echoes the id, is marked as a response and fits the transport. */
                if (len < DNS_HEADER_SIZE || memcmp(out, data, 2) != 0 || !(out[2] & 0x80))
                        abort();
                if (!tcp && len > DNS_UDP_MAX_EDNS)
                        abort();
        }
        size_t n = dns_error_reply(data, size, DNS_RCODE_SERVFAIL, out, DNS_MESSAGE_MAX);
        if (n != 0 && (n < DNS_HEADER_SIZE || memcmp(out, data, 2) != 0))
                abort();
        return 0;
}
