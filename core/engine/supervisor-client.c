/* The CLI's side of the supervisor: finding or starting it, and talking to it. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/engine/state.h"
#include "core/engine/supervisor.h"
#include "core/base/util.h"

static int connect_socket(const char *run_root, const char *project, int *ret, struct stack_error *err)
{
        _cleanup_free_ char *dir = state_project_run_dir(run_root, project);
        _cleanup_free_ char *path = path_join(dir, "supervisor.sock");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return stack_error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return stack_error_errno(err, errno, "connect to the supervisor of project %s", project);
        *ret = TAKE_FD(fd);
        return 0;
}

/* A supervisor holds an exclusive lock on <dir>/supervisor.lock for its whole life, so "is one running"
 * is a question the kernel answers, with no pid to be reused. */
bool supervisor_running(const char *run_root, const char *project)
{
        _cleanup_free_ char *dir = state_project_run_dir(run_root, project);
        _cleanup_free_ char *path = path_join(dir, "supervisor.lock");
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        return false;
}

int supervisor_send(const char *run_root, const char *project, const cJSON *request, int *ret_fd,
                    struct stack_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = connect_socket(run_root, project, &fd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = cJSON_PrintUnformatted(request);
        _cleanup_free_ char *line = xasprintf("%s\n", text);
        size_t len = strlen(line);
        for (const char *p = line; len > 0;) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return stack_error_errno(err, errno, "write to the supervisor");
                }
                p += n;
                len -= n;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int supervisor_receive(int fd, const char *project, cJSON **ret_reply, struct stack_error *err)
{
        struct strbuf in = {0};
        char buf[4096];
        while (!in.buf || !memchr(in.buf, '\n', in.len)) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        strbuf_free(&in);
                        return stack_error_set(err, ECONNRESET,
                                               "the supervisor of project %s closed the "
                                               "connection without answering",
                                               project);
                }
                strbuf_add(&in, buf, (size_t) n);
        }
        _cleanup_(cJSON_Deletep) cJSON *reply = cJSON_Parse(in.buf);
        strbuf_free(&in);
        if (!reply)
                return stack_error_set(err, EBADMSG, "malformed reply from the supervisor");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
        if (cJSON_IsString(e))
                return stack_error_set(err, EIO, "%s", e->valuestring);
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

int supervisor_call(const char *run_root, const char *project, const cJSON *request, cJSON **ret_reply,
                    struct stack_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = supervisor_send(run_root, project, request, &fd, err);
        if (r < 0)
                return r;
        return supervisor_receive(fd, project, ret_reply, err);
}

static int send_stop(const char *run_root, const char *project, const char *name, int64_t timeout_usec,
                     int *ret_fd, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", "stop");
        cJSON_AddStringToObject(req, "name", name);
        if (timeout_usec >= 0)
                cJSON_AddNumberToObject(req, "timeout_usec", (double) timeout_usec);
        return supervisor_send(run_root, project, req, ret_fd, err);
}

int supervisor_stop(const char *run_root, const char *project, const char *name, int64_t timeout_usec,
                    int cancel_fd, struct stack_error *err)
{
        _cleanup_close_ int fd = -1;
        int r = send_stop(run_root, project, name, timeout_usec, &fd, err);
        if (r < 0)
                return r;
        for (bool forced = false;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                                      {.fd = forced ? -1 : cancel_fd, .events = POLLIN}};
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return stack_error_errno(err, errno, "poll");
                }
                if (p[0].revents)
                        return supervisor_receive(fd, project, NULL, err);
                if (p[1].revents) {
                        /* The kill request's own answer does not matter: the first one says when the
                         * container has stopped. */
                        _cleanup_close_ int kill_fd = -1;
                        forced = true;
                        r = send_stop(run_root, project, name, 0, &kill_fd, err);
                        if (r < 0)
                                return r;
                }
        }
}

int supervisor_op(const char *run_root, const char *project, const char *op, const char *name,
                  cJSON **ret_reply, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", op);
        if (name)
                cJSON_AddStringToObject(req, "name", name);
        return supervisor_call(run_root, project, req, ret_reply, err);
}

int supervisor_ensure(const struct supervisor_config *c, struct stack_error *err)
{
        _cleanup_free_ char *dir = state_project_run_dir(c->run_root, c->project);
        int r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        /* Concurrent commands (and the worker threads of one) must not start two supervisors: whoever holds
         * this lock checks, and starts one only if none runs. */
        _cleanup_free_ char *spawn_lock = path_join(dir, "spawn.lock");
        _cleanup_close_ int lock = open(spawn_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0)
                return stack_error_errno(err, errno, "open %s", spawn_lock);
        while (flock(lock, LOCK_EX) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "lock %s", spawn_lock);
        if (supervisor_running(c->run_root, c->project)) {
                /* It may still be setting up: wait (bounded) for its socket. */
                for (int i = 0; i < 500; i++) {
                        if (supervisor_op(c->run_root, c->project, "reload", NULL, NULL, NULL) >= 0)
                                return 0;
                        usleep(2000 + i * 100);
                }
                return stack_error_set(err, ETIMEDOUT, "the supervisor of project %s does not answer",
                                       c->project);
        }

        _cleanup_free_ char *logpath = path_join(dir, "supervisor.log");
        pid_t pid = fork();
        if (pid < 0)
                return stack_error_errno(err, errno, "fork");
        if (pid == 0) {
                /* Double fork: the supervisor is nobody's child but init's (or the nearest subreaper's), in
                 * a session of its own, so the CLI's exit and terminal signals do not reach it. */
                setsid();
                if (fork() != 0)
                        _exit(0);
                /* systemd's notification socket is the CLI's business: the runtime would otherwise hand it
                 * to the containers and make `start` wait for them to report ready. */
                unsetenv("NOTIFY_SOCKET");
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                dup2(null, 0);
                dup2(log >= 0 ? log : null, 1);
                dup2(log >= 0 ? log : null, 2);
                char *argv[] = {(char *) "stack",     (char *) "--root",
                                (char *) c->root,     (char *) "--run-root",
                                (char *) c->run_root, (char *) "--runtime",
                                (char *) c->runtime,  (char *) "supervise",
                                (char *) c->project,  NULL};
                execv("/proc/self/exe", argv);
                _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        /* Wait (bounded) until it answers. */
        for (int i = 0; i < 500; i++) {
                if (supervisor_op(c->run_root, c->project, "ping", NULL, NULL, NULL) >= 0)
                        return 0;
                usleep(2000 + i * 100);
        }
        return stack_error_set(err, ETIMEDOUT, "the supervisor of project %s did not start (see %s)",
                               c->project, logpath);
}

void supervisor_container_done(struct supervisor_container *c)
{
        free(c->name);
        free(c->service);
        for (int i = 0; i < c->n_health_log; i++)
                free(c->health_log[i].output);
        *c = (struct supervisor_container){0};
}

void supervisor_container_list_free(struct supervisor_container *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                supervisor_container_done(&l[i]);
        free(l);
}

void supervisor_container_from_json(const cJSON *j, struct supervisor_container *ret)
{
        *ret = (struct supervisor_container){
            .name = xstrdup(json_get_str(j, "name")),
            .service = xstrdup(json_get_str(j, "service")),
            .state = container_state_from_string(json_get_str(j, "state")),
            .health = health_status_from_string(json_get_str(j, "health")),
            .pid = (pid_t) json_get_num(j, "pid", 0),
            .exit_code = (int) json_get_num(j, "exit_code", 0),
            .restart_count = (int) json_get_num(j, "restart_count", 0),
            .stopped = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stopped")),
            .started_at = (uint64_t) json_get_num(j, "started_at", 0),
            .finished_at = (uint64_t) json_get_num(j, "finished_at", 0),
        };
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "health_log"))
        {
                if (ret->n_health_log == HEALTH_LOG_MAX)
                        break;
                ret->health_log[ret->n_health_log++] = (struct health_probe_result){
                    .start_usec = (uint64_t) json_get_num(e, "start", 0),
                    .end_usec = (uint64_t) json_get_num(e, "end", 0),
                    .exit_code = (int) json_get_num(e, "exit_code", 0),
                    .output = xstrdup(json_get_str(e, "output") ? json_get_str(e, "output") : ""),
                };
        }
}

int supervisor_status(const char *run_root, const char *project, struct supervisor_container **ret,
                      size_t *ret_n, struct stack_error *err)
{
        _cleanup_(cJSON_Deletep) cJSON *reply = NULL;
        int r = supervisor_op(run_root, project, "status", NULL, &reply, err);
        if (r < 0)
                return r;
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(reply, "containers");
        size_t n = 0;
        struct supervisor_container *l = xcalloc((size_t) cJSON_GetArraySize(list) + 1, sizeof(*l));
        const cJSON *item;
        cJSON_ArrayForEach(item, list) supervisor_container_from_json(item, &l[n++]);
        *ret = l;
        *ret_n = n;
        return 0;
}

int supervisor_saved_status(const char *run_root, const char *project, const char *name,
                            struct supervisor_container *ret)
{
        _cleanup_(cJSON_Deletep) cJSON *j = supervisor_read_status(run_root, project, name);
        if (!j)
                return -ENOENT;
        supervisor_container_from_json(j, ret);
        return 0;
}

bool supervisor_container_known(const struct supervisor_container *c)
{
        return c->state != CONTAINER_STATE_UNKNOWN &&
               !(c->state == CONTAINER_STATE_EXITED && c->started_at == 0);
}
