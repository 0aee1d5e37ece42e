# daemon/symbols.mk
