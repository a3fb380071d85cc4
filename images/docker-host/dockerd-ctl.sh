#!/bin/bash
# labharness-dockerd start|stop|restart|status : run the inner dockerd without an init system.
#   dockerd -H unix:///var/run/docker.sock $LABHARNESS_DOCKERD_ARGS (+ args from /run/labharness-dockerd.args)
#   log: /var/log/dockerd.log   pid: /var/run/docker.pid
# Labs that change /etc/docker/daemon.json can use "labharness-dockerd restart".
set -u
PIDF=/var/run/docker.pid
LOG=/var/log/dockerd.log
running() { [ -s $PIDF ] && kill -0 "$(cat $PIDF)" 2>/dev/null; }
# answer SECS PID : wait until `docker info` works; give up early when PID has exited
answer() {
  local i
  for i in $(seq $(( $1 * 20 ))); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
start() {
  running && { echo "dockerd already running (pid $(cat $PIDF))"; return 0; }
  rm -f $PIDF
  local args=()
  [ -s /run/labharness-dockerd.args ] && mapfile -t args < /run/labharness-dockerd.args
  # shellcheck disable=SC2086
  setsid dockerd -H unix:///var/run/docker.sock ${LABHARNESS_DOCKERD_ARGS:-} "${args[@]}" \
    >>$LOG 2>&1 </dev/null &
  answer "${LABHARNESS_READY_TIMEOUT:-60}" $! || { echo "dockerd did not answer; tail of $LOG:" >&2; tail -n 20 $LOG >&2; return 1; }
}
stop() {
  running || return 0
  local pid; pid=$(cat $PIDF)
  kill "$pid"
  for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  # containerd (started by dockerd) goes down with it; wait for it too
  for i in $(seq 100); do pidof containerd >/dev/null || break; sleep 0.1; done
}
case ${1:-} in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "dockerd running (pid $(cat $PIDF))"; else echo "dockerd not running"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
