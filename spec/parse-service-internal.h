/* What the files that parse one service share: the state of one service being parsed and the key handlers
 * each file provides. The key table itself stays in spec/parse-service.c. Not for use outside
 * spec/parse-service*.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "spec/model.h"
#include "spec/parse-internal.h"

/* What parsing one service collects before it can be normalized as a whole. */
struct svc {
        struct parse_state *st;
        struct stack_service *s;
        const char *path; /* "services.<name>" */
        const struct node *environment, *env_file, *networks;
        bool scale_set, replicas_set;
        int64_t scale, replicas;
        bool cpus_set, limit_cpus_set;
        double cpus, limit_cpus;
        int64_t mem_limit, limit_memory; /* 0: unset */
        int64_t pids_limit, limit_pids;  /* 0: unset */
        bool deploy_restart;
        struct stack_restart_policy deploy_policy;
        struct node_mark restart_mark, deploy_restart_mark;
};

typedef int (*key_handler)(struct svc *c, const struct node *v, const char *path, struct stack_error *err);

/* Key handlers of the table in parse-service.c, and the helpers the files share, by the file that holds
 * them. */

/* parse-service-net.c */
int k_ports(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
int k_expose(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
int k_networks(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
/* The service's entry for network name, added when missing. */
struct stack_service_network *svc_add_network(struct stack_service *s, const char *name,
                                              struct node_mark mark);

/* parse-service-volumes.c */
int k_volumes(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
int k_secrets(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
int k_configs(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
/* The entries of a secrets: or configs: list (a service's, or its build's secrets). */
int svc_parse_file_refs(struct svc *c, const struct node *v, const char *path, bool secrets,
                        struct stack_file_ref **arr, size_t *n, struct stack_error *err);

/* parse-service-env.c */
int k_environment(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
int k_env_file(struct svc *c, const struct node *v, const char *path, struct stack_error *err);
/* The service's environment from env_file and environment, once both keys have been seen. */
int svc_apply_environment(struct svc *c, struct stack_error *err);

/* parse-service-build.c */
int k_build(struct svc *c, const struct node *v, const char *path, struct stack_error *err);

/* parse-service.c: a list whose items have a short (scalar) and a long (mapping) syntax, as ports and
 * volumes; kinds completes "must be ..." for an item that is neither. */
typedef int (*svc_item_parser)(struct svc *c, const struct node *n, const char *path,
                               struct stack_error *err);
int svc_parse_short_or_long(struct svc *c, const struct node *v, const char *path,
                            svc_item_parser short_form, svc_item_parser long_form, const char *kinds,
                            struct stack_error *err);
/* parse-service.c: extra_hosts entries (a service's, or its build's). */
int svc_parse_extra_hosts(const struct node *v, const char *path, struct stack_kvlist *out,
                          struct stack_error *err);
