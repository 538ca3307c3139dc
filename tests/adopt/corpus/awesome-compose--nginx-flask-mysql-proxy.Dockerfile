# imagespec corpus: https://github.com/docker/awesome-compose/blob/18f59bdb09ecf520dd5758fbf90dec314baec545/nginx-flask-mysql/proxy/Dockerfile
# (CC0-1.0; copied unchanged below this header)
FROM nginx:1.13-alpine
COPY conf /etc/nginx/conf.d/default.conf