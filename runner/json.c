// SPDX-License-Identifier: GPL-2.0-only
/*
 * A JSON reader for the one-line object a test prints for --meta.  It reads
 * all of JSON so that a field added to the metadata later does not break
 * older runners, but keeps no more than the runner needs.
 */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

/* Metadata nests two levels; anything deep is not ours. */
#define MAX_DEPTH 16

struct reader {
	const char *p;
	const char *err;
};

static bool parse_value(struct reader *r, struct json *j, int depth);

static void skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static bool fail(struct reader *r, const char *err)
{
	if (!r->err)
		r->err = err;
	return false;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static void put_utf8(struct buf *b, unsigned int cp)
{
	char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = 0xc0 | cp >> 6;
		s[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = 0xe0 | cp >> 12;
		s[1] = 0x80 | ((cp >> 6) & 0x3f);
		s[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		s[0] = 0xf0 | cp >> 18;
		s[1] = 0x80 | ((cp >> 12) & 0x3f);
		s[2] = 0x80 | ((cp >> 6) & 0x3f);
		s[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	buf_add(b, s, n);
}

/* \uXXXX, with a following low surrogate when XXXX is a high one. */
static bool parse_unicode(struct reader *r, struct buf *b)
{
	int cp = hex4(r->p);

	if (cp < 0)
		return fail(r, "bad \\u escape");
	r->p += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && r->p[0] == '\\' && r->p[1] == 'u') {
		int lo = hex4(r->p + 2);

		if (lo >= 0xdc00 && lo <= 0xdfff) {
			r->p += 6;
			put_utf8(b, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			return true;
		}
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;	/* lone surrogate: keep the text valid */
	put_utf8(b, cp);
	return true;
}

static bool parse_escape(struct reader *r, struct buf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	char c = *r->p++;

	if (c == 'u')
		return parse_unicode(r, b);
	e = c ? strchr(from, c) : NULL;
	if (!e)
		return fail(r, "bad escape in string");
	buf_add(b, &to[e - from], 1);
	return true;
}

static bool parse_string(struct reader *r, char **out)
{
	struct buf b = { 0 };

	r->p++;		/* opening quote */
	buf_adds(&b, "");
	while (*r->p != '"') {
		if (!*r->p || (unsigned char)*r->p < 0x20) {
			buf_free(&b);
			return fail(r, "unterminated string");
		}
		if (*r->p == '\\') {
			r->p++;
			if (!parse_escape(r, &b)) {
				buf_free(&b);
				return false;
			}
			continue;
		}
		buf_add(&b, r->p++, 1);
	}
	r->p++;
	*out = b.data;
	return true;
}

static bool parse_number(struct reader *r, struct json *j)
{
	char *end;

	j->type = J_NUM;
	j->num = strtod(r->p, &end);
	if (end == r->p)
		return fail(r, "bad number");
	r->p = end;
	return true;
}

static bool parse_word(struct reader *r, struct json *j)
{
	static const struct {
		const char *word;
		enum json_type type;
		double num;
	} words[] = {
		{ "null", J_NULL, 0 }, { "true", J_BOOL, 1 }, { "false", J_BOOL, 0 },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);

		if (!strncmp(r->p, words[i].word, n)) {
			r->p += n;
			j->type = words[i].type;
			j->num = words[i].num;
			return true;
		}
	}
	return fail(r, "unexpected character");
}

static struct json *add_item(struct json *j)
{
	j->items = xrealloc(j->items, (j->n + 1) * sizeof(*j->items));
	memset(&j->items[j->n], 0, sizeof(*j->items));
	return &j->items[j->n++];
}

/* Elements of an array or members of an object, up to the closing bracket. */
static bool parse_members(struct reader *r, struct json *j, int depth, char close)
{
	r->p++;
	skip_ws(r);
	if (*r->p == close) {
		r->p++;
		return true;
	}
	for (;;) {
		skip_ws(r);
		if (j->type == J_OBJ) {
			char *key;

			if (*r->p != '"' || !parse_string(r, &key))
				return fail(r, "expected a key");
			j->keys = xrealloc(j->keys, (j->n + 1) * sizeof(*j->keys));
			j->keys[j->n] = key;
			skip_ws(r);
			if (*r->p++ != ':') {
				free(key);
				return fail(r, "expected ':'");
			}
		}
		if (!parse_value(r, add_item(j), depth + 1))
			return false;
		skip_ws(r);
		if (*r->p == close) {
			r->p++;
			return true;
		}
		if (*r->p++ != ',')
			return fail(r, "expected ',' or a closing bracket");
	}
}

static bool parse_value(struct reader *r, struct json *j, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(r, "nested too deeply");
	skip_ws(r);
	switch (*r->p) {
	case '"':
		j->type = J_STR;
		return parse_string(r, &j->str);
	case '[':
		j->type = J_ARR;
		return parse_members(r, j, depth, ']');
	case '{':
		j->type = J_OBJ;
		return parse_members(r, j, depth, '}');
	case '-':
	case '0' ... '9':
		return parse_number(r, j);
	default:
		return parse_word(r, j);
	}
}

static void json_clear(struct json *j)
{
	for (int i = 0; i < j->n; i++) {
		json_clear(&j->items[i]);
		if (j->type == J_OBJ)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->str);
}

void json_free(struct json *j)
{
	if (!j)
		return;
	json_clear(j);
	free(j);
}

struct json *json_parse(const char *text, const char **err)
{
	struct reader r = { .p = text };
	struct json *j = xcalloc(1, sizeof(*j));

	if (parse_value(&r, j, 0)) {
		skip_ws(&r);
		if (!*r.p)
			return j;
		fail(&r, "trailing text after the value");
	}
	*err = r.err;
	json_free(j);
	return NULL;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (int i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

const char *json_str(const struct json *obj, const char *key)
{
	const struct json *v = json_get(obj, key);

	return v && v->type == J_STR ? v->str : NULL;
}
