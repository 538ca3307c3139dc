# Benchmark variant "naive" (see go/variants/naive.Dockerfile for the list of mistakes):
# single stage, `apt-get update` alone, build-essential "to be safe", build packages
# purged in a later RUN (BP11), shell-form CMD (BP2), root (BP8).
FROM imagespec-test/gcc:bookworm
RUN apt-get update
RUN apt-get install -y build-essential
WORKDIR /app
COPY . .
RUN make
RUN apt-get purge -y build-essential gcc make && apt-get autoremove -y
EXPOSE 18084
ENV TZ=Europe/Paris
CMD ./cstatus 127.0.0.1 18084
