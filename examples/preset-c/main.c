/* A static C service loop for the `c` preset: heartbeat on start, exit 0 on SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_term(int sig) { (void)sig; stopping = 1; }

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    printf("preset-c ready (uid %d)\n", (int)getuid());
    fflush(stdout);
    while (!stopping) pause();
    return 0;
}
