libstack_core_la_SOURCES +=
