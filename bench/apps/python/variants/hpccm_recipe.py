# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "python" app (`hpccm --recipe hpccm_recipe.py --format docker`):
# a devel stage builds a virtualenv (pip cache and the proxy CA secret as BuildKit
# mounts through the shell primitive's `_arguments`), the runtime stage on the slim
# Python image gets the venv and the source; entrypoint from runscript; root. hpccm's
# own `pip` building block installs into the system Python with apt's python3-pip,
# which Debian's Python refuses (PEP 668), hence the shell primitive. Public image
# names, substituted with the local bases by bench/hpccm_gen.py.
Stage0 += baseimage(image='python:3.11-slim-bookworm', _as='build')
Stage0 += copy(src='requirements.txt', dest='/src/requirements.txt')
Stage0 += shell(_arguments='--mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=ca-bundle',
                commands=['python3 -m venv /opt/venv',
                          'PIP_CERT=/run/secrets/ca-bundle /opt/venv/bin/pip install -r /src/requirements.txt'])

Stage1 += baseimage(image='python:3.11-slim-bookworm')
Stage1 += copy(_from='build', src='/opt/venv', dest='/opt/venv')
Stage1 += copy(src='app', dest='/app')
Stage1 += environment(variables={'PORT': '18082', 'PYTHONUNBUFFERED': '1'})
Stage1 += runscript(commands=['/opt/venv/bin/python3 /app/server.py'])
