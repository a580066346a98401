/* The compose project as typed, normalized data.
 *
 * Everything the file can say in short or long syntax is stored here in one (long) form, so the layers
 * below never look at YAML. Arrays come with counts; strings are owned; NULL means "not set" (the
 * default applies) wherever compose distinguishes unset from empty. Durations are microseconds, sizes
 * bytes; -1 means unset for numbers that can legitimately be 0. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec/node.h"

/* A key/value pair; value NULL means "key given without a value" (e.g. a bare `KEY` in environment
 * whose variable is unset in the shell: compose leaves it out of the container). */
struct stack_kv {
        char *key;
        char *value;
};

struct stack_kvlist {
        struct stack_kv *items;
        size_t n;
};

enum stack_proto {
        STACK_PROTO_TCP,
        STACK_PROTO_UDP,
        STACK_PROTO_SCTP,
};

/* One published or exposed container port; short-syntax ranges are expanded to one entry per port. */
struct stack_port {
        char *name;
        uint16_t target;
        /* Host side: [published_start, published_end]; both 0 for "any free port". A single container
         * port with a host range means "any free port in the range". */
        uint16_t published_start, published_end;
        char *host_ip; /* NULL: every address (0.0.0.0 and, with IPv6, ::) */
        enum stack_proto protocol;
        char *app_protocol;
        char *mode; /* "ingress" (default) or "host" */
        struct node_mark mark;
};

enum stack_mount_type {
        STACK_MOUNT_VOLUME,
        STACK_MOUNT_BIND,
        STACK_MOUNT_TMPFS,
        STACK_MOUNT_IMAGE,
        STACK_MOUNT_NPIPE,
        STACK_MOUNT_CLUSTER,
};

struct stack_mount {
        enum stack_mount_type type;
        char *source; /* volume key (NULL: anonymous), absolute host path for binds */
        char *target; /* absolute path in the container */
        bool read_only;
        char *consistency;
        /* bind */
        char *bind_propagation;     /* NULL or private|rprivate|shared|rshared|slave|rslave */
        bool bind_create_host_path; /* true for short syntax, as docker does */
        char *bind_selinux;         /* z | Z */
        char *bind_recursive;       /* enabled|disabled|writable|readonly */
        /* volume */
        bool volume_nocopy;
        char *volume_subpath;
        /* tmpfs */
        int64_t tmpfs_size; /* -1 unset */
        int tmpfs_mode;     /* -1 unset */
        struct node_mark mark;
};

struct stack_service_network {
        char *name; /* key in the top-level networks */
        char **aliases;
        char *ipv4_address;
        char *ipv6_address;
        char *mac_address;
        char *interface_name;
        char **link_local_ips;
        struct stack_kvlist driver_opts;
        int priority;
        int gw_priority;
        struct node_mark mark;
};

enum stack_dep_condition {
        STACK_DEP_STARTED,
        STACK_DEP_HEALTHY,
        STACK_DEP_COMPLETED,
};

struct stack_dependency {
        char *service;
        enum stack_dep_condition condition;
        bool required; /* default true */
        bool restart;  /* restart this service when the dependency is restarted or recreated */
        struct node_mark mark;
};

/* healthcheck.test: NONE disables; CMD runs argv; CMD-SHELL runs /bin/sh -c. */
enum stack_health_kind {
        STACK_HEALTH_UNSET, /* inherit the image's */
        STACK_HEALTH_NONE,
        STACK_HEALTH_CMD,
        STACK_HEALTH_SHELL,
};

struct stack_healthcheck {
        bool present;
        bool disable;
        enum stack_health_kind kind;
        char **test;                 /* argv for CMD; one string for CMD-SHELL */
        int64_t interval_usec;       /* -1: unset (default 30s) */
        int64_t timeout_usec;        /* -1: unset (default 30s) */
        int64_t start_period_usec;   /* -1: unset (default 0) */
        int64_t start_interval_usec; /* -1: unset (default 5s) */
        int retries;                 /* -1: unset (default 3) */
};

enum stack_restart {
        STACK_RESTART_NO,
        STACK_RESTART_ALWAYS,
        STACK_RESTART_ON_FAILURE,
        STACK_RESTART_UNLESS_STOPPED,
};

struct stack_restart_policy {
        enum stack_restart policy;
        int max_retries;     /* on-failure[:N]; 0 = unlimited */
        int64_t delay_usec;  /* deploy.restart_policy.delay, -1 unset */
        int64_t window_usec; /* deploy.restart_policy.window, -1 unset */
};

struct stack_ulimit {
        char *name;
        int64_t soft, hard;
};

/* A secret or config as a service uses it. */
struct stack_file_ref {
        char *source;
        char *target; /* NULL: /run/secrets/<source> for secrets, /<source> for configs */
        char *uid, *gid;
        int mode; /* -1: unset (0444) */
        struct node_mark mark;
};

struct stack_resources {
        double cpus;             /* 0: unset */
        int64_t memory;          /* bytes, 0 unset */
        int64_t memswap;         /* bytes, 0 unset, -1 unlimited */
        int64_t pids;            /* 0 unset */
        int64_t cpu_shares;      /* 0 unset */
        int64_t mem_reservation; /* 0 unset */
        int64_t shm_size;        /* bytes, 0 unset (64 MiB) */
};

struct stack_logging {
        char *driver;
        struct stack_kvlist options;
};

/* A service's `build:`. Paths are absolute (resolved against the project directory); lists keep the
 * file's order. */
struct stack_build {
        bool present;
        bool image_default;       /* no `image:`: the service's image is named <project>-<service> */
        char *context;            /* a directory, or a remote URL kept as written */
        char *dockerfile;         /* relative to the context as given, or absolute; NULL: "Dockerfile" */
        char *dockerfile_inline;  /* the Dockerfile's text itself */
        struct stack_kvlist args; /* value NULL: a bare name whose variable is unset */
        char *target;
        struct stack_kvlist labels; /* sorted */
        char **tags;
        bool no_cache, pull;
        char *network; /* NULL (default), "default", "none" or "host" */
        struct stack_kvlist extra_hosts;
        int64_t shm_size; /* bytes, 0 unset */
        struct stack_file_ref *secrets;
        size_t n_secrets;
        struct stack_kvlist ssh;                 /* id -> socket or key path; value NULL: $SSH_AUTH_SOCK */
        struct stack_kvlist additional_contexts; /* name -> directory (absolute), service:X or URL */
        char **platforms;
        char **cache_from, **cache_to;
        struct node_mark mark; /* where `build:` is, for errors found when building */
};

/* develop.watch: what `stack watch` does when files under a path change. */
enum stack_watch_action {
        STACK_WATCH_SYNC,         /* copy the changes into the container */
        STACK_WATCH_REBUILD,      /* build the image again and recreate the service */
        STACK_WATCH_SYNC_RESTART, /* copy, then restart the container */
        STACK_WATCH_RESTART,      /* restart the container */
        STACK_WATCH_SYNC_EXEC,    /* copy, then run a command in the container */
};

struct stack_watch_exec {
        char **command; /* argv; NULL unless sync+exec */
        char *user;
        bool privileged;
        char *working_dir;
        struct stack_kvlist environment;
};

struct stack_watch_rule {
        enum stack_watch_action action;
        char *path;    /* absolute, on the host */
        char *target;  /* absolute, in the container; NULL for rebuild and restart */
        char **ignore; /* .dockerignore patterns relative to path */
        char **include;
        bool initial_sync;
        struct stack_watch_exec exec;
        struct node_mark mark;
};

struct stack_develop {
        struct stack_watch_rule *watch;
        size_t n_watch;
};

struct stack_service {
        char *name;
        struct node_mark mark;
        char *image;
        struct stack_build build;
        char *container_name;
        char *hostname;
        char *domainname;
        char **command;    /* NULL: image default; empty vector: explicitly empty */
        char **entrypoint; /* same */
        bool command_set, entrypoint_set;
        struct stack_kvlist environment; /* env_file entries merged in, environment wins */
        struct stack_kvlist labels;
        struct stack_kvlist annotations;
        char *working_dir;
        char *user;
        char **group_add;
        struct stack_port *ports;
        size_t n_ports;
        struct stack_port *expose; /* target and protocol only */
        size_t n_expose;
        struct stack_mount *volumes;
        size_t n_volumes;
        char **tmpfs; /* "path[:options]" */
        struct stack_service_network *networks;
        size_t n_networks;
        char *network_mode; /* NULL (bridge networks), "none", "host", "service:x", "container:x" */
        struct stack_dependency *depends_on;
        size_t n_depends_on;
        char **links;
        struct stack_healthcheck healthcheck;
        struct stack_restart_policy restart;
        bool restart_set; /* `restart:` or deploy.restart_policy given */
        int scale;        /* replicas: scale or deploy.replicas; default 1 */
        struct stack_resources resources;
        char **cap_add, **cap_drop;
        bool privileged;
        bool read_only;
        char **security_opt;
        struct stack_kvlist sysctls;
        struct stack_ulimit *ulimits;
        size_t n_ulimits;
        char **devices; /* "host[:container[:perms]]" */
        char **dns, **dns_search, **dns_opt;
        struct stack_kvlist extra_hosts; /* host -> address */
        bool init;
        bool init_set;
        char *stop_signal;
        int64_t stop_grace_period_usec; /* -1 unset (10s) */
        int oom_score_adj;
        bool oom_score_adj_set;
        bool tty, stdin_open;
        char *pull_policy;
        char *platform;
        char *runtime;
        char *ipc, *pid, *uts, *cgroup, *userns_mode;
        char *mac_address;
        char **profiles;
        struct stack_file_ref *secrets;
        size_t n_secrets;
        struct stack_file_ref *configs;
        size_t n_configs;
        struct stack_logging logging;
        char **env_files;        /* absolute paths, for `stack config` and the hash only */
        struct node *extensions; /* x-* keys, as given */
        /* Only with --no-interpolate: keys kept as written because they need interpolation to parse (their
         * typed fields above are then unset). For display, never for running. */
        struct node *uninterpolated;
        struct stack_develop develop;
};

struct stack_ipam_config {
        char *subnet;
        char *ip_range;
        char *gateway;
        struct stack_kvlist aux_addresses;
};

struct stack_network {
        char *key;  /* as in the file */
        char *name; /* actual name: <project>_<key> unless name: or external */
        struct node_mark mark;
        char *driver;
        struct stack_kvlist driver_opts;
        bool external;
        bool internal;
        bool attachable;
        bool enable_ipv6;
        bool enable_ipv4; /* default true */
        char *ipam_driver;
        struct stack_ipam_config *ipam;
        size_t n_ipam;
        struct stack_kvlist ipam_options;
        struct stack_kvlist labels;
        bool implicit; /* the `default` network nobody declared */
};

struct stack_volume {
        char *key;
        char *name;
        struct node_mark mark;
        char *driver;
        struct stack_kvlist driver_opts;
        bool external;
        struct stack_kvlist labels;
};

/* Top-level secrets and configs. Exactly one source is set. */
struct stack_file_def {
        char *key;
        char *name;
        struct node_mark mark;
        char *file;        /* absolute path */
        char *environment; /* variable name */
        char *content;
        bool external;
        struct stack_kvlist labels;
};

/* stack's own settings, from the top-level `x-stack:` block. */
struct stack_settings {
        int max_orphans; /* -1: unset (the CLI's default applies) */
};

struct stack_project {
        char *name;
        char *working_dir;   /* project directory, absolute */
        char **config_files; /* absolute paths, "-" for stdin */
        char **env_files;
        char **profiles;                /* active profiles */
        struct stack_service *services; /* enabled services, sorted by name */
        size_t n_services;
        char **disabled_services;       /* known but disabled by profiles (for orphan detection) */
        struct stack_network *networks; /* sorted by key */
        size_t n_networks;
        struct stack_volume *volumes;
        size_t n_volumes;
        struct stack_file_def *secrets;
        size_t n_secrets;
        struct stack_file_def *configs;
        size_t n_configs;
        struct stack_settings settings;
        struct node *extensions;         /* top-level x-* keys */
        struct stack_kvlist environment; /* the interpolation environment (.env + shell) */
        bool uninterpolated;             /* loaded with --no-interpolate: values are as written */
};

void stack_project_free(struct stack_project *p);
static inline void stack_project_freep(struct stack_project **p)
{
        if (*p)
                stack_project_free(*p);
}
#define _cleanup_project_ __attribute__((cleanup(stack_project_freep)))

const struct stack_service *stack_project_service(const struct stack_project *p, const char *name);
const struct stack_network *stack_project_network(const struct stack_project *p, const char *key);
const struct stack_volume *stack_project_volume(const struct stack_project *p, const char *key);
const struct stack_file_def *stack_project_secret(const struct stack_project *p, const char *key);
const struct stack_file_def *stack_project_config(const struct stack_project *p, const char *key);

/* Free what one element owns (not the element itself), for code that builds or filters the arrays. */
void stack_service_free_contents(struct stack_service *s);
void stack_build_free_contents(struct stack_build *b);
void stack_network_free_contents(struct stack_network *n);
void stack_volume_free_contents(struct stack_volume *v);
void stack_file_def_free_contents(struct stack_file_def *d);
void stack_develop_free_contents(struct stack_develop *d);
const char *stack_watch_action_to_string(enum stack_watch_action a);
/* -1 for a word that is not an action. */
int stack_watch_action_from_string(const char *s);

/* Helpers on key/value lists. */
void stack_kvlist_add(struct stack_kvlist *l, const char *key, const char *value);
/* Replaces the value of an existing key or appends. */
void stack_kvlist_set(struct stack_kvlist *l, const char *key, const char *value);
const struct stack_kv *stack_kvlist_get(const struct stack_kvlist *l, const char *key);
void stack_kvlist_free(struct stack_kvlist *l);
void stack_kvlist_sort(struct stack_kvlist *l);
