/*
 * tou_json.h - a small, bounded JSON (RFC 8259) reader for libtou and the
 * tou CLI (internal: not installed).
 *
 * tj_parse() checks a whole document and cuts it into tokens stored in a
 * caller-provided array: no allocation, no recursion deeper than
 * TJ_MAX_DEPTH, nothing read outside [text, text+len).  A token is a
 * value; an object's tokens are key, value, key, value, ...; the token
 * after a value's subtree is tok.next, so siblings are walked with
 *
 *     for (int i = tj_first(toks, obj); i >= 0; i = tj_next(toks, obj, i))
 *
 * Strings stay undecoded in the text; tj_str() decodes escapes into a
 * buffer.
 */
#ifndef TOU_JSON_H
#define TOU_JSON_H

#include <stddef.h>
#include <stdint.h>

#define TJ_MAX_DEPTH 32

enum tj_type { TJ_OBJECT = 1, TJ_ARRAY, TJ_STRING, TJ_NUMBER, TJ_TRUE, TJ_FALSE, TJ_NULL };

struct tj_tok {
	enum tj_type type;
	size_t start, end; /* text span; for strings without the quotes */
	int size;          /* members (object: pairs) or elements */
	int next;          /* index of the token after this subtree */
};

/*
 * Parse text[0..len) (leading/trailing white space allowed, nothing
 * else).  Returns the number of tokens (>= 1; toks[0] is the root), or
 * -EINVAL for malformed JSON, -E2BIG if more than `max` tokens are
 * needed or nesting exceeds TJ_MAX_DEPTH.
 */
int tj_parse(const char *text, size_t len, struct tj_tok *toks, int max);

/* First child (object: first key) of container `i`, or -1. */
int tj_first(const struct tj_tok *toks, int i);
/* Sibling after child `c` of container `parent` (object: after a key,
 * the next key; the value of key k is k + 1), or -1. */
int tj_next(const struct tj_tok *toks, int parent, int c);

/* Value of `key` in object `obj`, or -1 (also if `obj` is no object). */
int tj_get(const char *text, const struct tj_tok *toks, int obj, const char *key);

/* Does string token `i` equal `s` (after decoding escapes)? */
int tj_streq(const char *text, const struct tj_tok *toks, int i, const char *s);

/*
 * Decode string token `i` into buf (NUL-terminated, truncated to len-1
 * bytes).  Returns the decoded length (before truncation) or -EINVAL if
 * `i` is not a string.  \u escapes become UTF-8; \u0000 becomes "?".
 */
int tj_str(const char *text, const struct tj_tok *toks, int i, char *buf, size_t len);

/* Number token `i` as an unsigned integer: -EINVAL if not a number,
 * negative, fractional or above UINT64_MAX. */
int tj_u64(const char *text, const struct tj_tok *toks, int i, uint64_t *out);

/* Number token `i` as a double (-EINVAL if not a number). */
int tj_double(const char *text, const struct tj_tok *toks, int i, double *out);

#endif
