#!/bin/sh
# like the official registry image's entrypoint: a config file (or nothing) means "serve"
set -e
case "$1" in
    *.yaml|*.yml) set -- /usr/bin/docker-registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- /usr/bin/docker-registry "$@" ;;
esac
exec "$@"
