# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "node" app (`hpccm --recipe hpccm_recipe.py --format docker`):
# one stage on the Node image (hpccm has no Node building block), `npm ci` through the
# shell primitive with the npm cache and the proxy CA secret as BuildKit mounts
# (`_arguments`), entrypoint from runscript; root. Public image names, substituted with
# the local bases by bench/hpccm_gen.py.
Stage0 += baseimage(image='node:20-bookworm-slim')
Stage0 += copy(src=['package.json', 'package-lock.json'], dest='/app/')
Stage0 += shell(_arguments='--mount=type=cache,target=/root/.npm --mount=type=secret,id=ca-bundle',
                commands=['cd /app',
                          'NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle npm ci --omit=dev --no-audit --no-fund'])
Stage0 += copy(src='server.js', dest='/app/server.js')
Stage0 += environment(variables={'NODE_ENV': 'production', 'PORT': '18083'})
Stage0 += runscript(commands=['node /app/server.js'])
