/* Check program for the DNS integration tests.
 *
 *   dns-tool serve --records FILE [--resolv-conf PATH] [--port N] [--upstream-port N]
 *                  [--upstream-timeout-ms N] [--ready FILE]
 *       runs the responder as the supervisor will: an sd-event loop, the records file loaded at start
 *       and again on SIGHUP (a bad file is reported and the old table kept), SIGTERM ends it.
 *   dns-tool upstream --listen ADDR [--port N] NAME=IPV4|NAME=big:COUNT|NAME=drop ...
 *       a tiny upstream server (UDP and TCP): answers A for the listed names (big:COUNT gives COUNT
 *       addresses 192.0.2.x, truncated with TC over UDP beyond 512 bytes), never answers "drop" names,
 *       NXDOMAIN for the rest; prints each asked name on stdout (" (tcp)" after it over TCP).
 *   dns-tool raw [--tcp] ADDR PORT HEX
 *       sends HEX as one UDP datagram (or over TCP with its length, then shuts the sending side) and
 *       prints "rcode=N id=N flags=0xNNNN len=N an=N" of the reply, or "no reply" after a while. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "net/dns.h"

static const char *records_path;

static void print_skipped(char **skipped)
{
        STRV_FOREACH (w, skipped)
                fprintf(stderr, "dns-tool: warning: %s\n", *w);
}

static int on_hup(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_strv_free_ char **skipped = NULL;

        if (dns_server_reload(userdata, records_path, &skipped, &err) < 0)
                fprintf(stderr, "dns-tool: reload: %s\n", err.msg);
        else
                fprintf(stderr, "dns-tool: reloaded %s\n", records_path);
        print_skipped(skipped);
        return 0;
}

static int serve(int argc, char **argv)
{
        static const struct option opts[] = {
            {"records", required_argument, NULL, 'r'},
            {"resolv-conf", required_argument, NULL, 'c'},
            {"port", required_argument, NULL, 'p'},
            {"upstream-port", required_argument, NULL, 'u'},
            {"upstream-timeout-ms", required_argument, NULL, 't'},
            {"ready", required_argument, NULL, 'R'},
            {},
        };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_dns_server_ struct dns_server *s = NULL;
        _cleanup_error_ struct stack_error err = {0};
        const char *resolv = NULL, *ready = NULL;
        int port = -1, uport = -1, c;
        long timeout_ms = -1;
        sigset_t mask;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (c) {
                case 'r':
                        records_path = optarg;
                        break;
                case 'c':
                        resolv = optarg;
                        break;
                case 'p':
                        port = atoi(optarg);
                        break;
                case 'u':
                        uport = atoi(optarg);
                        break;
                case 't':
                        timeout_ms = atol(optarg);
                        break;
                case 'R':
                        ready = optarg;
                        break;
                default:
                        return 2;
                }
        }
        if (!records_path) {
                fprintf(stderr, "dns-tool serve: --records is required\n");
                return 2;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (sd_event_default(&e) < 0 || dns_server_new(e, &s, &err) < 0) {
                fprintf(stderr, "dns-tool: %s\n", err.msg ? err.msg : "event loop");
                return 1;
        }
        if (port >= 0)
                dns_server_set_port(s, (uint16_t) port);
        if (uport >= 0)
                dns_server_set_upstream_port(s, (uint16_t) uport);
        if (resolv)
                dns_server_set_resolv_conf(s, resolv);
        if (timeout_ms >= 0)
                dns_server_set_upstream_timeout(s, (uint64_t) timeout_ms * 1000);
        _cleanup_strv_free_ char **skipped = NULL;
        if (dns_server_reload(s, records_path, &skipped, &err) < 0) {
                fprintf(stderr, "dns-tool: %s\n", err.msg);
                return 1;
        }
        print_skipped(skipped);
        if (sd_event_add_signal(e, NULL, SIGHUP, on_hup, s) < 0 ||
            sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL) < 0 ||
            sd_event_add_signal(e, NULL, SIGINT, NULL, NULL) < 0) {
                fprintf(stderr, "dns-tool: signals\n");
                return 1;
        }
        if (ready && write_file_atomic(ready, "ready\n", 6, 0644, &err) < 0) {
                fprintf(stderr, "dns-tool: %s\n", err.msg);
                return 1;
        }
        return sd_event_loop(e) < 0 ? 1 : 0;
}

static uint16_t g16(const uint8_t *p)
{
        return (uint16_t) (p[0] << 8 | p[1]);
}

/* The upstream's answer to one query into out; returns its length, 0 for no answer at all. */
static size_t upstream_answer(const uint8_t *buf, size_t n, bool udp, char **names, uint8_t *out)
{
        struct dns_query q;
        int rcode;
        const char *answer = NULL;
        unsigned count = 1;
        size_t olen;

        if (dns_query_parse(buf, n, &q, &rcode) < 0)
                return 0;
        printf("%s%s\n", q.qname, udp ? "" : " (tcp)");
        STRV_FOREACH (a, names) {
                const char *eq = strchr(*a, '=');
                if (eq && (size_t) (eq - *a) == strlen(q.qname) &&
                    strncasecmp(*a, q.qname, strlen(q.qname)) == 0)
                        answer = eq + 1;
        }
        if (answer && streq(answer, "drop"))
                return 0;
        if (answer && startswith(answer, "big:"))
                count = (unsigned) atoi(answer + 4);
        /* Header and question, copied from the query; then the A records if we know the name. */
        olen = 12 + q.qname_wire_len + 4;
        memcpy(out, buf, 12);
        out[2] = 0x80 | (buf[2] & 0x79) | 0x04; /* QR, opcode and RD kept, AA */
        out[3] = 0x80 | (answer ? 0 : 3);       /* RA; NXDOMAIN when unknown */
        memset(out + 4, 0, 8);
        out[5] = 1;
        memcpy(out + 12, q.qname_wire, q.qname_wire_len);
        out[12 + q.qname_wire_len] = q.qtype >> 8;
        out[12 + q.qname_wire_len + 1] = q.qtype & 0xff;
        out[12 + q.qname_wire_len + 2] = 0;
        out[12 + q.qname_wire_len + 3] = 1;
        if (answer && q.qtype == DNS_TYPE_A) {
                struct in_addr a;
                const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
                if (count == 1 && inet_pton(AF_INET, answer, &a) != 1)
                        return 0;
                /* Like a real server: what does not fit 512 bytes over UDP is cut, with TC. */
                if (udp && olen + count * 16 > 512) {
                        out[2] |= 0x02;
                        return olen;
                }
                for (unsigned i = 0; i < count; i++) {
                        if (count > 1)
                                a.s_addr = htonl(0xc0000200 + i + 1); /* 192.0.2.<i+1> */
                        memcpy(out + olen, rr, sizeof(rr));
                        memcpy(out + olen + sizeof(rr), &a, 4);
                        olen += sizeof(rr) + 4;
                }
                out[6] = (uint8_t) (count >> 8);
                out[7] = (uint8_t) count;
        }
        return olen;
}

static bool read_exact(int fd, uint8_t *p, size_t n)
{
        while (n > 0) {
                ssize_t r = recv(fd, p, n, 0);
                if (r <= 0)
                        return false;
                p += r;
                n -= (size_t) r;
        }
        return true;
}

/* One TCP client: length-prefixed queries until it closes or stays silent for two seconds. */
static void upstream_tcp(int lfd, char **names)
{
        _cleanup_close_ int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        struct timeval tv = {.tv_sec = 2};
        uint8_t pre[2], buf[4096], out[8192];

        if (fd < 0)
                return;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        while (read_exact(fd, pre, 2)) {
                size_t n = (size_t) (pre[0] << 8 | pre[1]), olen;
                if (n > sizeof(buf) || !read_exact(fd, buf, n))
                        return;
                olen = upstream_answer(buf, n, false, names, out + 2);
                if (olen == 0)
                        continue;
                out[0] = (uint8_t) (olen >> 8);
                out[1] = (uint8_t) olen;
                if (send(fd, out, olen + 2, MSG_NOSIGNAL) < 0)
                        return;
        }
}

static int upstream(int argc, char **argv)
{
        static const struct option opts[] = {
            {"listen", required_argument, NULL, 'l'},
            {"port", required_argument, NULL, 'p'},
            {},
        };
        const char *listen_addr = NULL;
        int port = DNS_PORT, c, one = 1;
        struct sockaddr_in sa = {.sin_family = AF_INET};
        _cleanup_close_ int fd = -1, tfd = -1;
        char **names;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                if (c == 'l')
                        listen_addr = optarg;
                else if (c == 'p')
                        port = atoi(optarg);
                else
                        return 2;
        }
        if (!listen_addr || inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
                fprintf(stderr, "dns-tool upstream: --listen IPV4 is required\n");
                return 2;
        }
        names = argv + optind;
        sa.sin_port = htons((uint16_t) port);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || tfd < 0 || setsockopt(tfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            bind(tfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(tfd, 8) < 0) {
                fprintf(stderr, "dns-tool upstream: bind %s:%d: %s\n", listen_addr, port, strerror(errno));
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
                uint8_t buf[4096], out[8192];
                struct sockaddr_storage from;
                socklen_t flen = sizeof(from);
                ssize_t n;
                size_t olen;

                if (poll(p, 2, -1) < 0)
                        continue;
                if (p[1].revents & POLLIN)
                        upstream_tcp(tfd, names);
                if (!(p[0].revents & POLLIN))
                        continue;
                n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *) &from, &flen);
                if (n < 0)
                        continue;
                olen = upstream_answer(buf, (size_t) n, true, names, out);
                if (olen > 0)
                        (void) sendto(fd, out, olen, 0, (struct sockaddr *) &from, flen);
        }
}

/* Reads one length-prefixed message from a TCP socket within a few seconds; returns its length or -1. */
static ssize_t tcp_read_message(int fd, uint8_t *rep, size_t size)
{
        size_t have = 0, need = 2;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};

        while (have < need) {
                ssize_t r;
                if (poll(&pfd, 1, 3000) <= 0 || (r = recv(fd, rep + have, size - have, 0)) <= 0)
                        return -1;
                have += (size_t) r;
                if (have >= 2)
                        need = 2 + (size_t) g16(rep);
        }
        memmove(rep, rep + 2, need - 2);
        return (ssize_t) (need - 2);
}

static int raw(int argc, char **argv)
{
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        uint8_t buf[4096], rep[65536 + 2];
        size_t n = 2;
        _cleanup_close_ int fd = -1;
        struct pollfd pfd;
        ssize_t r;
        bool tcp = argc == 5 && streq(argv[1], "--tcp");

        if (tcp) {
                argc--;
                argv++;
        }
        if (argc != 4) {
                fprintf(stderr, "usage: dns-tool raw [--tcp] ADDR PORT HEX\n");
                return 2;
        }
        if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                ((struct sockaddr_in *) &ss)->sin_family = AF_INET;
                ((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) atoi(argv[2]));
                sl = sizeof(struct sockaddr_in);
        } else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *) &ss)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) atoi(argv[2]));
                sl = sizeof(struct sockaddr_in6);
        } else
                return 2;
        for (const char *h = argv[3]; h[0] && h[1] && n < sizeof(buf); h += 2) {
                unsigned v;
                if (sscanf(h, "%2x", &v) != 1)
                        return 2;
                buf[n++] = (uint8_t) v;
        }
        if (tcp) {
                /* The query with its length, then our sending side shut, as a client may do. */
                buf[0] = (uint8_t) ((n - 2) >> 8);
                buf[1] = (uint8_t) (n - 2);
                fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &ss, sl) < 0 ||
                    send(fd, buf, n, MSG_NOSIGNAL) < 0 || shutdown(fd, SHUT_WR) < 0) {
                        perror("dns-tool raw --tcp");
                        return 1;
                }
                r = tcp_read_message(fd, rep, sizeof(rep));
        } else {
                fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || sendto(fd, buf + 2, n - 2, 0, (struct sockaddr *) &ss, sl) < 0) {
                        perror("dns-tool raw");
                        return 1;
                }
                pfd = (struct pollfd){.fd = fd, .events = POLLIN};
                r = poll(&pfd, 1, 1000) <= 0 ? -1 : recv(fd, rep, sizeof(rep), 0);
        }
        if (r < 12) {
                printf("no reply\n");
                return 0;
        }
        printf("rcode=%d id=%u flags=0x%04x len=%zd an=%u\n", rep[3] & 0xf, g16(rep), g16(rep + 2), r,
               g16(rep + 6));
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: dns-tool serve|upstream|raw ...\n");
                return 2;
        }
        if (streq(argv[1], "serve"))
                return serve(argc - 1, argv + 1);
        if (streq(argv[1], "upstream"))
                return upstream(argc - 1, argv + 1);
        if (streq(argv[1], "raw"))
                return raw(argc - 1, argv + 1);
        fprintf(stderr, "dns-tool: unknown command '%s'\n", argv[1]);
        return 2;
}
