// SPDX-License-Identifier: GPL-2.0-only
/* Writing JSON strings: the escaping both the results file and -l use. */
#include <string.h>

#include "runner.h"

static void put_json_char(struct buf *b, const char *ch, size_t n)
{
	unsigned char c = ch[0];

	if (n > 1) {
		buf_add(b, ch, n);
		return;
	}
	switch (c) {
	case '"':
		buf_adds(b, "\\\"");
		break;
	case '\\':
		buf_adds(b, "\\\\");
		break;
	case '\n':
		buf_adds(b, "\\n");
		break;
	case '\r':
		buf_adds(b, "\\r");
		break;
	case '\t':
		buf_adds(b, "\\t");
		break;
	default:
		if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_add(b, ch, 1);
	}
}

/* A JSON string, or null for NULL. */
void json_put_str(struct buf *b, const char *s)
{
	if (!s) {
		buf_adds(b, "null");
		return;
	}
	buf_adds(b, "\"");
	put_valid_utf8(b, s, strlen(s), put_json_char);
	buf_adds(b, "\"");
}

void json_put_strv(struct buf *b, char **v, int n)
{
	buf_adds(b, "[");
	for (int i = 0; i < n; i++) {
		if (i)
			buf_adds(b, ", ");
		json_put_str(b, v[i]);
	}
	buf_adds(b, "]");
}
