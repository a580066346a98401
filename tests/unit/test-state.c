/* The project records: round trips, listing, removal, pid identity. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/engine/state.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

int main(void)
{
        char root[] = "/tmp/stack-test-state-XXXXXX";
        ok(mkdtemp(root) != NULL, "temp root");
        _cleanup_error_ struct stack_error err = {0};

        struct container_record rec = {
            .name = (char *) "p-web-2",
            .service = (char *) "web",
            .number = 2,
            .config_hash = (char *) "abc",
            .image_id = (char *) "sha256:1",
            .created_usec = 42,
        };
        strv_push(&rec.networks, "default");
        rec.spec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec.spec, "restart", "always");
        is_int(state_container_write(root, "p", &rec, &err), 0, "write a container record");
        rec.name = (char *) "p-db-1";
        rec.service = (char *) "db";
        is_int(state_container_write(root, "p", &rec, &err), 0, "write another");
        strv_free(rec.networks);
        cJSON_Delete(rec.spec);

        struct container_record **l = NULL;
        size_t n = 0;
        is_int(state_container_list(root, "p", &l, &n, &err), 0, "list");
        is_int(n, 2, "two records");
        if (n == 2) {
                is_str(l[0]->name, "p-db-1", "sorted by name");
                is_str(l[1]->service, "web", "service kept");
                is_int(l[1]->number, 2, "number kept");
                is_str(l[1]->networks[0], "default", "networks kept");
                is_int(l[1]->created_usec, 42, "creation time kept");
                const cJSON *r = cJSON_GetObjectItem(l[1]->spec, "restart");
                is_str(cJSON_IsString(r) ? r->valuestring : NULL, "always", "spec kept");
        }
        container_record_list_free(l, n);

        is_int(state_container_remove(root, "p", "p-db-1", &err), 0, "remove");
        is_int(state_container_remove(root, "p", "p-db-1", &err), 0, "removing again is fine");
        is_int(state_container_list(root, "p", &l, &n, &err), 0, "list again");
        is_int(n, 1, "one left");
        container_record_list_free(l, n);
        is_int(state_container_list(root, "nothing", &l, &n, &err), 0, "an unknown project lists nothing");
        is_int(n, 0, "empty");
        container_record_list_free(l, n);

        char **files = strv_split("/a/compose.yaml", ",");
        is_int(state_project_write(root, "p", "/a", files, &err), 0, "project record");
        strv_free(files);
        _cleanup_free_ char *wd = NULL;
        _cleanup_strv_free_ char **f2 = NULL;
        is_int(state_project_read(root, "p", &wd, &f2, &err), 0, "read it back");
        is_str(wd, "/a", "working dir");
        _cleanup_strv_free_ char **projects = NULL;
        is_int(state_project_list(root, &projects, &err), 0, "list projects");
        ok(strv_contains(projects, "p"), "the project is listed");

        int fd = -1;
        is_int(state_lock_project(root, "p", &fd, &err), 0, "lock the project");
        close(fd);

        uint64_t st = proc_start_time(getpid());
        ok(st > 0, "our own start time is readable");
        /* Growing the address space changes other fields of /proc/PID/stat, never the start time. */
        void *big = malloc(256u << 20);
        ok(big != NULL, "a large allocation");
        is_int(proc_start_time(getpid()), st, "the start time does not move when memory grows");
        free(big);
        unsigned long long pst = 0;
        _cleanup_free_ char *stat = NULL;
        read_full_file("/proc/self/stat", &stat, NULL, &err);
        const char *rp = strrchr(stat, ')');
        ok(rp &&
               sscanf(rp + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                      &pst) == 1 &&
               pst == st,
           "it is field 22 of /proc/self/stat");
        ok(proc_alive(getpid(), st), "we are alive with that start time");
        ok(!proc_alive(getpid(), st + 1), "a different start time is another process");

        is_int(state_project_remove(root, root, "p", &err), 0, "remove the project's records");
        _cleanup_free_ char *dir = state_project_dir(root, "p");
        ok(!path_exists(dir), "records gone");
        rm_rf(root, &err);
        return done_testing();
}
