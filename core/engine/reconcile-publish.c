/* Publishing: the project's firewall (outbound NAT, published ports, isolation, both address families,
 * through the firewall interface of net/firewall.h) and the name table of its DNS responder, both made
 * from the containers that exist now, once per plan that changes them. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/engine/reconcile-internal.h"
#include "core/engine/netmodel.h"
#include "net/ports.h"
#include "spec/node.h"

/* ---- the firewall of the reconcile ---- */

static void firewall_warning(void *userdata, const char *msg)
{
        reconcile_warn(userdata, "%s", msg);
}

int reconcile_firewall(struct reconciler *r, struct firewall **ret, struct stack_error *err)
{
        int k = 0;
        pthread_mutex_lock(&r->lock);
        if (!r->fw && r->cfg->firewall)
                r->fw = r->cfg->firewall; /* the caller's, with the caller's warning handler */
        else if (!r->fw) {
                k = firewall_open(r->cfg->firewall_backend, &r->fw, err);
                if (k >= 0) {
                        r->fw_owned = true;
                        firewall_set_warn(r->fw, firewall_warning, r);
                }
        }
        pthread_mutex_unlock(&r->lock);
        if (k < 0)
                return k;
        *ret = r->fw;
        return 0;
}

/* ---- the firewall's view of the project ---- */

struct fw_input {
        struct fw_network *networks;
        size_t n_networks;
        struct fw_port *ports;
        size_t n_ports;
        char **strings; /* owned strings the structs point into */
};

static const char *keep(struct fw_input *in, char *s)
{
        strv_consume(&in->strings, s);
        return s;
}

static void fw_input_free(struct fw_input *in)
{
        free(in->networks);
        free(in->ports);
        strv_free(in->strings);
}

static void add_network(struct fw_input *in, const struct network_info *info)
{
        in->networks = xrealloc(in->networks, (in->n_networks + 1) * sizeof(*in->networks));
        struct fw_network *fn = &in->networks[in->n_networks++];
        *fn = (struct fw_network){
            .name = keep(in, xstrdup(info->name)),
            .bridge = keep(in, xstrdup(info->bridge)),
            .prefixlen = info->subnet4.len,
            .internal = info->internal,
            .ipv6 = info->has6,
        };
        memcpy(&fn->subnet, info->subnet4.addr.bytes, 4);
        memcpy(&fn->gateway, info->gateway4.bytes, 4);
}

static const struct fw_network *fw_input_network(const struct fw_input *in, const char *name)
{
        for (size_t k = 0; k < in->n_networks; k++)
                if (streq_ptr(in->networks[k].name, name))
                        return &in->networks[k];
        return NULL;
}

/* The attachment a container's ports are published through: the first one with an IPv4 address on a
 * network that is not internal, as Docker does, so that a proxy on a public and an internal network
 * publishes through the public one. The networks are in `in` already (fw_collect adds them first). */
static int publish_attachment(const struct fw_input *in, const struct container_record *rec,
                              const cJSON **ret, struct stack_error *err)
{
        const cJSON *att;
        size_t n_internal = 0, n_v4 = 0;
        cJSON_ArrayForEach(att, cJSON_GetObjectItemCaseSensitive(rec->spec, "attachments"))
        {
                if (!json_get_str(att, "addr4"))
                        continue;
                n_v4++;
                const struct fw_network *fn = fw_input_network(in, json_get_str(att, "network_name"));
                if (fn && fn->internal) {
                        n_internal++;
                        continue;
                }
                *ret = att;
                return 0;
        }
        if (n_v4 > 0 && n_internal == n_v4)
                return stack_error_set(err, EINVAL,
                                       "container %s publishes ports but all of its networks are internal; "
                                       "nothing can be published from an internal network",
                                       rec->name);
        return stack_error_set(
            err, EINVAL, "container %s publishes ports but has no IPv4 address on a network", rec->name);
}

static int add_ports(struct fw_input *in, const struct container_record *rec, struct stack_error *err)
{
        const cJSON *ports = cJSON_GetObjectItemCaseSensitive(rec->spec, "ports");
        if (cJSON_GetArraySize(ports) == 0)
                return 0;
        const cJSON *via = NULL;
        int k = publish_attachment(in, rec, &via, err);
        if (k < 0)
                return k;
        const cJSON *pt;
        cJSON_ArrayForEach(pt, ports)
        {
                const char *proto = json_get_str(pt, "protocol");
                if (proto && streq(proto, "sctp"))
                        continue;
                in->ports = xrealloc(in->ports, (in->n_ports + 1) * sizeof(*in->ports));
                struct fw_port *fp = &in->ports[in->n_ports++];
                *fp = (struct fw_port){
                    .network = keep(in, xstrdup(json_get_str(via, "network_name"))),
                    .host_port = (uint16_t) json_get_num(pt, "published", 0),
                    .container_port = (uint16_t) json_get_num(pt, "target", 0),
                    .count = 1,
                    .proto = proto && streq(proto, "udp") ? FW_PROTO_UDP : FW_PROTO_TCP,
                };
                const char *hip = json_get_str(pt, "host_ip");
                if (!hip || inet_pton(AF_INET, hip, &fp->host_ip) != 1)
                        fp->host_ip.s_addr = INADDR_ANY;
                if (inet_pton(AF_INET, json_get_str(via, "addr4"), &fp->container_ip) != 1)
                        return stack_error_set(err, EINVAL, "container %s: invalid address \"%s\"",
                                               rec->name, json_get_str(via, "addr4"));
        }
        return 0;
}

/* From what exists now: the networks the containers are attached to (with the kernel's word on bridges
 * and subnets), and the published ports of the containers at their addresses. */
static int fw_collect(struct container_record **recs, size_t n, reconcile_net_lookup lookup, void *userdata,
                      struct fw_input *in, struct stack_error *err)
{
        for (size_t i = 0; i < n; i++) {
                const cJSON *att;
                cJSON_ArrayForEach(att, cJSON_GetObjectItemCaseSensitive(recs[i]->spec, "attachments"))
                {
                        const char *key = json_get_str(att, "network");
                        if (!key || fw_input_network(in, json_get_str(att, "network_name")))
                                continue;
                        struct network_info info;
                        int k = lookup(userdata, key, &info, err);
                        if (k < 0)
                                return k;
                        add_network(in, &info);
                }
                int k = add_ports(in, recs[i], err);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Random host ports are recorded where `stack port` and `ps` read them: the ports of the records in the
 * order fw_collect took them. */
static void record_host_ports(struct container_record **recs, size_t n, const struct fw_input *in,
                              bool *ret_changed)
{
        for (size_t i = 0, pi = 0; i < n; i++) {
                cJSON *pt;
                ret_changed[i] = false;
                cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(recs[i]->spec, "ports"))
                {
                        const char *proto = json_get_str(pt, "protocol");
                        if (proto && streq(proto, "sctp"))
                                continue;
                        if (pi < in->n_ports && json_get_num(pt, "published", 0) == 0) {
                                cJSON_ReplaceItemInObject(pt, "published",
                                                          cJSON_CreateNumber(in->ports[pi].host_port));
                                ret_changed[i] = true;
                        }
                        pi++;
                }
        }
}

int reconcile_publish_firewall(struct firewall *fw, const char *project, struct container_record **recs,
                               size_t n, reconcile_net_lookup net_info, void *userdata, bool *ret_changed,
                               struct stack_error *err)
{
        _cleanup_(fw_input_free) struct fw_input in = {0};
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        int k = fw_collect(recs, n, net_info, userdata, &in, err);
        if (k >= 0)
                k = firewall_list_published(fw, &pub, &n_pub, err);
        if (k >= 0)
                k = ports_assign(project, in.ports, in.n_ports, pub, n_pub, err);
        fw_published_free(pub, n_pub);
        if (k < 0)
                return k;
        struct fw_project fp = {
            .name = project,
            .networks = in.networks,
            .n_networks = in.n_networks,
            .ports = in.ports,
            .n_ports = in.n_ports,
        };
        k = firewall_build(&fp, &rs, err);
        if (k >= 0)
                k = firewall_apply(fw, &rs, err);
        if (k < 0)
                return k;
        record_host_ports(recs, n, &in, ret_changed);
        return 0;
}

/* ---- drift: the kernel lacks some of the project's rules ---- */

/* The networks as they are, read only (no bridge is made or repaired here: a dry run may ask). */
struct drift_nets {
        struct reconciler *r;
        struct network_status *st;
        size_t n;
};

static int status_lookup(void *userdata, const char *key, struct network_info *ret, struct stack_error *err)
{
        struct drift_nets *d = userdata;
        const struct stack_network *n = d->r->project ? stack_project_network(d->r->project, key) : NULL;
        if (!n)
                return stack_error_set(err, ENOENT, "network %s is not defined", key);
        struct netmodel_network m;
        int k = netmodel_network(d->r->name, n, &m, err);
        if (k < 0)
                return k;
        struct network_status st = {0};
        k = network_status(d->r->net, m.spec.name, &st, err);
        bool internal = m.spec.internal;
        netmodel_network_done(&m);
        if (k < 0)
                return k;
        st.info.internal = internal;
        d->st = xrealloc(d->st, (d->n + 1) * sizeof(*d->st));
        d->st[d->n] = st;
        *ret = d->st[d->n++].info;
        return 0;
}

int reconcile_firewall_drift(struct reconciler *r, char **ret_reason, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        *ret_reason = NULL;
        int k = state_container_list(r->cfg->root, r->name, &recs, &n, err);
        if (k < 0 || n == 0) {
                container_record_list_free(recs, n);
                return k; /* no containers: nothing to publish, and `up` makes them with their rules */
        }
        struct drift_nets nets = {.r = r};
        _cleanup_(fw_input_free) struct fw_input in = {0};
        _cleanup_ruleset_ struct fw_ruleset rs = {0};
        struct firewall *fw = NULL;
        size_t missing = 0;
        k = fw_collect(recs, n, status_lookup, &nets, &in, err);
        struct fw_project fp = {
            .name = r->name,
            .networks = in.networks,
            .n_networks = in.n_networks,
            .ports = in.ports,
            .n_ports = in.n_ports,
        };
        if (k >= 0)
                k = firewall_build(&fp, &rs, err);
        if (k >= 0)
                k = reconcile_firewall(r, &fw, err);
        if (k >= 0)
                k = firewall_drift(fw, &rs, &missing, err);
        for (size_t i = 0; i < nets.n; i++)
                network_status_done(&nets.st[i]);
        free(nets.st);
        container_record_list_free(recs, n);
        if (k < 0)
                return k;
        if (missing > 0)
                *ret_reason = xasprintf("repair firewall: %zu rule%s of project %s missing or changed",
                                        missing, missing == 1 ? "" : "s", r->name);
        return 0;
}

/* ---- DNS ---- */

static cJSON *dns_entry(const struct container_record *rec, const cJSON *att)
{
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", rec->name);
        cJSON *names = cJSON_AddArrayToObject(e, "names");
        cJSON_AddItemToArray(names, cJSON_CreateString(rec->name));
        /* A one-off (`stack run`) answers to its own name only: the service's name and aliases stay its
         * replicas', as compose's run without --use-aliases. */
        bool oneoff = rec->spec && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec->spec, "oneoff"));
        const cJSON *al;
        if (!oneoff) {
                cJSON_AddItemToArray(names, cJSON_CreateString(rec->service));
                cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(att, "aliases"))
                    cJSON_AddItemToArray(names, cJSON_Duplicate(al, false));
        }
        cJSON *addrs = cJSON_AddArrayToObject(e, "addresses");
        if (json_get_str(att, "addr4"))
                cJSON_AddItemToArray(addrs, cJSON_CreateString(json_get_str(att, "addr4")));
        if (json_get_str(att, "addr6"))
                cJSON_AddItemToArray(addrs, cJSON_CreateString(json_get_str(att, "addr6")));
        return e;
}

static cJSON *dns_network(const struct network_info *info, struct container_record **recs, size_t n)
{
        char buf[IPAM_ADDRSTRLEN];
        cJSON *net = cJSON_CreateObject();
        cJSON_AddStringToObject(net, "name", info->name);
        cJSON *gw = cJSON_AddArrayToObject(net, "gateways");
        cJSON *sub = cJSON_AddArrayToObject(net, "subnets");
        if (info->has4) {
                cJSON_AddItemToArray(gw, cJSON_CreateString(ipam_addr_format(&info->gateway4, buf)));
                cJSON_AddItemToArray(sub, cJSON_CreateString(ipam_prefix_format(&info->subnet4, buf)));
        }
        cJSON *entries = cJSON_AddArrayToObject(net, "entries");
        for (size_t c = 0; c < n; c++) {
                const cJSON *att;
                cJSON_ArrayForEach(
                    att, cJSON_GetObjectItemCaseSensitive(
                             recs[c]->spec, "attachments")) if (streq_ptr(json_get_str(att, "network_name"),
                                                                          info->name))
                    cJSON_AddItemToArray(entries, dns_entry(recs[c], att));
        }
        return net;
}

/* Writes the project's name table for the supervisor's DNS responder; call with r->lock (the cache). */
static int dns_write(struct reconciler *r, struct container_record **recs, size_t n, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "version", 1);
        cJSON *nets = cJSON_AddArrayToObject(j, "networks");
        for (size_t i = 0; i < r->n_nets; i++)
                cJSON_AddItemToArray(nets, dns_network(&r->nets[i].info, recs, n));
        _cleanup_free_ char *dir = state_project_run_dir(r->cfg->run_root, r->name);
        _cleanup_free_ char *path = path_join(dir, "dns.json");
        return json_write_file(path, j, err);
}

/* ---- the publish action and the port check ---- */

/* A copy made under the lock: the cache's array moves when another action adds to it, the strings it
 * points to stay until the reconcile ends. */
static int locked_lookup(void *userdata, const char *key, struct network_info *ret, struct stack_error *err)
{
        struct reconciler *r = userdata;
        pthread_mutex_lock(&r->lock);
        const struct network_info *info = reconcile_network_get(r, key, err);
        if (info)
                *ret = *info;
        pthread_mutex_unlock(&r->lock);
        return info ? 0 : -err->code;
}

int reconcile_publish(struct reconciler *r, struct stack_error *err)
{
        struct container_record **recs = NULL;
        size_t n = 0;
        int k = state_container_list(r->cfg->root, r->name, &recs, &n, err);
        if (k < 0)
                return k;
        _cleanup_free_ bool *changed = xcalloc(n + 1, sizeof(bool));
        struct firewall *fw = NULL;
        k = reconcile_firewall(r, &fw, err);
        if (k >= 0)
                k = reconcile_publish_firewall(fw, r->name, recs, n, locked_lookup, r, changed, err);
        if (k >= 0) {
                pthread_mutex_lock(&r->lock);
                k = dns_write(r, recs, n, err);
                pthread_mutex_unlock(&r->lock);
        }
        for (size_t i = 0; k >= 0 && i < n; i++)
                if (changed[i])
                        k = state_container_write(r->cfg->root, r->name, recs[i], err);
        container_record_list_free(recs, n);
        if (k < 0)
                return k;
        reconcile_publish_unmark(r);
        /* The supervisor rereads the name table; one that is not running reads it when it starts. */
        if (supervisor_running(r->cfg->run_root, r->name))
                (void) supervisor_op(r->cfg->run_root, r->name, "reload", NULL, NULL, NULL);
        return 0;
}

/* The host ports the file names, for the check before anything changes (random ones are picked later). */
static size_t fixed_ports(const struct stack_project *p, struct fw_port **ret)
{
        size_t n = 0, m = 0;
        for (size_t i = 0; i < p->n_services; i++)
                n += p->services[i].n_ports * (size_t) p->services[i].scale;
        struct fw_port *ports = xcalloc(n + 1, sizeof(*ports));
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                for (size_t k = 0; k < s->n_ports; k++) {
                        const struct stack_port *pt = &s->ports[k];
                        if (pt->published_start == 0 || pt->protocol == STACK_PROTO_SCTP)
                                continue;
                        struct fw_port *fp = &ports[m++];
                        fp->host_port = pt->published_start;
                        fp->container_port = pt->target;
                        fp->count = 1;
                        fp->proto = pt->protocol == STACK_PROTO_UDP ? FW_PROTO_UDP : FW_PROTO_TCP;
                        if (!pt->host_ip || inet_pton(AF_INET, pt->host_ip, &fp->host_ip) != 1)
                                fp->host_ip.s_addr = INADDR_ANY;
                }
        }
        *ret = ports;
        return m;
}

int reconcile_check_project_ports(struct firewall *fw, const struct stack_project *p,
                                  struct stack_error *err)
{
        _cleanup_free_ struct fw_port *ports = NULL;
        size_t m = fixed_ports(p, &ports);
        if (m == 0)
                return 0;
        struct fw_published *pub = NULL;
        size_t n_pub = 0;
        int k = firewall_list_published(fw, &pub, &n_pub, err);
        /* ports_check skips, port by port, what this project already publishes; a port it does not
         * publish yet must be bindable even when others of the project are up (a change that moves a
         * service onto a taken port fails before anything is stopped). */
        if (k >= 0)
                k = ports_check(p->name, ports, m, pub, n_pub, err);
        fw_published_free(pub, n_pub);
        return k;
}

/* A service that publishes ports needs a network that is not internal to publish them through; refused
 * here, before anything is made, rather than when the firewall is written after its containers exist. */
static int check_publishable(const struct stack_project *p, struct stack_error *err)
{
        for (size_t i = 0; i < p->n_services; i++) {
                const struct stack_service *s = &p->services[i];
                if (s->n_ports == 0 || s->network_mode)
                        continue;
                _cleanup_free_ struct netmodel_attachment *atts = NULL;
                size_t n = 0;
                int k = netmodel_service_plan(p, s, &atts, &n, err);
                if (k < 0)
                        return k;
                bool any = n == 0;
                for (size_t a = 0; a < n; a++)
                        any = any || !atts[a].net || !atts[a].net->internal;
                if (any)
                        continue;
                _cleanup_free_ char *path = xasprintf("services.%s.ports", s->name);
#define ALL_INTERNAL                                                                                      \
        "service %s publishes ports but all of its networks are internal; nothing can be published from " \
        "an "                                                                                             \
        "internal network"
                if (s->ports[0].mark.file)
                        return spec_error(err, s->ports[0].mark, path, ALL_INTERNAL, s->name);
                return stack_error_set(err, EINVAL, ALL_INTERNAL, s->name);
#undef ALL_INTERNAL
        }
        return 0;
}

int reconcile_check_ports(struct reconciler *r, struct stack_error *err)
{
        int k = check_publishable(r->project, err);
        if (k < 0)
                return k;

        _cleanup_free_ struct fw_port *ports = NULL;
        if (fixed_ports(r->project, &ports) == 0)
                return 0; /* nothing to check: no firewall needed */
        struct firewall *fw = NULL;
        k = reconcile_firewall(r, &fw, err);
        if (k < 0)
                return k;
        return reconcile_check_project_ports(fw, r->project, err);
}
