/* What the parts of the reconciler share (reconcile.h lists them). Private to core/engine. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "core/engine/apply.h"
#include "core/engine/plan.h"
#include "core/engine/reconcile.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "net/firewall.h"
#include "net/network.h"
#include "spec/model.h"

#define USEC_PER_SEC 1000000ULL

struct image_store;
struct container_host;
struct cJSON;

struct net_cache_entry {
        char *key;
        struct network_info info;
};

struct reconciler {
        const struct reconcile_config *cfg;
        const struct stack_project *project; /* NULL: down from the records alone */
        const char *name;
        struct image_store *images;
        struct container_host *host;
        struct network_ctx *net;
        /* The netlink socket, the image store, the firewall and the cache below are shared by the worker
         * threads. */
        pthread_mutex_t lock;
        struct net_cache_entry *nets;
        size_t n_nets;
        struct firewall *fw; /* cfg->firewall, or opened on first use (then owned) */
        bool fw_owned;
        bool supervisor_started;
        bool down; /* the whole project goes: its network pieces go in one batch at the end */
        /* Creating a one-off container (`stack run`, core/engine/run.c): labelled and recorded as one, and
         * with oneoff_foreground not handed to the supervisor (the CLI runs it). */
        bool oneoff, oneoff_foreground;
};

int reconciler_init(struct reconciler *r, const struct reconcile_config *c, const char *name,
                    const struct stack_project *p, struct stack_error *err);
void reconciler_done(struct reconciler *r);

/* Reporting through cfg->events (each a no-op where the caller did not ask). */
void reconcile_warn(const struct reconciler *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- desired state (reconcile-desired.c) ---- */
bool reconcile_service_uses_bridge(const struct stack_service *s);
int reconcile_build_desired(struct reconciler *r, struct plan_desired **ret, struct stack_error *err);

/* ---- observed state (reconcile-observe.c) ---- */
int reconcile_observe(struct reconciler *r, struct plan_observed **ret, struct stack_error *err);
/* The mark a plan that changes containers leaves until the firewall and DNS are published again. */
int reconcile_publish_mark(const struct reconciler *r, struct stack_error *err);
void reconcile_publish_unmark(const struct reconciler *r);
/* The container's entry in the supervisor's status list, or NULL. */

/* ---- executors (reconcile-exec.c, reconcile-containers.c) ---- */
extern const struct apply_ops reconcile_real_ops;
/* The network set up (or repaired) for the compose key, cached for the reconcile; call with r->lock. */
const struct network_info *reconcile_network_get(struct reconciler *r, const char *key,
                                                 struct stack_error *err);
int reconcile_ensure_supervisor(struct reconciler *r, struct stack_error *err);
int reconcile_create_container(struct reconciler *r, const struct plan_action *a, struct stack_error *err);
int reconcile_stop_container(struct reconciler *r, const char *name, struct stack_error *err);
int reconcile_remove_container(struct reconciler *r, const char *name, struct stack_error *err);
/* The runtime's delete of the containers `stops` stopped, batched; what it leaves, each removal deletes. */
void reconcile_delete_stopped(struct reconciler *r, const struct plan *stops);
/* Whether every container of the service meets the condition: 1 yes, 0 not yet, <0 never (err set). */
int reconcile_service_condition(struct reconciler *r, const char *service, enum stack_dep_condition cond,
                                bool ready_mode, struct stack_error *err);

/* ---- publish: firewall and DNS (reconcile-publish.c) ---- */

/* The firewall of this reconcile (cfg->firewall or opened once); call without r->lock. */
int reconcile_firewall(struct reconciler *r, struct firewall **ret, struct stack_error *err);
/* Published host ports must be free before anything changes. */
int reconcile_check_ports(struct reconciler *r, struct stack_error *err);
/* Why the firewall must be published again although nothing changed: the kernel lacks or holds
 * otherwise rules the project's containers need (*ret_reason, NULL when all are there). Reads only. */
int reconcile_firewall_drift(struct reconciler *r, char **ret_reason, struct stack_error *err);
/* The PUBLISH_PORTS action: firewall and DNS records from the containers that exist now. */
int reconcile_publish(struct reconciler *r, struct stack_error *err);

/* The firewall step of a publish, apart from the kernel's networks: recs' attachments and ports on the
 * networks `net_info` knows -> one firewall_apply for `project` (host ports picked where the records have
 * none, avoiding every other project's). Host ports picked are written into recs' "ports" and
 * ret_changed[i] set for each record changed (the caller saves those). Unit-tested with a fake firewall. */
/* A network's info by compose key, copied into *ret (its strings stay the lookup's, valid for the
 * reconcile). */
typedef int (*reconcile_net_lookup)(void *userdata, const char *key, struct network_info *ret,
                                    struct stack_error *err);
int reconcile_publish_firewall(struct firewall *fw, const char *project, struct container_record **recs,
                               size_t n, reconcile_net_lookup net_info, void *userdata, bool *ret_changed,
                               struct stack_error *err);
/* The port check of reconcile_check_ports against the ports `fw` lists (unit-tested likewise). */
int reconcile_check_project_ports(struct firewall *fw, const struct stack_project *p,
                                  struct stack_error *err);
