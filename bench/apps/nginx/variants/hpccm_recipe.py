# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "nginx" app (`hpccm --recipe hpccm_recipe.py --format docker`):
# the `packages` building block (update, install and list removal in one RUN), the
# configuration and site copied; root (hpccm has no user management). The entrypoint is
# a `raw` Docker instruction: runscript splits its command with shlex in non-POSIX mode,
# so `nginx -g "daemon off;"` would reach nginx with the quotes still on. Public image
# names, substituted with the local bases by bench/hpccm_gen.py.
Stage0 += baseimage(image='debian:bookworm-slim')
Stage0 += packages(ospackages=['nginx'])
Stage0 += copy(src='nginx.conf', dest='/etc/nginx/nginx.conf')
Stage0 += copy(src='site', dest='/usr/share/nginx/html')
Stage0 += raw(docker='ENTRYPOINT ["nginx", "-g", "daemon off;"]')
