/* test_json.c - the bounded JSON reader of libtou (client/tou_json.h). */
#include "tt.h"
#include "tou_json.h"

#include <errno.h>

static struct tj_tok toks[256];

static int parse(const char *s)
{
	return tj_parse(s, strlen(s), toks, 256);
}

TT_TEST(json_parses_status_object)
{
	const char *s = " {\"id\":7,\"state\":\"ESTABLISHED\",\"cwnd\":14520,"
			"\"nested\":{\"a\":[1,2,{\"b\":null}],\"t\":true,\"f\":false},"
			"\"last\":-1.5e3}\n";
	int n = parse(s);
	TT_ASSERT(n > 0);
	TT_EQ(toks[0].type, TJ_OBJECT);
	TT_EQ(toks[0].size, 5);
	uint64_t v = 0;
	TT_EQ(tj_u64(s, toks, tj_get(s, toks, 0, "id"), &v), 0);
	TT_EQ(v, 7);
	TT_EQ(tj_u64(s, toks, tj_get(s, toks, 0, "cwnd"), &v), 0);
	TT_EQ(v, 14520);
	TT_ASSERT(tj_streq(s, toks, tj_get(s, toks, 0, "state"), "ESTABLISHED"));
	int nested = tj_get(s, toks, 0, "nested");
	TT_EQ(toks[nested].type, TJ_OBJECT);
	int a = tj_get(s, toks, nested, "a");
	TT_EQ(toks[a].type, TJ_ARRAY);
	TT_EQ(toks[a].size, 3);
	/* Walk the array: 1, 2, {...}. */
	int e = tj_first(toks, a), count = 0;
	for (; e >= 0; e = tj_next(toks, a, e))
		count++;
	TT_EQ(count, 3);
	TT_EQ(toks[tj_get(s, toks, nested, "t")].type, TJ_TRUE);
	TT_EQ(toks[tj_get(s, toks, nested, "f")].type, TJ_FALSE);
	/* A key of the nested object is not a key of the root. */
	TT_EQ(tj_get(s, toks, 0, "t"), -1);
	double d = 0;
	TT_EQ(tj_double(s, toks, tj_get(s, toks, 0, "last"), &d), 0);
	TT_ASSERT(d == -1500.0);
	TT_EQ(tj_get(s, toks, 0, "missing"), -1);
}

TT_TEST(json_walks_object_members_in_order)
{
	const char *s = "{\"a\":{\"x\":[1,[2,3]]},\"b\":2,\"c\":\"s\"}";
	TT_ASSERT(parse(s) > 0);
	const char *want[] = { "a", "b", "c" };
	int i = 0;
	for (int k = tj_first(toks, 0); k >= 0; k = tj_next(toks, 0, k)) {
		TT_ASSERT(i < 3);
		TT_ASSERT(tj_streq(s, toks, k, want[i]));
		i++;
	}
	TT_EQ(i, 3);
}

TT_TEST(json_empty_containers)
{
	TT_ASSERT(parse("[]") == 1);
	TT_EQ(toks[0].size, 0);
	TT_EQ(tj_first(toks, 0), -1);
	TT_ASSERT(parse("{ }") == 1);
	TT_EQ(tj_get("{ }", toks, 0, "x"), -1);
	TT_ASSERT(parse("[[],{}]") == 3);
}

TT_TEST(json_decodes_escapes)
{
	const char *s = "[\"a\\\"b\\\\c\\/d\\n\\t\", \"\\u00e9\\u20ac\", \"\\ud83d\\ude00\", \"x\\u0000y\"]";
	TT_ASSERT(parse(s) > 0);
	char buf[64];
	int e = tj_first(toks, 0);
	TT_EQ(tj_str(s, toks, e, buf, sizeof(buf)), 9);
	TT_STREQ(buf, "a\"b\\c/d\n\t");
	e = tj_next(toks, 0, e);
	tj_str(s, toks, e, buf, sizeof(buf));
	TT_STREQ(buf, "\xc3\xa9\xe2\x82\xac"); /* U+00E9 U+20AC */
	e = tj_next(toks, 0, e);
	tj_str(s, toks, e, buf, sizeof(buf));
	TT_STREQ(buf, "\xf0\x9f\x98\x80"); /* U+1F600 from a surrogate pair */
	e = tj_next(toks, 0, e);
	tj_str(s, toks, e, buf, sizeof(buf));
	TT_STREQ(buf, "x?y"); /* NUL cannot be in a C string */
	/* An escaped key still matches. */
	const char *o = "{\"st\\u0061te\":1}";
	TT_ASSERT(parse(o) > 0);
	TT_ASSERT(tj_get(o, toks, 0, "state") == 2);
}

TT_TEST(json_str_truncates_safely)
{
	const char *s = "\"abcdefgh\"";
	TT_ASSERT(parse(s) == 1);
	char buf[4] = { 'x', 'x', 'x', 'x' };
	TT_EQ(tj_str(s, toks, 0, buf, sizeof(buf)), 8);
	TT_STREQ(buf, "abc");
	TT_EQ(tj_str(s, toks, 0, NULL, 0), 8);
	TT_ASSERT(parse("1") == 1);
	TT_EQ(tj_str("1", toks, 0, buf, sizeof(buf)), -EINVAL);
}

TT_TEST(json_u64_bounds)
{
	uint64_t v;
	const char *big = "18446744073709551615";
	TT_ASSERT(parse(big) == 1);
	TT_EQ(tj_u64(big, toks, 0, &v), 0);
	TT_ASSERT(v == UINT64_MAX);
	const char *over = "18446744073709551616";
	TT_ASSERT(parse(over) == 1);
	TT_EQ(tj_u64(over, toks, 0, &v), -EINVAL);
	TT_ASSERT(parse("-1") == 1);
	TT_EQ(tj_u64("-1", toks, 0, &v), -EINVAL);
	TT_ASSERT(parse("1.5") == 1);
	TT_EQ(tj_u64("1.5", toks, 0, &v), -EINVAL);
	TT_ASSERT(parse("\"1\"") == 1);
	TT_EQ(tj_u64("\"1\"", toks, 0, &v), -EINVAL);
}

TT_TEST(json_rejects_malformed)
{
	static const char *bad[] = {
		"", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}",
		"{\"a\":1,}", "{\"a\":1 \"b\":2}", "[1 2]", "01", "1.", ".5", "-", "1e",
		"+1", "tru", "nul", "truex", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12g4\"",
		"\"a\tb\"", "[1]]", "{} {}", "[\"a\"\"b\"]", "NaN", "[1,2", "{\"a\":[}",
		"'a'", "\"\\",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = tj_parse(bad[i], strlen(bad[i]), toks, 256);
		if (r != -EINVAL) {
			TT_FAIL_("accepted or wrong error for \"%s\": %d", bad[i], r);
			return;
		}
	}
}

TT_TEST(json_no_read_past_length)
{
	/* A valid document followed by bytes outside the given length. */
	const char s[] = "{\"a\":[1,2]}GARBAGE";
	TT_ASSERT(tj_parse(s, 11, toks, 256) > 0);
	/* Every proper prefix of an object document is incomplete. */
	const char *doc = "{\"k\":[1,{\"x\":\"\\u00e9\"},true,null],\"n\":-0.5e+2}";
	size_t len = strlen(doc);
	for (size_t n = 0; n < len; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		TT_ASSERT(copy);
		memcpy(copy, doc, n);
		int r = tj_parse(copy, n, toks, 256);
		free(copy);
		if (r >= 0) {
			TT_FAIL_("prefix of length %zu accepted", n);
			return;
		}
	}
	TT_ASSERT(tj_parse(doc, len, toks, 256) > 0);
}

TT_TEST(json_limits_tokens_and_depth)
{
	TT_EQ(tj_parse("[1,2,3]", 7, toks, 3), -E2BIG);
	TT_EQ(tj_parse("[1,2,3]", 7, toks, 4), 4);
	char deep[2 * TJ_MAX_DEPTH + 3];
	size_t n = 0;
	for (int i = 0; i < TJ_MAX_DEPTH + 1; i++)
		deep[n++] = '[';
	for (int i = 0; i < TJ_MAX_DEPTH + 1; i++)
		deep[n++] = ']';
	TT_EQ(tj_parse(deep, n, toks, 256), -E2BIG);
	/* One level less is fine. */
	TT_EQ(tj_parse(deep + 1, n - 2, toks, 256), TJ_MAX_DEPTH);
}

TT_TEST(json_random_bytes_never_crash)
{
	/* Deterministic pseudo-random mutations of a status document. */
	const char *doc = "{\"id\":1,\"state\":\"ESTABLISHED\",\"a\":[1,{\"b\":\"\\u0041\"}],\"c\":true}";
	size_t len = strlen(doc);
	uint32_t x = 12345;
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		char buf[128];
		memcpy(buf, doc, len);
		for (int m = 0; m < 3; m++) {
			x = x * 1103515245u + 12345u;
			size_t pos = (x >> 8) % len;
			x = x * 1103515245u + 12345u;
			buf[pos] = "{}[]\",:\\u0a1- \x01\xff"[(x >> 8) % 17];
		}
		int r = tj_parse(buf, len, toks, 256);
		if (r > 0) {
			accepted++;
			/* Whatever parsed must be walkable. */
			char s[64];
			uint64_t v;
			for (int i = 0; i < r; i++) {
				if (toks[i].type == TJ_STRING)
					tj_str(buf, toks, i, s, sizeof(s));
				if (toks[i].type == TJ_NUMBER)
					tj_u64(buf, toks, i, &v);
				TT_ASSERT(toks[i].end <= len && toks[i].next <= r);
			}
		} else {
			TT_ASSERT(r == -EINVAL || r == -E2BIG);
		}
	}
	TT_ASSERT(accepted > 0); /* some mutations (e.g. inside strings) stay valid */
}

int main(int argc, char **argv)
{
	return tt_main(argc, argv);
}
