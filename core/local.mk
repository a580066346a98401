libstack_core_la_SOURCES += \
	core/cleanup.h \
	core/error.h core/error.c \
	core/util.h core/util.c \
	core/fileio.h core/fileio.c \
	core/log.h core/log.c

check_PROGRAMS += tests/unit/test-util
TESTS += tests/unit/test-util
tests_unit_test_util_LDADD = $(STACK_LIBS)

libstack_core_la_SOURCES += core/plan.h core/plan.c
check_PROGRAMS += tests/unit/test-plan
TESTS += tests/unit/test-plan
tests_unit_test_plan_LDADD = $(STACK_LIBS)
