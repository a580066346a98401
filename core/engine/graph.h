/* The desired-state graph: what a project needs on the host, and in which order.
 *
 * Nodes are the networks, volumes, images and container replicas of the project; edges say what a
 * container needs before it can be created or started (its image, its networks, its named volumes, the
 * containers of the services it depends on). depends_on is also kept per service, with its condition, so
 * the reconciler can start services level by level, in parallel inside a level, waiting on conditions
 * between levels, and stop them in reverse order.
 *
 * Implicit dependencies are added as compose adds them: `links` and `network_mode`/`ipc`/`pid`/`uts`/
 * `cgroup` set to `service:X` depend on X (condition service_started). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "spec/model.h"

#define GRAPH_NONE ((size_t) -1)

enum graph_node_kind {
        GRAPH_NODE_NETWORK,
        GRAPH_NODE_VOLUME,
        GRAPH_NODE_IMAGE,
        GRAPH_NODE_CONTAINER,
};

struct graph_node {
        enum graph_node_kind kind;
        /* network and volume: the actual name (<project>_<key> unless named or external); image: the
         * reference; container: <project>-<service>-<n> or container_name */
        char *name;
        const struct stack_network *network; /* GRAPH_NODE_NETWORK */
        const struct stack_volume *volume;   /* GRAPH_NODE_VOLUME */
        size_t service;                      /* GRAPH_NODE_CONTAINER: index in graph.services */
        int number;                          /* GRAPH_NODE_CONTAINER: replica number, from 1 */
};

enum graph_edge_kind {
        GRAPH_EDGE_IMAGE,   /* container runs image */
        GRAPH_EDGE_ATTACH,  /* container is attached to network */
        GRAPH_EDGE_MOUNT,   /* container mounts named volume */
        GRAPH_EDGE_DEPENDS, /* container depends on a container of another service */
};

/* `from` needs `to`: `to` is created (and for DEPENDS, started and meets `condition`) first. */
struct graph_edge {
        enum graph_edge_kind kind;
        size_t from, to;                                /* node indices */
        const struct stack_service_network *attachment; /* ATTACH */
        const struct stack_mount *mount;                /* MOUNT */
        enum stack_dep_condition condition;             /* DEPENDS */
        bool required, restart;                         /* DEPENDS */
};

struct graph_dep {
        size_t service; /* index in graph.services */
        enum stack_dep_condition condition;
        bool required;
        bool restart;
        bool implicit; /* from links or a shared namespace rather than depends_on */
};

struct graph_service {
        const struct stack_service *spec;
        const char *name;
        struct graph_dep *deps; /* sorted by name, one per service */
        size_t n_deps;
        size_t *dependents; /* services that depend on this one, sorted by name */
        size_t n_dependents;
        size_t *containers; /* node indices of its replicas, in replica order */
        size_t n_containers;
        size_t image; /* node index, or GRAPH_NONE when the service names no image and has no build */
        unsigned level;
};

struct graph {
        const struct stack_project *project; /* borrowed: must outlive the graph */
        struct graph_node *nodes;            /* networks, volumes, images, then containers */
        size_t n_nodes;
        struct graph_edge *edges;
        size_t n_edges;
        struct graph_service *services; /* in the project's order */
        size_t n_services;
        size_t *order; /* service indices in start order: by level, then by name */
        unsigned n_levels;
        size_t *level_start; /* level l is order[level_start[l] .. level_start[l + 1]) */
        char **warnings;     /* located, e.g. an optional dependency that is not there; for the caller to
                              * show */
};

/* Builds the graph of p. Fails on a dependency cycle ("dependency cycle: a -> b -> a"), on a required
 * dependency that is missing or disabled by profiles (a dependency with `required: false` only warns), on
 * a network or volume the project does not define, and on two containers with one name. */
int graph_build(const struct stack_project *p, struct graph **ret, struct stack_error *err);
void graph_free(struct graph *g);
static inline void graph_freep(struct graph **g)
{
        graph_free(*g);
}
#define _cleanup_graph_ __attribute__((cleanup(graph_freep)))

/* Lookups; NULL or GRAPH_NONE when absent. */
const struct graph_service *graph_service(const struct graph *g, const char *name);
size_t graph_service_index(const struct graph *g, const char *name);
const struct graph_node *graph_node(const struct graph *g, enum graph_node_kind kind, const char *name);

/* Service names as new NULL-terminated vectors (free with strv_free). Start order lists every service
 * after all its dependencies; stop order is its reverse. */
char **graph_start_order(const struct graph *g);
char **graph_stop_order(const struct graph *g);
unsigned graph_n_levels(const struct graph *g);
/* The services of one start level, by name: level 0 depends on nothing, level n only on levels < n. */
char **graph_level(const struct graph *g, unsigned level);
/* The named services and everything they depend on, transitively, in start order (`stack up web`). An
 * unknown name is an error. */
int graph_closure(const struct graph *g, char *const *names, char ***ret, struct stack_error *err);
/* Whether `service` needs `dependency`, directly or through others. Unknown names need nothing. */
bool graph_depends_on(const struct graph *g, const char *service, const char *dependency);

const char *graph_node_kind_name(enum graph_node_kind kind);
const char *graph_dep_condition_name(enum stack_dep_condition c);
/* A readable dump: levels, then one line per node with what it needs. For `--dry-run` style output and
 * tests. */
char *graph_format(const struct graph *g);
