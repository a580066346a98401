#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "net/netlink.h"
#include "net/netns.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)
#define _cleanup_link_ _cleanup_(rtnl_link_putp)
#define _cleanup_addr_ _cleanup_(rtnl_addr_putp)
#define _cleanup_route_ _cleanup_(rtnl_route_putp)
#define _cleanup_nladdr_ _cleanup_(nl_addr_putp)
#define _cleanup_cache_ _cleanup_(nl_cache_freep)
#define _cleanup_msg_ _cleanup_(nlmsg_freep)

/* libnl's -NLE_* as a positive errno, so callers can test for "exists" and "gone". */
static int nl_errno(int nlerr)
{
        switch (nlerr < 0 ? -nlerr : nlerr) {
        case NLE_EXIST:
                return EEXIST;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV:
                return ENODEV;
        case NLE_NOADDR:
                return EADDRNOTAVAIL;
        case NLE_PERM:
                return EPERM;
        case NLE_NOACCESS:
                return EACCES;
        case NLE_BUSY:
                return EBUSY;
        case NLE_NOMEM:
                return ENOMEM;
        case NLE_INVAL:
        case NLE_MSGTYPE_NOSUPPORT:
                return EINVAL;
        case NLE_RANGE:
                return ERANGE;
        case NLE_OPNOTSUPP:
                return EOPNOTSUPP;
        case NLE_AGAIN:
                return EAGAIN;
        case NLE_AF_NOSUPPORT:
                return EAFNOSUPPORT;
        default:
                return EIO;
        }
}

__attribute__((format(printf, 3, 4))) static int nl_fail(struct stack_error *err, int nlerr, const char *fmt,
                                                         ...)
{
        _cleanup_free_ char *head = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&head, fmt, ap) < 0)
                head = NULL;
        va_end(ap);
        return stack_error_set(err, nl_errno(nlerr), "%s: %s", head ? head : "netlink", nl_geterror(nlerr));
}

int netlink_open(struct nl_sock **ret, struct stack_error *err)
{
        struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return stack_error_set(err, ENOMEM, "netlink: out of memory");
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_fail(err, r, "netlink: connect");
        }
        *ret = sk;
        return 0;
}

struct open_job {
        struct nl_sock *sk;
        struct stack_error *err;
};

static int open_fn(void *p)
{
        struct open_job *job = p;
        return netlink_open(&job->sk, job->err);
}

int netlink_open_in(int netns_fd, struct nl_sock **ret, struct stack_error *err)
{
        struct open_job job = {.err = err};
        int r = netns_run_in(netns_fd, open_fn, &job, err);
        if (r < 0)
                return r;
        *ret = job.sk;
        return 0;
}

void netlink_close(struct nl_sock *sk)
{
        nl_socket_free(sk);
}

/* FNV-1a: stable across versions and architectures, which the names must be (they are how a later run
 * finds what an earlier one made). */
static uint64_t name_hash(const char *a, const char *b)
{
        uint64_t h = 0xcbf29ce484222325ull;
        for (const char *s = a; *s; s++)
                h = (h ^ (unsigned char) *s) * 0x100000001b3ull;
        if (b) {
                h = (h ^ 0) * 0x100000001b3ull;
                for (const char *s = b; *s; s++)
                        h = (h ^ (unsigned char) *s) * 0x100000001b3ull;
        }
        /* FNV's high bits barely change with the last byte ("web-1" vs "web-2"): mix (splitmix64's
         * finalizer) so that names differ everywhere. */
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return h;
}

void netlink_bridge_name(const char *network, char ret[IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "stk%08x", (unsigned) (name_hash(network, NULL) >> 32));
}

void netlink_veth_name(const char *network, const char *container, char ret[IFNAMSIZ])
{
        snprintf(ret, IFNAMSIZ, "stk%012llx", (unsigned long long) (name_hash(network, container) >> 16));
}

char *netlink_bridge_alias(const char *project, const char *network)
{
        return xasprintf(NETLINK_ALIAS_PREFIX "%s/%s", project, network);
}

bool netlink_ifname_valid(const char *name)
{
        if (isempty(name) || strlen(name) >= IFNAMSIZ || streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || (unsigned char) *p <= ' ')
                        return false;
        return true;
}

static struct nl_addr *to_nladdr(const struct ipam_addr *a, int prefixlen)
{
        struct nl_addr *n = nl_addr_build(a->family, a->bytes, a->family == AF_INET6 ? 16 : 4);
        if (n && prefixlen >= 0)
                nl_addr_set_prefixlen(n, prefixlen);
        return n;
}

static int link_by_name(struct nl_sock *sk, const char *name, struct rtnl_link **ret)
{
        int r = rtnl_link_get_kernel(sk, 0, name, ret);
        return r < 0 ? -nl_errno(r) : 0;
}

int netlink_link_get(struct nl_sock *sk, const char *name, int *ret_ifindex, unsigned *ret_mtu,
                     char **ret_alias, char **ret_kind, struct stack_error *err)
{
        _cleanup_link_ struct rtnl_link *l = NULL;
        int r = link_by_name(sk, name, &l);
        if (r == -ENODEV)
                return r;
        if (r < 0)
                return stack_error_errno(err, r, "link '%s'", name);
        if (ret_ifindex)
                *ret_ifindex = rtnl_link_get_ifindex(l);
        if (ret_mtu)
                *ret_mtu = rtnl_link_get_mtu(l);
        if (ret_alias) {
                const char *a = rtnl_link_get_ifalias(l);
                *ret_alias = a ? xstrdup(a) : NULL;
        }
        if (ret_kind) {
                const char *k = rtnl_link_get_type(l);
                *ret_kind = k ? xstrdup(k) : NULL;
        }
        return 0;
}

static int write_sysctl(const char *path, const char *value, struct stack_error *err)
{
        _cleanup_free_ char *cur = NULL;
        _cleanup_error_ struct stack_error ignored = {0};
        if (read_full_file(path, &cur, NULL, &ignored) == 0 && startswith(cur, value))
                return 0;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, value, strlen(value)) < 0)
                return stack_error_errno(err, errno, "write %s", path);
        return 0;
}

/* Adds the address; one already there is success. */
static int addr_add(struct nl_sock *sk, int ifindex, const struct ipam_prefix *p, const char *ifname,
                    struct stack_error *err)
{
        _cleanup_addr_ struct rtnl_addr *a = rtnl_addr_alloc();
        _cleanup_nladdr_ struct nl_addr *local = to_nladdr(&p->addr, (int) p->len);
        if (!a || !local)
                return stack_error_set(err, ENOMEM, "out of memory");
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_family(a, p->addr.family);
        rtnl_addr_set_local(a, local);
        /* Duplicate address detection would hold the address back for a second or more: the IPAM already
         * guarantees it is unique on the bridge. */
        if (p->addr.family == AF_INET6)
                rtnl_addr_set_flags(a, IFA_F_NODAD);
        int r = rtnl_addr_add(sk, a, 0);
        if (r < 0 && r != -NLE_EXIST) {
                char b[IPAM_ADDRSTRLEN];
                return nl_fail(err, r, "interface '%s': add address %s", ifname, ipam_prefix_format(p, b));
        }
        return 0;
}

struct addr_walk {
        int ifindex;
        struct ipam_prefix *list;
        size_t n, cap;
};

static void addr_walk_cb(struct nl_object *obj, void *p)
{
        struct addr_walk *w = p;
        struct rtnl_addr *a = (struct rtnl_addr *) obj;
        if (rtnl_addr_get_ifindex(a) != w->ifindex || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE)
                return;
        struct nl_addr *local = rtnl_addr_get_local(a);
        if (!local)
                return;
        int family = nl_addr_get_family(local);
        unsigned len = nl_addr_get_len(local);
        if ((family != AF_INET || len != 4) && (family != AF_INET6 || len != 16))
                return;
        GROW(w->list, w->cap, w->n);
        struct ipam_prefix *q = &w->list[w->n++];
        memset(q, 0, sizeof(*q));
        q->addr.family = family;
        memcpy(q->addr.bytes, nl_addr_get_binary_addr(local), len);
        q->len = (unsigned) rtnl_addr_get_prefixlen(a);
}

int netlink_link_addrs(struct nl_sock *sk, int ifindex, struct ipam_prefix **ret, size_t *ret_n,
                       struct stack_error *err)
{
        _cleanup_cache_ struct nl_cache *cache = NULL;
        int r = rtnl_addr_alloc_cache(sk, &cache);
        if (r < 0)
                return nl_fail(err, r, "list addresses");
        struct addr_walk w = {.ifindex = ifindex};
        nl_cache_foreach(cache, addr_walk_cb, &w);
        *ret = w.list;
        *ret_n = w.n;
        return 0;
}

static int addr_del(struct nl_sock *sk, int ifindex, const struct ipam_prefix *p, const char *ifname,
                    struct stack_error *err)
{
        _cleanup_addr_ struct rtnl_addr *a = rtnl_addr_alloc();
        _cleanup_nladdr_ struct nl_addr *local = to_nladdr(&p->addr, (int) p->len);
        if (!a || !local)
                return stack_error_set(err, ENOMEM, "out of memory");
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_family(a, p->addr.family);
        rtnl_addr_set_local(a, local);
        int r = rtnl_addr_delete(sk, a, 0);
        if (r < 0 && r != -NLE_NOADDR && r != -NLE_OBJ_NOTFOUND) {
                char b[IPAM_ADDRSTRLEN];
                return nl_fail(err, r, "interface '%s': remove address %s", ifname,
                               ipam_prefix_format(p, b));
        }
        return 0;
}

/* A fixed MAC for the bridge: otherwise it takes the lowest of its ports' and changes as they come and go,
 * which breaks the neighbours' ARP entries for the gateway. */
static void bridge_mac(const char *alias, uint8_t mac[6])
{
        uint64_t h = name_hash(alias, "bridge");
        mac[0] = 0x02; /* locally administered, unicast */
        for (int i = 1; i < 6; i++)
                mac[i] = (uint8_t) (h >> (8 * i));
}

static bool has_mac(struct rtnl_link *l, const uint8_t mac[6])
{
        struct nl_addr *a = rtnl_link_get_addr(l);
        return a && nl_addr_get_len(a) == 6 && memcmp(nl_addr_get_binary_addr(a), mac, 6) == 0;
}

int netlink_bridge_ensure(struct nl_sock *sk, const struct netlink_bridge *b, int *ret_ifindex,
                          struct stack_error *err)
{
        if (!netlink_ifname_valid(b->name))
                return stack_error_set(err, EINVAL, "bridge '%s': invalid interface name", b->name);
        _cleanup_link_ struct rtnl_link *l = rtnl_link_bridge_alloc();
        if (!l)
                return stack_error_set(err, ENOMEM, "out of memory");
        uint8_t mac[6];
        bridge_mac(b->alias, mac);
        _cleanup_nladdr_ struct nl_addr *lladdr = nl_addr_build(AF_LLC, mac, 6);
        rtnl_link_set_name(l, b->name);
        rtnl_link_set_addr(l, lladdr);
        if (b->mtu)
                rtnl_link_set_mtu(l, b->mtu);
        int r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0 && r != -NLE_EXIST)
                return nl_fail(err, r, "bridge '%s': create", b->name);
        bool existed = r == -NLE_EXIST;

        _cleanup_link_ struct rtnl_link *cur = NULL;
        r = link_by_name(sk, b->name, &cur);
        if (r < 0)
                return stack_error_errno(err, r, "bridge '%s'", b->name);
        const char *alias = rtnl_link_get_ifalias(cur);
        const char *kind = rtnl_link_get_type(cur);
        bool fresh = !alias;
        /* A link with our name but without our alias is someone else's, unless it is the bridge we just
         * made (the kernel takes the alias only in a second request) or one a crash left in that state,
         * which still has the MAC we gave it. */
        if (fresh && existed && !has_mac(cur, mac))
                alias = "";
        if (!kind || !streq(kind, "bridge") || (alias && !streq(alias, b->alias)))
                return stack_error_set(
                    err, EEXIST, "bridge '%s': a link of that name exists and is not stack's (alias \"%s\")",
                    b->name, alias ? alias : "");
        int ifindex = rtnl_link_get_ifindex(cur);

        _cleanup_link_ struct rtnl_link *change = rtnl_link_alloc();
        if (!change)
                return stack_error_set(err, ENOMEM, "out of memory");
        bool need = false;
        if (fresh) {
                rtnl_link_set_ifalias(change, b->alias);
                need = true;
        }
        if (!(rtnl_link_get_flags(cur) & IFF_UP)) {
                rtnl_link_set_flags(change, IFF_UP);
                need = true;
        }
        if (b->mtu && rtnl_link_get_mtu(cur) != b->mtu) {
                rtnl_link_set_mtu(change, b->mtu);
                need = true;
        }
        if (need) {
                r = rtnl_link_change(sk, cur, change, 0);
                if (r < 0)
                        return nl_fail(err, r, "bridge '%s': configure", b->name);
        }

        /* Addresses: add the gateways, drop addresses of subnets the network no longer has. */
        _cleanup_free_ struct ipam_prefix *have = NULL;
        size_t n_have = 0;
        r = netlink_link_addrs(sk, ifindex, &have, &n_have, err);
        if (r < 0)
                return stack_error_prefix(err, "bridge '%s'", b->name);
        bool v4 = false, v6 = false;
        for (size_t i = 0; i < b->n_addrs; i++) {
                r = addr_add(sk, ifindex, &b->addrs[i], b->name, err);
                if (r < 0)
                        return r;
                v4 |= b->addrs[i].addr.family == AF_INET;
                v6 |= b->addrs[i].addr.family == AF_INET6;
        }
        for (size_t i = 0; i < n_have; i++) {
                bool wanted = false;
                for (size_t j = 0; j < b->n_addrs && !wanted; j++)
                        wanted = b->addrs[j].len == have[i].len &&
                                 ipam_addr_equal(&b->addrs[j].addr, &have[i].addr);
                if (!wanted && have[i].addr.family == AF_INET) {
                        r = addr_del(sk, ifindex, &have[i], b->name, err);
                        if (r < 0)
                                return r;
                }
        }
        /* Forwarding is what makes a bridge a way out (as docker does, once, globally). For IPv6 this also
         * makes the kernel ignore router advertisements on interfaces with accept_ra=1: a host that gets
         * its own IPv6 address by SLAAC needs accept_ra=2 there, as with docker. */
        if (v4 && (r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1", err)) < 0)
                return r;
        if (v6 && (r = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1", err)) < 0)
                return r;
        if (ret_ifindex)
                *ret_ifindex = ifindex;
        return 0;
}

struct link_walk {
        const char *alias_prefix;
        int master;
        struct netlink_link_info *list;
        size_t n, cap;
};

static void link_walk_cb(struct nl_object *obj, void *p)
{
        struct link_walk *w = p;
        struct rtnl_link *l = (struct rtnl_link *) obj;
        const char *alias = rtnl_link_get_ifalias(l);
        if (w->alias_prefix && (!alias || !startswith(alias, w->alias_prefix)))
                return;
        if (w->master && rtnl_link_get_master(l) != w->master)
                return;
        GROW(w->list, w->cap, w->n);
        struct netlink_link_info *i = &w->list[w->n++];
        snprintf(i->name, sizeof(i->name), "%s", rtnl_link_get_name(l));
        i->ifindex = rtnl_link_get_ifindex(l);
        i->master = rtnl_link_get_master(l);
        i->alias = alias ? xstrdup(alias) : NULL;
        const char *kind = rtnl_link_get_type(l);
        i->kind = kind ? xstrdup(kind) : NULL;
        i->link = rtnl_link_get_link(l);
        i->group = rtnl_link_get_group(l);
}

void netlink_link_infos_free(struct netlink_link_info *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].alias);
                free(l[i].kind);
        }
        free(l);
}

static int links_walk(struct nl_sock *sk, struct link_walk *w, struct stack_error *err)
{
        _cleanup_cache_ struct nl_cache *cache = NULL;
        int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
        if (r < 0)
                return nl_fail(err, r, "list links");
        nl_cache_foreach(cache, link_walk_cb, w);
        return 0;
}

/* RTM_SETLINK of IFLA_GROUP (ifindex > 0), or RTM_DELLINK of every link in the group (ifindex 0). */
static int link_group_request(struct nl_sock *sk, int type, int ifindex, uint32_t group,
                              struct stack_error *err)
{
        _cleanup_msg_ struct nl_msg *msg = nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK);
        if (!msg)
                return stack_error_set(err, ENOMEM, "out of memory");
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, IFLA_GROUP, group) < 0)
                return stack_error_set(err, ENOMEM, "out of memory");
        int r = nl_send_auto(sk, msg);
        if (r >= 0)
                r = nl_wait_for_ack(sk);
        if (r < 0 && !(type == RTM_SETLINK && (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)))
                return nl_fail(err, r,
                               type == RTM_DELLINK ? "delete link group %u" : "link %d: set group %u",
                               type == RTM_DELLINK ? (int) group : ifindex, group);
        return 0;
}

/* Deletes the links among these ifindexes (only veths when veths_only) in one kernel batch: they are marked
 * with a netdev group no link uses, then the group is deleted. Missing links are skipped. */
static int links_delete_batch(struct nl_sock *sk, const int *ifindexes, size_t n, bool veths_only,
                              struct stack_error *err)
{
        if (n == 0)
                return 0;
        struct link_walk w = {0};
        int r = links_walk(sk, &w, err);
        if (r < 0)
                return r;
        /* A group no link is in: deleting it takes exactly the links marked below. */
        uint32_t group = 0;
        for (bool taken = true; taken;) {
                if (getrandom(&group, sizeof(group), 0) != sizeof(group))
                        group = (uint32_t) getpid() * 2654435761u + (uint32_t) w.n;
                taken = group == 0;
                for (size_t i = 0; !taken && i < w.n; i++)
                        taken = w.list[i].group == group;
        }
        size_t marked = 0;
        for (size_t k = 0; r >= 0 && k < n; k++)
                for (size_t i = 0; i < w.n; i++)
                        if (w.list[i].ifindex == ifindexes[k] &&
                            (!veths_only || (w.list[i].kind && streq(w.list[i].kind, "veth")))) {
                                r = link_group_request(sk, RTM_SETLINK, ifindexes[k], group, err);
                                marked++;
                                break;
                        }
        netlink_link_infos_free(w.list, w.n);
        if (r >= 0 && marked > 0)
                r = link_group_request(sk, RTM_DELLINK, 0, group, err);
        return r;
}

int netlink_links(struct nl_sock *sk, const char *alias_prefix, struct netlink_link_info **ret,
                  size_t *ret_n, struct stack_error *err)
{
        struct link_walk w = {.alias_prefix = alias_prefix};
        int r = links_walk(sk, &w, err);
        if (r < 0)
                return r;
        *ret = w.list;
        *ret_n = w.n;
        return 0;
}

int netlink_bridge_find_by_alias(struct nl_sock *sk, const char *alias, char ret_name[IFNAMSIZ],
                                 struct stack_error *err)
{
        struct link_walk w = {.alias_prefix = alias};
        int r = links_walk(sk, &w, err);
        if (r < 0)
                return r;
        r = -ENODEV;
        for (size_t i = 0; i < w.n; i++)
                if (streq(w.list[i].alias, alias) && w.list[i].kind && streq(w.list[i].kind, "bridge")) {
                        memcpy(ret_name, w.list[i].name, IFNAMSIZ);
                        r = 0;
                        break;
                }
        netlink_link_infos_free(w.list, w.n);
        return r;
}

int netlink_link_remove(struct nl_sock *sk, const char *name, struct stack_error *err)
{
        _cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
        if (!l)
                return stack_error_set(err, ENOMEM, "out of memory");
        rtnl_link_set_name(l, name);
        int r = rtnl_link_delete(sk, l);
        if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
                return nl_fail(err, r, "interface '%s': delete", name);
        return 0;
}

int netlink_bridge_remove(struct nl_sock *sk, const char *name, const char *alias, struct stack_error *err)
{
        _cleanup_link_ struct rtnl_link *cur = NULL;
        int r = link_by_name(sk, name, &cur);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return stack_error_errno(err, r, "bridge '%s'", name);
        const char *have = rtnl_link_get_ifalias(cur);
        uint8_t mac[6];
        bridge_mac(alias, mac);
        /* Without alias: ours only if it has the MAC we give our bridges (a crash before the alias). */
        if (!have && has_mac(cur, mac))
                have = alias;
        if (!have || !streq(have, alias))
                return stack_error_set(err, EPERM, "bridge '%s' is not %s's (alias \"%s\"); left alone",
                                       name, alias, have ? have : "");
        /* The veth ports go with the bridge, in one batch: deleting a bridge only releases them, and a
         * veth left behind would outlive us. Other ports someone enslaved are released, not deleted. */
        struct link_walk w = {.master = rtnl_link_get_ifindex(cur)};
        r = links_walk(sk, &w, err);
        if (r < 0)
                return r;
        _cleanup_free_ int *idx = xmalloc((w.n + 1) * sizeof(*idx));
        size_t n = 0;
        for (size_t i = 0; i < w.n; i++)
                if (w.list[i].kind && streq(w.list[i].kind, "veth"))
                        idx[n++] = w.list[i].ifindex;
        idx[n++] = rtnl_link_get_ifindex(cur);
        r = links_delete_batch(sk, idx, n, false, err);
        netlink_link_infos_free(w.list, w.n);
        return r < 0 ? stack_error_prefix(err, "bridge '%s'", name) : 0;
}

/* Bridge port flag, sent as the `bridge link set hairpin on` request: RTM_SETLINK of family AF_BRIDGE
 * carrying IFLA_PROTINFO/IFLA_BRPORT_MODE. It lets a container reach itself through a published port. */
static int set_hairpin(struct nl_sock *sk, int ifindex, const char *name, struct stack_error *err)
{
        _cleanup_msg_ struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
        if (!msg)
                return stack_error_set(err, ENOMEM, "out of memory");
        struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
        struct nlattr *nest;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
            !(nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) ||
            nla_put_u8(msg, IFLA_BRPORT_MODE, 1) < 0)
                return stack_error_set(err, ENOMEM, "out of memory");
        nla_nest_end(msg, nest);
        int r = nl_send_auto(sk, msg);
        if (r >= 0)
                r = nl_wait_for_ack(sk);
        if (r < 0)
                return nl_fail(err, r, "interface '%s': hairpin mode", name);
        return 0;
}

static int route_default(struct nl_sock *sk, int ifindex, const struct ipam_addr *gw, const char *ifname,
                         struct stack_error *err)
{
        _cleanup_route_ struct rtnl_route *rt = rtnl_route_alloc();
        static const uint8_t zero[16];
        _cleanup_nladdr_ struct nl_addr *dst =
            nl_addr_build(gw->family, zero, gw->family == AF_INET6 ? 16 : 4);
        struct nl_addr *via = to_nladdr(gw, -1);
        struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
        if (!rt || !dst || !via || !nh) {
                if (via)
                        nl_addr_put(via);
                if (nh)
                        rtnl_route_nh_free(nh);
                return stack_error_set(err, ENOMEM, "out of memory");
        }
        nl_addr_set_prefixlen(dst, 0);
        rtnl_route_set_family(rt, (uint8_t) gw->family);
        rtnl_route_set_dst(rt, dst);
        rtnl_route_set_table(rt, RT_TABLE_MAIN);
        rtnl_route_set_protocol(rt, RTPROT_BOOT);
        rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
        rtnl_route_set_type(rt, RTN_UNICAST);
        rtnl_route_nh_set_gateway(nh, via);
        nl_addr_put(via);
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_add_nexthop(rt, nh); /* the route owns nh now */
        int r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
        if (r < 0) {
                char b[IPAM_ADDRSTRLEN];
                return nl_fail(err, r, "interface '%s': default route via %s", ifname,
                               ipam_addr_format(gw, b));
        }
        return 0;
}

/* Inside the namespace: the peer up with its addresses and default routes. */
static int veth_configure_peer(const struct netlink_veth *v, struct stack_error *err)
{
        _cleanup_link_ struct rtnl_link *peer = NULL;
        int r = link_by_name(v->ns_sk, v->peer_name, &peer);
        if (r < 0)
                return stack_error_errno(err, r, "interface '%s' in the container", v->peer_name);
        int ifindex = rtnl_link_get_ifindex(peer);
        if (!(rtnl_link_get_flags(peer) & IFF_UP)) {
                _cleanup_link_ struct rtnl_link *change = rtnl_link_alloc();
                if (!change)
                        return stack_error_set(err, ENOMEM, "out of memory");
                rtnl_link_set_flags(change, IFF_UP);
                r = rtnl_link_change(v->ns_sk, peer, change, 0);
                if (r < 0)
                        return nl_fail(err, r, "interface '%s': up", v->peer_name);
        }
        for (size_t i = 0; i < v->n_addrs; i++) {
                r = addr_add(v->ns_sk, ifindex, &v->addrs[i], v->peer_name, err);
                if (r < 0)
                        return r;
        }
        if (v->gateway4.family &&
            (r = route_default(v->ns_sk, ifindex, &v->gateway4, v->peer_name, err)) < 0)
                return r;
        if (v->gateway6.family &&
            (r = route_default(v->ns_sk, ifindex, &v->gateway6, v->peer_name, err)) < 0)
                return r;
        return 0;
}

static int veth_create(struct nl_sock *sk, const struct netlink_veth *v)
{
        _cleanup_link_ struct rtnl_link *l = rtnl_link_veth_alloc();
        if (!l)
                return -NLE_NOMEM;
        _cleanup_link_ struct rtnl_link *peer = rtnl_link_veth_get_peer(l);
        _cleanup_nladdr_ struct nl_addr *mac = v->mac ? nl_addr_build(AF_LLC, v->mac, 6) : NULL;
        rtnl_link_set_name(l, v->host_name);
        rtnl_link_set_master(l, v->bridge_ifindex);
        rtnl_link_set_flags(l, IFF_UP);
        rtnl_link_set_name(peer, v->peer_name);
        rtnl_link_set_ns_fd(peer, v->netns_fd);
        /* Not IFF_UP on the peer here: the kernel configures the peer before the pair is linked, and
         * opening a veth without its peer fails (ENOTCONN). It comes up from inside, with its addresses. */
        if (mac)
                rtnl_link_set_addr(peer, mac);
        if (v->mtu) {
                rtnl_link_set_mtu(l, v->mtu);
                rtnl_link_set_mtu(peer, v->mtu);
        }
        return rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
}

/* True when the existing host end is a veth on our bridge whose peer is v->peer_name in the namespace. */
static bool veth_is_right(struct nl_sock *sk, const struct netlink_veth *v, int *ret_ifindex)
{
        _cleanup_link_ struct rtnl_link *host = NULL, *peer = NULL;
        if (link_by_name(sk, v->host_name, &host) < 0)
                return false;
        const char *kind = rtnl_link_get_type(host);
        if (!kind || !streq(kind, "veth") || rtnl_link_get_master(host) != v->bridge_ifindex)
                return false;
        if (link_by_name(v->ns_sk, v->peer_name, &peer) < 0)
                return false;
        /* From inside, the peer's IFLA_LINK is the host end's index in the host namespace. */
        *ret_ifindex = rtnl_link_get_ifindex(host);
        return rtnl_link_get_link(peer) == rtnl_link_get_ifindex(host);
}

int netlink_veth_ensure(struct nl_sock *sk, const struct netlink_veth *v, struct stack_error *err)
{
        if (!netlink_ifname_valid(v->host_name) || !netlink_ifname_valid(v->peer_name))
                return stack_error_set(err, EINVAL, "veth '%s'/'%s': invalid interface name", v->host_name,
                                       v->peer_name);
        int host_ifindex = 0;
        int r = veth_create(sk, v);
        if (r == -NLE_EXIST) {
                if (!veth_is_right(sk, v, &host_ifindex)) {
                        /* Half made by a crash, or pointing elsewhere: start again. A peer name taken by
                         * another interface in the container is the user's clash. */
                        _cleanup_link_ struct rtnl_link *other = NULL;
                        if (link_by_name(v->ns_sk, v->peer_name, &other) == 0) {
                                const char *kind = rtnl_link_get_type(other);
                                if (!kind || !streq(kind, "veth"))
                                        return stack_error_set(
                                            err, EEXIST, "interface '%s' already exists in the container",
                                            v->peer_name);
                                r = rtnl_link_delete(v->ns_sk, other);
                                if (r < 0 && r != -NLE_OBJ_NOTFOUND)
                                        return nl_fail(err, r, "interface '%s': delete stale", v->peer_name);
                        }
                        r = netlink_link_remove(sk, v->host_name, err);
                        if (r < 0)
                                return r;
                        r = veth_create(sk, v);
                } else
                        r = 0;
        }
        if (r < 0)
                return nl_fail(err, r, "veth '%s' (container side '%s'): create", v->host_name,
                               v->peer_name);
        if (!host_ifindex) {
                _cleanup_link_ struct rtnl_link *host = NULL;
                r = link_by_name(sk, v->host_name, &host);
                if (r < 0)
                        return stack_error_errno(err, r, "veth '%s'", v->host_name);
                host_ifindex = rtnl_link_get_ifindex(host);
        }
        r = set_hairpin(sk, host_ifindex, v->host_name, err);
        if (r < 0)
                return r;
        return veth_configure_peer(v, err);
}

int netlink_veth_peers(struct nl_sock *ns_sk, int **list, size_t *n, struct stack_error *err)
{
        struct link_walk w = {0};
        int r = links_walk(ns_sk, &w, err);
        for (size_t i = 0; r >= 0 && i < w.n; i++)
                if (w.list[i].kind && streq(w.list[i].kind, "veth") && w.list[i].link > 0) {
                        *list = xrealloc(*list, (*n + 1) * sizeof(**list));
                        (*list)[(*n)++] = w.list[i].link;
                }
        netlink_link_infos_free(w.list, w.n);
        return r;
}

int netlink_veths_delete(struct nl_sock *sk, const int *ifindexes, size_t n, struct stack_error *err)
{
        return links_delete_batch(sk, ifindexes, n, true, err);
}

int netlink_remove_veths(struct nl_sock *ns_sk, struct stack_error *err)
{
        struct link_walk w = {0};
        int r = links_walk(ns_sk, &w, err);
        for (size_t i = 0; r >= 0 && i < w.n; i++)
                if (w.list[i].kind && streq(w.list[i].kind, "veth"))
                        r = netlink_link_remove(ns_sk, w.list[i].name, err);
        netlink_link_infos_free(w.list, w.n);
        return r;
}

struct route_walk {
        int family;
        const int *skip; /* ifindexes of stack's bridges */
        size_t n_skip;
        struct ipam_prefix *list;
        size_t n, cap;
};

static void route_walk_cb(struct nl_object *obj, void *p)
{
        struct route_walk *w = p;
        struct rtnl_route *rt = (struct rtnl_route *) obj;
        if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || rtnl_route_get_family(rt) != w->family)
                return;
        struct nl_addr *dst = rtnl_route_get_dst(rt);
        if (!dst || nl_addr_get_prefixlen(dst) == 0)
                return;
        if (rtnl_route_get_nnexthops(rt) > 0) {
                int oif = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, 0));
                for (size_t i = 0; i < w->n_skip; i++)
                        if (w->skip[i] == oif)
                                return;
        }
        unsigned len = nl_addr_get_len(dst);
        if (len != (w->family == AF_INET6 ? 16u : 4u))
                return;
        GROW(w->list, w->cap, w->n);
        struct ipam_prefix *q = &w->list[w->n++];
        memset(q, 0, sizeof(*q));
        q->addr.family = w->family;
        memcpy(q->addr.bytes, nl_addr_get_binary_addr(dst), len);
        q->len = nl_addr_get_prefixlen(dst);
}

int netlink_routed_subnets(struct nl_sock *sk, int family, struct ipam_prefix **ret, size_t *ret_n,
                           struct stack_error *err)
{
        struct link_walk lw = {.alias_prefix = NETLINK_ALIAS_PREFIX};
        int r = links_walk(sk, &lw, err);
        if (r < 0)
                return r;
        _cleanup_free_ int *skip = xcalloc(lw.n, sizeof(int));
        for (size_t i = 0; i < lw.n; i++)
                skip[i] = lw.list[i].ifindex;
        struct route_walk w = {.family = family, .skip = skip, .n_skip = lw.n};
        netlink_link_infos_free(lw.list, lw.n);
        _cleanup_cache_ struct nl_cache *cache = NULL;
        r = rtnl_route_alloc_cache(sk, family, 0, &cache);
        if (r < 0)
                return nl_fail(err, r, "list routes");
        nl_cache_foreach(cache, route_walk_cb, &w);
        *ret = w.list;
        *ret_n = w.n;
        return 0;
}
