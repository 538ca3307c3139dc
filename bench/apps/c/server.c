/* cstatus: a small HTTP status server in C, built as one static binary.
 * GET / answers with the uid, the uptime and the local time in $TZ (which needs the
 * time zone database); SIGTERM and SIGINT stop it cleanly (BP2: as PID 1 a process
 * only gets the signals it installs handlers for). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static int listen_on(const char *host, int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "cstatus: bad address %s\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0) {
        perror("cstatus: listen");
        return -1;
    }
    return fd;
}

static void answer(int client, time_t started) {
    char request[2048];
    ssize_t got = recv(client, request, sizeof request - 1, 0);
    if (got <= 0) return;
    request[got] = '\0';
    int health = strncmp(request, "GET /healthz", 12) == 0;

    char now[64], body[256], head[256];
    time_t t = time(NULL);
    struct tm local;
    localtime_r(&t, &local);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S%z %Z", &local);
    int n = health ? snprintf(body, sizeof body, "ok\n")
                   : snprintf(body, sizeof body, "cstatus uid=%d uptime=%lds time=%s\n",
                              (int)getuid(), (long)(t - started), now);
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n", n);
    if (send(client, head, (size_t)h, MSG_NOSIGNAL) == h) send(client, body, (size_t)n, MSG_NOSIGNAL);
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 8080;
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    tzset();

    int fd = listen_on(host, port);
    if (fd < 0) return 1;
    time_t started = time(NULL);
    printf("cstatus listening on %s:%d\n", host, port);
    fflush(stdout);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (!stopping) {
        int ready = poll(&pfd, 1, -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) continue;
        answer(client, started);
        close(client);
    }
    close(fd);
    printf("cstatus stopped\n");
    return 0;
}
