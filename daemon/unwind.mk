# daemon/unwind.mk
