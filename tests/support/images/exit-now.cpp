// A workload that exits at once with status 1: the image for crash-loop tests.
#include <cstdio>

int main() {
  std::fputs("exit-now: exiting with status 1 on purpose\n", stderr);
  return 1;
}
