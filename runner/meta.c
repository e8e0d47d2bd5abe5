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
	m->json = j;
	m->name = dup_str(j, "name");
	m->arch = dup_str(j, "arch");
	m->summary = dup_str(j, "summary");
	m->min_kernel = dup_str(j, "min_kernel");
	m->shown_on = dup_str(j, "shown_on");
	get_strv(j, "groups", &m->groups, &m->ngroups);
	get_strv(j, "subtests", &m->subtests, &m->nsubtests);
	get_strv(j, "options", &m->options, &m->noptions);
	get_strv(j, "paths", &m->paths, &m->npaths);
	timeout = json_get(j, "timeout");
	m->timeout = timeout && timeout->type == J_NUM ? timeout->num : 0;
	m->patch = get_patch(j);
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
	strv_free(m->paths, m->npaths);
	patch_free(m->patch);
	if (m->json)
		json_free(m->json);
	memset(m, 0, sizeof(*m));
}

void meta_put_patch(struct buf *b, const struct meta *m)
{
	const struct json *p = m->json ? json_get(m->json, "patch") : NULL;

	if (p && p->type == J_OBJ)
		json_put_value(b, p);
	else
		buf_adds(b, "null");
}

/*
 * The metadata object: what --meta gave, every field of it, plus meta_ok.
 * When --meta failed, the fields the runner knows, from name (the tests.list
 * name), with meta_ok false, so a tool still gets one shape.
 */
void meta_put_json(struct buf *b, const struct meta *m, const char *name)
{
	if (m->valid && m->json) {
		struct buf obj = { 0 };

		json_put_value(&obj, m->json);
		/* Drop the closing brace to add one member. */
		buf_add(b, obj.data, obj.len - 1);
		buf_adds(b, m->json->n ? ", \"meta_ok\": true}" : "\"meta_ok\": true}");
		buf_free(&obj);
		return;
	}
	buf_adds(b, "{\"name\": ");
	json_put_str(b, name);
	buf_adds(b, ", \"arch\": null, \"summary\": null, \"groups\": [], \"timeout\": null, "
		 "\"patch\": null, \"min_kernel\": null, \"shown_on\": null, \"paths\": [], "
		 "\"subtests\": [], \"options\": [], \"meta_ok\": false}");
}
