/* user: and group_add: resolved against an image's passwd and group, with docker's rules. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/runtime/user.h"
#include "core/base/util.h"
#include "tap.h"

static const char passwd[] = "# comment\n"
                             "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1::/usr/sbin:/bin/false\n"
                             "broken line\n"
                             "app:x:1000:1000:app:/home/app:/bin/sh\n"
                             "nohome:x:1001:1001:::\n"
                             "app:x:2000:2000:dup:/dup:/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "wheel:x:10:root,app\n"
                            "staff:x:50:app,daemon\n"
                            "app:x:1000:\n"
                            "video:x:44:app\n"
                            "bad:x:notanumber:app\n";

static char *gids_str(const struct user_ids *u)
{
        struct strbuf b = {0};
        for (size_t i = 0; i < u->n_additional_gids; i++)
                strbuf_printf(&b, "%s%u", i ? "," : "", u->additional_gids[i]);
        return strbuf_take(&b);
}

/* Resolves and prints "uid:gid [gids] home" or the error. */
static char *resolve(const char *pw, const char *gr, const char *spec, const char *group_add)
{
        _cleanup_strv_free_ char **ga = group_add ? strv_split(group_add, " ") : NULL;
        struct user_ids u;
        _cleanup_error_ struct stack_error err = {0};
        int r = user_resolve_text(pw, gr, spec, ga, &u, &err);
        if (r < 0)
                return xasprintf("error: %s", err.msg);
        _cleanup_free_ char *g = gids_str(&u);
        char *out = xasprintf("%u:%u [%s] %s", u.uid, u.gid, g, u.home ? u.home : "(none)");
        user_ids_done(&u);
        return out;
}

static void check(const char *spec, const char *group_add, const char *want, const char *what)
{
        _cleanup_free_ char *got = resolve(passwd, group, spec, group_add);
        is_str(got, want, "%s", what);
}

int main(void)
{
        check(NULL, NULL, "0:0 [10] /root", "no user: root, with root's supplementary groups");
        check("", NULL, "0:0 [10] /root", "empty user is root");
        check("app", NULL, "1000:1000 [10,50,44] /home/app", "name: ids, home and supplementary groups");
        check("1000", NULL, "1000:1000 [10,50,44] /home/app", "uid listed in passwd: same as the name");
        check("4242", NULL, "4242:0 [] (none)", "uid not listed: used as is, gid 0");
        check("app:staff", NULL, "1000:50 [] /home/app", "explicit group name: no supplementary groups");
        check("app:4242", NULL, "1000:4242 [] /home/app", "explicit numeric group not listed");
        check("4242:44", NULL, "4242:44 [] (none)", "uid:gid numbers");
        check("daemon", NULL, "1:1 [50] /usr/sbin", "member lists are comma-separated");
        check("nohome", NULL, "1001:1001 [] /", "an empty home is /");
        check("app", "video 777 wheel", "1000:1000 [10,50,44,777] /home/app",
              "group_add: names and numbers, duplicates once");
        check("nobody", NULL,
              "error: user 'nobody': unable to find user nobody: no matching entries in the image's "
              "/etc/passwd",
              "unknown user name");
        check("app:nogroup", NULL,
              "error: user 'app:nogroup': unable to find group nogroup: no matching entries in the image's "
              "/etc/group",
              "unknown group name");
        check("app", "nogroup", "error: group_add 'nogroup': no matching entries in the image's /etc/group",
              "unknown group_add");
        check(":50", NULL, "error: user ':50': no user name or id", "a group without a user");

        _cleanup_free_ char *none = resolve(NULL, NULL, NULL, NULL);
        is_str(none, "0:0 [] (none)", "no passwd or group file: root");
        _cleanup_free_ char *num = resolve(NULL, NULL, "33:33", "5");
        is_str(num, "33:33 [5] (none)", "no files: numbers still work");
        _cleanup_free_ char *name = resolve(NULL, NULL, "www-data", NULL);
        contains(name, "unable to find user www-data", "no files: names fail");

        /* From a root file system: an /etc/passwd that is a symlink out of the root is read inside it. */
        char tmpl[] = "/tmp/test-user.XXXXXX";
        char *root = mkdtemp(tmpl);
        ok(root != NULL, "temporary root");
        _cleanup_free_ char *etc = path_join(root, "etc");
        _cleanup_free_ char *real = path_join(root, "real");
        mkdir(etc, 0755);
        mkdir(real, 0755);
        _cleanup_free_ char *pwp = path_join(real, "passwd");
        _cleanup_free_ char *grp = path_join(etc, "group");
        _cleanup_free_ char *link = path_join(etc, "passwd");
        _cleanup_error_ struct stack_error err = {0};
        write_file_atomic(pwp, passwd, strlen(passwd), 0644, &err);
        write_file_atomic(grp, group, strlen(group), 0644, &err);
        /* Absolute target: resolved against the container root, not the host's /real. */
        ok(symlink("/real/passwd", link) == 0, "symlinked passwd");
        struct user_ids u;
        ok(user_resolve(root, "app", NULL, &u, &err) == 0, "user_resolve from a root directory");
        is_int(u.uid, 1000, "uid read through the in-root symlink");
        user_ids_done(&u);
        unlink(link);
        /* Relative and climbing: on the host this names /real/passwd (absent); inside the root it is the
         * root's own /real/passwd. */
        ok(symlink("../../../../../../../real/passwd", link) == 0, "a symlink climbing out of the root");
        ok(user_resolve(root, "app", NULL, &u, &err) == 0, "resolves");
        is_int(u.uid, 1000, "the climb stopped at the container's root");
        user_ids_done(&u);
        rm_rf(root, &err);
        return done_testing();
}
