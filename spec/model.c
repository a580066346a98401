/* The typed compose model: freeing it and looking things up in it. */
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/model.h"

void stack_kvlist_add(struct stack_kvlist *l, const char *key, const char *value)
{
        l->items = xrealloc(l->items, (l->n + 1) * sizeof(struct stack_kv));
        l->items[l->n++] = (struct stack_kv){
            .key = xstrdup(key),
            .value = value ? xstrdup(value) : NULL,
        };
}

void stack_kvlist_set(struct stack_kvlist *l, const char *key, const char *value)
{
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].key, key)) {
                        free(l->items[i].value);
                        l->items[i].value = value ? xstrdup(value) : NULL;
                        return;
                }
        stack_kvlist_add(l, key, value);
}

const struct stack_kv *stack_kvlist_get(const struct stack_kvlist *l, const char *key)
{
        for (size_t i = 0; l && i < l->n; i++)
                if (streq(l->items[i].key, key))
                        return &l->items[i];
        return NULL;
}

void stack_kvlist_free(struct stack_kvlist *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].key);
                free(l->items[i].value);
        }
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

static int kv_compare(const void *a, const void *b)
{
        const struct stack_kv *x = a, *y = b;
        int r = strcmp(x->key, y->key);
        if (r != 0)
                return r;
        if (!x->value || !y->value)
                return !!x->value - !!y->value;
        return strcmp(x->value, y->value);
}

void stack_kvlist_sort(struct stack_kvlist *l)
{
        /* qsort is not stable: equal keys are ordered by value so the result is deterministic. */
        if (l->n > 1)
                qsort(l->items, l->n, sizeof(struct stack_kv), kv_compare);
}

static void port_free(struct stack_port *p)
{
        free(p->name);
        free(p->host_ip);
        free(p->app_protocol);
        free(p->mode);
}

static void mount_free(struct stack_mount *m)
{
        free(m->source);
        free(m->target);
        free(m->consistency);
        free(m->bind_propagation);
        free(m->bind_selinux);
        free(m->bind_recursive);
        free(m->volume_subpath);
}

static void service_network_free(struct stack_service_network *n)
{
        free(n->name);
        strv_free(n->aliases);
        free(n->ipv4_address);
        free(n->ipv6_address);
        free(n->mac_address);
        free(n->interface_name);
        strv_free(n->link_local_ips);
        stack_kvlist_free(&n->driver_opts);
}

static void file_ref_free(struct stack_file_ref *r)
{
        free(r->source);
        free(r->target);
        free(r->uid);
        free(r->gid);
}

void stack_build_free_contents(struct stack_build *b)
{
        free(b->context);
        free(b->dockerfile);
        free(b->dockerfile_inline);
        stack_kvlist_free(&b->args);
        free(b->target);
        stack_kvlist_free(&b->labels);
        strv_free(b->tags);
        free(b->network);
        stack_kvlist_free(&b->extra_hosts);
        for (size_t i = 0; i < b->n_secrets; i++)
                file_ref_free(&b->secrets[i]);
        free(b->secrets);
        stack_kvlist_free(&b->ssh);
        stack_kvlist_free(&b->additional_contexts);
        strv_free(b->platforms);
        strv_free(b->cache_from);
        strv_free(b->cache_to);
        *b = (struct stack_build){0};
}

void stack_service_free_contents(struct stack_service *s)
{
        free(s->name);
        free(s->image);
        stack_build_free_contents(&s->build);
        stack_develop_free_contents(&s->develop);
        free(s->container_name);
        free(s->hostname);
        free(s->domainname);
        strv_free(s->command);
        strv_free(s->entrypoint);
        stack_kvlist_free(&s->environment);
        stack_kvlist_free(&s->labels);
        stack_kvlist_free(&s->annotations);
        free(s->working_dir);
        free(s->user);
        strv_free(s->group_add);
        for (size_t i = 0; i < s->n_ports; i++)
                port_free(&s->ports[i]);
        free(s->ports);
        for (size_t i = 0; i < s->n_expose; i++)
                port_free(&s->expose[i]);
        free(s->expose);
        for (size_t i = 0; i < s->n_volumes; i++)
                mount_free(&s->volumes[i]);
        free(s->volumes);
        strv_free(s->tmpfs);
        for (size_t i = 0; i < s->n_networks; i++)
                service_network_free(&s->networks[i]);
        free(s->networks);
        free(s->network_mode);
        for (size_t i = 0; i < s->n_depends_on; i++)
                free(s->depends_on[i].service);
        free(s->depends_on);
        strv_free(s->links);
        strv_free(s->healthcheck.test);
        strv_free(s->cap_add);
        strv_free(s->cap_drop);
        strv_free(s->security_opt);
        stack_kvlist_free(&s->sysctls);
        for (size_t i = 0; i < s->n_ulimits; i++)
                free(s->ulimits[i].name);
        free(s->ulimits);
        strv_free(s->devices);
        strv_free(s->dns);
        strv_free(s->dns_search);
        strv_free(s->dns_opt);
        stack_kvlist_free(&s->extra_hosts);
        free(s->stop_signal);
        free(s->pull_policy);
        free(s->platform);
        free(s->runtime);
        free(s->ipc);
        free(s->pid);
        free(s->uts);
        free(s->cgroup);
        free(s->userns_mode);
        free(s->mac_address);
        strv_free(s->profiles);
        for (size_t i = 0; i < s->n_secrets; i++)
                file_ref_free(&s->secrets[i]);
        free(s->secrets);
        for (size_t i = 0; i < s->n_configs; i++)
                file_ref_free(&s->configs[i]);
        free(s->configs);
        free(s->logging.driver);
        stack_kvlist_free(&s->logging.options);
        strv_free(s->env_files);
        node_free(s->extensions);
        node_free(s->uninterpolated);
        memset(s, 0, sizeof(*s));
}

void stack_network_free_contents(struct stack_network *n)
{
        free(n->key);
        free(n->name);
        free(n->driver);
        stack_kvlist_free(&n->driver_opts);
        free(n->ipam_driver);
        for (size_t i = 0; i < n->n_ipam; i++) {
                free(n->ipam[i].subnet);
                free(n->ipam[i].ip_range);
                free(n->ipam[i].gateway);
                stack_kvlist_free(&n->ipam[i].aux_addresses);
        }
        free(n->ipam);
        stack_kvlist_free(&n->ipam_options);
        stack_kvlist_free(&n->labels);
        memset(n, 0, sizeof(*n));
}

void stack_volume_free_contents(struct stack_volume *v)
{
        free(v->key);
        free(v->name);
        free(v->driver);
        stack_kvlist_free(&v->driver_opts);
        stack_kvlist_free(&v->labels);
        memset(v, 0, sizeof(*v));
}

void stack_file_def_free_contents(struct stack_file_def *d)
{
        free(d->key);
        free(d->name);
        free(d->file);
        free(d->environment);
        free(d->content);
        stack_kvlist_free(&d->labels);
        memset(d, 0, sizeof(*d));
}

void stack_project_free(struct stack_project *p)
{
        if (!p)
                return;
        free(p->name);
        free(p->working_dir);
        strv_free(p->config_files);
        strv_free(p->env_files);
        strv_free(p->profiles);
        for (size_t i = 0; i < p->n_services; i++)
                stack_service_free_contents(&p->services[i]);
        free(p->services);
        strv_free(p->disabled_services);
        for (size_t i = 0; i < p->n_networks; i++)
                stack_network_free_contents(&p->networks[i]);
        free(p->networks);
        for (size_t i = 0; i < p->n_volumes; i++)
                stack_volume_free_contents(&p->volumes[i]);
        free(p->volumes);
        for (size_t i = 0; i < p->n_secrets; i++)
                stack_file_def_free_contents(&p->secrets[i]);
        free(p->secrets);
        for (size_t i = 0; i < p->n_configs; i++)
                stack_file_def_free_contents(&p->configs[i]);
        free(p->configs);
        node_free(p->extensions);
        stack_kvlist_free(&p->environment);
        free(p);
}

const struct stack_service *stack_project_service(const struct stack_project *p, const char *name)
{
        for (size_t i = 0; p && i < p->n_services; i++)
                if (streq(p->services[i].name, name))
                        return &p->services[i];
        return NULL;
}

const struct stack_network *stack_project_network(const struct stack_project *p, const char *key)
{
        for (size_t i = 0; p && i < p->n_networks; i++)
                if (streq(p->networks[i].key, key))
                        return &p->networks[i];
        return NULL;
}

const struct stack_volume *stack_project_volume(const struct stack_project *p, const char *key)
{
        for (size_t i = 0; p && i < p->n_volumes; i++)
                if (streq(p->volumes[i].key, key))
                        return &p->volumes[i];
        return NULL;
}

const struct stack_file_def *stack_project_secret(const struct stack_project *p, const char *key)
{
        for (size_t i = 0; p && i < p->n_secrets; i++)
                if (streq(p->secrets[i].key, key))
                        return &p->secrets[i];
        return NULL;
}

const struct stack_file_def *stack_project_config(const struct stack_project *p, const char *key)
{
        for (size_t i = 0; p && i < p->n_configs; i++)
                if (streq(p->configs[i].key, key))
                        return &p->configs[i];
        return NULL;
}

static const char *const watch_actions[] = {
    [STACK_WATCH_SYNC] = "sync",
    [STACK_WATCH_REBUILD] = "rebuild",
    [STACK_WATCH_SYNC_RESTART] = "sync+restart",
    [STACK_WATCH_RESTART] = "restart",
    [STACK_WATCH_SYNC_EXEC] = "sync+exec",
};

const char *stack_watch_action_to_string(enum stack_watch_action a)
{
        return watch_actions[a];
}

int stack_watch_action_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(watch_actions); i++)
                if (streq(watch_actions[i], s))
                        return (int) i;
        return -1;
}

void stack_develop_free_contents(struct stack_develop *d)
{
        for (size_t i = 0; i < d->n_watch; i++) {
                struct stack_watch_rule *w = &d->watch[i];
                free(w->path);
                free(w->target);
                strv_free(w->ignore);
                strv_free(w->include);
                strv_free(w->exec.command);
                free(w->exec.user);
                free(w->exec.working_dir);
                stack_kvlist_free(&w->exec.environment);
        }
        free(d->watch);
        *d = (struct stack_develop){0};
}
