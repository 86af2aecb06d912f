# shellcheck shell=bash
# Common helpers for the quiet-panic scripts. Source it; do not run it.
#
# Everything large (kernel trees, build dirs, the tools rootfs, test output)
# lives below $QP_CACHE, outside the repository.

QP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QP_CACHE=${QP_CACHE:-$HOME/.cache/quiet-panic}
# The kernels of a base: baseline (the Debian source), patched (+ the
# series). "lkdtm" (patched + the optional LKDTM series of patches/<base>/
# lkdtm/, for bases that have one) is asked for by name only.
# shellcheck disable=SC2034 # used by run-tests
QP_VARIANTS="baseline patched"
QP_ALL_VARIANTS="baseline patched lkdtm"

# One clear error line and a non-zero exit: the only way scripts fail.
qp_die() {
	echo "error: $*" >&2
	exit 1
}

# qp_usage SCRIPT: the comment at the head of SCRIPT, below its #! line,
# without the "# ": every script's --help.
qp_usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"
}

qp_log() {
	echo "==> $*" >&2
}

qp_need_cmd() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			qp_die "required tool '$cmd' not found (run: make deps)"
	done
}

# The table of bases (VERSIONS: its comments say what each column means);
# QP_VERSIONS_FILE names another file (tests of the pin checks).
QP_VERSIONS_FILE=${QP_VERSIONS_FILE:-$QP_ROOT/VERSIONS}
# The table of guest architectures (ARCHES), the same way.
QP_ARCHES_FILE=${QP_ARCHES_FILE:-$QP_ROOT/ARCHES}

# qp_table FILE: the rows of a table file, the column names first, without
# comments.
qp_table() {
	grep -v '^[[:space:]]*\(#\|$\)' "$1"
}

# The rows of VERSIONS, the column names first, without comments.
qp_versions_table() {
	qp_table "$QP_VERSIONS_FILE"
}

# The rows of VERSIONS without the column names: one base per line.
qp_versions() {
	qp_versions_table | tail -n +2
}

# qp_table_fact FILE ROW COLUMN WHAT: the value in COLUMN of the row whose
# first value is ROW, in table FILE, whose rows are WHATs (base,
# architecture); fails with one line if there is no such column, row or
# value.
qp_table_fact() {
	local rc=0 value name
	name=$(basename "$1")
	value=$(qp_table "$1" | awk -v b="$2" -v c="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) col = i; if (!col) exit 2; next }
		$1 == b { if ($col == "") exit 4; print $col; found = 1; exit }
		END { if (col && !found) exit 3 }') || rc=$?
	case "$rc" in
	0) echo "$value" ;;
	2) qp_die "$name has no column '$3'" ;;
	3) qp_die "$name has no $4 '$2'" ;;
	*) qp_die "$name gives $4 '$2' no $3" ;;
	esac
}

# qp_base_fact BASE COLUMN: BASE's value in COLUMN of VERSIONS.
qp_base_fact() {
	qp_table_fact "$QP_VERSIONS_FILE" "$1" "$2" base
}

# qp_arch_fact ARCH COLUMN: ARCH's value in COLUMN of ARCHES.
qp_arch_fact() {
	qp_table_fact "$QP_ARCHES_FILE" "$1" "$2" architecture
}

# qp_in_list WORD LIST: is WORD one of the blank-separated words of LIST?
qp_in_list() {
	[[ " $2 " == *" $1 "* ]]
}

# The architectures of ARCHES, the default one first.
qp_arches() {
	qp_table "$QP_ARCHES_FILE" | awk 'NR > 1 { print $1 }' | xargs
}

# The default architecture: the first row of ARCHES.
qp_default_arch() {
	local arches
	arches=$(qp_arches)
	echo "${arches%% *}"
}

# The architecture of the kernels and guests: $QP_ARCH (ARCH= and
# run-tests --arch set it), else the default one.
qp_arch() {
	if [ -n "${QP_ARCH:-}" ]; then echo "$QP_ARCH"; else qp_default_arch; fi
}

# qp_arch_runs_distro: does the Debian 13 guest run on this architecture?
# ARCHES' column distro, yes or no.
qp_arch_runs_distro() {
	local distro
	distro=$(qp_arch_fact "$(qp_arch)" distro) || exit 1
	case "$distro" in
	yes) return 0 ;;
	no) return 1 ;;
	*) qp_die "ARCHES gives $(qp_arch) distro '$distro', not yes or no" ;;
	esac
}

# qp_mmdebstrap WHAT DIR MB SUITE [OPTION...]: a Debian root of SUITE in
# DIR.tmp (mmdebstrap as root, QP_DEBIAN_MIRROR if set, MB free asked
# for), its log in DIR.tmp.log; or one error line naming WHAT and apt's
# own first error.
qp_mmdebstrap() {
	local what=$1 dir=$2 mb=$3 suite=$4 tmp=$2.tmp
	shift 4
	qp_need_cmd mmdebstrap
	[ "$(id -u)" = 0 ] || qp_die "mmdebstrap needs root to build $dir"
	qp_need_space "$(dirname "$dir")" "$mb"
	qp_log "creating the $what in $dir"
	rm -rf "$tmp"
	# Not --quiet: apt's own error, the first "E: " line, names the cause.
	mmdebstrap "$@" "$suite" "$tmp" ${QP_DEBIAN_MIRROR:+"$QP_DEBIAN_MIRROR"} >"$tmp.log" 2>&1 ||
		qp_die "mmdebstrap of the $what failed: $(grep -m1 '^E: ' "$tmp.log" || tail -n 1 "$tmp.log") (see $tmp.log)"
}

# qp_check_arch ARCH: fail unless ARCHES lists ARCH.
qp_check_arch() {
	qp_in_list "$1" "$(qp_arches)" ||
		qp_die "unknown ARCH '$1' (one of: $(qp_arches))"
}

# qp_arches_of SPEC: the architectures SPEC (ARCH=, --arch) names: one of
# ARCHES, "all", or nothing for qp_arch's.
qp_arches_of() {
	case "$1" in
	all) qp_arches ;;
	'') qp_arch ;;
	*) qp_check_arch "$1" && echo "$1" ;;
	esac
}

# qp_base_arches BASE: the architectures BASE is tested on (VERSIONS,
# column arches: a comma-separated list).
qp_base_arches() {
	local arches
	arches=$(qp_base_fact "$1" arches) || return 1
	echo "${arches//,/ }"
}

# qp_base_has_arch BASE: fail unless BASE is tested on the architecture.
qp_base_has_arch() {
	local arches
	arches=$(qp_base_arches "$1") || exit 1
	qp_in_list "$(qp_arch)" "$arches" ||
		qp_die "base $1 is not tested on $(qp_arch) (VERSIONS, column arches: ${arches// /,})"
}

# What names a kernel of another architecture than the default: nothing
# for the default one, whose paths are what they were before ARCHES.
qp_arch_suffix() {
	local arch
	arch=$(qp_arch)
	[ "$arch" = "$(qp_default_arch)" ] || echo "-$arch"
}

# The cross-compiler prefix of the architecture, empty for the host's own.
qp_cross_compile() {
	local cross
	cross=$(qp_arch_fact "$(qp_arch)" cross) || return 1
	[ "$cross" = - ] || echo "$cross"
}

# Kbuild's ARCH= and CROSS_COMPILE= for the architecture, one per line
# (mapfile them): given on every make command line, so that neither the
# caller's environment nor a make above (ARCH= on its command line reaches
# sub-makes through MAKEFLAGS) picks another.
qp_kbuild_args() {
	local kbuild
	kbuild=$(qp_arch_fact "$(qp_arch)" kbuild) || return 1
	echo "ARCH=$kbuild"
	echo "CROSS_COMPILE=$(qp_cross_compile)"
}

# qp_kernel_image OUT_DIR: the boot image in a kernel's out dir.
qp_kernel_image() {
	local image
	image=$(qp_arch_fact "$(qp_arch)" image) || return 1
	echo "$1/${image##*/}"
}

# The columns every row of VERSIONS fills (its comments say what each
# means).
QP_VERSIONS_COLUMNS="base package version suite arches reader rootfs dump_level config ci debian_rt"

# qp_check_versions: VERSIONS is a table the scripts can read: the columns
# above, a value in each for every row, values of the right kind. One line
# naming the first problem, else nothing.
qp_check_versions() {
	local why base frag arch
	why=$(qp_versions_table | awk -v want="$QP_VERSIONS_COLUMNS" -v q="'" '
		NR == 1 {
			for (i = 1; i <= NF; i++) col[$i] = i
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) if (!(w[i] in col)) { print "has no column " q w[i] q; exit }
			cols = NF; next
		}
		NF != cols { print "row " $1 " has " NF " values for " cols " columns"; exit }
		$col["reader"] !~ /^(crash|drgn)$/ { print "row " $1 ": reader " q $col["reader"] q " is not crash or drgn"; exit }
		$col["dump_level"] !~ /^([0-9]|[12][0-9]|3[01])$/ { print "row " $1 ": dump_level " q $col["dump_level"] q " is not 0 to 31"; exit }
		$col["debian_rt"] !~ /^(yes|no)$/ { print "row " $1 ": debian_rt " q $col["debian_rt"] q " is not yes or no"; exit }')
	[ -z "$why" ] || qp_die "VERSIONS $why"
	for base in $(qp_bases); do
		frag=$(qp_base_config "$base") || exit 1
		[ -z "$frag" ] || [ -f "$frag" ] ||
			qp_die "VERSIONS: row $base names config fragment $frag, which does not exist"
		for arch in $(qp_base_arches "$base"); do
			qp_in_list "$arch" "$(qp_arches)" ||
				qp_die "VERSIONS: row $base names architecture '$arch', which ARCHES does not have"
		done
	done
}

# qp_bases_where COLUMN VALUE: the bases whose COLUMN is VALUE, in the
# table's order.
qp_bases_where() {
	local base
	for base in $(qp_bases); do
		[ "$(qp_base_fact "$base" "$1")" != "$2" ] || echo "$base"
	done
}

qp_bases() {
	qp_versions | awk '{ print $1 }' | xargs
}

# The base the series is posted against: the first one in VERSIONS.
qp_primary_base() {
	qp_versions | awk 'NR == 1 { print $1 }'
}

# qp_check_base BASE: fail unless VERSIONS is sound and lists BASE.
qp_check_base() {
	local base=$1
	qp_check_versions
	[ -n "$base" ] || qp_die "no BASE given (one of: $(qp_bases))"
	qp_versions | awk -v b="$base" '$1 == b { found = 1 } END { exit !found }' ||
		qp_die "unknown BASE '$base' (one of: $(qp_bases))"
}

qp_check_variant() {
	case " $QP_ALL_VARIANTS " in
	*" $1 "*) ;;
	*) qp_die "unknown variant '$1' (one of: $QP_ALL_VARIANTS)" ;;
	esac
}

# The series directories a variant of BASE applies, in order (none for
# baseline).
qp_series_dirs() {
	case "$2" in
	patched) echo "$QP_ROOT/patches/$1" ;;
	lkdtm) echo "$QP_ROOT/patches/$1 $QP_ROOT/patches/$1/lkdtm" ;;
	esac
}

# The git branch of a variant's tree, and the ref that records what was
# applied there (refs are shared by the worktrees of a base).
qp_variant_branch() {
	case "$1" in
	patched) echo quiet-panic ;;
	*) echo "quiet-panic-$1" ;;
	esac
}

qp_applied_ref() {
	case "$1" in
	patched) echo refs/qp/applied ;;
	*) echo "refs/qp/applied-$1" ;;
	esac
}

qp_package() {
	qp_base_fact "$1" package
}

qp_pinned_version() {
	qp_base_fact "$1" version
}

qp_suite() {
	qp_base_fact "$1" suite
}

# qp_base_config BASE: the base's own config fragment, if it has one.
qp_base_config() {
	local frag
	frag=$(qp_base_fact "$1" config) || return 1
	[ "$frag" = - ] || echo "$QP_ROOT/configs/$frag.config"
}

# A base whose suite is not "system" comes from a private apt configuration
# (scripts/fetch-source.sh): the .deb lives in $QP_CACHE/src, not in dpkg.
qp_source_is_private() {
	[ "$(qp_suite "$1")" != system ]
}

qp_source_deb() {
	local base=$1 version
	version=$(qp_pinned_version "$base")
	echo "$QP_CACHE/src/$(qp_package "$base")_${version//:/%3a}_all.deb"
}

# The version of BASE's source package as it is on this machine: installed
# (system suite) or downloaded (private suite); empty when it is neither.
qp_source_version() {
	local base=$1 deb
	if qp_source_is_private "$base"; then
		deb=$(qp_source_deb "$base")
		[ ! -f "$deb" ] || dpkg-deb -f "$deb" Version
	else
		dpkg-query -W -f='${Version}' "$(qp_package "$base")" 2>/dev/null || true
	fi
}

# qp_apt_config SUITE: set QP_APT_OPTS to the apt options of SUITE, with its
# package lists up to date. "system" is the machine's own apt; any other
# suite gets a configuration of the project's own below $QP_CACHE/apt/SUITE
# (sources file, lists, cache), so the machine's apt state is not touched.
qp_apt_config() {
	local suite=$1 dir="$QP_CACHE/apt/$1"
	QP_APT_OPTS=()
	[ "$suite" != system ] || return 0
	mkdir -p "$dir/sources" "$dir/lists/partial" "$dir/cache/archives/partial"
	cat >"$dir/sources/$suite.sources" <<-SOURCES
		Types: deb
		URIs: ${QP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
		Suites: $suite
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SOURCES
	QP_APT_OPTS=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$dir/sources"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o "Dir::State::status=/dev/null" -o "Dir::Etc::preferencesparts=/dev/null"
		-o "APT::Get::List-Cleanup=0")
	apt-get "${QP_APT_OPTS[@]}" update -q >"$dir/update.log" 2>&1 ||
		qp_die "apt-get update of $suite failed (see $dir/update.log)"
}

# qp_check_source BASE: the source package on this machine is the pinned
# one. QP_ALLOW_VERSION=1 accepts another version (and says so).
qp_check_source() {
	local base=$1 pkg want have
	pkg=$(qp_package "$base")
	want=$(qp_pinned_version "$base")
	have=$(qp_source_version "$base")
	[ -n "$have" ] || qp_die "$pkg $want is not on this machine (run: make deps)"
	[ "$have" = "$want" ] && return 0
	if [ "${QP_ALLOW_VERSION:-0}" = 1 ]; then
		qp_log "warning: $pkg $have on this machine, VERSIONS pins $want (QP_ALLOW_VERSION=1)"
		return 0
	fi
	qp_die "$pkg $have on this machine but VERSIONS pins $want (get the pinned version or set QP_ALLOW_VERSION=1)"
}

qp_source_tarball() {
	if qp_source_is_private "$1"; then
		echo "$QP_CACHE/src/$(qp_package "$1").tar.xz"
	else
		echo "/usr/src/$(qp_package "$1").tar.xz"
	fi
}

# Layout below $QP_CACHE.
qp_repo_dir() { echo "$QP_CACHE/kernel/$1/baseline"; }
qp_tree_dir() { echo "$QP_CACHE/kernel/$1/$2"; }
# The build dir is a direct child of its source tree, so Kbuild uses
# srctree=".." and every compiler command line is the same in both trees:
# a copy of the baseline's build dir then rebuilds only what the series
# changes (build.sh, seed_build_dir).
qp_build_dir() { echo "$QP_CACHE/kernel/$1/$2/.qp-o$(qp_arch_suffix)"; }
# qp_kernel_name BASE VARIANT: a kernel's name in logs, results and out/:
# BASE-VARIANT, with -ARCH for another architecture than the default.
qp_kernel_name() { echo "$1-$2$(qp_arch_suffix)"; }
qp_out_dir() { echo "$QP_CACHE/out/$(qp_kernel_name "$1" "$2")"; }
# The tools rootfs of a Debian suite: trixie (crash, makedumpfile, kexec),
# sid (drgn), trixie-arm64 (arm64 guests' kexec, makedumpfile);
# scripts/rootfs.sh makes them.
qp_rootfs_dir() { echo "$QP_CACHE/rootfs/${1:-trixie}"; }

# qp_arch_is_host: the architecture is the host's own (its Debian name
# in ARCHES is dpkg's): its programs run here, and KVM can run its guests.
qp_arch_is_host() {
	[ "$(qp_arch_fact "$(qp_arch)" debian)" = "$(dpkg --print-architecture)" ]
}

# The tools rootfs the architecture's guests take kexec, makedumpfile and
# busybox from: trixie's, unpacked for their Debian architecture where it
# is not the host's.
qp_guest_rootfs() {
	if qp_arch_is_host; then
		echo trixie
	else
		echo "trixie-$(qp_arch_fact "$(qp_arch)" debian)"
	fi
}

# qp_declarations_only TREE FROM TO FILE: FILE is a header whose change
# from commit FROM to TO only adds or removes blank lines, comments and
# function prototypes: code that includes it, but does not call what it
# declares, compiles to the same object either way. Checked on 7.3.4 for
# v4 of the series: of 400 objects built with and without it, only the
# three whose sources the series changes differ in .text. (Line numbers in
# the debug info of inline code further down such a header lag by the
# lines added above it.) The incremental builds of scripts/build.sh and
# scripts/check-series.sh keep such headers' mtimes old, so that Kbuild
# rebuilds what the series changes, not every file.
qp_declarations_only() {
	local tree=$1 from=$2 to=$3 file=$4
	case "$file" in *.h) ;; *) return 1 ;; esac
	git -C "$tree" diff -U0 "$from" "$to" -- "$file" | awk '
		/^(\+\+\+|---) / || /^@@/ || /^diff / || /^index / { next }
		/^[-+]/ {
			line = substr($0, 2)
			if (line ~ /^[ \t]*$/ || line ~ /^[ \t]*(\/\*|\*|\/\/)/) next
			if (line ~ /^[A-Za-z_][A-Za-z0-9_ *]*\([^;]*\);[ \t]*$/) next
			bad = 1
		}
		END { exit bad }'
}

# qp_age_headers TREE FROM TO: after the tree went from commit FROM to TO
# (a checkout, or the series applied again: either rewrites every file a
# series touches), give the headers that did not change, or only in
# declarations, an mtime older than any build.
qp_age_headers() {
	local tree=$1 from=$2 to=$3 file
	{
		git -C "$tree" diff --name-only base "$from"
		git -C "$tree" diff --name-only base "$to"
	} | sort -u | while read -r file; do
		[ -f "$tree/$file" ] || continue
		! qp_declarations_only "$tree" "$from" "$to" "$file" ||
			touch -h -d @946684800 "$tree/$file"
	done
}

# qp_need_space DIR MIB: fail early rather than half way through a build.
qp_need_space() {
	local dir=$1 mib=$2 avail
	mkdir -p "$dir"
	avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
	[ "${avail:-0}" -ge "$mib" ] ||
		qp_die "only ${avail:-0} MiB free in $dir, need $mib MiB"
}

# Serialise kernel builds machine-wide: two at once on 2 cores is slower
# than one after the other and can run the machine out of memory.
qp_with_build_lock() {
	mkdir -p "$QP_CACHE"
	exec 9>"$QP_CACHE/build.lock"
	if ! flock -n 9; then
		qp_log "waiting for another kernel build to finish"
		flock 9
	fi
	"$@"
}
