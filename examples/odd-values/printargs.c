/* Prints its arguments and selected environment variables as JSON-ish lines, so a
 * test can check that values with quotes, $, backslashes and unicode arrive intact. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *names[] = {"GREETING", "PRICE", "WINDOWS_PATH", "MOTTO", NULL};
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    for (int i = 0; names[i]; i++) {
        const char *value = getenv(names[i]);
        printf("env %s=%s\n", names[i], value ? value : "(unset)");
    }
    return 0;
}
