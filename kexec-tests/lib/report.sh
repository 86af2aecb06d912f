# shellcheck shell=bash
# Writing Markdown for docs/.

# replace_section FILE TITLE NEW: FILE with its section TITLE (from that
# line up to the next "## " line) replaced by the content of NEW, or with
# NEW appended. docs/results.md has sections written by different tools.
replace_section() {
	local file=$1 title=$2 new=$3
	[ -f "$file" ] || : >"$file"
	awk -v t="$title" -v n="$new" '
		$0 == t { skip = 1; while ((getline l < n) > 0) print l; print ""; done = 1; next }
		skip && /^## / { skip = 0 }
		!skip { print }
		END { if (!done) { print ""; while ((getline l < n) > 0) print l } }' "$file" >"$file.new"
	mv "$file.new" "$file"
}
