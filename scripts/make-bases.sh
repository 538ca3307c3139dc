#!/usr/bin/env bash
# Builds the local base images the test suite uses, tagged imagespec-test/…, from
# Debian's archive only: nothing can be pulled on these machines (no Docker Hub).
#
#   scripts/make-bases.sh                 # all of them
#   scripts/make-bases.sh slim golang     # only these (slim is built first if missing)
#   FORCE=1 scripts/make-bases.sh cc      # rebuild (without build cache) even if it exists
#   IMAGESPEC_BASES_JOBS=1 …               # one build at a time (default 2 after slim)
#
# Names: slim golang python node gcc rust jdk python-slim node-slim jre static cc python-distroless
#
# slim   imagespec-test/debian:bookworm-slim: mmdebstrap --variant=minbase with merged /usr,
#        made like the official debian:bookworm-slim (dpkg path filters for docs, man
#        pages and locales, the docker-* apt/dpkg configuration, no apt lists or caches).
#        Loaded with `docker load` from a docker-archive written here, with the config's
#        "created" and every file mtime set to SOURCE_DATE_EPOCH, so that two builds from
#        the same mirror state give the same image ID (`docker import` would stamp the
#        current time).
# golang python node gcc rust jdk python-slim node-slim jre
#        imagespec-test/<name>:bookworm: Debian's toolchains on top of slim, one RUN each.
# static cc python-distroless
#        imagespec-test/<name>:nonroot: shell-less, distroless-style roots assembled from
#        extracted .debs in a multi-stage build (FROM scratch + COPY), user 65532.
#
# Builds use `--network host` (the engine runs without a bridge); containers run with
# `--network none`. Build logs: /var/log/imagespec-make-bases/<name>.log.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
. "$(dirname "$0")/lib.sh"

FORCE=${FORCE:-0}
# How many images build at once after slim.
JOBS=${IMAGESPEC_BASES_JOBS:-2}
# FORCE=1 means fresh packages too, not BuildKit's cached layers.
NO_CACHE=()
[[ $FORCE == 1 ]] && NO_CACHE=(--no-cache)
LOGDIR=/var/log/imagespec-make-bases
ORDER=(slim golang python node gcc rust jdk python-slim node-slim jre static cc python-distroless)
SLIM=imagespec-test/debian:bookworm-slim

declare -A IMAGE=(
  [slim]=$SLIM
  [golang]=imagespec-test/golang:bookworm
  [python]=imagespec-test/python:bookworm
  [node]=imagespec-test/node:bookworm
  [gcc]=imagespec-test/gcc:bookworm
  [rust]=imagespec-test/rust:bookworm
  [jdk]=imagespec-test/jdk:bookworm
  [python-slim]=imagespec-test/python-slim:bookworm
  [node-slim]=imagespec-test/node-slim:bookworm
  [jre]=imagespec-test/jre:bookworm
  [static]=imagespec-test/static:nonroot
  [cc]=imagespec-test/cc:nonroot
  [python-distroless]=imagespec-test/python-distroless:nonroot
)
# Toolchain images: Debian packages installed on top of slim.
declare -A TOOLCHAIN=(
  [golang]="golang-go ca-certificates git"
  [python]="python3 python3-venv python3-pip ca-certificates"
  [node]="nodejs npm ca-certificates"
  [gcc]="gcc libc6-dev make"
  [rust]="rustc cargo"
  [jdk]="openjdk-17-jdk-headless"
  [python-slim]="python3"
  [node-slim]="nodejs"  # the runtime alone: no npm in final images (BP6)
  [jre]="openjdk-17-jre-headless"
)
# Run before the install. openjdk's postinst registers man pages with update-alternatives,
# which fails on a slim base (/usr/share/man/man1 is filtered out), exactly as it does on
# the official debian:bookworm-slim; the official openjdk images create the directory.
declare -A TOOLCHAIN_PREPARE=(
  [jdk]="mkdir -p /usr/share/man/man1"
  [jre]="mkdir -p /usr/share/man/man1"
)
# Sizes we aim for (MB, as `docker image inspect .Size` / 1e6); over it is a warning.
declare -A TARGET_MB=([slim]=80 [static]=3 [cc]=25 [python-distroless]=60)


image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.1f", $1 / 1e6 }'; }

# Runs a logged command; on failure shows the end of its log and stops.
logged() {
  local name=$1
  shift
  if ! "$@" >"$LOGDIR/$name.log" 2>&1; then
    tail -n 60 "$LOGDIR/$name.log" >&2
    imagespec_die "building $name failed (full log: $LOGDIR/$name.log)"
  fi
}

# ---------------------------------------------------------------------------- slim

# The date of the newest apt index this machine has for its release, so that a rebuild
# from the same mirror state gets the same SOURCE_DATE_EPOCH (and so the same image ID).
default_source_date_epoch() {
  local codename newest=0 f d s
  codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")
  for f in /var/lib/apt/lists/*_dists_"${codename}"{,-updates,-security}_InRelease; do
    [[ -r $f ]] || continue
    d=$(sed -n 's/^Date: //p' "$f" | head -n 1)
    [[ -n $d ]] && s=$(date -u -d "$d" +%s 2>/dev/null) && ((s > newest)) && newest=$s
  done
  if ((newest == 0)); then
    imagespec_log "no apt index dates found; SOURCE_DATE_EPOCH = today 00:00 UTC (builds are reproducible within the day)"
    newest=$(date -u -d "$(date -u +%F)" +%s)
  fi
  printf '%s\n' "$newest"
}

write_slim_hooks() {
  local dir=$1
  # dpkg path filters of the official slim variant: mmdebstrap appends this file to the
  # target's /etc/dpkg/dpkg.cfg.d/99mmdebstrap, the customize hook renames it "docker".
  cat >"$dir/dpkg-docker.cfg" <<'EOF'
# The "slim" variant of the Debian base image (imagespec-test/debian:bookworm-slim):
# files that a container rarely needs are kept out, by dpkg itself, on every install.
path-exclude /usr/share/doc/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*

# copyright files stay, for the licences of what ships (BP16)
path-include /usr/share/doc/*/copyright
path-include /usr/share/locale/all_languages
path-include /usr/share/locale/currency/*
path-include /usr/share/locale/l10n/*
path-include /usr/share/locale/languages
path-include /usr/share/locale/locale.alias
EOF

  # mmdebstrap unpacks the Essential set with dpkg-deb before dpkg (and so its filters)
  # is in charge; this sweep removes what the filters would have kept out. Same rule as
  # dpkg: excluded files go, included ones stay, then empty dirs and dangling symlinks.
  cat >"$dir/slim-sweep" <<'EOF'
#!/bin/sh
# Runs inside the chroot, so that symlinks (update-alternatives' man page links through
# /etc/alternatives) resolve against the new root, not the host's.
set -eu
exec chroot "$1" /bin/sh -euc '
for d in /usr/share/doc /usr/share/groff /usr/share/info /usr/share/linda \
         /usr/share/lintian/overrides /usr/share/locale /usr/share/man; do
  [ -d "$d" ] || continue
  find "$d" -depth -mindepth 1 ! -type d ! -type l \
    ! -path "/usr/share/doc/*/copyright" \
    ! -path /usr/share/locale/all_languages \
    ! -path "/usr/share/locale/currency/*" \
    ! -path "/usr/share/locale/l10n/*" \
    ! -path /usr/share/locale/languages \
    ! -path /usr/share/locale/locale.alias -exec rm -f {} +
  while [ -n "$(find "$d" -depth -mindepth 1 \( -empty -o -xtype l \) -print -exec rm -rf {} +)" ]; do :; done
done'
EOF

  # What debuerreotype's minimizing config puts into the official images, so that a
  # Dockerfile behaves on this base as on debian:bookworm-slim.
  cat >"$dir/customize" <<'EOF'
#!/bin/sh
set -eu
root=$1
mv "$root/etc/dpkg/dpkg.cfg.d/99mmdebstrap" "$root/etc/dpkg/dpkg.cfg.d/docker"
chmod 0644 "$root/etc/dpkg/dpkg.cfg.d/docker"

cat >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" <<'CFG'
# Package installs in a container build need no fsync after each file.
force-unsafe-io
CFG

cat >"$root/usr/sbin/policy-rc.d" <<'CFG'
#!/bin/sh
# Services are not started by package installs inside an image build.
exit 101
CFG
chmod 0755 "$root/usr/sbin/policy-rc.d"

cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
# Each "docker build" step is a layer: apt's caches would only make every layer that
# installs packages bigger, so this is "apt-get clean" after each install and update.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };

Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG

cat >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'CFG'
# "apt-get purge --auto-remove" also removes what was kept only because another
# package suggests it.
Apt::AutoRemove::SuggestsImportant "false";
CFG

cat >"$root/etc/apt/apt.conf.d/docker-gzip-indexes" <<'CFG'
# Keep downloaded package lists compressed on disk.
Acquire::GzipIndexes "true";
CFG

cat >"$root/etc/apt/apt.conf.d/docker-no-languages" <<'CFG'
# No translated package descriptions.
Acquire::Languages "none";
CFG
chmod 0644 "$root"/etc/apt/apt.conf.d/docker-*

# host-specific files: the engine provides its own at run time
rm -f "$root/etc/resolv.conf" "$root/etc/hostname" "$root/etc/apt/apt.conf.d/01autoremove-kernels"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/ldconfig/aux-cache
rm -f "$root"/var/log/apt/*.log "$root"/var/lib/dpkg/*-old "$root"/var/cache/debconf/*-old
EOF
  chmod 0755 "$dir/slim-sweep" "$dir/customize"
}

build_slim() {
  local work=$1 mirror security codename sde created arch tarball diff config cfg_id
  mirror=$(imagespec_mirror)
  codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")
  security=$(imagespec_mirror "$codename-security" 2>/dev/null || true)
  sde=${SOURCE_DATE_EPOCH:-$(default_source_date_epoch)}
  created=$(date -u -d "@$sde" +%Y-%m-%dT%H:%M:%SZ)
  arch=$(dpkg --print-architecture)
  write_slim_hooks "$work"
  local -a sources=("deb $mirror $codename main" "deb $mirror $codename-updates main")
  [[ -n $security ]] && sources+=("deb $security $codename-security main")
  imagespec_log "slim: mmdebstrap $codename from $mirror (SOURCE_DATE_EPOCH=$sde, $created)"
  mkdir -p "$work/tmp" "$work/archive"
  tarball=$work/rootfs.tar
  # mmdebstrap clamps every mtime in the tarball to SOURCE_DATE_EPOCH and removes the
  # files that would make it differ between runs (logs, ldconfig cache, machine-id).
  logged slim env SOURCE_DATE_EPOCH="$sde" TMPDIR="$work/tmp" \
    mmdebstrap --variant=minbase --mode=root \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt="$work/dpkg-docker.cfg" \
    --essential-hook="$work/slim-sweep" \
    --customize-hook="$work/slim-sweep" \
    --customize-hook="$work/customize" \
    "$codename" "$tarball" "${sources[@]}"

  # A docker-archive (`docker save` layout) with one layer: the image ID is the digest
  # of the config below, which holds only fixed values and the layer's digest.
  diff=$(sha256sum "$tarball" | cut -d' ' -f1)
  mkdir -p "$work/archive/$diff"
  mv "$tarball" "$work/archive/$diff/layer.tar"
  config=$(printf '{"architecture":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]},"created":"%s","history":[{"created":"%s","created_by":"mmdebstrap --variant=minbase %s (imagespec scripts/make-bases.sh)"},{"created":"%s","created_by":"CMD [\\"bash\\"]","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$created" "$created" "$codename" "$created" "$diff")
  cfg_id=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$work/archive/$cfg_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$cfg_id" "$SLIM" "$diff" >"$work/archive/manifest.json"
  tar -C "$work/archive" -cf - . | docker load >>"$LOGDIR/slim.log"
  imagespec_log "slim: loaded sha256:$cfg_id"
  rm -rf "${work:?}/archive"
}

verify_slim() {
  docker run --rm --network none "$SLIM" bash -euc '
    test -f /etc/apt/apt.conf.d/docker-clean
    test -f /etc/dpkg/dpkg.cfg.d/docker
    test -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e ^lock$ -e ^partial$ || true)"
    test -z "$(find /usr/share/doc -type f ! -name copyright)"
    test ! -e /usr/share/man/man1
    test -z "$(find /usr/share/locale -name "*.mo")"
    test -L /bin && test -L /lib
    ! dpkg-query -W -f="\${Status}" perl 2>/dev/null | grep -q "ok installed"'
}

# ------------------------------------------------------------------------- toolchains

build_toolchain() {
  local name=$1 work=$2
  mkdir -p "$work/$name"
  # One RUN: update, install and list removal in the same layer (BP5, BP11).
  local prepare=""
  [[ -n ${TOOLCHAIN_PREPARE[$name]:-} ]] && prepare="${TOOLCHAIN_PREPARE[$name]} \\
 && "
  cat >"$work/$name/Dockerfile" <<EOF
FROM $SLIM
RUN ${prepare}apt-get update \\
 && apt-get install -y --no-install-recommends ${TOOLCHAIN[$name]} \\
 && rm -rf /var/lib/apt/lists/*
EOF
  logged "$name" docker build --network host --progress=plain "${NO_CACHE[@]}" -t "${IMAGE[$name]}" "$work/$name"
}

verify_toolchain() {
  local name=$1 check
  case $name in
    golang) check='go version && git --version' ;;
    python) check='python3 --version && python3 -m venv /tmp/v && /tmp/v/bin/pip --version' ;;
    node) check='node --version && npm --version' ;;
    gcc) check='printf "int main(void){return 0;}" | gcc -x c -o /tmp/a - && /tmp/a && make --version | head -n1' ;;
    rust) check='rustc --version && cargo --version' ;;
    jdk) check='javac -version && java -version' ;;
    node-slim) check='node --version && ! command -v npm' ;;
    python-slim) check='python3 -c "import json, sqlite3, ssl; print(\"python\", __import__(\"sys\").version.split()[0])"' ;;
    jre) check='java -version && ! command -v javac' ;;
  esac
  docker run --rm --network none "${IMAGE[$name]}" bash -euc "$check" >"$LOGDIR/$name.verify.log" 2>&1 || {
    cat "$LOGDIR/$name.verify.log" >&2
    return 1
  }
}

# -------------------------------------------------------------------- distroless-style

write_distroless_context() {
  local dir=$1
  mkdir -p "$dir"
  # imagespec-mkroot ROOT PKG...: download PKGs, unpack them into ROOT with dpkg-deb -x
  # (no maintainer scripts: nothing in ROOT can run them), record each one under
  # /var/lib/dpkg/status.d/ as distroless does so image scanners see the versions (BP13),
  # and drop docs (but copyright), man pages and locales.
  cat >"$dir/mkroot" <<'EOF'
#!/bin/sh
set -eu
root=$1
shift
mkdir -p "$root/var/lib/dpkg/status.d" /tmp/imagespec-debs
cd /tmp/imagespec-debs
apt-get download "$@"
for deb in ./*.deb; do
  dpkg-deb -x "$deb" "$root"
  dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
done
cd /
rm -rf /tmp/imagespec-debs
if [ -d "$root/usr/share/doc" ]; then
  find "$root/usr/share/doc" -depth -mindepth 1 ! -type d ! -name copyright -exec rm -f {} +
  find "$root/usr/share/doc" -depth -mindepth 1 -type d -empty -delete
fi
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
  "$root/usr/share/lintian" "$root/usr/share/groff" "$root/usr/share/bug"
EOF

  cat >"$dir/Dockerfile" <<EOF
# Distroless-style roots from Debian packages: no shell, no package manager, user 65532.
# The engine's built-in Dockerfile frontend is used (no "# syntax=" image can be pulled).
# The RUN below also does what the maintainer scripts would have done: the CA bundle
# (update-ca-certificates) and OpenSSL's default paths to it (as package openssl links
# them), /etc/localtime (tzdata), the users and their home.
FROM $SLIM AS static-root
COPY mkroot /usr/local/bin/imagespec-mkroot
RUN set -eux; \\
    chmod 0755 /usr/local/bin/imagespec-mkroot; \\
    apt-get update; \\
    imagespec-mkroot /rootfs base-files netbase tzdata ca-certificates; \\
    rm -rf /var/lib/apt/lists/*; \\
    cd /rootfs; \\
    mkdir -p etc/ssl/certs; \\
    find usr/share/ca-certificates -name '*.crt' | LC_ALL=C sort | xargs awk 1 > etc/ssl/certs/ca-certificates.crt; \\
    test "\$(grep -c 'BEGIN CERTIFICATE' etc/ssl/certs/ca-certificates.crt)" -gt 100; \\
    rm -rf usr/share/ca-certificates usr/sbin/update-ca-certificates etc/ca-certificates \\
      usr/share/zoneinfo/right usr/share/zoneinfo/posix; \\
    mkdir -p usr/lib/ssl; \\
    ln -sf /etc/ssl/certs usr/lib/ssl/certs; \\
    ln -sf /etc/ssl/certs/ca-certificates.crt usr/lib/ssl/cert.pem; \\
    ln -sf /usr/share/zoneinfo/Etc/UTC etc/localtime; \\
    echo 'Etc/UTC' > etc/timezone; \\
    printf '%s\\n' 'root:x:0:0:root:/root:/sbin/nologin' \\
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \\
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > etc/passwd; \\
    printf '%s\\n' 'root:x:0:' 'tty:x:5:' 'staff:x:50:' 'nogroup:x:65534:' 'nonroot:x:65532:' > etc/group; \\
    printf '%s\\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' \\
      'networks: files' 'protocols: files' 'services: files' 'ethers: files' 'rpc: files' \\
      > etc/nsswitch.conf; \\
    mkdir -p root home/nonroot tmp var/tmp; \\
    chmod 0700 root home/nonroot; chown 65532:65532 home/nonroot; \\
    chmod 1777 tmp var/tmp; \\
    test ! -e bin/sh && test ! -e usr/bin/sh

FROM static-root AS cc-root
RUN set -eux; \\
    apt-get update; \\
    imagespec-mkroot /rootfs libc6 libgcc-s1 gcc-12-base libstdc++6; \\
    rm -rf /var/lib/apt/lists/*

FROM cc-root AS python-root
# python3.11's runtime and the libraries its extension modules link; each must be
# listed because nothing resolves dependencies here (the closure would pull in perl).
RUN set -eux; \\
    apt-get update; \\
    imagespec-mkroot /rootfs python3.11-minimal libpython3.11-minimal libpython3.11-stdlib \\
      media-types libexpat1 zlib1g libssl3 libffi8 libbz2-1.0 liblzma5 libsqlite3-0 \\
      libuuid1 libncursesw6 libtinfo6 libreadline8 readline-common libcrypt1 libdb5.3 \\
      libnsl2 libtirpc3 libtirpc-common libgssapi-krb5-2 libkrb5-3 libk5crypto3 \\
      libkrb5support0 libkeyutils1 libcom-err2; \\
    rm -rf /var/lib/apt/lists/*; \\
    ln -sf python3.11 /rootfs/usr/bin/python3; \\
    find /rootfs/usr/lib/python3.11 -name '__pycache__' -prune -exec rm -rf {} +; \\
    chroot /rootfs /usr/bin/python3 -c 'import ssl, json, sqlite3, http.server, ctypes, lzma, bz2, zlib, decimal, uuid, hashlib, readline, curses, dbm, zoneinfo; zoneinfo.ZoneInfo("Europe/Paris")'; \\
    find /rootfs/usr/lib/python3.11 -name '__pycache__' -prune -exec rm -rf {} +

FROM scratch AS static
COPY --from=static-root /rootfs/ /
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot

FROM scratch AS cc
COPY --from=cc-root /rootfs/ /
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot

FROM scratch AS python-distroless
COPY --from=python-root /rootfs/ /
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    LANG=C.UTF-8 \\
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
WORKDIR /home/nonroot
CMD ["python3"]
EOF
}

build_distroless() {
  local name=$1 work=$2
  logged "$name" docker build --network host --progress=plain "${NO_CACHE[@]}" --target "$name" \
    -t "${IMAGE[$name]}" "$work/distroless"
}

# The file list of an image, without running anything in it.
image_files() {
  local cid
  cid=$(docker create --network none "$1" /nonexistent)
  docker export "$cid" | tar -tvf - || true
  docker rm "$cid" >/dev/null
}

verify_distroless() {
  local name=$1 files
  files=$(image_files "${IMAGE[$name]}")
  if grep -qE ' (\./)?(usr/)?bin/(sh|bash|dash)( |$)' <<<"$files"; then
    imagespec_log "$name: has a shell"
    return 1
  fi
  grep -qE ' (\./)?etc/ssl/certs/ca-certificates\.crt$' <<<"$files" || { imagespec_log "$name: no CA bundle"; return 1; }
  grep -qE '^drwx------ 65532/65532 .* (\./)?home/nonroot/?$' <<<"$files" || { imagespec_log "$name: /home/nonroot is not 0700 65532"; return 1; }
  grep -qE '^drwxrwxrwt .* (\./)?tmp/?$' <<<"$files" || { imagespec_log "$name: /tmp is not 1777"; return 1; }
  [[ $(docker image inspect -f '{{.Config.User}}' "${IMAGE[$name]}") == 65532:65532 ]] || return 1
  if [[ $name == python-distroless ]]; then
    docker run --rm --network none "${IMAGE[$name]}" \
      python3 -c 'import ssl, json, sqlite3, http.server; print(1)' >"$LOGDIR/$name.verify.log" 2>&1 || {
      cat "$LOGDIR/$name.verify.log" >&2
      return 1
    }
  fi
}

# ------------------------------------------------------------------------------- main

# Builds and checks one image; records its time and status in $work/<name>.result.
build_one() {
  local name=$1 work=$2 old_id t0 t1 took
  imagespec_log "building ${IMAGE[$name]}"
  old_id=$(docker image inspect -f '{{.Id}}' "${IMAGE[$name]}" 2>/dev/null || true)
  t0=$(imagespec_now)
  case $name in
    slim) build_slim "$work" ;;
    static | cc | python-distroless) build_distroless "$name" "$work" ;;
    *) build_toolchain "$name" "$work" ;;
  esac
  t1=$(imagespec_now)
  took=$(imagespec_elapsed "$t0" "$t1")
  case $name in
    slim) verify_slim ;;
    static | cc | python-distroless) verify_distroless "$name" ;;
    *) verify_toolchain "$name" ;;
  esac || imagespec_die "${IMAGE[$name]} was built but fails its check (see above)"
  imagespec_log "${IMAGE[$name]}: $(image_mb "${IMAGE[$name]}") MB, built in $took"
  printf 'built %s\n' "$took" >"$work/$name.result"
  # A forced rebuild with new content leaves our previous image untagged: remove it
  # only if nothing else tags it (plain `rmi ID` fails harmlessly when in use).
  if [[ -n $old_id && $old_id != "$(docker image inspect -f '{{.Id}}' "${IMAGE[$name]}")" ]] &&
    [[ $(docker image inspect -f '{{len .RepoTags}}' "$old_id" 2>/dev/null) == 0 ]]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
}

main() {
  local -a wanted=() order=() todo=() failed=()
  local name work
  if (($# == 0)) || [[ $* == all ]]; then
    wanted=("${ORDER[@]}")
  else
    for name in "$@"; do
      [[ -n ${IMAGE[$name]:-} ]] || imagespec_die "unknown base '$name'; choose from: ${ORDER[*]}"
      wanted+=("$name")
    done
  fi
  # Everything is built FROM slim: build it first if it is missing.
  for name in "${ORDER[@]}"; do
    if [[ $name == slim ]] && ! image_exists "$SLIM"; then
      order+=(slim)
    elif [[ " ${wanted[*]} " == *" $name "* ]] && [[ " ${order[*]} " != *" $name "* ]]; then
      order+=("$name")
    fi
  done

  timeout 15 docker info >/dev/null 2>&1 || imagespec_die "the engine does not answer 'docker info'; run scripts/setup-engine.sh first"
  command -v mmdebstrap >/dev/null || imagespec_die "mmdebstrap is missing; run scripts/setup-engine.sh first"
  mkdir -p "$LOGDIR"
  work=$(mktemp -d /var/tmp/imagespec-bases.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  write_distroless_context "$work/distroless"

  local total0
  total0=$(imagespec_now)
  for name in "${order[@]}"; do
    if [[ $FORCE != 1 ]] && image_exists "${IMAGE[$name]}"; then
      printf 'exists -\n' >"$work/$name.result"
    else
      todo+=("$name")
    fi
  done
  # slim first, alone; then the rest, JOBS at a time: the builds mostly wait on the
  # mirror and on dpkg, so two overlap well on two cores.
  if [[ " ${todo[*]} " == *" slim "* ]]; then
    build_one slim "$work"
  fi
  local -A pid_of=()
  for name in "${todo[@]}"; do
    [[ $name == slim ]] && continue
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
    (build_one "$name" "$work") &
    pid_of[$name]=$!
  done
  for name in "${!pid_of[@]}"; do
    wait "${pid_of[$name]}" || failed+=("$name")
  done

  printf '\n%-44s %-8s %10s %10s\n' IMAGE STATUS 'SIZE (MB)' TIME >&2
  local mb status took
  for name in "${order[@]}"; do
    if [[ -s $work/$name.result ]]; then
      read -r status took <"$work/$name.result"
      mb=$(image_mb "${IMAGE[$name]}")
    else
      status=FAILED took=- mb=-
    fi
    printf '%-44s %-8s %10s %10s\n' "${IMAGE[$name]}" "$status" "$mb" "$took" >&2
    if [[ -n ${TARGET_MB[$name]:-} && $mb != - ]] &&
      awk -v a="$mb" -v b="${TARGET_MB[$name]}" 'BEGIN { exit !(a > b) }'; then
      imagespec_log "WARNING: ${IMAGE[$name]} is $mb MB, over its ${TARGET_MB[$name]} MB target"
    fi
  done
  imagespec_log "done in $(imagespec_elapsed "$total0" "$(imagespec_now)")"
  ((${#failed[@]} == 0)) || imagespec_die "failed: ${failed[*]} (logs in $LOGDIR)"
}

main "$@"
