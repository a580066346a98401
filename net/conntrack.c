/* ctnetlink through libnl-3's message layer: one dump of the IPv4 table, then one delete per stale
 * entry (a dump cannot be interleaved with requests on the same socket). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "net/conntrack.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)

struct tuple {
        struct in_addr src, dst;
        uint8_t proto;
        uint16_t sport, dport;
};

static bool parse_tuple(struct nlattr *attr, struct tuple *t)
{
        struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
        if (!attr || nla_parse_nested(tb, CTA_TUPLE_MAX, attr, NULL) < 0 || !tb[CTA_TUPLE_IP] ||
            !tb[CTA_TUPLE_PROTO] || nla_parse_nested(ip, CTA_IP_MAX, tb[CTA_TUPLE_IP], NULL) < 0 ||
            nla_parse_nested(pr, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO], NULL) < 0 || !ip[CTA_IP_V4_SRC] ||
            !ip[CTA_IP_V4_DST] || !pr[CTA_PROTO_NUM])
                return false;
        t->src.s_addr = nla_get_u32(ip[CTA_IP_V4_SRC]);
        t->dst.s_addr = nla_get_u32(ip[CTA_IP_V4_DST]);
        t->proto = nla_get_u8(pr[CTA_PROTO_NUM]);
        t->sport = pr[CTA_PROTO_SRC_PORT] ? ntohs(nla_get_u16(pr[CTA_PROTO_SRC_PORT])) : 0;
        t->dport = pr[CTA_PROTO_DST_PORT] ? ntohs(nla_get_u16(pr[CTA_PROTO_DST_PORT])) : 0;
        return true;
}

struct scan {
        const struct conntrack_udp_target *targets;
        size_t n_targets;
        struct in_addr *local;
        size_t n_local;
        void **stale; /* copies of CTA_TUPLE_ORIG attributes */
        size_t n_stale, cap_stale;
};

static bool is_local(const struct scan *s, struct in_addr a)
{
        if ((ntohl(a.s_addr) >> 24) == 127)
                return true;
        for (size_t i = 0; i < s->n_local; i++)
                if (s->local[i].s_addr == a.s_addr)
                        return true;
        return false;
}

static int on_entry(struct nl_msg *msg, void *arg)
{
        struct scan *s = arg;
        struct nlattr *tb[CTA_MAX + 1];
        struct tuple orig, reply;
        if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct nfgenmsg), tb, CTA_MAX, NULL) < 0 ||
            !parse_tuple(tb[CTA_TUPLE_ORIG], &orig) || !parse_tuple(tb[CTA_TUPLE_REPLY], &reply))
                return NL_OK;
        if (orig.proto != IPPROTO_UDP || !is_local(s, orig.dst))
                return NL_OK;
        for (size_t i = 0; i < s->n_targets; i++) {
                const struct conntrack_udp_target *t = &s->targets[i];
                if (t->host_port != orig.dport ||
                    (t->host_ip.s_addr != INADDR_ANY && t->host_ip.s_addr != orig.dst.s_addr))
                        continue;
                /* The reply's source is where the flow really goes. */
                if (reply.src.s_addr == t->to_addr.s_addr && reply.sport == t->to_port)
                        continue;
                size_t len = nla_len(tb[CTA_TUPLE_ORIG]);
                GROW(s->stale, s->cap_stale, s->n_stale + 1);
                void *copy = xmalloc(len + sizeof(uint16_t));
                memcpy(copy, &(uint16_t){len}, sizeof(uint16_t));
                memcpy((char *) copy + sizeof(uint16_t), nla_data(tb[CTA_TUPLE_ORIG]), len);
                s->stale[s->n_stale++] = copy;
                break;
        }
        return NL_OK;
}

static void local_addresses(struct scan *s)
{
        struct ifaddrs *ifa = NULL;
        size_t cap = 0;
        if (getifaddrs(&ifa) < 0)
                return;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
                        GROW(s->local, cap, s->n_local + 1);
                        s->local[s->n_local++] = ((struct sockaddr_in *) i->ifa_addr)->sin_addr;
                }
        freeifaddrs(ifa);
}

static struct nl_msg *ct_msg(int type, int flags)
{
        struct nl_msg *msg = nlmsg_alloc_simple((NFNL_SUBSYS_CTNETLINK << 8) | type, flags);
        struct nfgenmsg nfg = {.nfgen_family = AF_INET, .version = NFNETLINK_V0};
        if (msg && nlmsg_append(msg, &nfg, sizeof(nfg), NLMSG_ALIGNTO) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

int conntrack_flush_stale_udp(const struct conntrack_udp_target *targets, size_t n, unsigned *ret_deleted,
                              struct stack_error *err)
{
        unsigned deleted = 0;
        if (n == 0) {
                if (ret_deleted)
                        *ret_deleted = 0;
                return 0;
        }
        _cleanup_(nl_socket_freep) struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return stack_error_set(err, ENOMEM, "conntrack: netlink socket");
        int r = nl_connect(sk, NETLINK_NETFILTER);
        if (r < 0)
                return stack_error_set(err, EPROTO, "conntrack: connect: %s", nl_geterror(r));

        struct scan s = {.targets = targets, .n_targets = n};
        local_addresses(&s);
        {
                _cleanup_(nlmsg_freep) struct nl_msg *dump =
                    ct_msg(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP);
                nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_entry, &s);
                r = dump ? nl_send_auto(sk, dump) : -NLE_NOMEM;
                if (r >= 0)
                        r = nl_recvmsgs_default(sk);
        }
        for (size_t i = 0; i < s.n_stale && r >= 0; i++) {
                uint16_t len;
                memcpy(&len, s.stale[i], sizeof(len));
                _cleanup_(nlmsg_freep) struct nl_msg *del =
                    ct_msg(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK);
                if (!del || nla_put(del, CTA_TUPLE_ORIG | NLA_F_NESTED, len,
                                    (char *) s.stale[i] + sizeof(len)) < 0) {
                        r = -NLE_NOMEM;
                        break;
                }
                int d = nl_send_sync(sk, TAKE_PTR(del)); /* frees the message */
                if (d >= 0)
                        deleted++;
                else if (d != -NLE_OBJ_NOTFOUND) /* gone meanwhile: fine */
                        r = d;
        }
        for (size_t i = 0; i < s.n_stale; i++)
                free(s.stale[i]);
        free(s.stale);
        free(s.local);
        if (r < 0)
                return stack_error_set(err, EPROTO, "conntrack: %s", nl_geterror(r));
        if (ret_deleted)
                *ret_deleted = deleted;
        return 0;
}
