# The image every benchmark runs in: a base with node, a POSIX shell and the inits under test
# (tini, dumb-init, catatonit), plus reapbench's in-container programs under /app.
# Built by src/images/build.ts with BASE set to the offline or registry base.
ARG BASE
FROM ${BASE}
COPY app /app
ENV PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production
WORKDIR /app
