# imagespec corpus: https://github.com/dockersamples/docker-init-demos/blob/750308f5379c11537763d414bef55fafcfdfa4b1/python/sample/Dockerfile
# (MIT License; copied unchanged below this header)
FROM python:3.8-alpine
RUN mkdir /app
ADD . /app
WORKDIR /app
CMD ["python3", "app.py"]
