"""Licences of a Debian package, read from its ``/usr/share/doc/<package>/copyright``.

Role: turn a copyright file into SPDX licence expressions. Machine-readable files
(DEP-5, "copyright-format 1.0") name their licences in ``License:`` fields, translated
through one small table of Debian short names. Free-form files get a conservative
heuristic: only a reference to a file in /usr/share/common-licenses whose version is
certain counts; anything else is left unasserted (an empty result, NOASSERTION in the
SBOM) rather than guessed.

Pure functions of their input. May import: the standard library.
"""

from __future__ import annotations

import re

# Debian short names (DEP-5 §"License specification", lower-cased) -> SPDX ids, as
# (without "+", with "+"). A GNU licence with "+" has its own SPDX id; for the others a
# None second entry means SPDX's own "+" operator is appended. Names not here become
# LicenseRef-<name>: unknown is reported as unknown, never as the nearest SPDX id.
_SPDX: dict[str, tuple[str, str | None]] = {
    "gpl": ("GPL-1.0-or-later", "GPL-1.0-or-later"),  # DEP-5: no version means any version
    "gpl-1": ("GPL-1.0-only", "GPL-1.0-or-later"),
    "gpl-2": ("GPL-2.0-only", "GPL-2.0-or-later"),
    "gpl-3": ("GPL-3.0-only", "GPL-3.0-or-later"),
    "lgpl": ("LGPL-2.0-or-later", "LGPL-2.0-or-later"),
    "lgpl-2": ("LGPL-2.0-only", "LGPL-2.0-or-later"),
    "lgpl-2.1": ("LGPL-2.1-only", "LGPL-2.1-or-later"),
    "lgpl-3": ("LGPL-3.0-only", "LGPL-3.0-or-later"),
    "agpl-3": ("AGPL-3.0-only", "AGPL-3.0-or-later"),
    "gfdl-1.2": ("GFDL-1.2-only", "GFDL-1.2-or-later"),
    "gfdl-1.3": ("GFDL-1.3-only", "GFDL-1.3-or-later"),
    "apache-2.0": ("Apache-2.0", None),
    "artistic": ("Artistic-1.0-Perl", None),  # Debian's "Artistic" is Perl's (base-files says so)
    "artistic-2.0": ("Artistic-2.0", None),
    "bsd-2-clause": ("BSD-2-Clause", None),
    "bsd-3-clause": ("BSD-3-Clause", None),
    "bsd-4-clause": ("BSD-4-Clause", None),
    "cc0-1.0": ("CC0-1.0", None),
    "expat": ("MIT", None),
    "mit": ("MIT", None),
    "isc": ("ISC", None),
    "mpl-1.1": ("MPL-1.1", None),
    "mpl-2.0": ("MPL-2.0", None),
    "zlib": ("Zlib", None),
    "psf-2": ("PSF-2.0", None),
    "openssl": ("OpenSSL", None),
    "public-domain": ("LicenseRef-public-domain", None),
}

_DEP5_FORMAT = re.compile(r"^(format|format-specification)\s*:", re.IGNORECASE | re.MULTILINE)
# "A or B, and C" is "(A or B) and C": a comma before the operator lowers its precedence
_COMMA_OPERATOR = re.compile(r",\s*(and|or)\s+", re.IGNORECASE)
_COMMON_LICENSE = re.compile(r"/usr/share/common-licenses/([A-Za-z0-9.+-]*[A-Za-z0-9+])")
#: How far before an unversioned "common-licenses/GPL" its version may be stated (the
#: usual notice is ~600 characters: "either version 2 of the License, or …").
_VERSION_WINDOW = 800
_ANY_LATER = re.compile(r"any\s+later\s+version", re.IGNORECASE)


def spdx_id(name: str) -> str:
    """The SPDX id for one Debian short licence name (``GPL-2+`` -> ``GPL-2.0-or-later``)."""
    base, plus = (name[:-1], True) if name.endswith("+") else (name, False)
    # "GPL-2.0" is a common spelling of Debian's "GPL-2" (sysvinit-utils uses it)
    known = _SPDX.get(re.sub(r"^((?:a|l)?gpl-\d)\.0$", r"\1", base.lower()))
    if known is None:
        return license_ref(name)
    plain, or_later = known
    if not plus:
        return plain
    if or_later is not None:
        return or_later
    return plain if plain.startswith("LicenseRef-") else f"{plain}+"


def license_ref(name: str) -> str:
    """``LicenseRef-`` + the name reduced to what SPDX allows (letters, digits, '.', '-')."""
    cleaned = re.sub(r"\+(?=$|[\s-])", "-or-later", name.strip())  # a "+" ending a name, not "ISC+IBM"
    cleaned = re.sub(r"[^A-Za-z0-9.]+", "-", cleaned).strip("-.")
    return f"LicenseRef-{cleaned or 'unnamed'}"


def is_compound(expression: str) -> bool:
    return " AND " in expression or " OR " in expression


def license_expression(field: str) -> str | None:
    """One DEP-5 ``License:`` first line as an SPDX expression; None when empty.

    DEP-5 and SPDX agree that "and" binds tighter than "or", so only the comma form
    needs parentheses.
    """
    parts = _COMMA_OPERATOR.split(field.strip())
    groups, operators = parts[0::2], [op.upper() for op in parts[1::2]]
    expressions = [_simple_expression(group) for group in groups]
    if not all(expressions):
        return None
    result = expressions[0]
    for operator, right in zip(operators, expressions[1:], strict=True):
        result = f"{_wrap(result)} {operator} {_wrap(right)}"
    return result


def _simple_expression(text: str) -> str:
    """Names joined by and/or; ``X with Y exception`` is kept whole as a LicenseRef,
    since SPDX's WITH takes only listed exception ids."""
    out: list[str] = []
    words: list[str] = []
    for word in [*text.replace(",", " , ").split(), "or"]:
        operator = word.lower()
        if operator in ("and", "or", ","):
            if words:
                out.append(spdx_id(words[0]) if len(words) == 1 else license_ref("-".join(words)))
                out.append("AND" if operator == "," else operator.upper())
            words = []
        else:
            words.append(word)
    return " ".join(out[:-1])


def _wrap(expression: str) -> str:
    return f"({expression})" if is_compound(expression) else expression


def copyright_licenses(text: str) -> tuple[str, ...]:
    """The distinct SPDX expressions a copyright file declares, sorted; () when unknown."""
    if _is_dep5(text):
        found = _dep5_licenses(text)
    else:
        found = _common_license_references(text)
    return tuple(sorted({part for expression in found for part in _and_terms(expression)}))


def _and_terms(expression: str) -> list[str]:
    """``(A OR B) AND C`` as [``A OR B``, ``C``], so that a file's licences are listed once
    each; an OR at the top level keeps the expression whole (AND binds tighter)."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(expression):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and expression.startswith(" OR ", index):
            return [expression]
        if depth == 0 and expression.startswith(" AND ", index):
            terms.append(expression[start:index])
            start = index + len(" AND ")
    terms.append(expression[start:])
    return [_unwrap(term) for term in terms]


def _unwrap(term: str) -> str:
    """``(A OR B)`` without the parentheses that enclose all of it."""
    depth = 0
    for index, char in enumerate(term):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and index < len(term) - 1:
            return term
    return _unwrap(term[1:-1]) if term.startswith("(") else term


def _is_dep5(text: str) -> bool:
    first = _paragraphs(text)[:1]
    return bool(first) and bool(_DEP5_FORMAT.search(first[0]))


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip()) if p.strip()]


def _dep5_licenses(text: str) -> list[str]:
    """``License:`` of the header and of every Files paragraph. Stand-alone License
    paragraphs only hold the texts of licences already named, so they are skipped."""
    found = []
    for index, paragraph in enumerate(_paragraphs(text)):
        fields = _fields(paragraph)
        if "license" not in fields or (index and "files" not in fields):
            continue
        expression = license_expression(fields["license"])
        if expression:
            found.append(expression)
    return found


def _fields(paragraph: str) -> dict[str, str]:
    """Field name (lower case) -> first line of its value; continuation lines are dropped."""
    fields: dict[str, str] = {}
    for line in paragraph.splitlines():
        if line[:1] in (" ", "\t") or ":" not in line:
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    return fields


def _common_license_references(text: str) -> list[str]:
    """Free-form files: each /usr/share/common-licenses/<name> mentioned, when its version
    is certain. "GPL" alone (a symlink to the newest version) counts only if the sentence
    before it says "version N"; "any later version" anywhere makes GNU licences "-or-later"."""
    flat = " ".join(text.split())
    later = "+" if _ANY_LATER.search(flat) else ""
    found = []
    for mention in _COMMON_LICENSE.finditer(flat):
        name = mention.group(1).rstrip("+.")
        if name.lower() in ("gpl", "lgpl"):
            before = flat[max(0, mention.start() - _VERSION_WINDOW) : mention.start()]
            versions = re.findall(r"version (\d(?:\.\d)?)\b", before)
            if not versions:
                continue
            name = f"{name}-{versions[-1]}"
        if name.lower() == "bsd":  # the file in common-licenses is the 3-clause text
            found.append("BSD-3-Clause")
        elif name.lower() in _SPDX:
            gnu = name.upper().startswith(("GPL", "LGPL", "GFDL"))
            found.append(spdx_id(name + (later if gnu else "")))
    return found
