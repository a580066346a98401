/* The desired state: the model -> what plan.c compares with the host (services with their config hash and
 * image ID, replicas, networks, volumes, dependencies). */
#include <errno.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/health.h"
#include "core/image/image.h"
#include "core/engine/reconcile-internal.h"
#include "spec/hash.h"

bool reconcile_service_uses_bridge(const struct stack_service *s)
{
        return !s->network_mode;
}

/* Services often share an image: each one is read from the store once per reconcile (a handful of
 * distinct references, searched in order). */
struct image_cache {
        char **refs;
        struct image **images;
        size_t n;
};

static int image_cached(struct reconciler *r, struct image_cache *c, const char *ref,
                        const struct image **ret, struct stack_error *err)
{
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->refs[i], ref)) {
                        *ret = c->images[i];
                        return 0;
                }
        struct image *img = NULL;
        int k = image_lookup(r->images, ref, &img, err);
        if (k < 0)
                return k;
        c->refs = xrealloc(c->refs, (c->n + 1) * sizeof(*c->refs));
        c->images = xrealloc(c->images, (c->n + 1) * sizeof(*c->images));
        c->refs[c->n] = xstrdup(ref);
        c->images[c->n++] = img;
        *ret = img;
        return 0;
}

static void image_cache_done(struct image_cache *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->refs[i]);
                image_free(c->images[i]);
        }
        free(c->refs);
        free(c->images);
}

int reconcile_build_desired(struct reconciler *r, struct plan_desired **ret, struct stack_error *err)
{
        const struct stack_project *p = r->project;
        struct plan_desired *d = xcalloc(1, sizeof(*d));
        d->project = xstrdup(p->name);
        d->all_services = xcalloc(1, sizeof(char *));
        d->networks = xcalloc(1, sizeof(char *));
        d->volumes = xcalloc(1, sizeof(char *));
        d->services = xcalloc(p->n_services + 1, sizeof(struct plan_service));
        _cleanup_(image_cache_done) struct image_cache images = {0};
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                struct plan_service *ps = &d->services[d->n_services++];
                ps->name = xstrdup(s->name);
                ps->scale = s->scale;
                ps->container_name = s->container_name ? xstrdup(s->container_name) : NULL;
                const char *joins = s->network_mode ? startswith(s->network_mode, "service:") : NULL;
                ps->joins = joins ? xstrdup(joins) : NULL;
                char hash[65];
                int k = spec_service_hash(p, s, hash);
                if (k < 0) {
                        plan_desired_free(d);
                        return stack_error_errno(err, k, "service %s: config hash", s->name);
                }
                ps->config_hash = xstrdup(hash);
                if (!s->image) {
                        plan_desired_free(d);
                        return stack_error_set(err, EINVAL, "service %s: no image", s->name);
                }
                const struct image *img = NULL;
                k = image_cached(r, &images, s->image, &img, err);
                if (k < 0) {
                        plan_desired_free(d);
                        if (k == -ENOENT) {
                                stack_error_clear(err);
                                return stack_error_set(err, ENOENT,
                                                       "service %s: image %s not found in the store (import "
                                                       "it with `stack image import`)",
                                                       s->name, s->image);
                        }
                        return stack_error_prefix(err, "service %s", s->name);
                }
                ps->image_id = xstrdup(img->id);
                ps->networks = xcalloc(1, sizeof(char *));
                if (reconcile_service_uses_bridge(s))
                        for (size_t n = 0; n < s->n_networks; n++)
                                strv_push(&ps->networks, s->networks[n].name);
                ps->volumes = xcalloc(1, sizeof(char *));
                for (size_t v = 0; v < s->n_volumes; v++)
                        if (s->volumes[v].type == STACK_MOUNT_VOLUME && s->volumes[v].source &&
                            !strv_contains(ps->volumes, s->volumes[v].source))
                                strv_push(&ps->volumes, s->volumes[v].source);
                ps->deps = xcalloc(s->n_depends_on + 1, sizeof(struct plan_dep));
                for (size_t k2 = 0; k2 < s->n_depends_on; k2++) {
                        const struct stack_dependency *dep = &s->depends_on[k2];
                        if (!stack_project_service(p, dep->service))
                                continue; /* optional and not enabled: the graph warned */
                        ps->deps[ps->n_deps++] = (struct plan_dep){
                            .service = xstrdup(dep->service),
                            .condition = dep->condition,
                            .required = dep->required,
                            .restart = dep->restart,
                        };
                }
                struct health_settings h;
                health_settings_resolve(&s->healthcheck, &img->config.healthcheck, &h);
                ps->has_healthcheck = h.enabled;
                ps->restart_no = s->restart.policy == STACK_RESTART_NO;
                strv_push(&d->all_services, s->name);
                STRV_FOREACH (net, ps->networks) {
                        const struct stack_network *n = stack_project_network(p, *net);
                        if (n && !n->external && !strv_contains(d->networks, *net))
                                strv_push(&d->networks, *net);
                }
        }
        STRV_FOREACH (name, p->disabled_services)
                strv_push(&d->all_services, *name);
        for (size_t i = 0; i < p->n_volumes; i++)
                if (!p->volumes[i].external)
                        strv_push(&d->volumes, p->volumes[i].key);
        *ret = d;
        return 0;
}
