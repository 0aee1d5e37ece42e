#!/bin/bash
# analyze-wall.sh - lock contention seen in wall-clock mode: in an-mutex 4
# threads take turns holding one mutex for their whole work, so about 3
# of the 4 threads are inside pthread_mutex_lock (mostly asleep in the
# kernel) at any time.  "perfkit analyze" must report lock-contention at
# update_shared, critical (share about 0.7; critical from 0.5), and say
# that part of the waiting was off-CPU.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"

an_profile mutex wall an-mutex 1
an_expect mutex lock-contention update_shared critical
off=$(pk_json "$PK_TMP/mutex.json" '[i for i in d["issues"] if i["rule"] == "lock-contention"][0]["evidence"]["offcpu_samples"]')
pk_check_ge "lock waits seen off-CPU" "$off" 1
exit 0
