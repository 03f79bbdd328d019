/* test_assert.c - VALK_ASSERT (src/lang/valk.h): a broken invariant stops
   the process with the place, the condition and the reason on standard
   error; a held one costs nothing but the check. The failing case runs in
   a forked child so the test binary itself goes on. */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_held_invariant_passes(void) {
  int n = 2;
  VALK_ASSERT(n + n == 4, "arithmetic works");
  CHECK_INT_EQ(n, 2);
}

static void test_broken_invariant_aborts_with_its_reason(void) {
#ifdef VALK_NO_ASSERTS
  return; /* compiled out: nothing to observe */
#endif
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    int cap = 1, n = 2;
    VALK_ASSERT(n <= cap, "an environment holds at most cap bindings");
    _exit(0); /* not reached when asserts are on */
  }
  close(fds[1]);
  char out[512];
  size_t len = 0;
  ssize_t k;
  while (len < sizeof out - 1 && (k = read(fds[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)k;
  out[len] = '\0';
  close(fds[0]);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(out, "test_assert.c:") != NULL);
  CHECK(strstr(out, "assertion n <= cap failed: an environment holds at most cap bindings") != NULL);
}

UNIT_MAIN(T(test_held_invariant_passes), T(test_broken_invariant_aborts_with_its_reason))
