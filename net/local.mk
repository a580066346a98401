libstack_core_la_SOURCES += \
	net/ipam.h net/ipam.c

check_PROGRAMS += tests/unit/test-ipam
TESTS += tests/unit/test-ipam
tests_unit_test_ipam_LDADD = $(STACK_LIBS)
