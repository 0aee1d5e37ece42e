# src/render.mk
