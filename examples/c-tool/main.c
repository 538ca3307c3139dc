/* A tiny C service loop: prints a heartbeat, exits 0 on SIGTERM (BP2). */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_term(int sig) { (void)sig; stopping = 1; }

int main(int argc, char **argv) {
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("c-tool ready (uid %d)%s%s\n", (int)getuid(), argc > 1 ? ": " : "", argc > 1 ? argv[1] : "");
    fflush(stdout);
    while (!stopping) pause();
    printf("c-tool stopping\n");
    return 0;
}
