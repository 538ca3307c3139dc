# Benchmark variant "naive" (see go/variants/naive.Dockerfile for the list of mistakes):
# single stage on the JDK image, `apt-get update` alone, the JDK purged in a later RUN
# after marking the JRE as wanted (BP11: no smaller), shell-form CMD (BP2), root (BP8).
FROM imagespec-test/jdk:bookworm
RUN apt-get update
RUN apt-get install -y curl openjdk-17-jre-headless
WORKDIR /app
COPY . .
RUN mkdir -p classes && javac -d classes $(find src -name '*.java') \
 && jar --create --file app.jar --main-class bench.Server -C classes .
RUN apt-get purge -y openjdk-17-jdk-headless && apt-get autoremove -y
EXPOSE 18086
CMD java -jar app.jar 127.0.0.1 18086
