/*
 * tt.h - the tiny test harness of tou's unit tests.
 *
 *   TT_TEST(three_way_handshake) { ... TT_EQ(a, b); ... }
 *   int main(int argc, char **argv) { return tt_main(argc, argv); }
 *
 * Tests register themselves (constructor attribute); `./test_x NAME` runs
 * only the tests whose name contains NAME.  A failed check prints
 * file:line, the expression and both values, and fails that test; the
 * program exits non-zero if any test failed and prints
 * "N passed, N failed".
 */
#ifndef TOU_TT_H
#define TOU_TT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tt_fn)(void);
struct tt_case { const char *name; tt_fn fn; };

#define TT_MAX_CASES 1024
static struct tt_case tt_cases[TT_MAX_CASES];
static int tt_ncases;
static int tt_failed_now;

static inline void tt_register(const char *name, tt_fn fn)
{
	if (tt_ncases < TT_MAX_CASES)
		tt_cases[tt_ncases++] = (struct tt_case){ name, fn };
}

#define TT_TEST(name)                                                          \
	static void tt_##name(void);                                           \
	__attribute__((constructor)) static void tt_reg_##name(void)          \
	{ tt_register(#name, tt_##name); }                                     \
	static void tt_##name(void)

#define TT_FAIL_(...)                                                          \
	do {                                                                   \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);              \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		tt_failed_now = 1;                                             \
	} while (0)

/* Checks stop the current test at the first failure. */
#define TT_ASSERT(cond)                                                        \
	do { if (!(cond)) { TT_FAIL_("assertion failed: %s", #cond); return; } } while (0)
#define TT_EQ(a, b)                                                            \
	do {                                                                   \
		long long tt_a_ = (long long)(a), tt_b_ = (long long)(b);      \
		if (tt_a_ != tt_b_) {                                          \
			TT_FAIL_("%s == %s: %lld != %lld", #a, #b, tt_a_, tt_b_); \
			return;                                                \
		}                                                              \
	} while (0)
#define TT_STREQ(a, b)                                                         \
	do {                                                                   \
		const char *tt_a_ = (a), *tt_b_ = (b);                         \
		if (!tt_a_ || !tt_b_ || strcmp(tt_a_, tt_b_) != 0) {           \
			TT_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,         \
				 tt_a_ ? tt_a_ : "(null)", tt_b_ ? tt_b_ : "(null)"); \
			return;                                                \
		}                                                              \
	} while (0)
#define TT_MEMEQ(a, b, n)                                                      \
	do { if (memcmp((a), (b), (n)) != 0) { TT_FAIL_("%s and %s differ", #a, #b); return; } } while (0)

static inline int tt_main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < tt_ncases; i++) {
		if (argc > 1 && !strstr(tt_cases[i].name, argv[1]))
			continue;
		tt_failed_now = 0;
		tt_cases[i].fn();
		if (tt_failed_now) {
			failed++;
			printf("FAIL %s\n", tt_cases[i].name);
		} else {
			passed++;
			printf("ok   %s\n", tt_cases[i].name);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : (passed ? 0 : 1);
}

#endif
