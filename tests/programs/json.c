/* A small JSON parser and printer.
 *
 *   json [N]      also round-trip a generated document of N records
 *                 (default 2000)
 *
 * Recursive descent over a tree of malloc'd nodes: pointer-heavy code,
 * recursion, strtod and %.17g, string escapes including \u surrogate
 * pairs. It parses a handful of fixed documents and prints them back in
 * canonical form, reports the error and its offset for malformed ones,
 * then builds a big document, parses it, prints it, parses the printout
 * and checks both printouts are identical. */
#include "common.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ } Kind;

typedef struct Node {
	Kind kind;
	double num;
	char *str;	   /* J_STR: the value; object members: the key */
	size_t len;	   /* J_STR: bytes in str (may contain NUL) */
	struct Node *kids; /* J_ARR / J_OBJ: first child */
	struct Node *next; /* next sibling */
	char *key;	   /* as a member of an object */
	size_t key_len;
} Node;

typedef struct Parser {
	const char *s, *p;
	const char *err;
	int depth;
} Parser;

/* A growable output buffer. */
typedef struct Buf {
	char *data;
	size_t len, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		CHECK(b->data != NULL);
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

static void puts_buf(Buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void ws(Parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	       *ps->p == '\r')
		ps->p++;
}

static bool fail(Parser *ps, const char *msg)
{
	if (!ps->err)
		ps->err = msg;
	return false;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void utf8(Buf *b, unsigned cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 63));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 63));
		o[2] = (char)(0x80 | (cp & 63));
		n = 3;
	} else {
		o[0] = (char)(0xF0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 63));
		o[2] = (char)(0x80 | (cp >> 6 & 63));
		o[3] = (char)(0x80 | (cp & 63));
		n = 4;
	}
	put(b, o, n);
}

static bool parse_string(Parser *ps, char **out, size_t *len)
{
	Buf b = {0};
	put(&b, "", 0);
	ps->p++; /* the opening quote */
	for (;;) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"')
			break;
		if (c == 0)
			return free(b.data), fail(ps, "unterminated string");
		if (c < 0x20)
			return free(b.data),
			       fail(ps, "control character in string");
		if (c != '\\') {
			put(&b, ps->p++, 1);
			continue;
		}
		char e = ps->p[1];
		ps->p += 2;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char out_of[] = "\"\\/\b\f\n\r\t";
			put(&b, &out_of[simple - "\"\\/bfnrt"], 1);
		} else if (e == 'u') {
			int cp = hex4(ps->p);
			if (cp < 0)
				return free(b.data), fail(ps, "bad \\u escape");
			ps->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00) { /* high surrogate */
				int lo = ps->p[0] == '\\' && ps->p[1] == 'u'
						 ? hex4(ps->p + 2)
						 : -1;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return free(b.data),
					       fail(ps, "lone surrogate");
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				     (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				return free(b.data), fail(ps, "lone surrogate");
			}
			utf8(&b, (unsigned)cp);
		} else {
			return free(b.data), fail(ps, "bad escape");
		}
	}
	ps->p++;
	*out = b.data;
	*len = b.len;
	return true;
}

static bool parse_value(Parser *ps, Node *n);

static bool parse_number(Parser *ps, Node *n)
{
	/* JSON's grammar is stricter than strtod's: check it first. */
	const char *q = ps->p;
	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (*q >= '0' && *q <= '9')
			q++;
	else
		return fail(ps, "bad number");
	if (*q == '.') {
		q++;
		if (!(*q >= '0' && *q <= '9'))
			return fail(ps, "bad fraction");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!(*q >= '0' && *q <= '9'))
			return fail(ps, "bad exponent");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	n->kind = J_NUM;
	n->num = strtod(ps->p, NULL);
	ps->p = q;
	return true;
}

static bool parse_list(Parser *ps, Node *n, bool object)
{
	char close = object ? '}' : ']';
	n->kind = object ? J_OBJ : J_ARR;
	ps->p++;
	ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return true;
	}
	Node **tail = &n->kids;
	for (;;) {
		Node *kid = calloc(1, sizeof *kid);
		CHECK(kid != NULL);
		*tail = kid;
		tail = &kid->next;
		ws(ps);
		if (object) {
			if (*ps->p != '"')
				return fail(ps, "expected a key");
			if (!parse_string(ps, &kid->key, &kid->key_len))
				return false;
			ws(ps);
			if (*ps->p++ != ':')
				return --ps->p, fail(ps, "expected ':'");
		}
		if (!parse_value(ps, kid))
			return false;
		ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return true;
		}
		return fail(ps, object ? "expected ',' or '}'"
				       : "expected ',' or ']'");
	}
}

static bool parse_value(Parser *ps, Node *n)
{
	if (++ps->depth > 200)
		return fail(ps, "nested too deeply");
	ws(ps);
	bool ok;
	switch (*ps->p) {
	case '{':
		ok = parse_list(ps, n, true);
		break;
	case '[':
		ok = parse_list(ps, n, false);
		break;
	case '"':
		n->kind = J_STR;
		ok = parse_string(ps, &n->str, &n->len);
		break;
	case 't':
		ok = strncmp(ps->p, "true", 4) == 0
			     ? (n->kind = J_TRUE, ps->p += 4, true)
			     : fail(ps, "bad literal");
		break;
	case 'f':
		ok = strncmp(ps->p, "false", 5) == 0
			     ? (n->kind = J_FALSE, ps->p += 5, true)
			     : fail(ps, "bad literal");
		break;
	case 'n':
		ok = strncmp(ps->p, "null", 4) == 0
			     ? (n->kind = J_NULL, ps->p += 4, true)
			     : fail(ps, "bad literal");
		break;
	default:
		ok = parse_number(ps, n);
	}
	ps->depth--;
	return ok;
}

static void free_node(Node *n)
{
	Node *k = n->kids;
	while (k) {
		Node *next = k->next;
		free_node(k);
		free(k);
		k = next;
	}
	free(n->str);
	free(n->key);
}

static void print_string(Buf *b, const char *s, size_t len)
{
	puts_buf(b, "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
		} else if (c == '\n')
			puts_buf(b, "\\n");
		else if (c == '\t')
			puts_buf(b, "\\t");
		else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			puts_buf(b, esc);
		} else
			put(b, (const char *)&c, 1);
	}
	puts_buf(b, "\"");
}

static void print_node(Buf *b, const Node *n)
{
	char num[32];
	switch (n->kind) {
	case J_NULL:
		puts_buf(b, "null");
		break;
	case J_FALSE:
		puts_buf(b, "false");
		break;
	case J_TRUE:
		puts_buf(b, "true");
		break;
	case J_NUM:
		/* Integers as integers, everything else with all 17 digits. */
		if (n->num == floor(n->num) && fabs(n->num) < 1e15)
			snprintf(num, sizeof num, "%.0f", n->num);
		else
			snprintf(num, sizeof num, "%.17g", n->num);
		puts_buf(b, num);
		break;
	case J_STR:
		print_string(b, n->str, n->len);
		break;
	case J_ARR:
	case J_OBJ:
		puts_buf(b, n->kind == J_ARR ? "[" : "{");
		for (const Node *k = n->kids; k; k = k->next) {
			if (k != n->kids)
				puts_buf(b, ",");
			if (n->kind == J_OBJ) {
				print_string(b, k->key, k->key_len);
				puts_buf(b, ":");
			}
			print_node(b, k);
		}
		puts_buf(b, n->kind == J_ARR ? "]" : "}");
		break;
	}
}

/* Parses text; on success returns its canonical printout (caller frees). */
static char *roundtrip(const char *text, const char **err, long *at)
{
	Parser ps = {text, text, NULL, 0};
	Node root = {0};
	bool ok = parse_value(&ps, &root);
	if (ok) {
		ws(&ps);
		if (*ps.p)
			ok = fail(&ps, "trailing characters");
	}
	char *out = NULL;
	if (ok) {
		Buf b = {0};
		print_node(&b, &root);
		out = b.data;
	}
	*err = ps.err;
	*at = ps.p - text;
	free_node(&root);
	return out;
}

static const char *docs[] = {
	"{\"name\": \"myriad\", \"version\": 1, \"tags\": [\"wasm\", "
	"\"runtime\"], \"ok\": true}",
	"[1, -0, 0.5, -2.5e-3, 1e308, 12345678901234567890, 3.141592653589793, "
	"1E2, 0.1]",
	"  {\"nested\": {\"a\": [[], {}, [[[null]]]], \"b\": {\"c\": false}}} "
	" ",
	"\"escapes: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00e9 \\u20ac "
	"\\ud83d\\ude00\"",
	"[\"\\u0000 embedded NUL\", \"tab\\there\"]",
	"{}",
	"[]",
	"0",
	"\"\"",
	"null",
};

static const char *bad_docs[] = {
	"{\"a\": 1,}",
	"[1 2]",
	"{\"a\" 1}",
	"[01]",
	"[1.]",
	"[.5]",
	"[1e]",
	"\"unterminated",
	"[\"\\x\"]",
	"[\"\\ud800\"]",
	"tru",
	"[1] x",
	"",
	"{1: 2}",
	"[\"a\nb\"]",
};

int main(int argc, char **argv)
{
	int records = argc > 1 ? atoi(argv[1]) : 2000;
	const char *err;
	long at;
	puts("== documents");
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		char *out = roundtrip(docs[i], &err, &at);
		printf("%s\n", out ? out : err);
		free(out);
	}
	puts("== malformed documents");
	for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
		char *out = roundtrip(bad_docs[i], &err, &at);
		char shown[17];
		snprintf(shown, sizeof shown, "%s", bad_docs[i]);
		for (char *c = shown; *c; c++) /* keep it on one line */
			if ((unsigned char)*c < 0x20)
				*c = '?';
		printf("%-16s -> %s at %ld\n", shown, out ? "ACCEPTED" : err,
		       at);
		free(out);
	}
	char deep[1000];
	memset(deep, '[', 500);
	deep[500] = 0;
	char *out = roundtrip(deep, &err, &at);
	printf("500 nested arrays -> %s at %ld\n", out ? "ACCEPTED" : err, at);
	free(out);

	puts("== generated document");
	Buf doc = {0};
	uint64_t rng = 99;
	puts_buf(&doc, "[");
	for (int i = 0; i < records; i++) {
		char rec[256];
		double v = (double)(int64_t)(rng_next(&rng) >> 11) /
				   9007199254740992.0 * 2000 -
			   1000;
		snprintf(rec, sizeof rec,
			 "%s{\"id\": %d, \"value\": %.17g, \"name\": "
			 "\"rec\\u00e9%d\", "
			 "\"flags\": [%s, %s, null], \"nested\": {\"depth\": "
			 "%d}}",
			 i ? ", " : "", i, v, i * 7, (i & 1) ? "true" : "false",
			 (i & 2) ? "true" : "false", i % 10);
		puts_buf(&doc, rec);
	}
	puts_buf(&doc, "]");
	char *first = roundtrip(doc.data, &err, &at);
	CHECK(first != NULL);
	char *second = roundtrip(first, &err, &at);
	CHECK(second != NULL);
	printf("%d records: %zu bytes in, %zu bytes canonical, reparse %s, "
	       "hash %016llx\n",
	       records, doc.len, strlen(first),
	       strcmp(first, second) == 0 ? "identical" : "DIFFERS",
	       (unsigned long long)fnv1a(FNV_INIT, first, strlen(first)));
	printf("first record: %.140s\n", first);
	free(first);
	free(second);
	free(doc.data);
	return 0;
}
