bin_PROGRAMS += stack
stack_SOURCES = \
	cmd/cmd.h \
	cmd/main.c \
	cmd/common.c \
	cmd/build.c \
	cmd/config.c \
	cmd/up.c \
	cmd/down.c \
	cmd/ps.c \
	cmd/logs.c \
	cmd/events.c \
	cmd/ls.c \
	cmd/wait.c \
	cmd/exec.c \
	cmd/run.c \
	cmd/port.c \
	cmd/supervise.c \
	cmd/image.c \
	cmd/network.c \
	cmd/systemd.c \
	cmd/progress.h cmd/progress.c \
	cmd/pull.c \
	cmd/push.c \
	cmd/login.c \
	cmd/helpdoc.h cmd/helpdoc.c \
	cmd/manpage.c \
	cmd/completion.c \
	cmd/lifecycle.c \
	cmd/start.c \
	cmd/stop.c \
	cmd/restart.c \
	cmd/kill.c \
	cmd/pause.c \
	cmd/rm.c \
	cmd/create.c \
	cmd/top.c \
	cmd/watch.c \
	cmd/cp.c
stack_LDADD = $(STACK_LIBS)
