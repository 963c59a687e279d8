# Base image for hosts that can pull from a registry: the official Node image plus Debian's
# init packages (tini ships /usr/bin/tini and tini-static), procps for ps.
ARG NODE_IMAGE=node:20-slim
FROM ${NODE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini dumb-init catatonit procps \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /results /app && chmod 777 /results
