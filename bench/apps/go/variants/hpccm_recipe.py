# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "go" app (`hpccm --recipe hpccm_recipe.py --format docker`).
# Written as an hpccm user would: a devel stage and a runtime stage (hpccm's multi-stage
# idiom), RUN lines through the shell primitive (with a BuildKit cache mount, which
# hpccm passes through `_arguments`), the entrypoint from runscript. hpccm has no Go
# building block and no user management: the image runs as root.
# Images are the public names of imagespec's default catalog; bench/hpccm_gen.py
# substitutes this machine's local bases when it writes hpccm.Dockerfile.
Stage0 += baseimage(image='golang:1.22-bookworm', _as='build')
Stage0 += copy(src='go.mod', dest='/src/go.mod')
Stage0 += copy(src='cmd', dest='/src/cmd')
Stage0 += shell(_arguments='--mount=type=cache,target=/root/.cache/go-build',
                commands=['cd /src',
                          'CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /usr/local/bin/server ./cmd/server'])

Stage1 += baseimage(image='debian:bookworm-slim')
Stage1 += copy(_from='build', src='/usr/local/bin/server', dest='/usr/local/bin/server')
Stage1 += runscript(commands=['/usr/local/bin/server --listen 127.0.0.1:18081'])
