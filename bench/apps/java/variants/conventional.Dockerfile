# Benchmark variant "conventional": one stage on the JDK image in the style of Docker's
# guides (no Maven here, so javac and jar; nothing to cache), a non-root user with
# UID 10001, exec-form entrypoint.
FROM imagespec-test/jdk:bookworm
WORKDIR /app
COPY src ./src
RUN mkdir -p classes && javac -d classes $(find src -name '*.java') \
 && jar --create --file /app/app.jar --main-class bench.Server -C classes . \
 && rm -rf classes
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser
USER appuser
EXPOSE 18086
ENTRYPOINT ["java", "-jar", "/app/app.jar", "127.0.0.1", "18086"]
