/* The loading pipeline's internals, shared by load.c, extends.c and include.c. Not for use outside spec/.
 *
 * Per file: parse (yaml.c) -> interpolate -> include (each included file is its own sub-project, loaded
 * with this same pipeline) -> extends -> merge over the files before it (merge.c). */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "spec/model.h"
#include "spec/node.h"

struct load_cached_file {
        char *path; /* absolute */
        struct node *root;
};

struct load_ctx {
        const char *cwd;
        bool no_interpolate;
        char *stdin_data; /* `-f -` is read once */
        size_t stdin_len;
        bool stdin_read;
        /* Files read only to extend one of their services, parsed and interpolated once per load. */
        struct load_cached_file *cache;
        size_t n_cache, cap_cache;
        /* The files being included, outermost first, to detect include cycles. */
        char **include_chain;
        char **warned; /* unset variables already reported, so each is reported once per load */
};

void load_ctx_done(struct load_ctx *ctx);

/* Parses one file ("-" is stdin) into a tree, with `name` in its marks. No interpolation. */
int load_parse_file(struct load_ctx *ctx, const char *path, const char *name, unsigned flags,
                    struct node **ret, struct stack_error *err);
/* Interpolates a tree unless the load says not to. */
int load_interpolate(struct load_ctx *ctx, struct node *root, const struct stack_kvlist *env,
                     struct stack_error *err);

/* Loads the files of one project (or sub-project) and merges them into *ret. `roots`, when not NULL, holds
 * the files already parsed (taken over, entries set to NULL); otherwise they are parsed here. Tags are
 * still in the result: merge_finish() is the caller's. */
int load_files(struct load_ctx *ctx, char *const *files, char *const *names, struct node **roots,
               const char *project_dir, const struct stack_kvlist *env, struct node **ret,
               struct stack_error *err);

/* Applies `extends` to every service of a file's tree. `file` is the file's absolute path ("-" for stdin).
 * As in compose, `extends.file` in a project's own files is relative to project_dir; in a file reached
 * through extends it is relative to that file. */
int extends_apply(struct load_ctx *ctx, struct node *root, const char *file, const char *project_dir,
                  const struct stack_kvlist *env, struct stack_error *err);

/* Loads every `include` entry of a file's tree as a sub-project and copies its services, networks,
 * volumes, secrets and configs in; a name already defined is an error. Removes the `include` key. */
int include_apply(struct load_ctx *ctx, struct node *root, const char *project_dir,
                  const struct stack_kvlist *env, struct stack_error *err);

/* Makes the relative host paths of a service (build context, env_file, label_file, bind sources) absolute
 * against dir: a service taken from a file in another directory keeps pointing at the same files. */
void load_resolve_service_paths(struct node *service, const char *dir);
/* The same for a whole project tree, and for top-level secrets and configs `file:`. */
void load_resolve_project_paths(struct node *root, const char *dir);
