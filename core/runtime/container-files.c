/* What a container's bundle holds besides its config (container-internal.h): the generated /etc files
 * (hosts, resolv.conf), the mount list and the devices. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/runtime/container-internal.h"
#include "core/runtime/user.h"
#include "core/runtime/volume.h"

int mkdir_in_root(int rootfd, const char *path, struct stack_error *err)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s)
                        continue;
                char saved = *s;
                *s = 0;
                int fd = user_open_in_root(rootfd, p, O_RDONLY | O_DIRECTORY);
                if (fd == -ENOENT) {
                        char *slash = strrchr(p, '/');
                        *slash = 0;
                        _cleanup_close_ int parent =
                            user_open_in_root(rootfd, *p ? p : "/", O_RDONLY | O_DIRECTORY);
                        *slash = '/';
                        if (parent < 0 || (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST))
                                return stack_error_errno(err, parent < 0 ? -parent : errno,
                                                         "create %s in the container", p);
                } else if (fd < 0)
                        return stack_error_errno(err, -fd, "open %s in the container", p);
                else
                        close(fd);
                *s = saved;
                if (!saved)
                        return 0;
        }
}

/* ---- the generated /etc files ---- */

char *hosts_file(const struct container_host *h, const struct container_spec *spec, bool host_net,
                 struct stack_error *err)
{
        struct strbuf b = {0};
        _cleanup_free_ char *host_hosts = NULL;
        if (host_net && read_full_file("/etc/hosts", &host_hosts, NULL, NULL) >= 0)
                strbuf_puts(&b, host_hosts);
        else
                strbuf_puts(&b, "127.0.0.1\tlocalhost\n"
                                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                "fe00::\tip6-localnet\n"
                                "ff00::\tip6-mcastprefix\n"
                                "ff02::1\tip6-allnodes\n"
                                "ff02::2\tip6-allrouters\n");
        if (b.len > 0 && b.buf[b.len - 1] != '\n')
                strbuf_putc(&b, '\n');
        STRV_FOREACH (l, spec->hosts_entries)
                strbuf_printf(&b, "%s\n", *l);
        const struct stack_kvlist *xh = &spec->service->extra_hosts;
        for (size_t i = 0; i < xh->n; i++) {
                const char *addr = xh->items[i].value ? xh->items[i].value : "";
                if (streq(addr, "host-gateway")) {
                        if (!spec->host_gateway) {
                                strbuf_free(&b);
                                stack_error_set(
                                    err, EINVAL,
                                    "extra_hosts '%s': host-gateway needs a network with a gateway",
                                    xh->items[i].key);
                                return NULL;
                        }
                        addr = spec->host_gateway;
                }
                strbuf_printf(&b, "%s\t%s\n", addr, xh->items[i].key);
        }
        (void) h;
        return strbuf_take(&b);
}

static bool is_loopback_ns(const char *a)
{
        return startswith(a, "127.") || streq(a, "::1");
}

/* Splits at runs of blanks; a '#' or ';' starts a comment (resolv.conf's rules). */
static char **split_words(const char *line)
{
        char **words = NULL;
        const char *p = line;
        for (;;) {
                p += strspn(p, " \t\r");
                if (!*p || *p == '#' || *p == ';')
                        return words;
                size_t n = strcspn(p, " \t\r");
                strv_consume(&words, xstrndup(p, n));
                p += n;
        }
}

char *resolv_conf(const struct container_spec *spec, bool host_net)
{
        const struct stack_service *s = spec->service;
        _cleanup_free_ char *host = NULL;
        if (read_full_file("/etc/resolv.conf", &host, NULL, NULL) >= 0 && strstr(host, "127.0.0.53")) {
                /* systemd-resolved's stub is not reachable from another network namespace; its upstream
                 * list is (docker does the same). */
                _cleanup_free_ char *up = NULL;
                if (read_full_file("/run/systemd/resolve/resolv.conf", &up, NULL, NULL) >= 0) {
                        free(host);
                        host = TAKE_PTR(up);
                }
        }
        _cleanup_strv_free_ char **ns = NULL, **search = NULL, **opts = NULL;
        _cleanup_strv_free_ char **lines = strv_split(host ? host : "", "\n");
        STRV_FOREACH (l, lines) {
                _cleanup_strv_free_ char **words = split_words(*l);
                if (!words || !words[1])
                        continue;
                if (streq(words[0], "nameserver") && (host_net || !is_loopback_ns(words[1])))
                        strv_push(&ns, words[1]);
                else if (streq(words[0], "search") || streq(words[0], "domain")) {
                        strv_free(search);
                        search = strv_copy(words + 1);
                } else if (streq(words[0], "options"))
                        for (char **o = words + 1; *o; o++)
                                strv_push(&opts, *o);
        }
        if (spec->dns_servers) {
                strv_free(ns);
                ns = strv_copy(spec->dns_servers);
        }
        if (s->dns) {
                strv_free(ns);
                ns = strv_copy(s->dns);
        }
        if (!ns) {
                /* Nothing usable from the host (only a loopback resolver): docker's public fallback. */
                strv_push(&ns, "8.8.8.8");
                strv_push(&ns, "8.8.4.4");
        }
        if (s->dns_search) {
                strv_free(search);
                search = strv_copy(s->dns_search);
        }
        if (s->dns_opt) {
                strv_free(opts);
                opts = strv_copy(s->dns_opt);
        }
        struct strbuf b = {0};
        STRV_FOREACH (n, ns)
                strbuf_printf(&b, "nameserver %s\n", *n);
        if (search) {
                _cleanup_free_ char *j = strv_join(search, " ");
                strbuf_printf(&b, "search %s\n", j);
        }
        if (opts) {
                _cleanup_free_ char *j = strv_join(opts, " ");
                strbuf_printf(&b, "options %s\n", j);
        }
        return strbuf_take(&b);
}

/* ---- building the mount list ---- */

void mounts_add(struct mounts *ms, const char *dest, const char *type, const char *source, char **options)
{
        GROW(ms->m, ms->cap, ms->n + 1);
        ms->m[ms->n++] = (struct oci_mount){.destination = xstrdup(dest),
                                            .type = xstrdup(type),
                                            .source = xstrdup(source),
                                            .options = options};
}

void mounts_done(struct mounts *ms)
{
        for (size_t i = 0; i < ms->n; i++) {
                free(ms->m[i].destination);
                free(ms->m[i].type);
                free(ms->m[i].source);
                strv_free(ms->m[i].options);
        }
        free(ms->m);
}

char **bind_options(bool recursive, const char *propagation, bool ro)
{
        char **o = NULL;
        strv_push(&o, recursive ? "rbind" : "bind");
        strv_push(&o, propagation ? propagation : "rprivate");
        if (ro)
                strv_push(&o, "ro");
        return o;
}

bool service_mounts_at(const struct stack_service *s, const char *dest)
{
        for (size_t i = 0; i < s->n_volumes; i++)
                if (s->volumes[i].target && streq(s->volumes[i].target, dest))
                        return true;
        return false;
}

int volume_mounts(const struct container_host *h, const struct container_spec *spec, const char *rootfs,
                  struct mounts *ms, struct stack_error *err)
{
        const struct stack_service *s = spec->service;
        for (size_t i = 0; i < s->n_volumes; i++) {
                const struct stack_mount *m = &s->volumes[i];
                if (m->type == STACK_MOUNT_TMPFS)
                        continue; /* oci_config_build makes those */
                if (!m->target || m->target[0] != '/')
                        return stack_error_set(err, EINVAL,
                                               "volumes[%zu]: the target must be an absolute path", i);
                if (m->type == STACK_MOUNT_BIND) {
                        if (!m->source || m->source[0] != '/')
                                return stack_error_set(err, EINVAL,
                                                       "volumes[%zu]: bind source must be absolute", i);
                        if (!path_exists(m->source)) {
                                if (!m->bind_create_host_path)
                                        return stack_error_set(
                                            err, ENOENT, "volumes[%zu]: bind source path does not exist: %s",
                                            i, m->source);
                                int r = mkdir_p(m->source, 0755, err);
                                if (r < 0)
                                        return stack_error_prefix(err, "volumes[%zu]", i);
                        }
                        bool recursive = !m->bind_recursive || !streq(m->bind_recursive, "disabled");
                        mounts_add(ms, m->target, "bind", m->source,
                                   bind_options(recursive, m->bind_propagation, m->read_only));
                        continue;
                }
                if (m->type != STACK_MOUNT_VOLUME)
                        return stack_error_set(err, ENOTSUP,
                                               "volumes[%zu]: this mount type is not supported", i);

                _cleanup_free_ char *name = NULL;
                bool external = false;
                const struct stack_kvlist *labels = NULL;
                if (!m->source)
                        name = container_anonymous_volume_name(spec->name, m->target);
                else {
                        const struct stack_volume *v =
                            spec->project ? stack_project_volume(spec->project, m->source) : NULL;
                        name = xstrdup(v && v->name ? v->name : m->source);
                        external = v && v->external;
                        labels = v ? &v->labels : NULL;
                        if (v && v->driver && !streq(v->driver, "local"))
                                return stack_error_set(err, ENOTSUP,
                                                       "volume '%s': driver '%s' is not supported",
                                                       m->source, v->driver);
                }
                if (external && !volume_exists(h->root, name))
                        return stack_error_set(
                            err, ENOENT, "volume '%s' is declared external, but could not be found", name);
                int r = volume_create(h->root, name, labels, NULL, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *data = volume_data_path(h->root, name);
                if (!m->volume_nocopy) {
                        r = volume_fill_from_image(data, rootfs, m->target, err);
                        if (r < 0)
                                return stack_error_prefix(err, "volume '%s'", name);
                }
                _cleanup_free_ char *source = NULL;
                if (m->volume_subpath) {
                        if (m->volume_subpath[0] == '/' || strstr(m->volume_subpath, ".."))
                                return stack_error_set(err, EINVAL, "volumes[%zu]: invalid subpath '%s'", i,
                                                       m->volume_subpath);
                        source = path_join(data, m->volume_subpath);
                        if (!path_exists(source))
                                return stack_error_set(err, ENOENT,
                                                       "volume '%s': subpath '%s' does not exist", name,
                                                       m->volume_subpath);
                } else
                        source = TAKE_PTR(data);
                mounts_add(ms, m->target, "bind", source, bind_options(true, NULL, m->read_only));
        }
        return 0;
}

static int parse_owner(const char *s, uint32_t *ret, const char *what, struct stack_error *err)
{
        if (isempty(s)) {
                *ret = 0;
                return 0;
        }
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (*end || v > UINT32_MAX)
                return stack_error_set(err, EINVAL, "%s '%s': must be a number", what, s);
        *ret = (uint32_t) v;
        return 0;
}

/* Secrets and configs are copied into the bundle (a tmpfs under /run normally, so secrets stay off disk)
 * with the requested owner and mode, and bind-mounted read-only. */
int file_mounts(const struct container_spec *spec, const char *bundle, bool secrets, struct mounts *ms,
                struct stack_error *err)
{
        const struct stack_service *s = spec->service;
        const struct stack_file_ref *refs = secrets ? s->secrets : s->configs;
        size_t n = secrets ? s->n_secrets : s->n_configs;
        const char *kind = secrets ? "secret" : "config";
        if (n == 0)
                return 0;
        _cleanup_free_ char *dir = path_join(bundle, secrets ? "secrets" : "configs");
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return stack_error_errno(err, errno, "mkdir %s", dir);
        for (size_t i = 0; i < n; i++) {
                const struct stack_file_ref *ref = &refs[i];
                const struct stack_file_def *def = NULL;
                const struct stack_file_def *defs =
                    spec->project ? (secrets ? spec->project->secrets : spec->project->configs) : NULL;
                size_t nd =
                    spec->project ? (secrets ? spec->project->n_secrets : spec->project->n_configs) : 0;
                for (size_t k = 0; k < nd; k++)
                        if (streq(defs[k].key, ref->source))
                                def = &defs[k];
                if (!def)
                        return stack_error_set(err, ENOENT, "%s '%s' is not defined", kind, ref->source);
                if (def->external)
                        return stack_error_set(err, ENOTSUP, "%s '%s': external %ss need swarm", kind,
                                               ref->source, kind);
                _cleanup_free_ char *content = NULL;
                size_t len = 0;
                if (def->file) {
                        int r = read_named_file(def->file, 0, &content, &len, err);
                        if (r < 0)
                                return stack_error_prefix(err, "%s '%s'", kind, ref->source);
                } else if (def->environment) {
                        const struct stack_kv *kv =
                            spec->project ? stack_kvlist_get(&spec->project->environment, def->environment)
                                          : NULL;
                        const char *v = kv && kv->value ? kv->value : getenv(def->environment);
                        if (!v)
                                return stack_error_set(err, ENOENT,
                                                       "%s '%s': environment variable %s is not set", kind,
                                                       ref->source, def->environment);
                        content = xstrdup(v);
                        len = strlen(v);
                } else {
                        content = xstrdup(def->content ? def->content : "");
                        len = strlen(content);
                }
                uint32_t uid, gid;
                int r = parse_owner(ref->uid, &uid, "uid", err);
                if (r >= 0)
                        r = parse_owner(ref->gid, &gid, "gid", err);
                if (r < 0)
                        return stack_error_prefix(err, "%s '%s'", kind, ref->source);
                _cleanup_free_ char *file = xasprintf("%s/%zu", dir, i);
                mode_t mode = ref->mode >= 0 ? (mode_t) ref->mode : 0444;
                r = write_file_atomic(file, content, len, mode, err);
                if (r < 0)
                        return r;
                if (chown(file, uid, gid) < 0)
                        return stack_error_errno(err, errno, "chown %s", file);
                _cleanup_free_ char *target = NULL;
                if (ref->target && ref->target[0] == '/')
                        target = xstrdup(ref->target);
                else if (secrets)
                        target = xasprintf("/run/secrets/%s", ref->target ? ref->target : ref->source);
                else
                        target = xasprintf("/%s", ref->target ? ref->target : ref->source);
                mounts_add(ms, target, "bind", file, bind_options(false, NULL, true));
        }
        return 0;
}

/* ---- devices ---- */

void devices_done(struct devices *ds)
{
        for (size_t i = 0; i < ds->n; i++) {
                free(ds->d[i].path);
                free(ds->d[i].access);
        }
        free(ds->d);
}

int device_add(struct devices *ds, const char *host, const char *ctr, const char *perms,
               struct stack_error *err)
{
        struct stat st;
        if (stat(host, &st) < 0)
                return stack_error_errno(err, errno, "device %s", host);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return stack_error_set(err, EINVAL, "device %s: not a character or block device", host);
        GROW(ds->d, ds->cap, ds->n + 1);
        ds->d[ds->n++] = (struct oci_device){
            .path = xstrdup(ctr),
            .type = S_ISCHR(st.st_mode) ? 'c' : 'b',
            .major = major(st.st_rdev),
            .minor = minor(st.st_rdev),
            .file_mode = st.st_mode & 07777,
            .uid = st.st_uid,
            .gid = st.st_gid,
            .access = xstrdup(perms),
        };
        return 0;
}

int service_devices(const struct stack_service *s, struct devices *ds, struct stack_error *err)
{
        STRV_FOREACH (d, s->devices) {
                _cleanup_strv_free_ char **parts = strv_split(*d, ":");
                size_t n = strv_length(parts);
                if (n == 0 || n > 3)
                        return stack_error_set(err, EINVAL,
                                               "devices '%s': expected HOST[:CONTAINER[:PERMS]]", *d);
                const char *perms = n == 3 ? parts[2] : "rwm";
                if (n == 2 && strspn(parts[1], "rwm") == strlen(parts[1]) && parts[1][0] != '/')
                        perms = parts[1];
                const char *ctr = n >= 2 && parts[1][0] == '/' ? parts[1] : parts[0];
                int r = device_add(ds, parts[0], ctr, perms, err);
                if (r < 0)
                        return stack_error_prefix(err, "devices '%s'", *d);
        }
        return 0;
}

/* privileged: every device node of the host, as docker gives them. */
void host_devices(const char *dir, struct devices *ds)
{
        static const char *const skip[] = {"pts",  "shm",  "mqueue", "fd",     "console", "ptmx", "tty",
                                           "null", "zero", "full",   "random", "urandom", ".lxc", ".udev"};
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
                        continue;
                bool skipped = false;
                for (size_t i = 0; streq(dir, "/dev") && i < ELEMENTSOF(skip); i++)
                        skipped |= streq(de->d_name, skip[i]);
                if (skipped)
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        host_devices(p, ds);
                else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                        _cleanup_error_ struct stack_error e = {0};
                        (void) device_add(ds, p, p, "rwm", &e);
                }
        }
}
