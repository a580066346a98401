/* The supervisor's control socket: one JSON request per line, one reply line each. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/supervisor-internal.h"
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

void reply(struct conn *conn, cJSON *j)
{
        if (!conn)
                return;
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        if (text) {
                size_t len = strlen(text);
                /* Replies are small; the client reads them right away, so a blocking write is fine. */
                int fl = fcntl(conn->fd, F_GETFL);
                fcntl(conn->fd, F_SETFL, fl & ~O_NONBLOCK);
                if (write(conn->fd, text, len) < 0 || write(conn->fd, "\n", 1) < 0)
                        log_debug("supervisor: client went away: %m");
                fcntl(conn->fd, F_SETFL, fl);
        }
        conn->busy = false;
}

void reply_ok(struct conn *conn)
{
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "ok", true);
        reply(conn, j);
}

void reply_error(struct conn *conn, const char *fmt, ...)
{
        char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "error", msg ? msg : "error");
        free(msg);
        reply(conn, j);
}

static void conn_free(struct conn *conn)
{
        sd_event_source_disable_unref(conn->source);
        close(conn->fd);
        strbuf_free(&conn->in);
        free(conn);
}

/* The supervisor leaves once the project has no container left: none in its table, none recorded (a
 * command may be about to ask for one it just recorded), and nothing in flight. */
static int on_conn(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct conn *conn = userdata;
        struct supervisor *s = conn->s;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                /* The client is gone. Operations it waits for still complete; their replies go nowhere. */
                for (struct child *ch = s->children; ch; ch = ch->next)
                        if (ch->conn == conn)
                                ch->conn = NULL;
                for (size_t i = 0; i < s->n_containers; i++)
                        for (size_t k = 0; k < s->containers[i]->n_stop_waiters; k++)
                                if (s->containers[i]->stop_waiters[k] == conn)
                                        s->containers[i]->stop_waiters[k] = NULL;
                for (size_t i = 0; i < s->n_containers; i++)
                        for (size_t k = 0; k < s->containers[i]->n_pending; k++)
                                if (s->containers[i]->pending[k].conn == conn)
                                        s->containers[i]->pending[k].conn = NULL;
                sup_events_drop(s, conn);
                conn_free(conn);
                return 0;
        }
        strbuf_add(&conn->in, buf, (size_t) n);
        char *nl;
        while (!conn->busy && conn->in.buf && (nl = memchr(conn->in.buf, '\n', conn->in.len))) {
                *nl = 0;
                _cleanup_(cJSON_Deletep) cJSON *req = cJSON_Parse(conn->in.buf);
                size_t used = (size_t) (nl - conn->in.buf) + 1;
                memmove(conn->in.buf, nl + 1, conn->in.len - used);
                conn->in.len -= used;
                conn->in.buf[conn->in.len] = 0;
                if (!req)
                        reply_error(conn, "malformed request");
                else
                        handle(s, conn, req);
        }
        return 0;
}

int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        struct supervisor *s = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        /* Only root may drive the supervisor: the socket's mode says so too, this makes sure. */
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                close(cfd);
                return 0;
        }
        struct conn *conn = xcalloc(1, sizeof(*conn));
        conn->fd = cfd;
        conn->s = s;
        if (sd_event_add_io(s->event, &conn->source, cfd, EPOLLIN, on_conn, conn) < 0) {
                close(cfd);
                free(conn);
        }
        return 0;
}

int listen_socket(const char *path, int *ret, struct stack_error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return stack_error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "socket");
        unlink(path);
        mode_t old = umask(0077);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return stack_error_errno(err, errno, "bind %s", path);
        if (listen(fd, 64) < 0)
                return stack_error_errno(err, errno, "listen %s", path);
        *ret = TAKE_FD(fd);
        return 0;
}
