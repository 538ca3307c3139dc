# ruff: noqa: F821 (hpccm runs a recipe with Stage0, Stage1 and its primitives already defined)
# hpccm recipe for the "java" app (`hpccm --recipe hpccm_recipe.py --format docker`):
# devel stage on the JDK image (javac + jar, no Maven), runtime stage on the JRE image,
# entrypoint from runscript; root. Public image names, substituted with the local bases
# by bench/hpccm_gen.py.
Stage0 += baseimage(image='eclipse-temurin:17-jdk', _as='build')
Stage0 += copy(src='src', dest='/src/src')
Stage0 += shell(commands=['cd /src', 'mkdir -p classes',
                          "javac -d classes $(find src -name '*.java')",
                          'jar --create --file /opt/app.jar --main-class bench.Server -C classes .'])

Stage1 += baseimage(image='eclipse-temurin:17-jre')
Stage1 += copy(_from='build', src='/opt/app.jar', dest='/opt/app.jar')
Stage1 += runscript(commands=['java -jar /opt/app.jar 127.0.0.1 18086'])
