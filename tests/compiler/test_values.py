"""The small value grammars of a spec (imagespec/spec/values.py): each matches the whole
value, so a trailing newline never slips through a pattern's `$`."""

from __future__ import annotations

import re

import pytest

from imagespec.spec import values

WHOLE_VALUE = [
    (values.image_reference, "debian:bookworm-slim"), (values.image_name, "team/app"), (values.stage_name, "build"),
    (values.env_key, "FOO"), (values.label_key, "com.example.team"), (values.duration, "30s"),
    (values.port, "8080"), (values.mode, "0755"), (values.package_name, "ca-certificates"),
    (values.package_version, "7.88.1-10+deb12u5"), (values.owner, "root"), (values.semantic_version, "1.2.3"),
    (values.stop_signal, "SIGTERM"), (values.no_control_chars, "a line"), (values.absolute_path, "/srv/app"),
    (values.context_path, "src"), (values.copy_destination, "app/"), (values.mount_target, "/root/.cache"),
]


@pytest.mark.parametrize(("check", "good"), WHOLE_VALUE, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("suffix", ["\n", "\r", "\r\n", "\x00", "\x85", "\x1b"])
def test_a_valid_value_with_a_trailing_control_character_is_refused(check, good: str, suffix: str) -> None:
    check(good)
    with pytest.raises(ValueError):
        check(good + suffix)


@pytest.mark.parametrize("signal", ["SIGTERM", "term", "sigquit", "SIGRTMIN", "SIGRTMIN+15", "rtmax-14", "SIGRTMAX",
                                    "SIGCLD", "SIGPOLL", "SIGIOT", "SIGSTKFLT", "1", "15", "31", "32", "33", "34", "64", 15])
def test_stop_signal_takes_what_moby_parses(signal: str | int) -> None:
    # moby/sys signal.ParseSignal with the Linux SignalMap: BuildKit's STOPSIGNAL and `docker stop`
    # (checked with `docker build` on Engine 28.5: SIGRTMIN+16 and SIGRTMAX-15 fail there)
    assert values.stop_signal(signal).lstrip("SIG")


@pytest.mark.parametrize("signal", ["SIGRTMIN+16", "SIGRTMIN+30", "SIGRTMAX-15", "SIGRTMAX-30", "0", "65", "100",
                                    "+15", "015", "-1", "SIGKILL", "KILL", "9", "SIGSTOP", "19", "SIGFOO", "SIG", ""])
def test_stop_signal_refuses_what_the_engine_or_bp2_refuses(signal: str) -> None:
    with pytest.raises(ValueError):
        values.stop_signal(signal)


@pytest.mark.parametrize("version", ["1.2.3", "0.0.0", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha.beta", "1.0.0+build.7",
                                     "1.0.0-0.3.7", "1.0.0-x-y-z.--"])
def test_semantic_versions(version: str) -> None:
    assert values.semantic_version(version) == version


@pytest.mark.parametrize("version", ["v1.2.3", "v1.2", "1.2", "1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03",
                                     "1.0.0-01", "1.0.0-", "1.0.0+", "1.0.0-rc..1", " 1.2.3", "1.2.3\n"])
def test_not_semantic_versions(version: str) -> None:
    with pytest.raises(ValueError):
        values.semantic_version(version)


@pytest.mark.parametrize(("command", "found"), [
    ("serve > /tmp/log 2>&1", ">"), ("a && b", "&&"), ("a || exit 1", "||"), ("a | b", "|"), ("a; b", ";"),
    ("echo $HOME", "$H"), ('echo "$HOME"', "$H"), ("echo ${X}", "${"), ("echo $(id)", "$("), ("echo `id`", "`"),
    ("run (sub)", "("),
])
def test_a_command_string_that_needs_a_shell_is_refused(command: str, found: str) -> None:
    """BP2: exec form starts no shell, so '>' or '$HOME' would reach the program as text."""
    with pytest.raises(ValueError, match="uses shell syntax") as raised:
        values.exec_argv(command)
    assert f"({found!r})" in str(raised.value)
    assert values.exec_argv(command.split()) == tuple(command.split())  # a list is literal arguments, as written


@pytest.mark.parametrize("command", [
    "--listen 127.0.0.1:8080", "echo '$HOME' 'a > b'", 'echo "a > b; c"', r"echo a\>b \$HOME", "app --price=5$",
    "node server.js", "python -m http.server 8000",
])
def test_a_command_string_of_plain_words_is_split(command: str) -> None:
    assert values.exec_argv(command) == values.argv(command)


@pytest.mark.parametrize(("script", "found"), [
    ("/usr/bin/printf 'A' first && /usr/bin/printf 'B'", "'&&'"), ("a || b", "'||'"), ("a; b", "';'"),
    ("a | b", "'|'"), ("a &", "'&'"), ("cd /srv\n/app", "'a newline'"), ("/app --x # why", "a comment"),
])
def test_a_shell_entrypoint_that_is_a_list_is_refused(script: str, found: str) -> None:
    """QA: `exec A && B "$@"` replaced the shell with A: B and the cmd's arguments never ran (BP2)."""
    with pytest.raises(ValueError, match=f"{re.escape(found)}") as raised:
        values.shell_entrypoint(script)
    assert raised.value.hint


@pytest.mark.parametrize("script", [
    "/app --port $PORT", "/app >/tmp/log 2>&1", "/app &>/tmp/log", "/app \"$(cat /etc/x; echo y)\" 'a;b'",
    "/bin/sh -c 'cd /srv && exec /app'", "/app a#b", "/app --x\n",
])
def test_a_shell_entrypoint_of_one_command_is_taken(script: str) -> None:
    assert values.shell_entrypoint(script) == values.argv(script)


@pytest.mark.parametrize("marker", ["CMD-SHELL", "CMD", "NONE"])
def test_a_compose_health_check_marker_is_refused(marker: str) -> None:
    with pytest.raises(ValueError, match=f"'{marker}' is Compose's"):
        values.exec_argv([marker, "curl", "-f", "http://127.0.0.1/"])


@pytest.mark.parametrize("text", ["MIT", "MIT OR Apache-2.0", "(MIT OR Apache-2.0) AND BSD-3-Clause", "GPL-2.0+",
                                  "GPL-2.0-or-later WITH Classpath-exception-2.0", "LicenseRef-acme", "Proprietary"])
def test_spdx_expressions(text: str) -> None:
    assert values.license_expression(text) == text


@pytest.mark.parametrize("text", ["NOT A LICENSE(((", "SEE LICENSE IN LICENSE.txt", "MIT OR", "(MIT", "MIT)",
                                  "AND", "MIT WITH", "MIT, Apache-2.0", "", "MIT AND AND X", "(" * 40 + "MIT" + ")" * 40])
def test_not_spdx_expressions(text: str) -> None:
    with pytest.raises(ValueError, match="is not an SPDX license expression"):
        values.license_expression(text)


# checked with `docker build` on Engine 28.5 (BuildKit reads HEALTHCHECK's flags with Go's
# time.ParseDuration, then refuses any below 1ms but 0): each of these builds ...
@pytest.mark.parametrize("duration", ["0s", "0.5ns", "1ms", "1000us", "1.5ms", "0.9999999999999999999ms", "2562047h",
                                      "2562047h47m16.854775807s", "1m30s"])
def test_durations_the_engine_takes(duration: str) -> None:
    assert values.duration(duration) == duration


# ... and each of these fails the build: below 1ms, or past a Go time.Duration's int64
@pytest.mark.parametrize("duration", ["1ns", "500us", "999us", "0.5ms", "0.999999ms", "2562048h", "99999999999999h",
                                      "2562047h47m16.854775808s", "99999999999999999999s", "2562047h2562047h"])
def test_durations_the_engine_refuses(duration: str) -> None:
    with pytest.raises(ValueError, match="shorter than 1ms|too long for the engine"):
        values.duration(duration)


@pytest.mark.parametrize(("path", "inside"), [("sub/../p.c", "p.c"), ("a/b/../../c", "c"), ("a/..", "."),
                                              ("./x/../y/", "y/")])
def test_a_context_path_through_dot_dot_that_stays_inside_is_asked_for_as_it_reads(path: str, inside: str) -> None:
    with pytest.raises(ValueError, match="'..' is not allowed in a context path") as refused:
        values.context_path(path)
    assert getattr(refused.value, "hint", "") == f"write the path it stands for, '{inside}'"


@pytest.mark.parametrize("path", ["../secrets.txt", "..", "sub/../..", "a/../../b"])
def test_a_context_path_outside_the_context_is_said_so(path: str) -> None:
    with pytest.raises(ValueError, match="points outside the build context"):
        values.context_path(path)


def test_uid_0_may_be_named_root_as_it_is_the_bases_own() -> None:
    """The check that a user's name is not one the base has (spec.accounts) is for the user
    imagespec makes; uid 0 is made by no step. Was: `{uid: 0, name: root}` refused."""
    from compiler_helpers import compile_text

    spec = ("name: r\nversion: 1.0.0\nfinal:\n  from: debian-slim\n"
            "  user: {uid: 0, name: root, root_reason: a build image}\n  cmd: [/bin/true]\n")
    assert "USER 0" in compile_text(spec).dockerfile


@pytest.mark.parametrize("folder", ["/", "//", "/etc", "/etc/", "/usr", "/usr/", "//usr", "/usr/bin", "/usr/local",
                                    "/bin", "/sbin", "/lib", "/lib64", "/boot", "/dev", "/proc", "/sys", "/run", "/var",
                                    "/var/lib", "/root", "/home", "/./etc"])
def test_a_writable_directory_is_no_system_folder_nor_above_one(folder: str) -> None:
    # the runtime user owns a writable directory: `/` cannot start, `/etc` lets the app rewrite /etc/passwd
    with pytest.raises(ValueError, match="must stay root's"):
        values.writable_dir(folder)


@pytest.mark.parametrize("folder", ["/tmp", "/var/tmp", "/var/cache/x", "/app/data", "/home/x", "/run/app", "/data",
                                    "/usr/share/app", "/var/lib/app", "/etcetera"])
def test_the_apps_own_folders_may_be_writable(folder: str) -> None:
    assert values.writable_dir(folder) == folder


@pytest.mark.parametrize("key", ["org.opencontainers.image.version", "org.opencontainers.image.title",
                                 "org.opencontainers.image.description", "org.opencontainers.image.licenses",
                                 "org.opencontainers.image.source", "org.opencontainers.image.revision",
                                 "org.opencontainers.image.created", "org.opencontainers.image.base.name",
                                 "org.opencontainers.image.base.digest", "io.imagespec.writable", "io.imagespec.inputs",
                                 "io.imagespec.anything"])
def test_a_spec_cannot_set_a_label_imagespec_sets(key: str) -> None:
    # the build's value wins (`--label`) and `imagespec test` reads io.imagespec.*: the spec's would silently differ
    with pytest.raises(ValueError, match="is imagespec's"):
        values.spec_label_key(key)


@pytest.mark.parametrize("key", ["com.example.team", "org.opencontainers.image.vendor",
                                 "org.opencontainers.image.url", "io.imagespecial"])
def test_a_spec_sets_labels_of_its_own(key: str) -> None:
    assert values.spec_label_key(key) == key


@pytest.mark.parametrize("command", [["", "x"], [" ", "x"], '"" x'])
def test_an_empty_program_is_refused(command: str | list[str]) -> None:
    with pytest.raises(ValueError, match="must name a program"):
        values.exec_argv(command)


def test_an_empty_argument_after_the_program_is_an_argument() -> None:
    assert values.exec_argv(["", "x"], program=False) == ("", "x")
    assert values.exec_argv(["/app", ""]) == ("/app", "")


@pytest.mark.parametrize("item", [42, 1.5, True, None])
def test_a_command_that_is_no_string_is_refused(item: object) -> None:
    with pytest.raises(ValueError, match="every command must be a string"):
        values.a_command(item)


@pytest.mark.parametrize(("check", "value"), [(values.port, True), (values.stop_signal, False), (values.mode, True),
                                              (values.owner, True)])
def test_a_boolean_is_reported_as_yaml_writes_it(check, value: bool) -> None:
    with pytest.raises(ValueError, match=f"'{str(value).lower()}' is not"):
        check(value)


@pytest.mark.parametrize(("path", "meant"), [("../app", "/app"), ("./srv", "/srv"), ("srv/", "/srv/"),
                                             ("a/../b", "/b"), ("x", "/x")])
def test_a_relative_path_is_hinted_at_the_absolute_one_it_means(path: str, meant: str) -> None:
    with pytest.raises(ValueError) as refused:
        values.absolute_path(path)
    assert getattr(refused.value, "hint", None) == f"start it at the root: '{meant}'"
    assert values.absolute_path(meant) == meant  # the hint's path is valid itself


@pytest.mark.parametrize("path", ["..", ".", "a$b", "it's"])
def test_a_relative_path_with_no_valid_absolute_one_is_hinted_without_one(path: str) -> None:
    with pytest.raises(ValueError) as refused:
        values.absolute_path(path)
    assert "start it at the root" not in str(getattr(refused.value, "hint", ""))


def test_the_dockerfiles_hint_speaks_of_dockerfile() -> None:
    with pytest.raises(ValueError) as refused:
        values.dockerfile_path("/etc/Dockerfile")
    assert "`dockerfile:" in str(getattr(refused.value, "hint", "")) and "context" not in str(refused.value.hint)


def test_a_value_longer_than_a_dockerfile_line_holds_is_refused() -> None:
    # BuildKit refuses a line over 64 KiB after a whole generate; each value is held to 16 KiB a line
    assert values.no_control_chars("x" * values.MAX_VALUE_LINE_BYTES)
    for check in (values.no_control_chars, values.command_line, values.env_key, values.absolute_path):
        with pytest.raises(ValueError, match="a Dockerfile line holds"):
            check("/" + "x" * values.MAX_VALUE_LINE_BYTES)
    with pytest.raises(ValueError, match="a Dockerfile line holds"):
        values.no_control_chars("é" * (values.MAX_VALUE_LINE_BYTES // 2 + 1))  # bytes, not characters


def test_a_long_multi_line_command_is_held_to_its_lines() -> None:
    script = "\n".join(["echo " + "x" * 1000] * 40)  # 40 KB, each line short: written line by line
    assert values.command_line(script) == script


def test_an_exec_form_command_is_held_to_one_line_altogether() -> None:
    with pytest.raises(ValueError, match="a Dockerfile line holds"):
        values.exec_argv(["/app", *["x" * 6000] * 3])


def test_an_env_value_keeps_its_text_as_written() -> None:
    """QA: `H: 1_000` became ENV H="1000" (YAML 1.1 reads it as a number) while 1.10, NO,
    0x10, 010 and .inf kept their text; a field that takes a number still reads it."""
    from compiler_helpers import compile_text
    env = {"H": "1_000", "P": "+1", "Z": "-0", "V": "1.10", "N": "NO", "X": "0x10", "O": "010", "I": ".inf",
           "D": "12", "M": "-3"}
    text = compile_text("name: app\nfinal:\n  from: debian-slim\n  entrypoint: [/app]\n  user: {uid: 10_001}\n"
                        "  env: {" + ", ".join(f"{k}: {v}" for k, v in env.items()) + "}\n").dockerfile
    for key, value in env.items():
        assert f'{key}="{value}"' in text
    assert "USER 10001:" in text


def test_a_cache_path_with_mount_options_hints_at_its_folder() -> None:
    """QA: `/root/.cache,id=../../etc` was told to write '/root/etc' (the '..' resolved
    across the comma); the comma is what is wrong, the folder before it what was meant."""
    with pytest.raises(ValueError, match="cannot hold spaces, commas or quotes") as raised:
        values.mount_target("/root/.cache,id=../../etc")
    assert raised.value.hint.startswith("give the folder alone, e.g. '/root/.cache'")
    with pytest.raises(ValueError, match="must not contain '..'"):
        values.mount_target("/root/../x")


def test_an_image_name_past_the_registries_limit_says_so() -> None:
    with pytest.raises(ValueError, match="it is 300 characters, over 255") as raised:
        values.image_name("a" * 300)
    assert "at most 255 characters" in raised.value.hint
