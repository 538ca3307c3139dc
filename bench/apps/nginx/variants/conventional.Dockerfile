# Benchmark variant "conventional": one stage on the slim base with the apt cache mounts
# of Docker's RUN --mount documentation (keep downloaded packages, /var/cache/apt and
# /var/lib/apt as cache mounts), a non-root user with UID 10001 owning nginx's state
# directory, SIGQUIT as the stop signal (as the official nginx image), exec-form CMD.
FROM imagespec-test/debian:bookworm-slim
RUN rm -f /etc/apt/apt.conf.d/docker-clean \
 && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends nginx
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser \
 && chown appuser /var/lib/nginx
COPY nginx.conf /etc/nginx/nginx.conf
COPY site/ /usr/share/nginx/html/
USER appuser
EXPOSE 18087
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
