/* Prints the architecture it was compiled for: scratch has no uname. */
#include <stdio.h>

int main(void) {
#if defined(__aarch64__)
    puts("c-arch arm64");
#elif defined(__x86_64__)
    puts("c-arch amd64");
#else
    puts("c-arch other");
#endif
    return 0;
}
