# daemon/probe.mk
