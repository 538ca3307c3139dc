"""What `imagespec test` says of a program that exited (runs-read-only's "last output"):
the line that names the error when the program printed a stack or an object after it.
Was: the last three lines only, which for Node are the end of an object dump and the
version banner (`} |  | Node.js v18.20.4`), never the error itself."""

from __future__ import annotations

import pytest

from imagespec.verify.runner import last_output

NODE = """\
node:events:495
      throw er; // Unhandled 'error' event
      ^

Error: listen EADDRINUSE: address already in use 127.0.0.1:8080
    at Server.setupListenHandle [as _listen2] (node:net:1817:16)
    at listenInCluster (node:net:1865:12)
    at doListen (node:net:2014:7)
    at process.processTicksAndRejections (node:internal/process/task_queues:83:21)
Emitted 'error' event on Server instance at:
    at emitErrorNT (node:net:1844:8)
    at process.processTicksAndRejections (node:internal/process/task_queues:82:21) {
  code: 'EADDRINUSE',
  errno: -98,
  syscall: 'listen',
  address: '127.0.0.1',
  port: 8080
}

Node.js v18.20.4
"""

GO = """\
panic: open /data/config.json: no such file or directory

goroutine 1 [running]:
main.main()
\t/src/main.go:14 +0x1d0
"""

JAVA = """\
Exception in thread "main" java.lang.IllegalStateException: PORT is not set
\tat app.Main.port(Main.java:21)
\tat app.Main.main(Main.java:9)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
"""

PYTHON = """\
Traceback (most recent call last):
  File "/app/app.py", line 3, in <module>
    open("/data/x")
FileNotFoundError: [Errno 2] No such file or directory: '/data/x'
"""


@pytest.mark.parametrize(("logs", "cause"), [
    (NODE, "Error: listen EADDRINUSE: address already in use 127.0.0.1:8080"),
    (GO, "panic: open /data/config.json: no such file or directory"),
    (JAVA, 'Exception in thread "main" java.lang.IllegalStateException: PORT is not set'),
], ids=["node", "go", "java"])
def test_the_error_above_a_stack_comes_before_the_last_lines(logs: str, cause: str) -> None:
    shown = last_output(logs)
    assert shown[0] == cause and shown[1] == "…", shown
    assert shown[2:] == [line.rstrip() for line in logs.splitlines() if line.strip()][-3:]


def test_an_error_already_among_the_last_lines_is_not_repeated() -> None:
    # Python prints the exception last: the tail says it, the Traceback line adds nothing
    assert last_output(PYTHON) == ['  File "/app/app.py", line 3, in <module>', '    open("/data/x")',
                                   "FileNotFoundError: [Errno 2] No such file or directory: '/data/x'"]


@pytest.mark.parametrize("logs", ["", "\n\n", "listening on :8080\nshutting down\n", "one\ntwo\nthree\nfour\n"])
def test_output_without_an_earlier_error_is_its_last_lines(logs: str) -> None:
    printed = [line for line in logs.splitlines() if line.strip()]
    assert last_output(logs) == printed[-3:]


def test_a_word_error_in_passing_is_not_taken_for_the_cause() -> None:
    logs = "retrying after error budget check\nserving\nstopped\nbye\n"  # lower case, mid-sentence
    assert last_output(logs) == ["serving", "stopped", "bye"]
