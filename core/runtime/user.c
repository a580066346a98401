#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/runtime/user.h"
#include "core/base/util.h"

int user_open_in_root(int rootfd, const char *path, int flags)
{
        struct open_how how = {
            .flags = (uint64_t) flags | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        while (*path == '/')
                path++;
        int fd = (int) syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

static bool parse_id(const char *s, uint32_t *ret)
{
        if (isempty(s))
                return false;
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || s[0] == '-' || s[0] == '+' || v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

/* Splits one colon-separated line of passwd or group into at most n fields; returns how many. */
static size_t split_fields(char *line, char **fields, size_t n)
{
        size_t i = 0;
        fields[i++] = line;
        for (char *p = line; *p && i < n; p++)
                if (*p == ':') {
                        *p = 0;
                        fields[i++] = p + 1;
                }
        return i;
}

struct passwd_entry {
        char *name;
        uint32_t uid, gid;
        char *home;
};

/* Finds the first passwd entry whose name or uid matches (docker: first match wins). */
static bool passwd_find(const char *passwd, const char *name, const uint32_t *uid, struct passwd_entry *ret)
{
        if (!passwd)
                return false;
        _cleanup_strv_free_ char **lines = strv_split(passwd, "\n");
        STRV_FOREACH (l, lines) {
                if (**l == '#' || isempty(*l))
                        continue;
                char *f[7];
                if (split_fields(*l, f, 7) < 4)
                        continue;
                uint32_t u, g;
                if (!parse_id(f[2], &u) || !parse_id(f[3], &g))
                        continue;
                if ((name && streq(f[0], name)) || (uid && u == *uid)) {
                        ret->name = xstrdup(f[0]);
                        ret->uid = u;
                        ret->gid = g;
                        ret->home = xstrdup(f[5] && *f[5] ? f[5] : "/");
                        return true;
                }
        }
        return false;
}

/* Finds a group by name or gid (docker: first match wins). */
static bool group_find(const char *group, const char *name_or_id, uint32_t *ret_gid)
{
        if (!group)
                return false;
        _cleanup_strv_free_ char **lines = strv_split(group, "\n");
        uint32_t want;
        bool numeric = parse_id(name_or_id, &want);
        STRV_FOREACH (l, lines) {
                if (**l == '#' || isempty(*l))
                        continue;
                char *f[4];
                if (split_fields(*l, f, 4) < 3)
                        continue;
                uint32_t g;
                if (!parse_id(f[2], &g))
                        continue;
                if (streq(f[0], name_or_id) || (numeric && g == want)) {
                        *ret_gid = g;
                        return true;
                }
        }
        return false;
}

static void add_gid(struct user_ids *u, size_t *cap, uint32_t gid)
{
        for (size_t i = 0; i < u->n_additional_gids; i++)
                if (u->additional_gids[i] == gid)
                        return;
        GROW(u->additional_gids, *cap, u->n_additional_gids + 1);
        u->additional_gids[u->n_additional_gids++] = gid;
}

static void group_members(const char *group, const char *member, struct user_ids *u, size_t *cap)
{
        if (!group || !member)
                return;
        _cleanup_strv_free_ char **lines = strv_split(group, "\n");
        STRV_FOREACH (l, lines) {
                if (**l == '#' || isempty(*l))
                        continue;
                char *f[4];
                uint32_t g;
                if (split_fields(*l, f, 4) < 4 || !parse_id(f[2], &g))
                        continue;
                _cleanup_strv_free_ char **members = strv_split(f[3], ",");
                STRV_FOREACH (m, members)
                        if (streq(*m, member)) {
                                add_gid(u, cap, g);
                                break;
                        }
        }
}

int user_resolve_text(const char *passwd, const char *group, const char *spec, char *const *group_add,
                      struct user_ids *ret, struct stack_error *err)
{
        _cleanup_free_ char *user_part = NULL;
        const char *group_part = NULL;
        if (!isempty(spec)) {
                const char *colon = strchr(spec, ':');
                user_part = colon ? xstrndup(spec, colon - spec) : xstrdup(spec);
                group_part = colon ? colon + 1 : NULL;
                if (isempty(user_part))
                        return stack_error_set(err, EINVAL, "user '%s': no user name or id", spec);
        }

        struct user_ids u = {0};
        size_t cap = 0;
        struct passwd_entry pw = {0};
        bool found;
        if (!user_part) {
                uint32_t root = 0;
                found = passwd_find(passwd, NULL, &root, &pw);
        } else {
                uint32_t id;
                bool numeric = parse_id(user_part, &id);
                found = passwd_find(passwd, numeric ? NULL : user_part, numeric ? &id : NULL, &pw);
                if (!found && !numeric)
                        return stack_error_set(err, ENOENT,
                                               "user '%s': unable to find user %s: no matching entries in "
                                               "the image's /etc/passwd",
                                               spec, user_part);
                if (!found)
                        u.uid = id;
        }
        if (found) {
                u.uid = pw.uid;
                u.gid = pw.gid;
                u.home = TAKE_PTR(pw.home);
        }

        if (!isempty(group_part)) {
                if (!group_find(group, group_part, &u.gid) && !parse_id(group_part, &u.gid)) {
                        free(pw.name);
                        user_ids_done(&u);
                        return stack_error_set(err, ENOENT,
                                               "user '%s': unable to find group %s: no matching entries in "
                                               "the image's /etc/group",
                                               spec, group_part);
                }
        } else if (found)
                group_members(group, pw.name, &u, &cap);
        free(pw.name);

        STRV_FOREACH (g, group_add) {
                uint32_t gid;
                if (!group_find(group, *g, &gid) && !parse_id(*g, &gid)) {
                        user_ids_done(&u);
                        return stack_error_set(
                            err, ENOENT, "group_add '%s': no matching entries in the image's /etc/group",
                            *g);
                }
                add_gid(&u, &cap, gid);
        }
        *ret = u;
        return 0;
}

static int read_in_root(int rootfd, const char *path, char **ret, struct stack_error *err)
{
        _cleanup_close_ int fd = user_open_in_root(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (fd == -ENOENT || fd == -ENOTDIR) {
                        *ret = NULL;
                        return 0;
                }
                return stack_error_errno(err, -fd, "open %s in the image", path);
        }
        int r = read_full_fd(fd, ret, NULL);
        if (r < 0)
                return stack_error_errno(err, -r, "read %s in the image", path);
        return 0;
}

int user_resolve(const char *rootfs, const char *spec, char *const *group_add, struct user_ids *ret,
                 struct stack_error *err)
{
        _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return stack_error_errno(err, errno, "open %s", rootfs);
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        int r = read_in_root(rootfd, "etc/passwd", &passwd, err);
        if (r < 0)
                return r;
        r = read_in_root(rootfd, "etc/group", &group, err);
        if (r < 0)
                return r;
        return user_resolve_text(passwd, group, spec, group_add, ret, err);
}

void user_ids_done(struct user_ids *u)
{
        free(u->additional_gids);
        free(u->home);
        *u = (struct user_ids){0};
}
