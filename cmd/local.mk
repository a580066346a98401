bin_PROGRAMS += stack
stack_SOURCES = \
	cmd/cmd.h \
	cmd/main.c \
	cmd/common.c \
	cmd/build.c \
	cmd/config.c \
	cmd/up.c \
	cmd/image.c \
	cmd/network.c \
	cmd/pull.c \
	cmd/push.c \
	cmd/login.c
stack_LDADD = $(STACK_LIBS)
