#!/bin/bash
# Print the bases a BASE= setting stands for: "all" means every base in
# VERSIONS; anything else must be one of them.
#
# usage: scripts/bases.sh [all|BASE]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

case "${1:-all}" in
all) qp_check_versions && qp_bases ;;
*) qp_check_base "$1" && echo "$1" ;;
esac
