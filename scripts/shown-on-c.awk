# SPDX-License-Identifier: GPL-2.0-only
#
# meta/shown-on.txt (TEST<TAB>TEXT, generated from runs by scripts/kvmcheck/shown_on.py) as
# the C table the harness prints each test's --meta "shown_on" from (lib/harness_meta.c).
function cstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return "\"" s "\""
}
BEGIN {
	print "/* Generated from meta/shown-on.txt by scripts/shown-on-c.awk: do not edit. */"
	print "#include <stddef.h>"
	print ""
	print "const char *const kc_shown_on_table[][2] = {"
}
/^#/ || !/\t/ { next }
{
	tab = index($0, "\t")
	printf "\t{ %s, %s },\n", cstr(substr($0, 1, tab - 1)), cstr(substr($0, tab + 1))
}
END {
	print "\t{ NULL, NULL },"
	print "};"
}
