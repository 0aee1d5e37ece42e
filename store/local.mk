# store/local.mk
