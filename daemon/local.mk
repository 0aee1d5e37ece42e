# daemon/: perfkitd, the only code that touches a live process.
noinst_LIBRARIES += daemon/libpkdaemon.a
daemon_libpkdaemon_a_CFLAGS = $(AM_CFLAGS) $(LIBUNWIND_CFLAGS) $(LIBDW_CFLAGS) $(LIBELF_CFLAGS)
daemon_libpkdaemon_a_SOURCES = \
	daemon/options.c daemon/options.h \
	daemon/target.c daemon/target.h \
	daemon/tracer.c daemon/tracer.h daemon/tracer-hot.c \
	daemon/sampler.c daemon/sampler.h daemon/sampler-perf.c \
	daemon/perf-ring.c daemon/perf-ring.h \
	daemon/recorder.c daemon/recorder.h \
	daemon/launch.c daemon/launch.h \
	daemon/background.c daemon/background.h \
	daemon/status.c daemon/status.h \
	daemon/session.c daemon/session.h \
	daemon/instrument.h daemon/instruments.c

bin_PROGRAMS += daemon/perfkitd
daemon_perfkitd_SOURCES = daemon/perfkitd.c
daemon_perfkitd_CFLAGS = $(AM_CFLAGS)
daemon_perfkitd_LDADD = daemon/libpkdaemon.a store/libpkstore.a lib/libpkcommon.a \
	$(LIBUNWIND_LIBS) $(LIBDW_LIBS) $(LIBELF_LIBS) $(SQLITE_LIBS) $(ZLIB_LIBS) -lstdc++ -lm
dist_man_MANS += man/perfkitd.1

# The symbolizer's sources are listed in daemon/symbols.mk.
daemon_libpkdaemon_a_SOURCES += $(PK_SYMBOLS_SOURCES)
