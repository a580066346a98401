libstack_core_la_SOURCES += \
	spec/node.h spec/node.c \
	spec/model.h \
	spec/load.h spec/load.c
libstack_core_la_SOURCES += spec/model.c spec/units.h spec/units.c
