# Base image for hosts that can pull from a registry: the official Node image plus Debian's
# init packages (tini ships /usr/bin/tini and tini-static), procps for ps, and the programs of
# the opt-in PID 1 rows: python3 (none:python), bash (none:bash; /bin/sh is dash here, none:sh),
# supervisor, s6, runit. policy-rc.d keeps supervisor's and runit's install scripts from
# starting their daemons during the build. /etc/reapbench-pid1-versions lists the versions, as
# the offline base's does (src/images/rootfs.ts).
ARG NODE_IMAGE=node:20-slim
FROM ${NODE_IMAGE}
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini dumb-init catatonit procps \
    python3-minimal bash supervisor s6 runit \
 && rm -f /usr/sbin/policy-rc.d \
 && dpkg-query -W -f '${Package} ${Version}\n' python3-minimal bash dash supervisor s6 runit > /etc/reapbench-pid1-versions \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /results /app && chmod 777 /results
