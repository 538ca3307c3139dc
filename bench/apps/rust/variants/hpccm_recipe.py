# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "rust" app (`hpccm --recipe hpccm_recipe.py --format docker`):
# devel stage on the rust image (cargo, offline: no crates), runtime stage on the slim
# base, entrypoint from runscript; root. Public image names, substituted with the local
# bases by bench/hpccm_gen.py.
Stage0 += baseimage(image='rust:1-bookworm', _as='build')
Stage0 += copy(src=['Cargo.toml', 'Cargo.lock'], dest='/src/')
Stage0 += copy(src='src', dest='/src/src')
Stage0 += shell(commands=['cd /src', 'cargo build --release --offline --locked',
                          'install -D -m 0755 target/release/rsvc /usr/local/bin/rsvc'])

Stage1 += baseimage(image='debian:bookworm-slim')
Stage1 += copy(_from='build', src='/usr/local/bin/rsvc', dest='/usr/local/bin/rsvc')
Stage1 += runscript(commands=['/usr/local/bin/rsvc 127.0.0.1:18085'])
