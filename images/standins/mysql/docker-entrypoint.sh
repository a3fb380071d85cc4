#!/bin/bash
# Entry point of the mysql stand-in (MariaDB), shaped like the official mysql image's:
# initialise /var/lib/mysql on first start from MYSQL_* variables, then exec the server.
set -euo pipefail
log() { echo "$(date -u +%FT%TZ) [Entrypoint]: $*" >&2; }

# `docker run IMAGE --flag` and compose `command: [--flag, ...]` pass server options
if [ "${1:0:1}" = "-" ]; then set -- mysqld "$@"; fi
[ "$1" = mysqld ] || [ "$1" = mariadbd ] || exec "$@"
shift
args=()
for a in "$@"; do
  case "$a" in
    # MySQL-only options: MariaDB would refuse to start; --loose- makes them a warning
    --default_authentication_plugin=*|--default-authentication-plugin=*) args+=("--loose-${a#--}") ;;
    *) args+=("$a") ;;
  esac
done

file_env() {  # VAR from VAR or VAR_FILE (docker secrets)
  local var=$1 file="${1}_FILE"
  if [ -n "${!file:-}" ]; then export "$var"="$(cat "${!file}")"; fi
}
file_env MYSQL_ROOT_PASSWORD
file_env MYSQL_PASSWORD

DATADIR=/var/lib/mysql
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld "$DATADIR"
if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    log "error: database is uninitialized and password option is not specified"
    log "  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
    exit 1
  fi
  log "Initializing database files (MariaDB stand-in for the mysql image)"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
    --rpm >/dev/null
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket=/run/mysqld/init.sock "${args[@]}" &
  pid=$!
  for i in $(seq 300); do
    mariadb --socket=/run/mysqld/init.sock -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || { log "error: the server died during initialisation"; exit 1; }
    sleep 0.1
  done
  if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    MYSQL_ROOT_PASSWORD=$(head -c 18 /dev/urandom | base64); log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
  fi
  sq() { printf "%s" "$1" | sed "s/'/''/g; s/\\\\/\\\\\\\\/g"; }
  rootpw=$(sq "${MYSQL_ROOT_PASSWORD:-}")
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.user WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rootpw';"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$rootpw';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "${MYSQL_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"; fi
    if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
      echo "CREATE USER '$(sq "$MYSQL_USER")'@'%' IDENTIFIED BY '$(sq "$MYSQL_PASSWORD")';"
      if [ -n "${MYSQL_DATABASE:-}" ]; then echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$(sq "$MYSQL_USER")'@'%';"; fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket=/run/mysqld/init.sock -uroot
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) log "running $f"; . "$f" ;;
      *.sql) log "running $f"; mariadb --socket=/run/mysqld/init.sock -uroot -p"${MYSQL_ROOT_PASSWORD:-}" ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} < "$f" ;;
      *) ;;
    esac
  done
  mariadb --socket=/run/mysqld/init.sock -uroot -p"${MYSQL_ROOT_PASSWORD:-}" -e SHUTDOWN
  wait $pid || true
  log "MySQL init process done. Ready for start up."
fi
exec mariadbd --user=mysql "${args[@]}"
