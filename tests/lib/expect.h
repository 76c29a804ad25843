/*
 * One assertion per fact for the tests that need root: EXPECT counts the
 * check, reports a failure with its place and goes on, so that one run
 * shows every mismatch. The test ends with "N checks, M failures".
 */
#ifndef ITR_EXPECT_H
#define ITR_EXPECT_H

#include <stdio.h>

/* Where failures go; the kernel tier's guest prints to its console. */
#ifndef EXPECT_OUT
#define EXPECT_OUT stderr
#endif

static int checks;
static int failures;

#define EXPECT(cond, ...)                                                      \
  do {                                                                         \
    checks++;                                                                  \
    if (!(cond)) {                                                             \
      failures++;                                                              \
      fprintf(EXPECT_OUT, "%s:%d: FAIL: ", __FILE__, __LINE__);                \
      fprintf(EXPECT_OUT, __VA_ARGS__);                                        \
      fputc('\n', EXPECT_OUT);                                                 \
    }                                                                          \
  } while (0)

#endif /* ITR_EXPECT_H */
