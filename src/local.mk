# src/local.mk
