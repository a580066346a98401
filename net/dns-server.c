/* The embedded DNS responder's sockets: UDP and TCP listeners on each network's gateway, the TCP
 * connections, and forwarding of names that are not ours to the host's resolvers. */
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

/* ---- the server ---- */

union sockaddr_union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_storage storage;
};

struct dns_listener {
        struct dns_server *server;
        char *network;
        struct dns_addr addr;
        int udp_fd, tcp_fd;
        sd_event_source *udp_src, *tcp_src;
};

struct dns_tcp_conn {
        struct dns_server *server;
        struct dns_tcp_conn *prev, *next;
        char *network;
        struct dns_addr peer;
        int fd;
        sd_event_source *io, *idle;
        uint8_t *in;
        size_t in_len;
        uint8_t *out;
        size_t out_len, out_off;
        struct dns_forward *pending; /* one forwarded query at a time; reading waits for it */
        bool processing;             /* inside conn_process() */
        bool broken;                 /* a write failed: close once back in the event loop */
        bool eof;                    /* the client is done sending: close once everything is answered */
};

struct dns_forward {
        struct dns_server *server;
        struct dns_forward *prev, *next;
        struct dns_listener *listener; /* UDP asker: reply through this socket; NULL once it is gone */
        struct dns_tcp_conn *conn;     /* TCP asker */
        union sockaddr_union client;
        socklen_t client_len;
        uint8_t *query;
        size_t len, limit;
        uint16_t client_id, upstream_id;
        uint8_t *wbuf, *rbuf; /* over TCP: the length-prefixed query, and the reply as it comes */
        size_t woff, rlen;
        char **servers;
        size_t next_server;
        int fd;
        sd_event_source *io, *timer;
};

struct dns_server {
        sd_event *event;
        struct dns_table *table;
        struct dns_listener **listeners;
        size_t n_listeners;
        struct dns_forward *forwards;
        size_t n_forwards;
        struct dns_tcp_conn *conns;
        size_t n_conns;
        uint16_t port, upstream_port;
        char *resolv_conf;
        uint64_t upstream_timeout;
        unsigned rotate;
        uint8_t *inbuf, *outbuf;
};

static void sockaddr_from(union sockaddr_union *u, socklen_t *len, const struct dns_addr *a, uint16_t port)
{
        memset(u, 0, sizeof(*u));
        if (a->family == AF_INET) {
                u->in.sin_family = AF_INET;
                u->in.sin_port = htons(port);
                u->in.sin_addr = a->in;
                *len = sizeof(u->in);
        } else {
                u->in6.sin6_family = AF_INET6;
                u->in6.sin6_port = htons(port);
                u->in6.sin6_addr = a->in6;
                *len = sizeof(u->in6);
        }
}

static bool addr_from_sockaddr(const union sockaddr_union *u, struct dns_addr *a)
{
        *a = (struct dns_addr){.family = u->sa.sa_family};
        if (u->sa.sa_family == AF_INET)
                a->in = u->in.sin_addr;
        else if (u->sa.sa_family == AF_INET6)
                a->in6 = u->in6.sin6_addr;
        else
                return false;
        return true;
}

static void forward_free(struct dns_forward *f)
{
        struct dns_server *s = f->server;

        if (f->prev)
                f->prev->next = f->next;
        else
                s->forwards = f->next;
        if (f->next)
                f->next->prev = f->prev;
        s->n_forwards--;
        if (f->conn)
                f->conn->pending = NULL;
        sd_event_source_disable_unref(f->io);
        sd_event_source_disable_unref(f->timer);
        closep(&f->fd);
        strv_free(f->servers);
        free(f->query);
        free(f->wbuf);
        free(f->rbuf);
        free(f);
}

static void conn_free(struct dns_tcp_conn *c)
{
        struct dns_server *s = c->server;

        if (c->pending)
                forward_free(c->pending);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->idle);
        closep(&c->fd);
        free(c->network);
        free(c->in);
        free(c->out);
        free(c);
}

static void listener_free(struct dns_listener *l)
{
        if (!l)
                return;
        for (struct dns_forward *f = l->server->forwards; f; f = f->next)
                if (f->listener == l)
                        f->listener = NULL;
        sd_event_source_disable_unref(l->udp_src);
        sd_event_source_disable_unref(l->tcp_src);
        closep(&l->udp_fd);
        closep(&l->tcp_fd);
        free(l->network);
        free(l);
}

/* A client that asks without reading the answers is not read from until it catches up, so that it
 * cannot make the supervisor hold an ever growing output buffer. */
static bool conn_can_read(const struct dns_tcp_conn *c)
{
        return !c->pending && !c->eof && c->out_len - c->out_off < DNS_TCP_OUT_MAX;
}

static void conn_update_events(struct dns_tcp_conn *c)
{
        uint32_t ev = (conn_can_read(c) ? EPOLLIN : 0) | (c->out_off < c->out_len ? EPOLLOUT : 0);
        (void) sd_event_source_set_io_events(c->io, ev);
}

/* Queues one message with its length prefix and writes what the socket takes now. */
static int conn_send(struct dns_tcp_conn *c, const uint8_t *msg, size_t len)
{
        uint8_t pre[2];

        if (c->out_off > 0) { /* keep the buffer as small as what is still unsent */
                memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
                c->out_len -= c->out_off;
                c->out_off = 0;
        }
        c->out = xrealloc(c->out, c->out_len + 2 + len);
        dns_wr16(pre, (uint16_t) len);
        memcpy(c->out + c->out_len, pre, 2);
        memcpy(c->out + c->out_len + 2, msg, len);
        c->out_len += 2 + len;
        while (c->out_off < c->out_len) {
                ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                c->out_off += (size_t) w;
        }
        return 0;
}

static void forward_start(struct dns_server *s, const uint8_t *query, size_t len,
                          const struct dns_addr *asker, struct dns_listener *l, struct dns_tcp_conn *c,
                          const union sockaddr_union *client, socklen_t client_len);

/* Answers every complete message in the input buffer, stopping at a forwarded one. Returns <0 when the
 * connection should be closed. */
static int conn_process(struct dns_tcp_conn *c)
{
        struct dns_server *s = c->server;

        /* A forward can end before forward_start() returns (no upstream at all): its reply is queued
         * then, and this loop goes on, instead of forward_reply() coming back in here. */
        c->processing = true;
        while (!c->pending && c->out_len - c->out_off < DNS_TCP_OUT_MAX && !c->broken && c->in_len >= 2) {
                size_t mlen = dns_rd16(c->in), olen;
                enum dns_verdict v;
                _cleanup_free_ uint8_t *msg = NULL;

                if (c->in_len < 2 + mlen)
                        break;
                msg = xmalloc(mlen + 1);
                memcpy(msg, c->in + 2, mlen);
                memmove(c->in, c->in + 2 + mlen, c->in_len - 2 - mlen);
                c->in_len -= 2 + mlen;
                (void) sd_event_source_set_time_relative(c->idle, DNS_TCP_IDLE_USEC);
                v = dns_answer(s->table, c->network, &c->peer, msg, mlen, DNS_MESSAGE_MAX, s->rotate++,
                               s->outbuf, &olen);
                if (v == DNS_VERDICT_ANSWER) {
                        if (conn_send(c, s->outbuf, olen) < 0)
                                c->broken = true;
                } else if (v == DNS_VERDICT_FORWARD)
                        forward_start(s, msg, mlen, &c->peer, NULL, c, NULL, 0);
        }
        c->processing = false;
        if (c->broken)
                return -EIO;
        /* A client that shut its sending side (as it may after its last query) still gets its answers. */
        if (c->eof && !c->pending && c->out_off == c->out_len &&
            (c->in_len < 2 || c->in_len < 2 + (size_t) dns_rd16(c->in)))
                return -ESHUTDOWN;
        conn_update_events(c);
        return 0;
}

static int on_conn_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct dns_tcp_conn *c = userdata;

        if (revents & EPOLLOUT) {
                while (c->out_off < c->out_len) {
                        ssize_t w = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                if (errno == EAGAIN)
                                        break;
                                conn_free(c);
                                return 0;
                        }
                        c->out_off += (size_t) w;
                }
        }
        if ((revents & EPOLLIN) && c->in_len < 2 + DNS_MESSAGE_MAX) {
                ssize_t r = recv(fd, c->in + c->in_len, 2 + DNS_MESSAGE_MAX - c->in_len, 0);
                if (r < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_free(c);
                        return 0;
                }
                if (r == 0)
                        c->eof = true;
                else if (r > 0)
                        c->in_len += (size_t) r;
        } else if (revents & (EPOLLHUP | EPOLLERR)) {
                conn_free(c);
                return 0;
        }
        if (conn_process(c) < 0)
                conn_free(c);
        return 0;
}

static int on_conn_idle(sd_event_source *es, uint64_t usec, void *userdata)
{
        conn_free(userdata);
        return 0;
}

static int on_tcp_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct dns_listener *l = userdata;
        struct dns_server *s = l->server;
        union sockaddr_union peer;
        socklen_t plen = sizeof(peer);
        _cleanup_close_ int cfd = accept4(fd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct dns_tcp_conn *c;

        if (cfd < 0)
                return 0;
        /* A bounded number of clients: the supervisor must not be starved by idle connections. */
        if (s->n_conns >= DNS_MAX_TCP_CONNS)
                return 0;
        c = xcalloc(1, sizeof(*c));
        c->server = s;
        c->fd = TAKE_FD(cfd);
        c->network = xstrdup(l->network);
        c->in = xmalloc(2 + DNS_MESSAGE_MAX);
        (void) addr_from_sockaddr(&peer, &c->peer);
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        if (sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_conn_io, c) < 0 ||
            sd_event_add_time_relative(s->event, &c->idle, CLOCK_MONOTONIC, DNS_TCP_IDLE_USEC, 0,
                                       on_conn_idle, c) < 0)
                conn_free(c);
        return 0;
}

static void forward_reply(struct dns_forward *f, const uint8_t *msg, size_t len)
{
        if (f->conn) {
                struct dns_tcp_conn *c = f->conn;
                if (conn_send(c, msg, len) < 0)
                        c->broken = true;
                forward_free(f);
                if (c->processing) /* conn_process() is below us and carries on */
                        return;
                if (c->broken || conn_process(c) < 0)
                        conn_free(c);
                return;
        }
        if (f->listener)
                (void) sendto(f->listener->udp_fd, msg, len, 0, &f->client.sa, f->client_len);
        forward_free(f);
}

static void forward_fail(struct dns_forward *f)
{
        struct dns_server *s = f->server;
        size_t n;

        dns_wr16(f->query, f->client_id);
        n = dns_error_reply(f->query, f->len, DNS_RCODE_SERVFAIL, s->outbuf, DNS_MESSAGE_MAX);
        if (n == 0) {
                forward_free(f);
                return;
        }
        forward_reply(f, s->outbuf, n);
}

static int on_forward_io(sd_event_source *es, int fd, uint32_t revents, void *userdata);
static int on_forward_timeout(sd_event_source *es, uint64_t usec, void *userdata);

/* Sends the query to the next upstream server; fails the forward with SERVFAIL when none is left. A
 * TCP asker is forwarded over TCP: it came that way because the answer may not fit a datagram. */
static void forward_next(struct dns_forward *f)
{
        struct dns_server *s = f->server;

        f->io = sd_event_source_disable_unref(f->io);
        f->timer = sd_event_source_disable_unref(f->timer);
        closep(&f->fd);
        f->fd = -1;
        f->woff = f->rlen = 0;
        while (f->servers && f->servers[f->next_server]) {
                const char *srv = f->servers[f->next_server++];
                bool tcp = f->conn != NULL;
                union sockaddr_union u;
                socklen_t ulen;
                struct dns_addr a;
                _cleanup_close_ int fd = -1;

                if (dns_addr_parse(srv, &a) < 0)
                        continue;
                sockaddr_from(&u, &ulen, &a, s->upstream_port);
                /* A connected socket on a random port: only that server's replies reach us. */
                fd = socket(a.family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0 || (connect(fd, &u.sa, ulen) < 0 && !(tcp && errno == EINPROGRESS)) ||
                    (!tcp && send(fd, f->query, f->len, 0) < 0)) {
                        /* A trace, not a report: the asker's query times out and it asks again. */
                        log_debug("dns: upstream %s: %s", srv, strerror(errno));
                        continue;
                }
                if (sd_event_add_io(s->event, &f->io, fd, tcp ? EPOLLOUT : EPOLLIN, on_forward_io, f) < 0 ||
                    sd_event_add_time_relative(s->event, &f->timer, CLOCK_MONOTONIC, s->upstream_timeout, 0,
                                               on_forward_timeout, f) < 0)
                        break;
                f->fd = TAKE_FD(fd);
                return;
        }
        forward_fail(f);
}

static int on_forward_timeout(sd_event_source *es, uint64_t usec, void *userdata)
{
        forward_next(userdata);
        return 0;
}

/* A complete message from the upstream server: relay it, or try the next server. */
static void forward_got_reply(struct dns_forward *f, uint8_t *msg, size_t n)
{
        int rcode;

        /* Anything but the reply to our query (id, QR) is ignored over UDP; the timer still runs. */
        if (n < DNS_HEADER_SIZE || dns_rd16(msg) != f->upstream_id || !(dns_rd16(msg + 2) & DNS_FLAG_QR)) {
                if (f->conn)
                        forward_next(f);
                return;
        }
        rcode = dns_rd16(msg + 2) & 0xf;
        if ((rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED) && f->servers[f->next_server]) {
                forward_next(f);
                return;
        }
        dns_wr16(msg, f->client_id);
        if (!f->conn && n > f->limit) {
                /* Larger than the asker takes over UDP: the header and question with TC set. */
                size_t qend = DNS_HEADER_SIZE;
                if (dns_rd16(msg + 4) == 1 && dns_name_read(msg, n, &qend, NULL, NULL, NULL) == 0 &&
                    qend + 4 <= n && qend + 4 <= f->limit)
                        qend += 4;
                else {
                        qend = DNS_HEADER_SIZE;
                        dns_wr16(msg + 4, 0);
                }
                dns_wr16(msg + 2, dns_rd16(msg + 2) | DNS_FLAG_TC);
                memset(msg + 6, 0, 6);
                n = qend;
        }
        forward_reply(f, msg, n);
}

static void forward_tcp_io(struct dns_forward *f, int fd, uint32_t revents)
{
        if (f->woff < 2 + f->len && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int e = 0;
                socklen_t el = sizeof(e);
                ssize_t w;

                if (f->woff == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0)) {
                        forward_next(f); /* connection refused or unreachable */
                        return;
                }
                if (!f->wbuf) {
                        f->wbuf = xmalloc(2 + f->len);
                        dns_wr16(f->wbuf, (uint16_t) f->len);
                        memcpy(f->wbuf + 2, f->query, f->len);
                }
                w = send(fd, f->wbuf + f->woff, 2 + f->len - f->woff, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                forward_next(f);
                        return;
                }
                f->woff += (size_t) w;
                if (f->woff == 2 + f->len)
                        (void) sd_event_source_set_io_events(f->io, EPOLLIN);
                return;
        }
        if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t r;

                if (!f->rbuf)
                        f->rbuf = xmalloc(2 + DNS_MESSAGE_MAX);
                r = recv(fd, f->rbuf + f->rlen, 2 + DNS_MESSAGE_MAX - f->rlen, 0);
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (r <= 0) { /* closed or failed before a whole reply */
                        forward_next(f);
                        return;
                }
                f->rlen += (size_t) r;
                if (f->rlen >= 2 && f->rlen >= 2 + (size_t) dns_rd16(f->rbuf))
                        forward_got_reply(f, f->rbuf + 2, dns_rd16(f->rbuf));
        }
}

static int on_forward_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct dns_forward *f = userdata;
        struct dns_server *s = f->server;
        ssize_t n;

        if (f->conn) {
                forward_tcp_io(f, fd, revents);
                return 0;
        }
        n = recv(fd, s->inbuf, DNS_MESSAGE_MAX, 0);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR) /* e.g. ECONNREFUSED: nobody listens there */
                        forward_next(f);
                return 0;
        }
        forward_got_reply(f, s->inbuf, (size_t) n);
        return 0;
}

static bool server_listens_on(const struct dns_server *s, const char *srv)
{
        struct dns_addr a;

        if (s->upstream_port != s->port || dns_addr_parse(srv, &a) < 0)
                return false;
        for (size_t i = 0; i < s->n_listeners; i++)
                if (dns_addr_equal(&s->listeners[i]->addr, &a))
                        return true;
        return false;
}

static void forward_start(struct dns_server *s, const uint8_t *query, size_t len,
                          const struct dns_addr *asker, struct dns_listener *l, struct dns_tcp_conn *c,
                          const union sockaddr_union *client, socklen_t client_len)
{
        /* The container's own servers (compose `dns:`) if it has any, else the host's, read anew each
         * time so that a changed resolv.conf needs no reload. */
        char *const *own = dns_table_upstreams(s->table, asker);
        _cleanup_strv_free_ char **all = own ? strv_copy(own) : dns_resolv_conf_servers(s->resolv_conf);
        struct dns_forward *f;
        struct dns_query q;
        int rcode;
        uint16_t id;

        if (dns_query_parse(query, len, &q, &rcode) < 0)
                return;
        f = xcalloc(1, sizeof(*f));
        f->server = s;
        f->fd = -1;
        f->listener = l;
        f->conn = c;
        if (client) {
                f->client = *client;
                f->client_len = client_len;
        }
        f->query = xmalloc(len);
        memcpy(f->query, query, len);
        f->len = len;
        f->limit = dns_udp_limit(&q);
        f->client_id = q.id;
        /* A random id on a random port keeps off-path answers out. */
        if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
                id = (uint16_t) rand();
        f->upstream_id = id;
        dns_wr16(f->query, id);
        /* Never ask ourselves: a resolv.conf naming one of our gateways would loop. */
        STRV_FOREACH (srv, all)
                if (!server_listens_on(s, *srv))
                        strv_push(&f->servers, *srv);
        f->next = s->forwards;
        if (s->forwards)
                s->forwards->prev = f;
        s->forwards = f;
        s->n_forwards++;
        if (c)
                c->pending = f;
        if (s->n_forwards > DNS_MAX_FORWARDS) {
                forward_fail(f);
                return;
        }
        forward_next(f);
}

static int on_udp(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        struct dns_listener *l = userdata;
        struct dns_server *s = l->server;

        /* A bounded batch per wakeup, so other sources of the supervisor's loop get their turn. */
        for (int i = 0; i < 32; i++) {
                union sockaddr_union from;
                socklen_t flen = sizeof(from);
                struct dns_addr src;
                size_t olen;
                enum dns_verdict v;
                ssize_t n = recvfrom(fd, s->inbuf, DNS_MESSAGE_MAX, 0, &from.sa, &flen);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (!addr_from_sockaddr(&from, &src))
                        continue;
                v = dns_answer(s->table, l->network, &src, s->inbuf, (size_t) n, 0, s->rotate++, s->outbuf,
                               &olen);
                if (v == DNS_VERDICT_ANSWER)
                        (void) sendto(fd, s->outbuf, olen, 0, &from.sa, flen);
                else if (v == DNS_VERDICT_FORWARD)
                        forward_start(s, s->inbuf, (size_t) n, &src, l, NULL, &from, flen);
        }
        return 0;
}

static int listener_open(struct dns_server *s, const char *network, const struct dns_addr *a,
                         struct dns_listener **ret, struct stack_error *err)
{
        struct dns_listener *l = xcalloc(1, sizeof(*l));
        union sockaddr_union u;
        socklen_t ulen;
        char buf[INET6_ADDRSTRLEN];
        int one = 1, r;

        l->server = s;
        l->network = xstrdup(network);
        l->addr = *a;
        l->udp_fd = l->tcp_fd = -1;
        sockaddr_from(&u, &ulen, a, s->port);
        dns_addr_format(a, buf, sizeof(buf));

        for (int i = 0; i < 2; i++) {
                int type = i == 0 ? SOCK_DGRAM : SOCK_STREAM;
                int fd = socket(a->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        r = stack_error_errno(err, errno, "socket for %s", buf);
                        listener_free(l);
                        return r;
                }
                *(i == 0 ? &l->udp_fd : &l->tcp_fd) = fd;
                /* FREEBIND: the gateway may not be on its bridge yet (or briefly gone while the bridge
                 * is recreated); the socket starts receiving once it is. */
                (void) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
                if (a->family == AF_INET6)
                        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                if (type == SOCK_STREAM)
                        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, &u.sa, ulen) < 0 || (type == SOCK_STREAM && listen(fd, 32) < 0)) {
                        r = stack_error_errno(err, errno, "network '%s': listen on %s%s%s port %u/%s",
                                              network, a->family == AF_INET6 ? "[" : "", buf,
                                              a->family == AF_INET6 ? "]" : "", s->port,
                                              type == SOCK_STREAM ? "tcp" : "udp");
                        listener_free(l);
                        return r;
                }
        }
        if ((r = sd_event_add_io(s->event, &l->udp_src, l->udp_fd, EPOLLIN, on_udp, l)) < 0 ||
            (r = sd_event_add_io(s->event, &l->tcp_src, l->tcp_fd, EPOLLIN, on_tcp_accept, l)) < 0) {
                listener_free(l);
                return stack_error_errno(err, -r, "network '%s': watch %s", network, buf);
        }
        *ret = l;
        return 0;
}

int dns_server_new(sd_event *e, struct dns_server **ret, struct stack_error *err)
{
        struct dns_server *s;

        if (!e)
                return stack_error_set(err, EINVAL, "dns server without an event loop");
        s = xcalloc(1, sizeof(*s));
        s->event = sd_event_ref(e);
        s->table = dns_table_new();
        s->port = DNS_PORT;
        s->upstream_port = DNS_PORT;
        s->resolv_conf = xstrdup("/etc/resolv.conf");
        s->upstream_timeout = DNS_UPSTREAM_TIMEOUT_USEC;
        s->inbuf = xmalloc(DNS_MESSAGE_MAX + 2);
        s->outbuf = xmalloc(DNS_MESSAGE_MAX);
        *ret = s;
        return 0;
}

struct dns_server *dns_server_free(struct dns_server *s)
{
        if (!s)
                return NULL;
        while (s->conns)
                conn_free(s->conns);
        while (s->forwards)
                forward_free(s->forwards);
        for (size_t i = 0; i < s->n_listeners; i++)
                listener_free(s->listeners[i]);
        free(s->listeners);
        dns_table_free(s->table);
        free(s->resolv_conf);
        free(s->inbuf);
        free(s->outbuf);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void dns_server_set_port(struct dns_server *s, uint16_t port)
{
        s->port = port;
}

void dns_server_set_resolv_conf(struct dns_server *s, const char *path)
{
        free(s->resolv_conf);
        s->resolv_conf = xstrdup(path);
}

void dns_server_set_upstream_port(struct dns_server *s, uint16_t port)
{
        s->upstream_port = port;
}

void dns_server_set_upstream_timeout(struct dns_server *s, uint64_t usec)
{
        s->upstream_timeout = usec;
}

static struct dns_listener *find_listener(struct dns_server *s, const struct dns_addr *a)
{
        for (size_t i = 0; i < s->n_listeners; i++)
                if (dns_addr_equal(&s->listeners[i]->addr, a))
                        return s->listeners[i];
        return NULL;
}

static bool network_has_gateway(const struct dns_network *n, const struct dns_addr *a)
{
        for (size_t i = 0; i < n->n_gateways; i++)
                if (dns_addr_equal(&n->gateways[i], a))
                        return true;
        return false;
}

int dns_server_set_network(struct dns_server *s, const struct dns_network *n, struct stack_error *err)
{
        struct dns_listener **opened = xcalloc(n->n_gateways + 1, sizeof(*opened));
        size_t n_opened = 0, cap = s->n_listeners, keep = 0;
        struct dns_network *old;
        int r = 0;

        /* Open what is new first: on failure, the network keeps serving as before. */
        for (size_t i = 0; i < n->n_gateways && r >= 0; i++) {
                struct dns_listener *l = find_listener(s, &n->gateways[i]);
                char buf[INET6_ADDRSTRLEN];

                if (l && streq(l->network, n->name))
                        continue;
                if (l)
                        r = stack_error_set(err, EADDRINUSE,
                                            "network '%s': gateway %s is already network '%s''s", n->name,
                                            dns_addr_format(&n->gateways[i], buf, sizeof(buf)), l->network);
                else if ((r = listener_open(s, n->name, &n->gateways[i], &opened[n_opened], err)) >= 0)
                        n_opened++;
        }
        if (r < 0) {
                for (size_t i = 0; i < n_opened; i++)
                        listener_free(opened[i]);
                free(opened);
                return r;
        }

        for (size_t i = 0; i < s->n_listeners; i++) {
                struct dns_listener *l = s->listeners[i];
                if (streq(l->network, n->name) && !network_has_gateway(n, &l->addr))
                        listener_free(l);
                else
                        s->listeners[keep++] = l;
        }
        s->n_listeners = keep;
        cap = s->n_listeners;
        GROW(s->listeners, cap, s->n_listeners + n_opened);
        for (size_t i = 0; i < n_opened; i++)
                s->listeners[s->n_listeners++] = opened[i];
        free(opened);

        old = dns_table_find_network(s->table, n->name);
        if (old) {
                struct dns_network copy;
                dns_network_copy(&copy, n);
                dns_network_done(old);
                *old = copy;
        } else {
                cap = s->table->n_networks;
                GROW(s->table->networks, cap, s->table->n_networks);
                dns_network_copy(&s->table->networks[s->table->n_networks++], n);
        }
        return 0;
}

int dns_server_remove_network(struct dns_server *s, const char *name)
{
        struct dns_network *n = dns_table_find_network(s->table, name);
        size_t keep = 0, idx;

        if (!n)
                return -ENOENT;
        for (size_t i = 0; i < s->n_listeners; i++) {
                if (streq(s->listeners[i]->network, name))
                        listener_free(s->listeners[i]);
                else
                        s->listeners[keep++] = s->listeners[i];
        }
        s->n_listeners = keep;
        /* Its TCP clients would only be refused from now on. */
        for (struct dns_tcp_conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (streq(c->network, name))
                        conn_free(c);
        }
        idx = (size_t) (n - s->table->networks);
        dns_network_done(n);
        memmove(n, n + 1, (s->table->n_networks - idx - 1) * sizeof(*n));
        s->table->n_networks--;
        return 0;
}

int dns_server_set_table(struct dns_server *s, const struct dns_table *t, struct stack_error *err)
{
        int r = 0;

        /* Removals first: a gateway that moved from one network to another is free again. */
        for (size_t i = s->table->n_networks; i > 0; i--) {
                const char *name = s->table->networks[i - 1].name;
                if (!dns_table_find_network(t, name))
                        (void) dns_server_remove_network(s, name);
        }
        for (size_t i = 0; i < t->n_networks; i++) {
                int q = dns_server_set_network(s, &t->networks[i], r < 0 ? NULL : err);
                if (q < 0 && r == 0)
                        r = q;
        }
        free(s->table->domain);
        s->table->domain = t->domain ? xstrdup(t->domain) : NULL;
        return r;
}

int dns_server_reload(struct dns_server *s, const char *path, char ***ret_skipped, struct stack_error *err)
{
        _cleanup_dns_table_ struct dns_table *t = NULL;
        int r;

        if ((r = dns_records_load(path, &t, err)) < 0)
                return r;
        if ((r = dns_server_set_table(s, t, err)) < 0)
                return r;
        if (ret_skipped)
                *ret_skipped = TAKE_PTR(t->skipped);
        return 0;
}
