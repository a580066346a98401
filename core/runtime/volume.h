/* Named volumes: directories under <root>/volumes/<name>/_data, as docker lays them out, so they outlive
 * the containers that use them and survive a reboot. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "spec/model.h"

/* Volume names as docker accepts them: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
bool volume_name_is_valid(const char *name);
/* <root>/volumes/<name>/_data (not checked). */
char *volume_data_path(const char *root, const char *name);
bool volume_exists(const char *root, const char *name);
/* Creates the volume (labels recorded in <root>/volumes/<name>/labels.json); an existing one is success.
 * *ret_created (may be NULL) says whether it was made now. */
int volume_create(const char *root, const char *name, const struct stack_kvlist *labels, bool *ret_created,
                  struct stack_error *err);
/* Removes the volume and its data; a volume that is already gone is success. */
int volume_remove(const char *root, const char *name, struct stack_error *err);
/* Names of the volumes under root, sorted. */
int volume_list(const char *root, char ***ret, struct stack_error *err);

/* Docker's first-use copy: when dest is empty and path (inside the container's root rootfs) is a
 * directory, copies its content, ownership, modes and times into dest (symlinks are copied, never
 * followed). Nothing happens when dest already has content or path does not exist. */
int volume_fill_from_image(const char *dest, const char *rootfs, const char *path, struct stack_error *err);
