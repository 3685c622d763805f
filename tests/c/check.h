/*
 * check.h - the checks of the C tests: a failed check prints where it is
 * and what it saw, and is counted; check_done() gives main's exit status.
 * Included once, by each test program.
 */
#ifndef NLC_TEST_CHECK_H
#define NLC_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                     \
            failures++;                                                   \
        }                                                                 \
    } while (0)

/* Integers of any type and sign, compared as 64-bit patterns. */
#define CHECK_EQ(a, b)                                                    \
    do {                                                                  \
        unsigned long long a_ = (unsigned long long)(a);                  \
        unsigned long long b_ = (unsigned long long)(b);                  \
        if (a_ != b_) {                                                   \
            fprintf(stderr, "%s:%d: %s == %lld (%#llx), expected %s == "  \
                    "%lld (%#llx)\n", __FILE__, __LINE__, #a,             \
                    (long long)a_, a_, #b, (long long)b_, b_);            \
            failures++;                                                   \
        }                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                   \
    do {                                                                  \
        if (strcmp((a), (b)) != 0) {                                      \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",     \
                    __FILE__, __LINE__, #a, (a), (b));                    \
            failures++;                                                   \
        }                                                                 \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* The attributes nested in attribute a, which must be flagged as a nest,
 * parsed into tb (tests that include internal.h). */
#define CHECK_NESTED(a, tb, maxtype)                                      \
    do {                                                                  \
        CHECK((a)->nla_type & NLA_F_NESTED);                              \
        CHECK_EQ(__nlc_attr_parse(__nlc_attr_data(a), __nlc_attr_len(a),  \
                                  (tb), (maxtype)), 0);                   \
    } while (0)

/* A xorshift64* stream: reproducible pseudo-random test inputs. */
static inline uint64_t
check_rnd(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dULL;
}

/* main's exit status: 0 when every check passed. */
static inline int
check_done(const char *test)
{
    if (failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", test, failures);
        return 1;
    }
    printf("%s: all checks passed\n", test);
    return 0;
}

#endif /* NLC_TEST_CHECK_H */
