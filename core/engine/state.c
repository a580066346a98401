#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/engine/state.h"
#include "core/base/util.h"

char *state_project_dir(const char *root, const char *project)
{
        return xasprintf("%s/projects/%s", root, project);
}

char *state_project_run_dir(const char *run_root, const char *project)
{
        return xasprintf("%s/projects/%s", run_root, project);
}

int state_lock_project(const char *run_root, const char *project, int *ret_fd, struct stack_error *err)
{
        _cleanup_free_ char *dir = state_project_run_dir(run_root, project);
        int r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = path_join(dir, "lock");
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return stack_error_errno(err, errno, "open lock %s", path);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "lock %s", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static char *container_path(const char *root, const char *project, const char *name)
{
        return xasprintf("%s/projects/%s/containers/%s.json", root, project, name);
}

int state_container_write(const char *root, const char *project, const struct container_record *rec,
                          struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", rec->name);
        cJSON_AddStringToObject(j, "service", rec->service);
        cJSON_AddNumberToObject(j, "number", rec->number);
        cJSON_AddStringToObject(j, "config_hash", rec->config_hash ? rec->config_hash : "");
        cJSON_AddStringToObject(j, "image_id", rec->image_id ? rec->image_id : "");
        cJSON_AddItemToObject(j, "networks", json_from_strv(rec->networks));
        cJSON_AddItemToObject(j, "volumes", json_from_strv(rec->volumes));
        cJSON_AddNumberToObject(j, "created_usec", (double) rec->created_usec);
        if (rec->spec)
                cJSON_AddItemToObject(j, "spec", cJSON_Duplicate(rec->spec, true));
        _cleanup_free_ char *path = container_path(root, project, rec->name);
        return json_write_file(path, j, err);
}

int state_container_read(const char *root, const char *project, const char *name,
                         struct container_record **ret, struct stack_error *err)
{
        _cleanup_free_ char *path = container_path(root, project, name);
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = json_read_file(path, &j, err);
        if (r < 0)
                return r;
        if (!json_get_str(j, "name") || !json_get_str(j, "service"))
                return stack_error_set(err, EBADMSG, "%s: incomplete container record", path);
        struct container_record *c = xcalloc(1, sizeof(*c));
        c->name = xstrdup(json_get_str(j, "name"));
        c->service = xstrdup(json_get_str(j, "service"));
        c->number = (int) json_get_num(j, "number", 0);
        c->config_hash = xstrdup(json_get_str(j, "config_hash"));
        c->image_id = xstrdup(json_get_str(j, "image_id"));
        c->networks = json_strv(cJSON_GetObjectItemCaseSensitive(j, "networks"));
        c->volumes = json_strv(cJSON_GetObjectItemCaseSensitive(j, "volumes"));
        c->created_usec = (uint64_t) json_get_num(j, "created_usec", 0);
        cJSON *spec = cJSON_DetachItemFromObjectCaseSensitive(j, "spec");
        c->spec = spec;
        *ret = c;
        return 0;
}

static int cmp_record(const void *a, const void *b)
{
        return strcmp((*(struct container_record *const *) a)->name,
                      (*(struct container_record *const *) b)->name);
}

/* Names of the *.json files in a directory, without the suffix. */
static int list_json(const char *dir, char ***ret, struct stack_error *err)
{
        char **l = xcalloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = l;
                        return 0;
                }
                strv_free(l);
                return stack_error_errno(err, errno, "open %s", dir);
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && endswith(de->d_name, ".json"))
                        strv_consume(&l, xstrndup(de->d_name, strlen(de->d_name) - 5));
        *ret = l;
        return 0;
}

int state_container_list(const char *root, const char *project, struct container_record ***ret,
                         size_t *ret_n, struct stack_error *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/projects/%s/containers", root, project);
        _cleanup_strv_free_ char **names = NULL;
        int r = list_json(dir, &names, err);
        if (r < 0)
                return r;
        size_t n = 0;
        struct container_record **l = xcalloc(strv_length(names) + 1, sizeof(*l));
        STRV_FOREACH (name, names) {
                struct stack_error e = {0};
                /* An unreadable record is skipped rather than blocking every command on the project; the
                 * objects it described are still found by their names in the kernel and the runtime. */
                if (state_container_read(root, project, *name, &l[n], &e) >= 0)
                        n++;
                stack_error_clear(&e);
        }
        qsort(l, n, sizeof(*l), cmp_record);
        *ret = l;
        *ret_n = n;
        return 0;
}

int state_container_remove(const char *root, const char *project, const char *name, struct stack_error *err)
{
        _cleanup_free_ char *path = container_path(root, project, name);
        if (unlink(path) < 0 && errno != ENOENT)
                return stack_error_errno(err, errno, "remove %s", path);
        return 0;
}

void container_record_free(struct container_record *r)
{
        if (!r)
                return;
        free(r->name);
        free(r->service);
        free(r->config_hash);
        free(r->image_id);
        strv_free(r->networks);
        strv_free(r->volumes);
        cJSON_Delete(r->spec);
        free(r);
}

void container_record_list_free(struct container_record **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                container_record_free(l[i]);
        free(l);
}

static char *network_path(const char *root, const char *project, const char *key)
{
        return xasprintf("%s/projects/%s/networks/%s.json", root, project, key);
}

int state_network_write(const char *root, const char *project, const char *key, const cJSON *data,
                        struct stack_error *err)
{
        _cleanup_free_ char *path = network_path(root, project, key);
        return json_write_file(path, data, err);
}

int state_network_read(const char *root, const char *project, const char *key, cJSON **ret,
                       struct stack_error *err)
{
        _cleanup_free_ char *path = network_path(root, project, key);
        return json_read_file(path, ret, err);
}

int state_network_list(const char *root, const char *project, char ***ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/projects/%s/networks", root, project);
        return list_json(dir, ret, err);
}

int state_network_remove(const char *root, const char *project, const char *key, struct stack_error *err)
{
        _cleanup_free_ char *path = network_path(root, project, key);
        if (unlink(path) < 0 && errno != ENOENT)
                return stack_error_errno(err, errno, "remove %s", path);
        return 0;
}

int state_project_write(const char *root, const char *project, const char *working_dir, char *const *files,
                        struct stack_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/projects/%s/project.json", root, project);
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", project);
        cJSON_AddStringToObject(j, "working_dir", working_dir ? working_dir : "");
        cJSON_AddItemToObject(j, "config_files", json_from_strv(files));
        /* Every `up` writes it; one that is already right is left alone, which spares a no-op `up` the
         * fsync of an atomic write (milliseconds on a busy disk). */
        _cleanup_(cJSON_Deletep) cJSON *old = NULL;
        _cleanup_error_ struct stack_error e = {0};
        if (json_read_file(path, &old, &e) >= 0 && cJSON_Compare(old, j, true))
                return 0;
        return json_write_file(path, j, err);
}

int state_project_read(const char *root, const char *project, char **ret_working_dir, char ***ret_files,
                       struct stack_error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/projects/%s/project.json", root, project);
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = json_read_file(path, &j, err);
        if (r < 0)
                return r;
        if (ret_working_dir)
                *ret_working_dir = xstrdup(json_get_str(j, "working_dir"));
        if (ret_files)
                *ret_files = json_strv(cJSON_GetObjectItemCaseSensitive(j, "config_files"));
        return 0;
}

int state_project_list(const char *root, char ***ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/projects", root);
        char **l = xcalloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = l;
                        return 0;
                }
                strv_free(l);
                return stack_error_errno(err, errno, "open %s", dir);
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        strv_push(&l, de->d_name);
        *ret = l;
        return 0;
}

int state_project_remove(const char *root, const char *run_root, const char *project,
                         struct stack_error *err)
{
        _cleanup_free_ char *dir = state_project_dir(root, project);
        int r = rm_rf(dir, err);
        if (r < 0)
                return r;
        /* The run directory keeps the lock file, which a concurrent command may hold; only its other
         * contents go. */
        _cleanup_free_ char *run = state_project_run_dir(run_root, project);
        _cleanup_closedir_ DIR *d = opendir(run);
        if (!d)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || streq(de->d_name, "lock"))
                        continue;
                _cleanup_free_ char *p = path_join(run, de->d_name);
                r = rm_rf(p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

uint64_t proc_start_time(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *text = NULL;
        if (read_full_file(path, &text, NULL, NULL) < 0)
                return 0;
        /* The command name may contain spaces and parentheses: fields are counted after the last ')'. */
        char *p = strrchr(text, ')');
        if (!p)
                return 0;
        /* p is at the space before field 3 (state); step to the space before field 22. */
        p++;
        for (int field = 3; field < 22 && p; field++)
                p = strchr(p + 1, ' ');
        return p ? strtoull(p + 1, NULL, 10) : 0;
}

bool proc_alive(pid_t pid, uint64_t start_time)
{
        return pid > 0 && start_time != 0 && proc_start_time(pid) == start_time;
}
