# daemon/alloc.mk - allocation tracking end to end (issue 4): the perfkitd
# instrument (daemon/alloc-instrument.c, on the probe engine and the
# allocation library of daemon/probe.mk), its store section (schema v3,
# store/allocs.c), "perfkit allocs", and their tests.

daemon_libpkdaemon_a_SOURCES += daemon/alloc-instrument.c daemon/alloc-instrument.h
store_libpkstore_a_SOURCES += store/allocs.c

# perfkit allocs: the model, the timeline chart and the command.
src_libpksrc_a_SOURCES += src/allocs.c src/allocs.h src/allocs-svg.c src/cmd-allocs.c
