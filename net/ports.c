/* Host port availability and random host ports. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "net/ports.h"

static bool overlaps(const struct fw_port *p, uint16_t port)
{
        unsigned count = p->count ? p->count : 1;
        return p->host_port && port >= p->host_port && port < p->host_port + count;
}

/* Two host addresses collide when either is "every address" or both are the same. */
static bool same_addr_space(struct in_addr a, struct in_addr b)
{
        return a.s_addr == INADDR_ANY || b.s_addr == INADDR_ANY || a.s_addr == b.s_addr;
}

/* Socket inodes bound to `port` in this network namespace, from /proc/net/{tcp,udp}[6]. */
static void socket_inodes(enum fw_proto proto, uint16_t port, unsigned long **ret, size_t *ret_n)
{
        static const char *const tcp[] = {"/proc/net/tcp", "/proc/net/tcp6"};
        static const char *const udp[] = {"/proc/net/udp", "/proc/net/udp6"};
        const char *const *files = proto == FW_PROTO_UDP ? udp : tcp;
        unsigned long *list = NULL;
        size_t n = 0, cap = 0;

        for (size_t i = 0; i < 2; i++) {
                _cleanup_fclose_ FILE *f = fopen(files[i], "re");
                if (!f)
                        continue;
                char line[512];
                if (!fgets(line, sizeof(line), f)) /* header */
                        continue;
                while (fgets(line, sizeof(line), f)) {
                        char local[64];
                        unsigned st;
                        unsigned long inode;
                        /* "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode" */
                        if (sscanf(line, " %*d: %63s %*s %x %*s %*s %*s %*u %*u %lu", local, &st, &inode) !=
                            3)
                                continue;
                        const char *colon = strrchr(local, ':');
                        if (!colon || strtoul(colon + 1, NULL, 16) != port || inode == 0)
                                continue;
                        /* TCP: only listeners hold a port against us (0x0A = LISTEN). */
                        if (proto == FW_PROTO_TCP && st != 0x0A)
                                continue;
                        GROW(list, cap, n + 1);
                        list[n++] = inode;
                }
        }
        *ret = list;
        *ret_n = n;
}

int ports_find_owner(enum fw_proto proto, uint16_t port, char **ret)
{
        _cleanup_free_ unsigned long *inodes = NULL;
        size_t n_inodes = 0;
        socket_inodes(proto, port, &inodes, &n_inodes);
        if (n_inodes == 0)
                return -ENOENT;

        _cleanup_closedir_ DIR *proc = opendir("/proc");
        if (!proc)
                return -errno;
        struct dirent *de;
        while ((de = readdir(proc))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0)
                        continue;
                _cleanup_free_ char *fddir = xasprintf("/proc/%ld/fd", pid);
                _cleanup_closedir_ DIR *fds = opendir(fddir);
                if (!fds)
                        continue; /* gone, or not ours to look at */
                struct dirent *fe;
                while ((fe = readdir(fds))) {
                        char link[64];
                        ssize_t len = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);
                        if (len <= 0)
                                continue;
                        link[len] = '\0';
                        unsigned long ino;
                        if (sscanf(link, "socket:[%lu]", &ino) != 1)
                                continue;
                        for (size_t i = 0; i < n_inodes; i++) {
                                if (inodes[i] != ino)
                                        continue;
                                _cleanup_free_ char *commp = xasprintf("/proc/%ld/comm", pid);
                                _cleanup_free_ char *comm = NULL;
                                if (read_full_file(commp, &comm, NULL, NULL) < 0)
                                        comm = xstrdup("?");
                                comm[strcspn(comm, "\n")] = '\0';
                                *ret = xasprintf("process %s (pid %ld)", comm, pid);
                                return 0;
                        }
                }
        }
        return -ENOENT;
}

static const char *addr_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
        return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

int ports_probe(enum fw_proto proto, struct in_addr host_ip, uint16_t port, struct stack_error *err)
{
        _cleanup_close_ int fd =
            socket(AF_INET, (proto == FW_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "port %u/%s: socket", port, fw_proto_name(proto));
        if (proto == FW_PROTO_TCP) {
                /* TIME_WAIT leftovers do not hold a port against a listener; SO_REUSEADDR still fails
                 * against a real listener, which is what we look for. */
                int one = 1;
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        }
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = host_ip};
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                return 0;
        int e = errno;
        char a[INET_ADDRSTRLEN];
        if (e == EADDRNOTAVAIL)
                return stack_error_set(err, e, "port %s:%u/%s: %s is not an address of this host",
                                       addr_str(host_ip, a), port, fw_proto_name(proto), a);
        if (e != EADDRINUSE)
                return stack_error_errno(err, e, "port %s:%u/%s", addr_str(host_ip, a), port,
                                         fw_proto_name(proto));
        _cleanup_free_ char *owner = NULL;
        if (ports_find_owner(proto, port, &owner) == 0)
                return stack_error_set(err, e, "port %s:%u/%s is already in use by %s", addr_str(host_ip, a),
                                       port, fw_proto_name(proto), owner);
        return stack_error_set(err, e, "port %s:%u/%s is already in use", addr_str(host_ip, a), port,
                               fw_proto_name(proto));
}

static const struct fw_published *published_by_other(const char *project, const struct fw_published *pub,
                                                     size_t n_pub, enum fw_proto proto, struct in_addr ip,
                                                     uint16_t port)
{
        for (size_t i = 0; i < n_pub; i++)
                if (!streq_ptr(pub[i].project, project) && pub[i].proto == proto &&
                    pub[i].host_port == port && same_addr_space(pub[i].host_ip, ip))
                        return &pub[i];
        return NULL;
}

/* Is the port ours already (the project publishes it in the kernel)? Then no host process can hold it
 * meaningfully and a re-apply must not fail on its own rules. */
static bool published_by_self(const char *project, const struct fw_published *pub, size_t n_pub,
                              enum fw_proto proto, struct in_addr ip, uint16_t port)
{
        for (size_t i = 0; i < n_pub; i++)
                if (streq_ptr(pub[i].project, project) && pub[i].proto == proto &&
                    pub[i].host_port == port && pub[i].host_ip.s_addr == ip.s_addr)
                        return true;
        return false;
}

static int check_one(const char *project, const struct fw_port *ports, size_t n_ports, size_t idx,
                     uint16_t port, const struct fw_published *pub, size_t n_pub, struct stack_error *err)
{
        const struct fw_port *p = &ports[idx];
        char a[INET_ADDRSTRLEN];
        for (size_t j = 0; j < n_ports; j++)
                if (j != idx && ports[j].proto == p->proto &&
                    same_addr_space(ports[j].host_ip, p->host_ip) && overlaps(&ports[j], port))
                        return stack_error_set(err, EADDRINUSE, "port %s:%u/%s is published twice",
                                               addr_str(p->host_ip, a), port, fw_proto_name(p->proto));
        const struct fw_published *o = published_by_other(project, pub, n_pub, p->proto, p->host_ip, port);
        if (o)
                return stack_error_set(err, EADDRINUSE,
                                       "port %s:%u/%s is already published by project '%s' (network '%s')",
                                       addr_str(p->host_ip, a), port, fw_proto_name(p->proto), o->project,
                                       o->network ? o->network : "?");
        if (published_by_self(project, pub, n_pub, p->proto, p->host_ip, port))
                return 0;
        return ports_probe(p->proto, p->host_ip, port, err);
}

int ports_check(const char *project, const struct fw_port *ports, size_t n_ports,
                const struct fw_published *published, size_t n_published, struct stack_error *err)
{
        for (size_t i = 0; i < n_ports; i++) {
                const struct fw_port *p = &ports[i];
                unsigned count = p->count ? p->count : 1;
                if (!p->host_port)
                        continue;
                for (unsigned k = 0; k < count; k++) {
                        int r = check_one(project, ports, n_ports, i, p->host_port + k, published,
                                          n_published, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int ports_ephemeral_range(uint16_t *ret_lo, uint16_t *ret_hi)
{
        _cleanup_free_ char *s = NULL;
        unsigned lo, hi;
        if (read_full_file("/proc/sys/net/ipv4/ip_local_port_range", &s, NULL, NULL) < 0 ||
            sscanf(s, "%u %u", &lo, &hi) != 2 || lo == 0 || lo > hi || hi > 65535) {
                lo = 32768; /* the kernel's default */
                hi = 60999;
        }
        *ret_lo = lo;
        *ret_hi = hi;
        return 0;
}

int ports_assign(const char *project, struct fw_port *ports, size_t n_ports,
                 const struct fw_published *published, size_t n_published, struct stack_error *err)
{
        uint16_t eph_lo, eph_hi;
        ports_ephemeral_range(&eph_lo, &eph_hi);

        for (size_t i = 0; i < n_ports; i++) {
                struct fw_port *p = &ports[i];
                if (p->host_port)
                        continue;
                uint16_t lo = p->pick_lo ? p->pick_lo : eph_lo, hi = p->pick_lo ? p->pick_hi : eph_hi;
                if (hi < lo)
                        return stack_error_set(err, EINVAL, "port %u/%s: empty host port range %u-%u",
                                               p->container_port, fw_proto_name(p->proto), lo, hi);
                unsigned span = (unsigned) hi - lo + 1;
                if (p->count > 1)
                        return stack_error_set(err, EINVAL, "port %u-%u/%s: a range needs its host ports",
                                               p->container_port, p->container_port + p->count - 1,
                                               fw_proto_name(p->proto));
                /* Keep what this project already has for the same target: stable across re-applies. */
                for (size_t j = 0; j < n_published && !p->host_port; j++) {
                        const struct fw_published *q = &published[j];
                        bool taken = false;
                        for (size_t k = 0; k < n_ports; k++)
                                if (k != i && ports[k].proto == q->proto &&
                                    overlaps(&ports[k], q->host_port))
                                        taken = true;
                        if (!taken && streq_ptr(q->project, project) && q->proto == p->proto &&
                            (!p->pick_lo || (q->host_port >= lo && q->host_port <= hi)) &&
                            q->host_ip.s_addr == p->host_ip.s_addr &&
                            q->container_ip.s_addr == p->container_ip.s_addr &&
                            q->container_port == p->container_port)
                                p->host_port = q->host_port;
                }
                if (p->host_port)
                        continue;

                uint32_t start;
                if (getrandom(&start, sizeof(start), 0) != sizeof(start))
                        start = (uint32_t) now_usec();
                for (unsigned t = 0; t < span; t++) {
                        uint16_t cand = lo + (start + t) % span;
                        p->host_port = cand;
                        if (check_one(project, ports, n_ports, i, cand, published, n_published, NULL) == 0)
                                break;
                        /* Ports assigned later in the list must not collide with this one either. */
                        p->host_port = 0;
                }
                if (!p->host_port)
                        return stack_error_set(err, EADDRINUSE, "no free host port for %u/%s in %u-%u",
                                               p->container_port, fw_proto_name(p->proto), lo, hi);
        }
        return 0;
}
