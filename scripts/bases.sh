#!/bin/bash
# Print the bases a BASE= setting stands for: "all" means every base in
# VERSIONS; anything else must be one of them. Given an architecture, only
# the bases VERSIONS tests on it (a BASE that is not: an error). With
# --arches, the architectures an ARCH= setting stands for (ARCHES).
#
# usage: scripts/bases.sh [all|BASE [ARCH]]
#        scripts/bases.sh --arches [all|ARCH]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --arches ]; then
	case "${2:-all}" in
	all) qp_arches ;;
	*) qp_check_arch "$2" && echo "$2" ;;
	esac
	exit
fi
case "${1:-all}" in
all) qp_check_versions && bases=$(qp_bases) ;;
*) qp_check_base "$1" && bases=$1 ;;
esac
[ -n "${2:-}" ] || { echo "$bases"; exit; }
qp_check_arch "$2"
for base in $bases; do
	if [ "${1:-all}" != all ]; then
		QP_ARCH=$2 qp_base_has_arch "$base"
	elif ! qp_in_list "$2" "$(qp_base_arches "$base")"; then
		continue
	fi
	echo "$base"
done | xargs
