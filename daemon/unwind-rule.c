/*
 * unwind-rule.c - the call frame rule at a return address, from the
 * module's CFI (elfutils' libdw), in the simple form a walk in the target
 * can apply (the jump backend's site table, daemon/jprobe.h): the CFA is
 * rsp or rbp plus an offset, the return address is at CFA - 8, rbp is
 * unchanged or saved at CFA + an offset; or the frame is the outermost
 * (the return address undefined).  Anything else (an expression, a
 * signal frame, a register held in another) is not simple: -1.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>

#include "daemon/unwind-internal.h"

enum { DW_RBP = 6, DW_RSP = 7, DW_RA = 16 };

static Dwarf_CFI *module_cfi(struct pk_unwind_module *mod)
{
	if (mod->cfi || mod->cfi_failed)
		return mod->cfi;
	mod->cfi_elf = elf_memory((char *)mod->image, mod->size);
	if (mod->cfi_elf)
		mod->cfi = dwarf_getcfi_elf(mod->cfi_elf);
	if (!mod->cfi)
		mod->cfi_failed = 1;
	return mod->cfi;
}

void pk_unwind_module_cfi_end(struct pk_unwind_module *mod)
{
	if (mod->cfi)
		dwarf_cfi_end(mod->cfi);
	if (mod->cfi_elf)
		elf_end(mod->cfi_elf);
	mod->cfi = NULL;
	mod->cfi_elf = NULL;
}

/* A register's rule: 0 unchanged (same value), 1 saved at CFA + *off,
 * 2 undefined, -1 anything else. */
static int reg_rule(Dwarf_Frame *f, int reg, int64_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t n;

	if (dwarf_frame_register(f, reg, mem, &ops, &n) != 0)
		return -1;
	if (n == 0)
		return ops ? 2 : 0;
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return -1;
	if (n == 1) {
		*off = 0;
		return 1;
	}
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return 1;
	}
	if (n == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus) {
		*off = (int64_t)ops[1].number;
		return 1;
	}
	return -1;
}

int pk_unwind_rule_at(struct pk_unwinder *u, uint64_t ra, struct pk_unwind_rule *out)
{
	struct pk_unwind_slot *slot = ra ? pk_unwind_slot_for(u, ra - 1, 1, NULL) : NULL;
	Dwarf_CFI *cfi;
	Dwarf_Frame *f = NULL;
	Dwarf_Op *ops;
	size_t n;
	bool signalp = false;
	int64_t off = 0;
	int r = -1, ra_rule, bp_rule;

	if (!slot || !slot->module || !slot->module->usable || slot->module->is_vdso)
		return -1;
	cfi = module_cfi(slot->module);
	if (!cfi || dwarf_cfi_addrframe(cfi, ra - 1 - slot->bias, &f) != 0)
		return -1;
	if (dwarf_frame_info(f, NULL, NULL, &signalp) != DW_RA || signalp)
		goto out;
	out->end = 0;
	ra_rule = reg_rule(f, DW_RA, &off);
	if (ra_rule == 2) {
		out->end = 1;
		out->cfa_off = 0;
		out->rbp_off = 0;
		out->base_rbp = 0;
		r = 0;
		goto out;
	}
	if (ra_rule != 1 || off != -8)
		goto out;
	if (dwarf_frame_cfa(f, &ops, &n) != 0 || n != 1)
		goto out;
	if (ops[0].atom == DW_OP_breg7 || ops[0].atom == DW_OP_breg6) {
		out->base_rbp = ops[0].atom == DW_OP_breg6;
		off = (int64_t)ops[0].number;
	} else if (ops[0].atom == DW_OP_bregx && (ops[0].number == DW_RSP || ops[0].number == DW_RBP)) {
		out->base_rbp = ops[0].number == DW_RBP;
		off = (int64_t)ops[0].number2;
	} else {
		goto out;
	}
	if (off < 8 || off > (1 << 20))
		goto out;
	out->cfa_off = (int32_t)off;
	bp_rule = reg_rule(f, DW_RBP, &off);
	if (bp_rule == 0)
		out->rbp_off = 0;
	else if (bp_rule == 1 && off <= -8 && off >= -256)
		out->rbp_off = (int16_t)off;
	else
		goto out;
	r = 0;
out:
	free(f);
	return r;
}
