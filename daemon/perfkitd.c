/*
 * perfkitd.c - the collector's entry point: parse the command line and
 * hand over to run or attach (daemon/session.c).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/cachesim.h"
#include "daemon/options.h"
#include "daemon/session.h"
#include "daemon/top.h"
#include "error.h"

int main(int argc, char **argv)
{
	struct pk_options opt;
	int rc;

	pk_set_program_name("perfkitd");
	if (argc > 1 && !strcmp(argv[1], "top"))  /* its own options: daemon/top.c */
		return pk_top_main(argc - 1, argv + 1);
	rc = pk_options_parse(argc, argv, &opt);
	if (rc > 0)
		return PK_EXIT_OK;
	if (rc < 0)
		return PK_EXIT_USAGE;
	pk_set_quiet(opt.quiet);
	if (opt.cache_sim)  /* its own mode: PROG runs under valgrind */
		return pk_cachesim_run(&opt);
	if (opt.command == PK_CMD_ATTACH)
		return pk_session_attach(&opt);
	return pk_session_run(&opt);
}
