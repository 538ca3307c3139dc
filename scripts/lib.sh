# shellcheck shell=bash
# Helpers shared by the scripts in scripts/ (sourced, never executed).
#
# Everything a script creates on the machine carries the `imagespec-` prefix: the engine
# and the machine are shared, so we only ever stop or remove what we made ourselves.

imagespec_log() { printf '[%s %s] %s\n' "${0##*/}" "$(date +%H:%M:%S)" "$*" >&2; }
imagespec_die() {
  printf '[%s] ERROR: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# imagespec_mirror [SUITE]: the URI that the machine's own apt sources use for SUITE
# (default: the machine's release, e.g. bookworm; bookworm-security has its own URI),
# from deb822 *.sources first, then one-line *.list files. Never hard-code a host: CI and
# developer machines may point at different mirrors. IMAGESPEC_MIRROR overrides the
# release's URI.
imagespec_mirror() {
  local codename uri="" f
  codename=${1:-$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")}
  if [[ -n ${IMAGESPEC_MIRROR:-} && $codename != *-security ]]; then
    printf '%s\n' "${IMAGESPEC_MIRROR%/}"
    return
  fi
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    uri=$(awk -v cn="$codename" '
      function flush() {
        if (!found && enabled != "no" && types ~ /(^| )deb( |$)/ &&
            (suites " ") ~ (" " cn " ") && uris != "") {
          split(uris, a, " "); print a[1]; found = 1
        }
        types = suites = uris = enabled = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:"   { $1 = ""; types = $0 }
      tolower($1) == "suites:"  { $1 = ""; suites = $0 }
      tolower($1) == "uris:"    { $1 = ""; uris = $0 }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { flush() }' "$f")
    [[ -n $uri ]] && break
  done
  if [[ -z $uri ]]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -r $f ]] || continue
      uri=$(awk -v cn="$codename" '
        $1 == "deb" {
          i = 2
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == cn) { print $i; exit }
        }' "$f")
      [[ -n $uri ]] && break
    done
  fi
  [[ -n $uri ]] || imagespec_die "no 'deb' source for suite '$codename' in /etc/apt/sources.list{,.d/*}; set IMAGESPEC_MIRROR=http://<debian mirror>/debian"
  printf '%s\n' "${uri%/}"
}

# Installs the named Debian packages that are not installed yet (nothing at all when
# every one is): a second run of a script must not touch apt.
IMAGESPEC_APT_UPDATED=${IMAGESPEC_APT_UPDATED:-0}
imagespec_apt_update_once() {
  if [[ $IMAGESPEC_APT_UPDATED != 1 ]]; then
    apt-get update -q
    IMAGESPEC_APT_UPDATED=1
  fi
}
imagespec_install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    imagespec_log "installing from Debian: ${missing[*]}"
    imagespec_apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# .venv with imagespec (and its test tools) installed in editable mode; quick when it is
# already there (pip only checks).
imagespec_venv() {
  if [[ ! -x .venv/bin/python ]]; then
    imagespec_log "creating .venv with $(python3 --version)"
    python3 -m venv .venv
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  # an editable install is not byte-compiled (a wheel install is): without this, and with
  # PYTHONDONTWRITEBYTECODE=1 as on these machines, every CLI start compiles imagespec
  .venv/bin/python -m compileall -q imagespec >/dev/null
}

# Seconds since the epoch with a fraction, and a human "12.3 s" between two such stamps.
# imagespec_download_debs WORK SUITE PKG…: the named packages of SUITE, from the
# machine's own mirror, into WORK/debs, with apt pointed at a temporary source list
# under WORK (the machine's apt state is neither read nor changed). With the dpkg status
# hidden, the suite's version is the candidate even where another one is installed.
imagespec_download_debs() {
  local work=$1 suite=$2 mirror
  shift 2
  # the mirror that serves this machine's own release also serves SUITE
  mirror=$(imagespec_mirror "$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")")
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  # apt downloads as user _apt where it may (else it warns and downloads as root)
  chmod 0755 "$work" && { chown -R _apt "$work/lists" "$work/cache" "$work/debs" 2>/dev/null || true; }
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$mirror" "$suite" >"$work/sources.list"
  local -a apt_opts=(
    -o "Dir::Etc::SourceList=$work/sources.list"
    -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o Dir::State::status=/dev/null
  )
  imagespec_log "fetching $* from $mirror $suite"
  apt-get -q "${apt_opts[@]}" update >&2
  (cd "$work/debs" && apt-get -q "${apt_opts[@]}" download "$@" >&2)
}

imagespec_now() { date +%s.%N; }
imagespec_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }
