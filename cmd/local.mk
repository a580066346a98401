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
	cmd/ls.c \
	cmd/wait.c \
	cmd/port.c \
	cmd/supervise.c \
	cmd/image.c \
	cmd/network.c \
	cmd/systemd.c \
	cmd/progress.h cmd/progress.c \
	cmd/pull.c \
	cmd/push.c \
	cmd/login.c \
	cmd/watch.c \
	cmd/cp.c
stack_LDADD = $(STACK_LIBS)
