"""`check`: fail when the generated files are out of date (apart from `generate`, whose
start-up answered from the cache does not build this command's options)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from imagespec import jobs
from imagespec.cli.common import CHANGED_SINCE, CONFIG, EXPLAIN, FILE, FORMAT, NO_CACHE, SPECS, note, selected
from imagespec.errors import CheckFailed, SpecError


@click.command("check")
@SPECS
@FORMAT
@CONFIG
@NO_CACHE
@click.option("--bake", "bake_file", type=FILE, default=None,
              help="Also check this bake file against `imagespec bake SPECS -o FILE`.")
@CHANGED_SINCE
@EXPLAIN
def check(specs: tuple[Path, ...], fmt: str, config_path: Path | None, no_cache: bool, bake_file: Path | None,
          changed_since: str | None, explain: bool) -> None:
    """Fail (exit 1) when generated files are out of date.

    Prints a unified diff for each committed Dockerfile or .dockerignore (and, with
    --bake, bake file) that no longer matches its spec."""
    if bake_file is not None and str(bake_file) == "-":  # bake's `-o -` prints; there is no file to compare
        raise SpecError("--bake names the committed bake file: '-' is none (it is stdout for `imagespec bake -o -`)",
                        hint="give the bake file's path: --bake docker-bake.json")
    if bake_file is not None and changed_since is not None:
        raise SpecError("--bake checks the whole fleet's file: it does not go with --changed-since",
                        hint="check the bake file in a run of its own")
    chosen = selected(specs, config_path, changed_since, explain)
    checked = jobs.check(chosen, config=config_path, use_cache=not no_cache, on_note=note) if chosen \
        else jobs.Checked(0, ())
    stale = [{"spec": item.spec, "file": item.file, "diff": item.diff} for item in checked.stale]
    bake_diff, beyond = jobs.stale_bake(specs, bake_file, config=config_path, on_note=note) \
        if bake_file is not None else (None, [])
    if bake_diff is not None:
        stale.append({"spec": " ".join(map(str, specs)), "file": str(bake_file), "diff": bake_diff})
    if fmt == "json":  # `ok` is the exit status's: a stale bake file fails the check too
        click.echo(json.dumps({"ok": checked.ok and bake_diff is None, "stale": stale, "locks": list(checked.locks)},
                              indent=2))
    else:
        for item in stale:
            click.echo(item["diff"], nl=False)
        for line in checked.locks:
            click.echo(line)
    if stale:
        if beyond:  # baked from more specs: `bake SPECS -o FILE` would drop the others' targets
            raise CheckFailed(f"{len(stale)} generated file(s) out of date; {bake_file} has target(s) these specs "
                              f"do not make: {', '.join(beyond[:5])}{' …' if len(beyond) > 5 else ''}",
                              hint=f"check {bake_file} against every spec it was baked from (`imagespec check DIR "
                                   f"--bake {bake_file}`); baking these specs alone into it would drop the others")
        raise CheckFailed(f"{len(stale)} generated file(s) out of date",
                          hint=_regenerate(checked.stale, bake_file if bake_diff is not None else None, specs,
                                           config_path))
    if checked.locks:
        raise CheckFailed(f"{len(checked.locks)} lock problem(s): a lock file is not its spec's",
                          hint="run `imagespec lock SPEC`, then `imagespec generate`, and commit both")
    if fmt == "text":
        click.echo(f"{checked.specs} spec(s) up to date", err=True)


def _regenerate(stale: tuple[jobs.Stale, ...], bake_file: Path | None, specs: tuple[Path, ...],
                config: Path | None) -> str:
    """The commands that write the stale files again: `generate` does not write the bake
    file, so a stale bake file names `bake` with this check's specs, path and configuration;
    a file that lost its generated header, `generate --force`, as generate refuses it otherwise."""
    force = [item.file for item in stale if item.hand_written]
    commands = [f"`imagespec generate --force` ({', '.join(force)} lost the generated header or is a link, so "
                "generate replaces it only with --force)" if force else "`imagespec generate`"] if stale else []
    if bake_file is not None:
        by_hand = jobs.bake_by_hand(bake_file)  # bake refuses to replace it without --force (exit 1)
        words = [*map(str, specs), "-o", str(bake_file), *(["--force"] if by_hand else []),
                 *(["--config", str(config)] if config else [])]
        commands.append(f"`imagespec bake {shlex.join(words)}`"
                        + (f" ({bake_file} has no generated mark, so bake replaces it only with --force)"
                           if by_hand else ""))
    return f"run {' and '.join(commands)} and commit the result"
