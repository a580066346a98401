/* The runtime's console socket and the terminal relay (see console.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/runtime/console.h"

int console_listen(const char *dir, int *ret_fd, char **ret_path, struct stack_error *err)
{
        _cleanup_free_ char *path =
            xasprintf("%s/console-%d-%llx.sock", dir, (int) getpid(), (unsigned long long) now_usec());
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return stack_error_set(err, ENAMETOOLONG, "console socket path %s is too long", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "console socket");
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                return stack_error_errno(err, errno, "console socket %s", path);
        *ret_fd = TAKE_FD(fd);
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int pidfd_open(pid_t pid, struct stack_error *err)
{
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return stack_error_errno(err, errno, "pidfd_open %d", (int) pid);
        return fd;
}

/* One message with one fd in SCM_RIGHTS, as crun and runc send the master. */
static int receive_fd(int conn, int *ret, struct stack_error *err)
{
        char byte[256];
        struct iovec iov = {.iov_base = byte, .iov_len = sizeof(byte)};
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl;
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
        ssize_t n;
        while ((n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return stack_error_errno(err, errno, "console socket: receive");
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len != CMSG_LEN(sizeof(int)))
                return stack_error_set(err, EPROTO, "console socket: the runtime sent no terminal");
        memcpy(ret, CMSG_DATA(c), sizeof(int));
        return 0;
}

int console_receive(int listen_fd, pid_t pid, int *ret_master, struct stack_error *err)
{
        _cleanup_close_ int pfd = pidfd_open(pid, err);
        if (pfd < 0)
                return pfd;
        struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
        for (;;) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return stack_error_errno(err, errno, "poll");
                }
                if (p[0].revents)
                        break;
                if (p[1].revents) {
                        *ret_master = -1; /* the runtime ended without a terminal: its log says why */
                        return 0;
                }
        }
        _cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
                return stack_error_errno(err, errno, "console socket: accept");
        return receive_fd(conn, ret_master, err);
}

void console_size(int fd, unsigned *ret_rows, unsigned *ret_cols)
{
        struct winsize ws = {0};
        if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
                ws = (struct winsize){0};
        *ret_rows = ws.ws_row;
        *ret_cols = ws.ws_col;
}

static void follow_size(int from, int master)
{
        struct winsize ws;
        /* Best effort: a size that cannot be read or set leaves the previous one. */
        if (ioctl(from, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

static int write_all(int fd, const char *buf, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, buf, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = {.fd = fd, .events = POLLOUT};
                                (void) poll(&p, 1, -1);
                                continue;
                        }
                        return -errno;
                }
                buf += w;
                n -= (size_t) w;
        }
        return 0;
}

/* The signals we pass on, blocked while we wait and read from a signalfd instead. */
struct relay_signals {
        sigset_t set, saved;
        int fd;
        unsigned ending; /* SIGINT, SIGTERM, SIGHUP, SIGQUIT received so far */
};

static int signals_take(struct relay_signals *s, bool winch, struct stack_error *err)
{
        sigemptyset(&s->set);
        int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, winch ? SIGWINCH : SIGINT};
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&s->set, sigs[i]);
        if (sigprocmask(SIG_BLOCK, &s->set, &s->saved) < 0)
                return stack_error_errno(err, errno, "sigprocmask");
        s->fd = signalfd(-1, &s->set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s->fd < 0) {
                int e = errno;
                (void) sigprocmask(SIG_SETMASK, &s->saved, NULL);
                return stack_error_errno(err, e, "signalfd");
        }
        return 0;
}

static void signals_release(struct relay_signals *s)
{
        /* Signals that arrived meanwhile were passed on; the ones still pending were meant for the process
         * too, and are dropped rather than delivered to us once unblocked. */
        struct signalfd_siginfo si;
        while (read(s->fd, &si, sizeof(si)) > 0)
                ;
        close(s->fd);
        (void) sigprocmask(SIG_SETMASK, &s->saved, NULL);
}

/* Reads what the signalfd has: passes the first ending signal on to pid, applies window size changes. A
 * container's init ignores signals it has no handler for, so from the second one on pid is killed (as a
 * second Ctrl-C does in `up`): the user asked twice. */
static void signals_handle(struct relay_signals *s, pid_t pid, int in, int master)
{
        struct signalfd_siginfo si;
        while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGWINCH)
                        follow_size(in, master);
                else
                        (void) kill(pid, s->ending++ == 0 ? (int) si.ssi_signo : SIGKILL);
        }
}

static int reap(pid_t pid, int *ret_status, struct stack_error *err)
{
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR)
                        return stack_error_errno(err, errno, "waitpid %d", (int) pid);
        return 0;
}

int console_wait(pid_t pid, int *ret_status, struct stack_error *err)
{
        struct relay_signals s = {0};
        int k = signals_take(&s, false, err);
        if (k < 0)
                return k;
        _cleanup_close_ int pfd = pidfd_open(pid, err);
        if (pfd < 0) {
                signals_release(&s);
                return pfd;
        }
        struct pollfd p[2] = {{.fd = pfd, .events = POLLIN}, {.fd = s.fd, .events = POLLIN}};
        while (!p[0].revents) {
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents)
                        signals_handle(&s, pid, -1, -1);
        }
        signals_release(&s);
        return reap(pid, ret_status, err);
}

/* What the master still holds once the process is gone. The last slave closing turns reads into EIO; a
 * slave kept open by a process left in the background turns them into EAGAIN, and we stop there. */
static void drain(int master, int out)
{
        char buf[16384];
        for (;;) {
                ssize_t n = read(master, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || write_all(out, buf, (size_t) n) < 0)
                        return;
        }
}

/* The caller's terminal in raw mode, restored by the cleanup of the scope that made it. */
struct raw_terminal {
        int fd;
        struct termios saved;
};

static void raw_terminal_restore(struct raw_terminal *t)
{
        if (t->fd >= 0)
                (void) tcsetattr(t->fd, TCSADRAIN, &t->saved);
}

static void raw_terminal_make(int fd, struct raw_terminal *t)
{
        t->fd = -1;
        if (fd < 0 || !isatty(fd) || tcgetattr(fd, &t->saved) < 0)
                return;
        struct termios raw = t->saved;
        cfmakeraw(&raw);
        if (tcsetattr(fd, TCSADRAIN, &raw) == 0)
                t->fd = fd;
}

/* One pass of the copy: 1 while there is more to do, 0 once the process is gone, <0 on error. */
static int relay_step(struct pollfd *p, int master, int in, int out, bool *in_open)
{
        char buf[16384];
        if (p[0].revents & (POLLIN | POLLHUP)) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n > 0) {
                        if (write_all(master, buf, (size_t) n) < 0)
                                return -errno;
                } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                        /* Our input ended: so does the process's, with the end-of-file character its
                         * terminal reads as such (in canonical mode, which a shell reading a pipe uses). */
                        *in_open = false;
                        p[0].fd = -1;
                        char eof = 4;
                        (void) write_all(master, &eof, 1);
                }
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = read(master, buf, sizeof(buf));
                if (n > 0) {
                        if (write_all(out, buf, (size_t) n) < 0)
                                return -errno;
                } else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                        p[1].fd = -1; /* every slave is closed */
        }
        return p[3].revents ? 0 : 1;
}

int console_relay(int master, int in, int out, pid_t pid, int *ret_status, struct stack_error *err)
{
        struct relay_signals s = {0};
        int k = signals_take(&s, true, err);
        if (k < 0)
                return k;
        _cleanup_close_ int pfd = pidfd_open(pid, err);
        if (pfd < 0) {
                signals_release(&s);
                return pfd;
        }
        int flags = fcntl(master, F_GETFL);
        if (flags >= 0)
                (void) fcntl(master, F_SETFL, flags | O_NONBLOCK);
        follow_size(in, master);
        {
                _cleanup_(raw_terminal_restore) struct raw_terminal t;
                raw_terminal_make(in, &t);
                bool in_open = in >= 0;
                struct pollfd p[4] = {
                    {.fd = in, .events = POLLIN},
                    {.fd = master, .events = POLLIN},
                    {.fd = s.fd, .events = POLLIN},
                    {.fd = pfd, .events = POLLIN},
                };
                for (k = 1; k > 0;) {
                        if (poll(p, 4, -1) < 0) {
                                if (errno == EINTR)
                                        continue;
                                k = -errno;
                                break;
                        }
                        if (p[2].revents)
                                signals_handle(&s, pid, in, master);
                        k = relay_step(p, master, in, out, &in_open);
                }
                if (k == 0)
                        drain(master, out);
        }
        signals_release(&s);
        if (k < 0) {
                (void) kill(pid, SIGKILL);
                int st;
                (void) reap(pid, &st, NULL);
                return stack_error_errno(err, -k, "terminal relay");
        }
        return reap(pid, ret_status, err);
}
