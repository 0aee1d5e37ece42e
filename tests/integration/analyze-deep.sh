#!/bin/bash
# analyze-deep.sh - deep recursion: an-recurse calls descend() 5,000
# levels deep and spins at the bottom, so every sample's stack is deeper
# than perfkitd's 1,024-frame limit.  "perfkit analyze" must report
# deep-stack at descend, at high (its cap: nearly every sample is deep),
# say the depth is "at least" what was seen, and not blame the cut stacks
# on the unwinder (no profile-quality finding above low).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"

an_profile recurse cpu an-recurse 0.7
an_expect recurse deep-stack descend high
pk_json "$PK_TMP/recurse.json" '[i["description"] for i in d["issues"] if i["rule"] == "deep-stack"][0]' |
	grep -q 'at least' || { pk_show "$PK_TMP/recurse.json"; pk_fail "the depth of cut stacks is not reported as 'at least'"; }
bad=$(pk_json "$PK_TMP/recurse.json" '[i["severity"] for i in d["issues"] if i["rule"] == "profile-quality" and "incomplete_share" in i["evidence"] and i["severity"] != "low"]')
[ "$bad" = "[]" ] || { pk_show "$PK_TMP/recurse.json"; pk_fail "stacks cut at the frame limit were reported as broken: $bad"; }
exit 0
