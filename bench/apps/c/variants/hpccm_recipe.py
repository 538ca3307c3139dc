# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "c" app (`hpccm --recipe hpccm_recipe.py --format docker`):
# devel stage on the gcc image, runtime stage on the slim base, entrypoint from
# runscript; root (hpccm has no user management). Public image names, substituted with
# the local bases by bench/hpccm_gen.py.
Stage0 += baseimage(image='gcc:12-bookworm', _as='build')
Stage0 += copy(src=['Makefile', 'server.c'], dest='/src/')
Stage0 += shell(commands=['cd /src', 'make cstatus',
                          'install -D -m 0755 cstatus /usr/local/bin/cstatus'])

Stage1 += baseimage(image='debian:bookworm-slim')
Stage1 += copy(_from='build', src='/usr/local/bin/cstatus', dest='/usr/local/bin/cstatus')
Stage1 += environment(variables={'TZ': 'Europe/Paris'})
Stage1 += runscript(commands=['/usr/local/bin/cstatus 127.0.0.1 18084'])
