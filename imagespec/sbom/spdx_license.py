"""A package's own licence words (package.json ``license``, a wheel's ``License``, a jar's
``Bundle-License``) as an SPDX expression, without guessing.

Role: a value that is an SPDX id, or ids joined by AND/OR/WITH with parentheses, is
kept; a few long names that packaging tools write (Python trove classifiers, "Apache
License 2.0") map to their id; anything else becomes ``LicenseRef-<words>``, so that
unknown stays visibly unknown. Pure. May import: the standard library, its own package.
"""

from __future__ import annotations

import re

from imagespec.sbom.licenses import license_ref

#: SPDX ids that package metadata commonly names (the validators reject an unknown id,
#: so only listed ids pass through as they are).
KNOWN_IDS = frozenset({
    "0BSD", "AFL-2.1", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "Artistic-2.0",
    "BlueOak-1.0.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSD-4-Clause", "BSL-1.0",
    "CC-BY-3.0", "CC-BY-4.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1", "EPL-1.0", "EPL-2.0", "GPL-2.0-only",
    "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "HPND", "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later",
    "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0",
    "MS-PL", "OpenSSL", "PSF-2.0", "Python-2.0", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "UPL-1.0", "WTFPL",
    "X11", "Zlib", "ZPL-2.1",
})
_EXCEPTIONS = frozenset({"Classpath-exception-2.0", "LLVM-exception", "GCC-exception-3.1"})
#: deprecated SPDX ids npm packages still write -> the current ones
_DEPRECATED = {"GPL-2.0": "GPL-2.0-only", "GPL-3.0": "GPL-3.0-only", "LGPL-2.1": "LGPL-2.1-only",
               "LGPL-3.0": "LGPL-3.0-only", "AGPL-3.0": "AGPL-3.0-only", "GPL-2.0+": "GPL-2.0-or-later",
               "GPL-3.0+": "GPL-3.0-or-later", "LGPL-2.1+": "LGPL-2.1-or-later"}
_BY_LOWER = {i.lower(): i for i in KNOWN_IDS} | {k.lower(): v for k, v in _DEPRECATED.items()}
#: long names -> ids (Python trove classifiers' last part, Maven/OSGi habits)
_NAMES = {
    "mit license": "MIT", "the mit license": "MIT", "bsd license": None, "apache software license": None,
    "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0",
    "the apache license, version 2.0": "Apache-2.0", "the apache software license, version 2.0": "Apache-2.0",
    "apache 2.0": "Apache-2.0", "apache-2": "Apache-2.0", "apache 2": "Apache-2.0",
    "isc license (iscl)": "ISC", "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "python software foundation license": "PSF-2.0", "the unlicense (unlicense)": "Unlicense",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only", "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0-only",
    "eclipse public license 2.0": "EPL-2.0", "eclipse public license - v 2.0": "EPL-2.0",
    "zlib/libpng license": "Zlib", "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "universal permissive license (upl)": "UPL-1.0", "blueoak model license 1.0.0": "BlueOak-1.0.0",
}
_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+-]+")
#: a License field longer than this is the licence's text, not its name
_MAX_NAME = 120


def expression(words: str) -> str | None:
    """``words`` as one SPDX expression; None when there are none."""
    text = " ".join(words.split())
    if not text or text.upper() in ("UNKNOWN", "NONE", "UNLICENSED", "SEE LICENSE IN LICENSE", "NOASSERTION"):
        return None
    if text.upper().startswith("SEE LICENSE IN") or len(text) > _MAX_NAME:
        return None  # a file's name or a licence's text: nothing to assert from it
    return _as_expression(text) or _NAMES.get(text.lower()) or license_ref(text)


def classifier(value: str) -> str | None:
    """``License :: OSI Approved :: MIT License`` -> ``MIT``; None when the classifier is
    too vague to name one licence ("BSD License", "Apache Software License")."""
    parts = [p.strip() for p in value.split("::")]
    if len(parts) < 2 or parts[0] != "License":
        return None
    return _NAMES.get(parts[-1].lower())


def _as_expression(text: str) -> str | None:
    """``text`` when it already is an expression of known ids (normalized spelling)."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        return None  # characters an expression cannot hold
    out: list[str] = []
    expect_id = True
    for token in tokens:
        upper = token.upper()
        if token in "()":
            out.append(token)
        elif expect_id and (token in _EXCEPTIONS and out and out[-1] == "WITH"):
            out.append(token)
            expect_id = False
        elif expect_id and token.lower() in _BY_LOWER:
            out.append(_BY_LOWER[token.lower()])
            expect_id = False
        elif not expect_id and upper in ("AND", "OR", "WITH"):
            out.append(upper)
            expect_id = True
        else:
            return None
    if expect_id or out.count("(") != out.count(")"):
        return None
    return " ".join(out).replace("( ", "(").replace(" )", ")")
