/* Terminals for processes the runtime starts in the caller's place (exec, run): the runtime's
 * --console-socket, over which it sends the pty master it made (SCM_RIGHTS), and the relay between that
 * master and the caller's terminal (raw mode, window size, restored on every way out). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/base/error.h"

/* A unix socket listening at a fresh path in dir, for --console-socket. The caller unlinks *ret_path. */
int console_listen(const char *dir, int *ret_fd, char **ret_path, struct stack_error *err);

/* Waits until the runtime (pid) connects to listen_fd and sends the pty master (*ret_master), or exits
 * first (*ret_master = -1; its exit status is the caller's to collect). */
int console_receive(int listen_fd, pid_t pid, int *ret_master, struct stack_error *err);

/* The window size of terminal fd (0 and 0 when it is not a terminal). */
void console_size(int fd, unsigned *ret_rows, unsigned *ret_cols);

/* Relays in -> master and master -> out until pid exits and the master has nothing more to read; *ret_status
 * is pid's wait status. When in is a terminal it is put in raw mode for the time (restored on every
 * return), and its window size follows SIGWINCH onto the master. The first SIGINT, SIGTERM, SIGHUP or
 * SIGQUIT sent to us is passed on to pid; a second one kills it. */
int console_relay(int master, int in, int out, pid_t pid, int *ret_status, struct stack_error *err);

/* Waits for pid, passing the first SIGINT, SIGTERM, SIGHUP or SIGQUIT sent to us on to it, killing it on a
 * second (the process without a terminal shares ours: a Ctrl-C reaches it directly, and must not end us
 * before it). */
int console_wait(pid_t pid, int *ret_status, struct stack_error *err);
