/*
 * libtou_json.c - a small, bounded JSON reader (RFC 8259), see tou_json.h.
 *
 * Written for the daemon's STATUS/LIST/STATS answers but strict about the
 * whole grammar, since those documents cross a trust boundary (another
 * process): every byte is checked, every index bounded.
 */
#include "tou_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tj_parser {
	const char *s;
	size_t len, pos;
	struct tj_tok *toks;
	int max, n;
};

static void skip_ws(struct tj_parser *p)
{
	/* RFC 8259 section 2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int new_tok(struct tj_parser *p, enum tj_type type, size_t start)
{
	if (p->n >= p->max)
		return -E2BIG;
	struct tj_tok *t = &p->toks[p->n];
	t->type = type;
	t->start = start;
	t->end = start;
	t->size = 0;
	t->next = p->n + 1;
	return p->n++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 8259 section 7: string = quotation-mark *char quotation-mark */
static int parse_string(struct tj_parser *p)
{
	size_t start = ++p->pos; /* after the opening quote */
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			int t = new_tok(p, TJ_STRING, start);
			if (t < 0)
				return t;
			p->toks[t].end = p->pos++;
			return t;
		}
		if (c < 0x20) /* "control characters (U+0000 through U+001F)" must be escaped */
			return -EINVAL;
		if (c == '\\') {
			if (++p->pos >= p->len)
				return -EINVAL;
			char e = p->s[p->pos];
			if (e == 'u') {
				if (p->len - p->pos < 5)
					return -EINVAL;
				for (int k = 1; k <= 4; k++)
					if (hexval(p->s[p->pos + k]) < 0)
						return -EINVAL;
				p->pos += 4;
			} else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
				return -EINVAL;
			}
		}
		p->pos++;
	}
	return -EINVAL; /* unterminated */
}

/* RFC 8259 section 6: number = [ minus ] int [ frac ] [ exp ] */
static int parse_number(struct tj_parser *p)
{
	size_t start = p->pos;
	const char *s = p->s;
	if (p->pos < p->len && s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len)
		return -EINVAL;
	if (s[p->pos] == '0') {
		p->pos++;
	} else if (s[p->pos] >= '1' && s[p->pos] <= '9') {
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
	} else {
		return -EINVAL;
	}
	if (p->pos < p->len && s[p->pos] == '.') {
		p->pos++;
		size_t d = p->pos;
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d)
			return -EINVAL;
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		size_t d = p->pos;
		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
			p->pos++;
		if (p->pos == d)
			return -EINVAL;
	}
	int t = new_tok(p, TJ_NUMBER, start);
	if (t < 0)
		return t;
	p->toks[t].end = p->pos;
	return t;
}

static int parse_literal(struct tj_parser *p, const char *word, enum tj_type type)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return -EINVAL;
	int t = new_tok(p, type, p->pos);
	if (t < 0)
		return t;
	p->pos += n;
	p->toks[t].end = p->pos;
	return t;
}

static int parse_value(struct tj_parser *p, int depth);

/* Objects and arrays (RFC 8259 sections 4 and 5). */
static int parse_container(struct tj_parser *p, int depth, int is_obj)
{
	if (depth >= TJ_MAX_DEPTH)
		return -E2BIG;
	int t = new_tok(p, is_obj ? TJ_OBJECT : TJ_ARRAY, p->pos);
	if (t < 0)
		return t;
	char close = is_obj ? '}' : ']';
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->toks[t].end = p->pos;
		p->toks[t].next = p->n;
		return t;
	}
	for (;;) {
		skip_ws(p);
		if (is_obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return -EINVAL;
			int k = parse_string(p);
			if (k < 0)
				return k;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return -EINVAL;
			p->pos++;
		}
		int v = parse_value(p, depth + 1);
		if (v < 0)
			return v;
		p->toks[t].size++;
		skip_ws(p);
		if (p->pos >= p->len)
			return -EINVAL;
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] != close)
			return -EINVAL;
		p->pos++;
		p->toks[t].end = p->pos;
		p->toks[t].next = p->n;
		return t;
	}
}

static int parse_value(struct tj_parser *p, int depth)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return -EINVAL;
	switch (p->s[p->pos]) {
	case '{': return parse_container(p, depth, 1);
	case '[': return parse_container(p, depth, 0);
	case '"': return parse_string(p);
	case 't': return parse_literal(p, "true", TJ_TRUE);
	case 'f': return parse_literal(p, "false", TJ_FALSE);
	case 'n': return parse_literal(p, "null", TJ_NULL);
	default: return parse_number(p);
	}
}

int tj_parse(const char *text, size_t len, struct tj_tok *toks, int max)
{
	if (!text || !toks || max <= 0)
		return -EINVAL;
	struct tj_parser p = { text, len, 0, toks, max, 0 };
	int r = parse_value(&p, 0);
	if (r < 0)
		return r;
	skip_ws(&p);
	if (p.pos != p.len)
		return -EINVAL; /* trailing garbage */
	return p.n;
}

int tj_first(const struct tj_tok *toks, int i)
{
	if (i < 0 || (toks[i].type != TJ_OBJECT && toks[i].type != TJ_ARRAY) || toks[i].size == 0)
		return -1;
	return i + 1;
}

int tj_next(const struct tj_tok *toks, int parent, int c)
{
	if (parent < 0 || c < 0)
		return -1;
	int n = (toks[parent].type == TJ_OBJECT) ? toks[c + 1].next : toks[c].next;
	return n < toks[parent].next ? n : -1;
}

/* Decode string token `i`; writes at most len bytes into buf when buf is
 * not NULL (no terminator).  Returns the decoded length. */
static size_t decode(const char *text, const struct tj_tok *t, char *buf, size_t len)
{
	size_t o = 0;
#define PUT(ch) do { if (buf && o < len) buf[o] = (char)(ch); o++; } while (0)
	for (size_t i = t->start; i < t->end; i++) {
		char c = text[i];
		if (c != '\\') {
			PUT(c);
			continue;
		}
		c = text[++i];
		switch (c) {
		case 'b': PUT('\b'); break;
		case 'f': PUT('\f'); break;
		case 'n': PUT('\n'); break;
		case 'r': PUT('\r'); break;
		case 't': PUT('\t'); break;
		case 'u': {
			unsigned long cp = 0;
			for (int k = 1; k <= 4; k++)
				cp = cp * 16 + (unsigned long)hexval(text[i + k]);
			i += 4;
			/* RFC 8259 section 7: a character outside the BMP is
			 * "a 12-character sequence, encoding the UTF-16
			 * surrogate pair". */
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < t->end &&
			    text[i + 1] == '\\' && text[i + 2] == 'u') {
				unsigned long lo = 0;
				int ok = 1;
				for (int k = 3; k <= 6; k++) {
					int h = hexval(text[i + k]);
					if (h < 0)
						ok = 0;
					lo = lo * 16 + (unsigned long)(h < 0 ? 0 : h);
				}
				if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				}
			}
			if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
				PUT('?'); /* NUL or lone surrogate: not representable */
			} else if (cp < 0x80) {
				PUT(cp);
			} else if (cp < 0x800) {
				PUT(0xC0 | (cp >> 6));
				PUT(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				PUT(0xE0 | (cp >> 12));
				PUT(0x80 | ((cp >> 6) & 0x3F));
				PUT(0x80 | (cp & 0x3F));
			} else {
				PUT(0xF0 | (cp >> 18));
				PUT(0x80 | ((cp >> 12) & 0x3F));
				PUT(0x80 | ((cp >> 6) & 0x3F));
				PUT(0x80 | (cp & 0x3F));
			}
			break;
		}
		default: PUT(c); break; /* \" \\ \/ */
		}
	}
#undef PUT
	return o;
}

int tj_str(const char *text, const struct tj_tok *toks, int i, char *buf, size_t len)
{
	if (i < 0 || toks[i].type != TJ_STRING)
		return -EINVAL;
	size_t n = decode(text, &toks[i], buf, len ? len - 1 : 0);
	if (buf && len)
		buf[n < len - 1 ? n : len - 1] = '\0';
	return n > (size_t)0x7fffffff ? 0x7fffffff : (int)n;
}

int tj_streq(const char *text, const struct tj_tok *toks, int i, const char *s)
{
	if (i < 0 || toks[i].type != TJ_STRING)
		return 0;
	size_t want = strlen(s);
	/* Fast path: no escapes. */
	if (!memchr(text + toks[i].start, '\\', toks[i].end - toks[i].start))
		return toks[i].end - toks[i].start == want &&
		       memcmp(text + toks[i].start, s, want) == 0;
	char buf[256];
	if (want >= sizeof(buf))
		return 0;
	size_t n = decode(text, &toks[i], buf, sizeof(buf));
	return n == want && memcmp(buf, s, want) == 0;
}

int tj_get(const char *text, const struct tj_tok *toks, int obj, const char *key)
{
	if (obj < 0 || toks[obj].type != TJ_OBJECT)
		return -1;
	for (int k = tj_first(toks, obj); k >= 0; k = tj_next(toks, obj, k))
		if (tj_streq(text, toks, k, key))
			return k + 1;
	return -1;
}

int tj_u64(const char *text, const struct tj_tok *toks, int i, uint64_t *out)
{
	if (i < 0 || toks[i].type != TJ_NUMBER)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t k = toks[i].start; k < toks[i].end; k++) {
		char c = text[k];
		if (c < '0' || c > '9')
			return -EINVAL; /* '-', '.', 'e': not a non-negative integer */
		unsigned d = (unsigned)(c - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int tj_double(const char *text, const struct tj_tok *toks, int i, double *out)
{
	if (i < 0 || toks[i].type != TJ_NUMBER)
		return -EINVAL;
	char buf[64];
	size_t n = toks[i].end - toks[i].start;
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text + toks[i].start, n);
	buf[n] = '\0';
	*out = strtod(buf, NULL);
	return 0;
}
