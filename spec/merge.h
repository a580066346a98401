/* Merging compose trees: several -f files into one, and a service over its `extends` base.
 *
 * The rules are compose's (13-merge.md, compose-go override/): mappings merge key by key, sequences
 * append, scalars are replaced. Exceptions: command, entrypoint, healthcheck.test and ulimits entries are
 * replaced; environment, labels, annotations, sysctls, extra_hosts, build.args, ... may be written as
 * `KEY=VALUE` lists or as mappings and merge as mappings (the list form is converted, marks kept);
 * extra_hosts keep every distinct address of a host; depends_on and networks lists become mappings; `build:
 * ctx` becomes `{context: ctx}`; logging options merge only when the driver is the same. A value tagged
 * `!reset` removes what earlier trees said,
 * `!override` replaces it wholesale. */
#pragma once

#include "core/base/error.h"
#include "spec/node.h"

/* Merges `over` into *base (which may be NULL: then it becomes a copy of over). `path` is where base sits
 * in the project, "" for a whole file or "services.web" for a service. Tags are kept in the result so a
 * later merge of the result still sees them; merge_finish() applies what is left of them. */
int merge_tree(struct node **base, const struct node *over, const char *path, struct stack_error *err);

/* Drops values that are still tagged `!reset`, clears `!override`, and removes duplicates from the
 * sequences compose treats as sets: ports by {host_ip, published, target, protocol}, volumes, secrets,
 * configs and devices by target, env_file by path, KEY=VALUE lists by key, and plain lists (dns, cap_add,
 * profiles, ...) by value. The later entry wins and takes the earlier one's place. `root` is a project. */
void merge_finish(struct node *root);
