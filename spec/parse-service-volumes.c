/* The keys that put files into a service's containers: volumes (short and long syntax, bind, volume and
 * tmpfs), secrets and configs. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "spec/dotenv.h"
#include "spec/parse-internal.h"
#include "spec/units.h"
#include "spec/parse-service-internal.h"

/* ---- volumes ---- */

static bool is_file_path(const char *s)
{
        return s && (s[0] == '.' || s[0] == '/' || s[0] == '~');
}

static int check_named_volume(struct svc *c, const struct node *n, const char *path, const char *source,
                              struct stack_error *err)
{
        if (!stack_project_volume(c->st->project, source))
                return spec_error(err, n->mark, path,
                                  "undefined volume \"%s\" (declare it under the top-level volumes:)",
                                  source);
        return 0;
}

static struct stack_mount *add_mount(struct stack_service *s, struct node_mark mark)
{
        s->volumes = xrealloc(s->volumes, (s->n_volumes + 1) * sizeof(struct stack_mount));
        struct stack_mount *m = &s->volumes[s->n_volumes++];
        *m = (struct stack_mount){.mark = mark, .tmpfs_size = -1, .tmpfs_mode = -1};
        return m;
}

static int parse_volume_short(struct svc *c, const struct node *n, const char *path, struct stack_error *err)
{
        const char *spec = n->scalar;
        _cleanup_strv_free_ char **fields = NULL;
        size_t len = strlen(spec);

        if (len == 0)
                return spec_error(err, n->mark, path, "invalid empty volume spec");
        /* Split on ':' outside ${...}, so a file read with --no-interpolate still parses. */
        int depth = 0;
        struct strbuf b = {0};
        for (size_t i = 0; i <= len; i++) {
                char ch = spec[i];
                if (ch == '$' && spec[i + 1] == '{')
                        depth++;
                else if (ch == '}' && depth > 0)
                        depth--;
                if ((ch == ':' && depth == 0) || ch == '\0') {
                        if (b.len == 0) {
                                strbuf_free(&b);
                                return spec_error(err, n->mark, path,
                                                  "invalid spec \"%s\": empty section between colons", spec);
                        }
                        strv_consume(&fields, strbuf_take(&b));
                        continue;
                }
                strbuf_putc(&b, ch);
        }
        strbuf_free(&b);
        size_t nf = strv_length(fields);
        if (nf > 3)
                return spec_error(err, n->mark, path, "invalid spec \"%s\": too many colons", spec);

        struct stack_mount *m = add_mount(c->s, n->mark);
        if (nf == 1) {
                m->type = STACK_MOUNT_VOLUME;
                m->target = xstrdup(fields[0]);
        } else {
                m->target = xstrdup(fields[1]);
                if (is_file_path(fields[0])) {
                        m->type = STACK_MOUNT_BIND;
                        m->source = parse_resolve_path(c->st, fields[0]);
                        m->bind_create_host_path = true;
                } else {
                        m->type = STACK_MOUNT_VOLUME;
                        m->source = xstrdup(fields[0]);
                }
        }
        if (nf == 3) {
                _cleanup_strv_free_ char **opts = strv_split(fields[2], ",");
                STRV_FOREACH (o, opts) {
                        if (streq(*o, "ro"))
                                m->read_only = true;
                        else if (streq(*o, "rw"))
                                m->read_only = false;
                        else if (streq(*o, "nocopy"))
                                m->volume_nocopy = true;
                        else if (streq(*o, "z") || streq(*o, "Z")) {
                                free(m->bind_selinux);
                                m->bind_selinux = xstrdup(*o);
                        } else if (streq(*o, "private") || streq(*o, "rprivate") || streq(*o, "shared") ||
                                   streq(*o, "rshared") || streq(*o, "slave") || streq(*o, "rslave")) {
                                free(m->bind_propagation);
                                m->bind_propagation = xstrdup(*o);
                        } else
                                /* compose ignores unknown modes; say so instead of dropping them silently */
                                spec_warning(n->mark, path, "unknown volume option \"%s\" ignored", *o);
                }
        }
        if (m->target[0] != '/' && !strstr(m->target, "${"))
                return spec_error(err, n->mark, path,
                                  "invalid spec \"%s\": the container path must be absolute", spec);
        if (m->type == STACK_MOUNT_VOLUME && m->source)
                return check_named_volume(c, n, path, m->source, err);
        return 0;
}

static int parse_volume_long(struct svc *c, const struct node *n, const char *path, struct stack_error *err)
{
        static const char *const keys[] = {"type", "source", "target", "read_only", "consistency",
                                           "bind", "volume", "tmpfs",  "image",     NULL};
        static const char *const bind_keys[] = {"propagation", "create_host_path", "recursive", "selinux",
                                                NULL};
        static const char *const volume_keys[] = {"nocopy", "subpath", "labels", NULL};
        static const char *const tmpfs_keys[] = {"size", "mode", NULL};
        static const char *const image_keys[] = {"subpath", NULL};
        int r;

        if ((r = parse_check_keys(n, path, keys, err)) < 0)
                return r;
        _cleanup_free_ char *type = NULL, *source = NULL;
        _cleanup_free_ char *p_type = node_path_key(path, "type");
        _cleanup_free_ char *p_source = node_path_key(path, "source");
        if ((r = parse_string(node_get(n, "type"), p_type, &type, err)) < 0 ||
            (r = parse_string(node_get(n, "source"), p_source, &source, err)) < 0)
                return r;
        if (!type)
                return spec_error(err, n->mark, path, "type is required");
        struct stack_mount *m = add_mount(c->s, n->mark);
        if (streq(type, "bind"))
                m->type = STACK_MOUNT_BIND;
        else if (streq(type, "volume"))
                m->type = STACK_MOUNT_VOLUME;
        else if (streq(type, "tmpfs"))
                m->type = STACK_MOUNT_TMPFS;
        else if (streq(type, "image") || streq(type, "npipe") || streq(type, "cluster")) {
                m->type = streq(type, "image")   ? STACK_MOUNT_IMAGE
                          : streq(type, "npipe") ? STACK_MOUNT_NPIPE
                                                 : STACK_MOUNT_CLUSTER;
                _cleanup_free_ char *wkey = xasprintf("volumes.type.%s", type);
                parse_unsupported(c->st, wkey, node_get(n, "type")->mark, p_type);
        } else
                return spec_error(
                    err, node_get(n, "type")->mark, p_type,
                    "invalid mount type \"%s\" (expected bind, volume, tmpfs, image, npipe or cluster)",
                    type);

        _cleanup_free_ char *p_target = node_path_key(path, "target");
        _cleanup_free_ char *p_ro = node_path_key(path, "read_only");
        _cleanup_free_ char *p_cons = node_path_key(path, "consistency");
        if ((r = parse_string(node_get(n, "target"), p_target, &m->target, err)) < 0 ||
            (r = parse_bool(node_get(n, "read_only"), p_ro, &m->read_only, err)) < 0 ||
            (r = parse_string(node_get(n, "consistency"), p_cons, &m->consistency, err)) < 0)
                return r;
        if (!m->target)
                return spec_error(err, n->mark, path, "target is required");
        if (m->target[0] != '/' && m->type != STACK_MOUNT_NPIPE && !strstr(m->target, "${"))
                return spec_error(err, node_get(n, "target")->mark, p_target,
                                  "the container path \"%s\" must be absolute", m->target);

        const struct node *bind = node_get(n, "bind");
        if (bind && bind->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "bind");
                if ((r = parse_expect(bind, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(bind, p, bind_keys, err)) < 0)
                        return r;
                m->bind_create_host_path = true; /* compose's default once a bind: block is given */
                _cleanup_free_ char *pp = node_path_key(p, "propagation");
                _cleanup_free_ char *pc = node_path_key(p, "create_host_path");
                _cleanup_free_ char *pr = node_path_key(p, "recursive");
                _cleanup_free_ char *ps = node_path_key(p, "selinux");
                if ((r = parse_string(node_get(bind, "propagation"), pp, &m->bind_propagation, err)) < 0 ||
                    (r = parse_bool(node_get(bind, "create_host_path"), pc, &m->bind_create_host_path,
                                    err)) < 0 ||
                    (r = parse_string(node_get(bind, "recursive"), pr, &m->bind_recursive, err)) < 0 ||
                    (r = parse_string(node_get(bind, "selinux"), ps, &m->bind_selinux, err)) < 0)
                        return r;
                static const char *const props[] = {"private", "rprivate", "shared", "rshared",
                                                    "slave",   "rslave",   NULL};
                static const char *const recs[] = {"enabled", "disabled", "writable", "readonly", NULL};
                if (m->bind_propagation && !strv_contains((char **) props, m->bind_propagation))
                        return spec_error(err, node_get(bind, "propagation")->mark, pp,
                                          "invalid propagation \"%s\"", m->bind_propagation);
                if (m->bind_recursive && !strv_contains((char **) recs, m->bind_recursive))
                        return spec_error(err, node_get(bind, "recursive")->mark, pr, "invalid value \"%s\"",
                                          m->bind_recursive);
                if (m->bind_selinux && !streq(m->bind_selinux, "z") && !streq(m->bind_selinux, "Z"))
                        return spec_error(err, node_get(bind, "selinux")->mark, ps,
                                          "invalid value \"%s\" (z or Z)", m->bind_selinux);
        }
        const struct node *vol = node_get(n, "volume");
        if (vol && vol->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "volume");
                _cleanup_free_ char *pn = node_path_key(p, "nocopy");
                _cleanup_free_ char *ps = node_path_key(p, "subpath");
                if ((r = parse_expect(vol, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(vol, p, volume_keys, err)) < 0 ||
                    (r = parse_bool(node_get(vol, "nocopy"), pn, &m->volume_nocopy, err)) < 0 ||
                    (r = parse_string(node_get(vol, "subpath"), ps, &m->volume_subpath, err)) < 0)
                        return r;
                if (node_get(vol, "labels")) {
                        _cleanup_free_ char *pl = node_path_key(p, "labels");
                        parse_unsupported(c->st, "volumes.volume.labels", node_get(vol, "labels")->mark, pl);
                }
        }
        const struct node *tmpfs = node_get(n, "tmpfs");
        if (tmpfs && tmpfs->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "tmpfs");
                _cleanup_free_ char *ps = node_path_key(p, "size");
                _cleanup_free_ char *pm = node_path_key(p, "mode");
                if ((r = parse_expect(tmpfs, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(tmpfs, p, tmpfs_keys, err)) < 0 ||
                    (r = parse_bytes(node_get(tmpfs, "size"), ps, &m->tmpfs_size, err)) < 0 ||
                    (r = parse_mode(node_get(tmpfs, "mode"), pm, &m->tmpfs_mode, err)) < 0)
                        return r;
        }
        const struct node *image = node_get(n, "image");
        if (image && image->kind != NODE_NULL) {
                _cleanup_free_ char *p = node_path_key(path, "image");
                _cleanup_free_ char *ps = node_path_key(p, "subpath");
                if ((r = parse_expect(image, p, NODE_MAPPING, err)) < 0 ||
                    (r = parse_check_keys(image, p, image_keys, err)) < 0 ||
                    (r = parse_string(node_get(image, "subpath"), ps, &m->volume_subpath, err)) < 0)
                        return r;
        }

        switch (m->type) {
        case STACK_MOUNT_BIND:
                if (isempty(source))
                        return spec_error(err, n->mark, path, "a bind mount needs a source");
                m->source = parse_resolve_path(c->st, source);
                break;
        case STACK_MOUNT_VOLUME:
                if (!isempty(source)) {
                        m->source = xstrdup(source);
                        return check_named_volume(c, n, path, source, err);
                }
                break;
        case STACK_MOUNT_TMPFS:
                if (!isempty(source))
                        return spec_error(err, node_get(n, "source")->mark, p_source,
                                          "a tmpfs mount does not take a source");
                break;
        default:
                m->source = TAKE_PTR(source);
                break;
        }
        return 0;
}

int k_volumes(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return svc_parse_short_or_long(c, v, path, parse_volume_short, parse_volume_long,
                                       "a string or a mapping", err);
}

/* ---- secrets and configs ---- */

int svc_parse_file_refs(struct svc *c, const struct node *v, const char *path, bool secrets,
                        struct stack_file_ref **arr, size_t *n, struct stack_error *err)
{
        static const char *const keys[] = {"source", "target", "uid", "gid", "mode", NULL};
        int r;
        if (!v || v->kind == NODE_NULL)
                return 0;
        if ((r = parse_expect(v, path, NODE_SEQUENCE, err)) < 0)
                return r;
        for (size_t i = 0; i < v->n_items; i++) {
                const struct node *it = v->items[i];
                _cleanup_free_ char *p = node_path_index(path, i);
                *arr = xrealloc(*arr, (*n + 1) * sizeof(struct stack_file_ref));
                struct stack_file_ref *ref = &(*arr)[(*n)++];
                *ref = (struct stack_file_ref){.mode = -1, .mark = it->mark};
                if (it->kind == NODE_SCALAR)
                        ref->source = xstrdup(it->scalar);
                else {
                        if ((r = parse_expect(it, p, NODE_MAPPING, err)) < 0 ||
                            (r = parse_check_keys(it, p, keys, err)) < 0)
                                return r;
                        _cleanup_free_ char *ps = node_path_key(p, "source");
                        _cleanup_free_ char *pt = node_path_key(p, "target");
                        _cleanup_free_ char *pu = node_path_key(p, "uid");
                        _cleanup_free_ char *pg = node_path_key(p, "gid");
                        _cleanup_free_ char *pm = node_path_key(p, "mode");
                        if ((r = parse_string(node_get(it, "source"), ps, &ref->source, err)) < 0 ||
                            (r = parse_string(node_get(it, "target"), pt, &ref->target, err)) < 0 ||
                            (r = parse_string(node_get(it, "uid"), pu, &ref->uid, err)) < 0 ||
                            (r = parse_string(node_get(it, "gid"), pg, &ref->gid, err)) < 0 ||
                            (r = parse_mode(node_get(it, "mode"), pm, &ref->mode, err)) < 0)
                                return r;
                        if (!ref->source)
                                return spec_error(err, it->mark, p, "source is required");
                }
                bool declared = secrets ? stack_project_secret(c->st->project, ref->source) != NULL
                                        : stack_project_config(c->st->project, ref->source) != NULL;
                if (!declared)
                        return spec_error(
                            err, it->mark, p, "undefined %s \"%s\" (declare it under the top-level %s:)",
                            secrets ? "secret" : "config", ref->source, secrets ? "secrets" : "configs");
                /* Defaults made explicit, as compose prints them: /run/secrets/<name>, /<name>. */
                if (!ref->target)
                        ref->target = secrets ? xasprintf("/run/secrets/%s", ref->source)
                                              : xasprintf("/%s", ref->source);
                else if (secrets && ref->target[0] != '/') {
                        char *t = xasprintf("/run/secrets/%s", ref->target);
                        free(ref->target);
                        ref->target = t;
                }
        }
        return 0;
}

int k_secrets(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return svc_parse_file_refs(c, v, path, true, &c->s->secrets, &c->s->n_secrets, err);
}

int k_configs(struct svc *c, const struct node *v, const char *path, struct stack_error *err)
{
        return svc_parse_file_refs(c, v, path, false, &c->s->configs, &c->s->n_configs, err);
}
