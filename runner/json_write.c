// SPDX-License-Identifier: GPL-2.0-only
/* Writing JSON strings: the escaping both the results file and -l use. */
#include <math.h>
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

static void put_number(struct buf *b, double v)
{
	/* Integers (timeouts, counts) read back as integers. */
	if (!isfinite(v))
		buf_adds(b, "null");	/* "-inf" got past the reader's strtod */
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		buf_printf(b, "%lld", (long long)v);
	else
		buf_printf(b, "%.17g", v);
}

void json_put_value(struct buf *b, const struct json *j)
{
	switch (j->type) {
	case J_NULL:
		buf_adds(b, "null");
		break;
	case J_BOOL:
		buf_adds(b, j->num ? "true" : "false");
		break;
	case J_NUM:
		put_number(b, j->num);
		break;
	case J_STR:
		json_put_str(b, j->str);
		break;
	case J_ARR:
		buf_adds(b, "[");
		for (int i = 0; i < j->n; i++) {
			if (i)
				buf_adds(b, ", ");
			json_put_value(b, &j->items[i]);
		}
		buf_adds(b, "]");
		break;
	case J_OBJ:
		buf_adds(b, "{");
		for (int i = 0; i < j->n; i++) {
			if (i)
				buf_adds(b, ", ");
			json_put_str(b, j->keys[i]);
			buf_adds(b, ": ");
			json_put_value(b, &j->items[i]);
		}
		buf_adds(b, "}");
		break;
	}
}
