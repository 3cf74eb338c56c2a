/*
 * `myriad inspect MODULE.wasm [--json]`: what a module imports and
 * exports (with types), its memories, tables and globals, how many
 * functions and how much code it has, and its custom sections.
 *
 * Imports and exports come through the public API. Defined memories,
 * tables and globals and the counts are not part of it (an embedder
 * never needs them), so this reads the engine's decoded module
 * (src/module.h) directly, as the tool is built with the engine; the
 * section sizes come from walking the bytes.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "module.h"

static const char *kind_name(myr_externkind k)
{
	static const char *names[] = {"func", "table", "memory", "global"};
	return (unsigned)k < 4 ? names[k] : "?";
}

/* "(i32, i64) -> (f32)" */
static void functype_str(const myr_functype *ft, char *buf, size_t n)
{
	size_t len = 0;
	len += (size_t)snprintf(buf + len, n - len, "(");
	for (uint32_t i = 0; i < ft->nparams && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
					i ? ", " : "",
					valtype_name((uint8_t)ft->params[i]));
	if (len < n)
		len += (size_t)snprintf(buf + len, n - len, ") -> (");
	for (uint32_t i = 0; i < ft->nresults && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
					i ? ", " : "",
					valtype_name((uint8_t)ft->results[i]));
	if (len < n)
		snprintf(buf + len, n - len, ")");
}

/* "min 1, max 2" or "min 1, no max" */
static void limits_str(uint64_t min, bool has_max, uint64_t max, char *buf,
		       size_t n)
{
	if (has_max)
		snprintf(buf, n, "min %" PRIu64 ", max %" PRIu64, min, max);
	else
		snprintf(buf, n, "min %" PRIu64 ", no max", min);
}

/* The type of an import or export in words. */
static void desc_str(const myr_externdesc *d, char *buf, size_t n)
{
	char lim[64];
	switch (d->kind) {
	case MYR_EXTERN_FUNC:
		functype_str(&d->func, buf, n);
		break;
	case MYR_EXTERN_TABLE:
		limits_str(d->limits.min, d->limits.has_max, d->limits.max, lim,
			   sizeof lim);
		snprintf(buf, n, "%s, %s", valtype_name((uint8_t)d->elem), lim);
		break;
	case MYR_EXTERN_MEMORY:
		limits_str(d->limits.min, d->limits.has_max, d->limits.max, lim,
			   sizeof lim);
		snprintf(buf, n, "%s (pages of %" PRIu32 " bytes)", lim,
			 d->page_size);
		break;
	case MYR_EXTERN_GLOBAL:
		snprintf(buf, n, "%s%s", d->global_mutable ? "mut " : "",
			 valtype_name((uint8_t)d->global_type));
		break;
	}
}

/* Names carry a length (they are not NUL-terminated). */
static void add_name(cJSON *j, const char *key, const char *s, size_t len)
{
	char *c = malloc(len + 1);
	if (!c)
		return;
	memcpy(c, s, len);
	c[len] = 0;
	cJSON_AddStringToObject(j, key, c);
	free(c);
}

static cJSON *desc_json(const myr_externdesc *d, bool import)
{
	cJSON *j = cJSON_CreateObject();
	if (import)
		add_name(j, "module", d->module, d->module_len);
	add_name(j, "name", d->name, d->name_len);
	cJSON_AddStringToObject(j, "kind", kind_name(d->kind));
	char buf[512];
	desc_str(d, buf, sizeof buf);
	cJSON_AddStringToObject(j, "type", buf);
	if (d->kind == MYR_EXTERN_FUNC) {
		cJSON *p = cJSON_AddArrayToObject(j, "params");
		for (uint32_t i = 0; i < d->func.nparams; i++)
			cJSON_AddItemToArray(
				p, cJSON_CreateString(valtype_name(
					   (uint8_t)d->func.params[i])));
		cJSON *r = cJSON_AddArrayToObject(j, "results");
		for (uint32_t i = 0; i < d->func.nresults; i++)
			cJSON_AddItemToArray(
				r, cJSON_CreateString(valtype_name(
					   (uint8_t)d->func.results[i])));
	}
	if (d->kind == MYR_EXTERN_TABLE || d->kind == MYR_EXTERN_MEMORY) {
		cJSON_AddNumberToObject(j, "min", (double)d->limits.min);
		if (d->limits.has_max)
			cJSON_AddNumberToObject(j, "max",
						(double)d->limits.max);
	}
	if (d->kind == MYR_EXTERN_MEMORY)
		cJSON_AddNumberToObject(j, "page_size", d->page_size);
	return j;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */

typedef struct Section {
	uint8_t id;
	uint32_t size;
	const char *name; /* custom sections */
	uint32_t name_len;
} Section;

static bool leb_u32(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
	uint32_t v = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* The module's sections in order; the module has validated, so the
 * walk cannot fail, but it stops at anything odd all the same. */
static size_t sections(const Module *m, Section *out, size_t max)
{
	const uint8_t *p = m->bytes + 8, *end = m->bytes + m->len;
	size_t n = 0;
	while (p < end && n < max) {
		Section s = {.id = *p++};
		if (!leb_u32(&p, end, &s.size) || s.size > (size_t)(end - p))
			break;
		const uint8_t *body = p;
		if (s.id == 0 && leb_u32(&body, p + s.size, &s.name_len) &&
		    s.name_len <= (size_t)(p + s.size - body))
			s.name = (const char *)body;
		out[n++] = s;
		p += s.size;
	}
	return n;
}

static const char *section_name(uint8_t id)
{
	static const char *names[] = {
		"custom", "type",   "import",	 "function", "table",
		"memory", "global", "export",	 "start",    "element",
		"code",	  "data",   "datacount", "tag"};
	return id < 14 ? names[id] : "?";
}

/* ------------------------------------------------------------------ */

static uint32_t code_size(const Section *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].id == 10)
			return s[i].size;
	return 0;
}

static void print_text(const Options *o, const Module *m, const Section *sec,
		       size_t nsec)
{
	char buf[512], lim[64];
	printf("%s: %zu bytes\n", o->module, m->len);
	printf("imports: %" PRIu32 "\n", m->nimports);
	for (uint32_t i = 0; i < m->nimports; i++) {
		myr_externdesc d;
		myr_module_import(m, i, &d);
		desc_str(&d, buf, sizeof buf);
		printf("  %-6s %.*s.%.*s %s\n", kind_name(d.kind),
		       (int)d.module_len, d.module, (int)d.name_len, d.name,
		       buf);
	}
	printf("exports: %" PRIu32 "\n", m->nexports);
	for (uint32_t i = 0; i < m->nexports; i++) {
		myr_externdesc d;
		myr_module_export(m, i, &d);
		desc_str(&d, buf, sizeof buf);
		printf("  %-6s %.*s %s\n", kind_name(d.kind), (int)d.name_len,
		       d.name, buf);
	}
	printf("memories: %" PRIu32 "\n", m->nmems);
	for (uint32_t i = 0; i < m->nmems; i++) {
		const MemType *t = &m->mems[i];
		limits_str(t->lim.min, t->lim.has_max, t->lim.max, lim,
			   sizeof lim);
		printf("  %" PRIu32 ": %s (pages of %u bytes)%s\n", i, lim,
		       1u << t->page_log2,
		       i < m->nmem_imports ? " (imported)" : "");
	}
	printf("tables: %" PRIu32 "\n", m->ntables);
	for (uint32_t i = 0; i < m->ntables; i++) {
		const TableType *t = &m->tables[i];
		limits_str(t->lim.min, t->lim.has_max, t->lim.max, lim,
			   sizeof lim);
		printf("  %" PRIu32 ": %s, %s%s\n", i, valtype_name(t->elem),
		       lim, i < m->ntable_imports ? " (imported)" : "");
	}
	printf("globals: %" PRIu32 "\n", m->nglobals);
	for (uint32_t i = 0; i < m->nglobals; i++) {
		const GlobalType *t = &m->global_types[i];
		printf("  %" PRIu32 ": %s%s%s\n", i, t->mut ? "mut " : "",
		       valtype_name(t->type),
		       i < m->nglobal_imports ? " (imported)" : "");
	}
	printf("functions: %" PRIu32 " (%" PRIu32 " imported, %" PRIu32
	       " defined)\n",
	       m->nfuncs, m->nfunc_imports, m->nfuncs - m->nfunc_imports);
	if (m->has_start)
		printf("start: function %" PRIu32 "\n", m->start);
	printf("code: %" PRIu32 " bytes\n", code_size(sec, nsec));
	printf("data segments: %" PRIu32 "\n", m->ndatas);
	size_t ncustom = 0;
	for (size_t i = 0; i < nsec; i++)
		ncustom += sec[i].id == 0;
	printf("custom sections: %zu\n", ncustom);
	for (size_t i = 0; i < nsec; i++)
		if (sec[i].id == 0)
			printf("  %.*s: %" PRIu32 " bytes\n",
			       (int)sec[i].name_len,
			       sec[i].name ? sec[i].name : "?", sec[i].size);
}

static void print_json(const Options *o, const Module *m, const Section *sec,
		       size_t nsec)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "module", o->module);
	cJSON_AddNumberToObject(j, "size", (double)m->len);
	cJSON *a = cJSON_AddArrayToObject(j, "imports");
	for (uint32_t i = 0; i < m->nimports; i++) {
		myr_externdesc d;
		myr_module_import(m, i, &d);
		cJSON_AddItemToArray(a, desc_json(&d, true));
	}
	a = cJSON_AddArrayToObject(j, "exports");
	for (uint32_t i = 0; i < m->nexports; i++) {
		myr_externdesc d;
		myr_module_export(m, i, &d);
		cJSON_AddItemToArray(a, desc_json(&d, false));
	}
	a = cJSON_AddArrayToObject(j, "memories");
	for (uint32_t i = 0; i < m->nmems; i++) {
		const MemType *t = &m->mems[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "min", (double)t->lim.min);
		if (t->lim.has_max)
			cJSON_AddNumberToObject(x, "max", (double)t->lim.max);
		cJSON_AddNumberToObject(x, "page_size", 1u << t->page_log2);
		cJSON_AddBoolToObject(x, "imported", i < m->nmem_imports);
		cJSON_AddItemToArray(a, x);
	}
	a = cJSON_AddArrayToObject(j, "tables");
	for (uint32_t i = 0; i < m->ntables; i++) {
		const TableType *t = &m->tables[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "element", valtype_name(t->elem));
		cJSON_AddNumberToObject(x, "min", (double)t->lim.min);
		if (t->lim.has_max)
			cJSON_AddNumberToObject(x, "max", (double)t->lim.max);
		cJSON_AddBoolToObject(x, "imported", i < m->ntable_imports);
		cJSON_AddItemToArray(a, x);
	}
	a = cJSON_AddArrayToObject(j, "globals");
	for (uint32_t i = 0; i < m->nglobals; i++) {
		const GlobalType *t = &m->global_types[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "type", valtype_name(t->type));
		cJSON_AddBoolToObject(x, "mutable", t->mut);
		cJSON_AddBoolToObject(x, "imported", i < m->nglobal_imports);
		cJSON_AddItemToArray(a, x);
	}
	cJSON *f = cJSON_AddObjectToObject(j, "functions");
	cJSON_AddNumberToObject(f, "total", m->nfuncs);
	cJSON_AddNumberToObject(f, "imported", m->nfunc_imports);
	cJSON_AddNumberToObject(f, "defined", m->nfuncs - m->nfunc_imports);
	if (m->has_start)
		cJSON_AddNumberToObject(j, "start", m->start);
	cJSON_AddNumberToObject(j, "code_size", code_size(sec, nsec));
	cJSON_AddNumberToObject(j, "data_segments", m->ndatas);
	a = cJSON_AddArrayToObject(j, "sections");
	cJSON *c = cJSON_AddArrayToObject(j, "custom_sections");
	for (size_t i = 0; i < nsec; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "id", section_name(sec[i].id));
		cJSON_AddNumberToObject(x, "size", sec[i].size);
		cJSON_AddItemToArray(a, x);
		if (sec[i].id != 0)
			continue;
		x = cJSON_CreateObject();
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)sec[i].name_len,
			 sec[i].name ? sec[i].name : "");
		cJSON_AddStringToObject(x, "name", name);
		cJSON_AddNumberToObject(x, "size", sec[i].size);
		cJSON_AddItemToArray(c, x);
	}
	char *text = cJSON_Print(j);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(j);
}

int inspect_module(const Options *o, const Loaded *l)
{
	const Module *m = l->module;
	/* A module has at most one section of each standard kind, and
	 * custom sections are rare; count them before walking. */
	size_t cap = 64;
	Section *sec = NULL;
	size_t n;
	for (;;) {
		sec = calloc(cap, sizeof *sec);
		if (!sec) {
			fprintf(stderr, "myriad: out of memory\n");
			return EXIT_TRAP;
		}
		n = sections(m, sec, cap);
		if (n < cap)
			break;
		free(sec);
		cap *= 4;
	}
	if (o->json)
		print_json(o, m, sec, n);
	else
		print_text(o, m, sec, n);
	free(sec);
	return 0;
}
