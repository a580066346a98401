/* Container users: compose's `user:` and `group_add:` resolved against the image's own /etc/passwd and
 * /etc/group, with the rules docker (libcontainer) applies, so the same file gives the same ids. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

struct user_ids {
        uint32_t uid, gid;
        uint32_t *additional_gids; /* supplementary groups, then group_add, without duplicates */
        size_t n_additional_gids;
        char *home; /* the user's home from passwd; NULL when the user is not listed there */
};

/* Resolves spec ("user", "uid", "user:group", "uid:gid"; NULL or "" is root) and group_add against the text
 * of a passwd and a group file (NULL: the file does not exist). Names that are not listed are errors;
 * numbers that are not listed are used as they are. Supplementary groups (the groups listing the user as a
 * member) are added only when spec names no group, as docker does. */
int user_resolve_text(const char *passwd, const char *group, const char *spec, char *const *group_add,
                      struct user_ids *ret, struct stack_error *err);

/* As user_resolve_text, reading etc/passwd and etc/group inside rootfs. Symlinks are resolved inside the
 * rootfs (openat2 RESOLVE_IN_ROOT), so an image cannot make us read a host file. */
int user_resolve(const char *rootfs, const char *spec, char *const *group_add, struct user_ids *ret,
                 struct stack_error *err);

void user_ids_done(struct user_ids *u);

/* Opens path (relative to the root directory fd rootfd) with every symlink resolved inside that root. */
int user_open_in_root(int rootfd, const char *path, int flags);
