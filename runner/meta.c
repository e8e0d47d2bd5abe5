// SPDX-License-Identifier: GPL-2.0-only
/* A test's metadata: what its --meta line says, and writing it back out. */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static char *dup_str(const struct json *obj, const char *key)
{
	const char *s = json_str(obj, key);

	return s ? xstrdup(s) : NULL;
}

/* An array of strings; anything else in it is ignored. */
static void get_strv(const struct json *obj, const char *key, char ***v, int *n)
{
	const struct json *a = json_get(obj, key);

	if (!a || a->type != J_ARR)
		return;
	for (int i = 0; i < a->n; i++)
		if (a->items[i].type == J_STR)
			strv_push(v, n, a->items[i].str);
}

static struct patch *get_patch(const struct json *obj)
{
	const struct json *p = json_get(obj, "patch");
	struct patch *patch;

	if (!p || p->type != J_OBJ)
		return NULL;
	patch = xcalloc(1, sizeof(*patch));
	patch->subject = dup_str(p, "subject");
	patch->fixes = dup_str(p, "fixes");
	patch->link = dup_str(p, "link");
	return patch;
}

bool meta_from_json(struct meta *m, const char *text, const char **err)
{
	struct json *j = json_parse(text, err);
	const struct json *timeout;

	if (!j)
		return false;
	if (j->type != J_OBJ) {
		*err = "not a JSON object";
		json_free(j);
		return false;
	}
	m->valid = true;
	m->name = dup_str(j, "name");
	m->arch = dup_str(j, "arch");
	m->summary = dup_str(j, "summary");
	m->min_kernel = dup_str(j, "min_kernel");
	m->shown_on = dup_str(j, "shown_on");
	get_strv(j, "groups", &m->groups, &m->ngroups);
	get_strv(j, "subtests", &m->subtests, &m->nsubtests);
	get_strv(j, "options", &m->options, &m->noptions);
	timeout = json_get(j, "timeout");
	m->timeout = timeout && timeout->type == J_NUM ? timeout->num : 0;
	m->patch = get_patch(j);
	json_free(j);
	return true;
}

static void patch_free(struct patch *p)
{
	if (!p)
		return;
	free(p->subject);
	free(p->fixes);
	free(p->link);
	free(p);
}

void meta_free(struct meta *m)
{
	free(m->name);
	free(m->arch);
	free(m->summary);
	free(m->min_kernel);
	free(m->shown_on);
	strv_free(m->groups, m->ngroups);
	strv_free(m->subtests, m->nsubtests);
	strv_free(m->options, m->noptions);
	patch_free(m->patch);
	memset(m, 0, sizeof(*m));
}

void patch_put_json(struct buf *b, const struct patch *p)
{
	if (!p) {
		buf_adds(b, "null");
		return;
	}
	buf_adds(b, "{\"subject\": ");
	json_put_str(b, p->subject);
	buf_adds(b, ", \"fixes\": ");
	json_put_str(b, p->fixes);
	buf_adds(b, ", \"link\": ");
	json_put_str(b, p->link);
	buf_adds(b, "}");
}

/* The metadata object; name is the tests.list name, used when --meta failed. */
void meta_put_json(struct buf *b, const struct meta *m, const char *name)
{
	buf_adds(b, "{\"name\": ");
	json_put_str(b, m->name ? m->name : name);
	buf_adds(b, ", \"arch\": ");
	json_put_str(b, m->arch);
	buf_adds(b, ", \"summary\": ");
	json_put_str(b, m->summary);
	buf_adds(b, ", \"groups\": ");
	json_put_strv(b, m->groups, m->ngroups);
	if (m->timeout > 0)
		buf_printf(b, ", \"timeout\": %g", m->timeout);
	else
		buf_adds(b, ", \"timeout\": null");
	buf_adds(b, ", \"patch\": ");
	patch_put_json(b, m->patch);
	buf_adds(b, ", \"min_kernel\": ");
	json_put_str(b, m->min_kernel);
	buf_adds(b, ", \"shown_on\": ");
	json_put_str(b, m->shown_on);
	buf_adds(b, ", \"subtests\": ");
	json_put_strv(b, m->subtests, m->nsubtests);
	buf_adds(b, ", \"options\": ");
	json_put_strv(b, m->options, m->noptions);
	buf_printf(b, ", \"meta_ok\": %s}", m->valid ? "true" : "false");
}
