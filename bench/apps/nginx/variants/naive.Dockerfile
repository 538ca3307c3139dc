# Benchmark variant "naive": the seed article's own example. `apt-get update` in one RUN
# and `apt-get install -y nginx` in the next (BP5: a cached, stale index), the lists
# left in the image (BP11), shell-form CMD (BP2), root (BP8).
FROM imagespec-test/debian:bookworm-slim
RUN apt-get update
RUN apt-get install -y nginx
COPY nginx.conf /etc/nginx/nginx.conf
COPY site/ /usr/share/nginx/html/
EXPOSE 18087
CMD nginx -g "daemon off;"
