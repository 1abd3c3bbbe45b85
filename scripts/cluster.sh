#!/usr/bin/env bash
# The scaled-out topology on one machine, processes standing in for hosts: one PostgreSQL (pgserver, or
# DATABASE_URL), N app replicas, M webhook receivers, K workers, nginx in front (sticky sessions for the app,
# websockets proxied, /webhooks/ to the receivers).
#
#   bash scripts/cluster.sh start|stop|status
#
# Settings (environment): FLEET_REPLICAS (2), FLEET_RECEIVERS (1), FLEET_WORKERS (1), FLEET_CLUSTER_PORT (nginx,
# 8080), FLEET_CLUSTER_FIRST_PORT (replicas from there, receivers after them; 8601), FLEET_CLUSTER_DIR (run/cluster:
# pid files, logs, nginx.conf, the local PostgreSQL), FLEET_CLUSTER_MIGRATE (step: `db upgrade` once, then every
# process starts with FLEET_AUTO_MIGRATE=0; each: every process migrates itself at start, under the lock).
# META_APP_SECRET / META_VERIFY_TOKEN and the replicas' shared cookie secret are generated into cluster.env when
# not set. Sign-in: put [auth] in .streamlit/secrets.toml (or the file FLEET_CLUSTER_SECRETS names) with
# redirect_uri on the nginx address; all replicas read the same file, hence the same cookie_secret.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PYTHON="$ROOT/.venv/bin/python"

REPLICAS="${FLEET_REPLICAS:-2}"
RECEIVERS="${FLEET_RECEIVERS:-1}"
WORKERS="${FLEET_WORKERS:-1}"
PROXY_PORT="${FLEET_CLUSTER_PORT:-8080}"
FIRST_PORT="${FLEET_CLUSTER_FIRST_PORT:-8601}"
RUN_DIR="$(mkdir -p "${FLEET_CLUSTER_DIR:-$ROOT/run/cluster}" && cd "${FLEET_CLUSTER_DIR:-$ROOT/run/cluster}" && pwd)"
MIGRATE="${FLEET_CLUSTER_MIGRATE:-step}"
PIDS="$RUN_DIR/pids"
LOGS="$RUN_DIR/logs"
STARTUP_SECONDS="${FLEET_CLUSTER_STARTUP_SECONDS:-120}"

replica_port() { echo $((FIRST_PORT + $1)); }
receiver_port() { echo $((FIRST_PORT + REPLICAS + $1)); }

say() { printf '%s\n' "$*"; }

is_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# A process of the cluster in its own session (so stop can end it and whatever it started), its pid in a file.
launch() {
  local name="$1"
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

database_url() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "$DATABASE_URL"
    return
  fi
  if ! "$PYTHON" -c 'import pgserver' 2>/dev/null; then
    say "No DATABASE_URL and no pgserver: set DATABASE_URL, or install requirements-dev.txt." >&2
    exit 1
  fi
  "$PYTHON" scripts/cluster_postgres.py start "$RUN_DIR/pgdata" 2>>"$LOGS/postgres.log" | tail -n 1
  touch "$RUN_DIR/postgres.started"
}

# Secrets every process of the cluster shares, generated once and kept in the run directory.
cluster_env() {
  if [ ! -f "$RUN_DIR/cluster.env" ]; then
    token() { "$PYTHON" -c 'import secrets; print(secrets.token_hex(32))'; }
    umask 077
    {
      echo "META_APP_SECRET=${META_APP_SECRET:-$(token)}"
      echo "META_VERIFY_TOKEN=${META_VERIFY_TOKEN:-$(token)}"
      echo "STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$(token)}"
    } >"$RUN_DIR/cluster.env"
    umask 022
  fi
  set -a
  # shellcheck disable=SC1091
  . "$RUN_DIR/cluster.env"
  set +a
}

# The site of deploy/nginx/waba-fleet.conf (its shared part and locations), on loopback, with this run's ports.
write_nginx_conf() {
  local app_servers="" receiver_servers="" i
  for ((i = 1; i <= REPLICAS; i++)); do
    app_servers+="    server 127.0.0.1:$(replica_port "$i") max_fails=1 fail_timeout=5s;"$'\n'
  done
  for ((i = 1; i <= RECEIVERS; i++)); do
    receiver_servers+="    server 127.0.0.1:$(receiver_port "$i") max_fails=1 fail_timeout=2s;"$'\n'
  done
  mkdir -p "$RUN_DIR/nginx/tmp"
  chmod 1777 "$RUN_DIR/nginx/tmp" # nginx's workers run as an unprivileged user when started by root
  cat >"$RUN_DIR/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $PIDS/nginx.pid;
error_log $LOGS/nginx-error.log warn;
events { worker_connections 4096; }
http {
  log_format upstream '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent \$request_time '
                      'upstream=\$upstream_addr replica_cookie=\$cookie_fleet_replica';
  access_log $LOGS/nginx-access.log upstream;
  client_body_temp_path $RUN_DIR/nginx/tmp/body;
  proxy_temp_path $RUN_DIR/nginx/tmp/proxy;
  fastcgi_temp_path $RUN_DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $RUN_DIR/nginx/tmp/uwsgi;
  scgi_temp_path $RUN_DIR/nginx/tmp/scgi;
$(section shared)
  upstream fleet_app {
    hash \$fleet_replica consistent;
$app_servers  }
  upstream fleet_webhooks {
$receiver_servers    keepalive 16;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT;
$(section locations)
  }
}
EOF
}

# The lines between "# --- NAME ---" and "# --- end NAME ---" of the production site file.
section() { sed -n "/^ *# --- $1 ---/,/^ *# --- end $1 ---/p" deploy/nginx/waba-fleet.conf | sed '1d;$d'; }

wait_for() {
  local name="$1" url="$2" deadline=$((SECONDS + STARTUP_SECONDS))
  until curl --silent --fail --noproxy '*' --max-time 2 "$url" >/dev/null 2>&1; do
    if ! is_running "$PIDS/$name.pid"; then
      say "$name exited before serving; its log ($LOGS/$name.log) ends:" >&2
      tail -n 20 "$LOGS/$name.log" >&2
      return 1
    fi
    if ((SECONDS > deadline)); then
      say "$name did not answer $url within ${STARTUP_SECONDS}s; see $LOGS/$name.log" >&2
      return 1
    fi
    sleep 0.3
  done
}

wait_for_all() {
  local i
  for ((i = 1; i <= REPLICAS; i++)); do
    wait_for "app-$i" "http://127.0.0.1:$(replica_port "$i")/_stcore/health" || return 1
  done
  for ((i = 1; i <= RECEIVERS; i++)); do
    wait_for "receiver-$i" "http://127.0.0.1:$(receiver_port "$i")/healthz" || return 1
  done
  wait_for nginx "http://127.0.0.1:$PROXY_PORT/_stcore/health"
}

start() {
  mkdir -p "$PIDS" "$LOGS"
  if is_running "$PIDS/nginx.pid"; then
    say "The cluster is already running (bash scripts/cluster.sh status)." >&2
    exit 1
  fi
  cluster_env
  DATABASE_URL="$(database_url)"
  export DATABASE_URL
  echo "$DATABASE_URL" >"$RUN_DIR/database_url"
  if [ "$MIGRATE" = step ]; then
    "$PYTHON" -m core db upgrade
    export FLEET_AUTO_MIGRATE=0
  fi
  local i
  local secrets=()
  [ -z "${FLEET_CLUSTER_SECRETS:-}" ] || secrets=(--secrets.files "$FLEET_CLUSTER_SECRETS")
  for ((i = 1; i <= REPLICAS; i++)); do
    launch "app-$i" "$PYTHON" -m core serve-app --server.address 127.0.0.1 --server.port "$(replica_port "$i")" \
      --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false "${secrets[@]}"
  done
  for ((i = 1; i <= RECEIVERS; i++)); do
    launch "receiver-$i" "$PYTHON" -m core serve-webhooks --host 127.0.0.1 --port "$(receiver_port "$i")"
  done
  for ((i = 1; i <= WORKERS; i++)); do
    launch "worker-$i" "$PYTHON" -m core worker
  done
  write_nginx_conf
  nginx -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -e "$LOGS/nginx-error.log"
  if ! wait_for_all; then
    stop >&2
    exit 1
  fi
  say "Dashboard:  http://127.0.0.1:$PROXY_PORT/  ($REPLICAS replicas, sticky by the fleet_replica cookie)"
  say "Webhooks:   http://127.0.0.1:$PROXY_PORT/webhooks/meta  ($RECEIVERS receivers; secrets in $RUN_DIR/cluster.env)"
  say "Workers:    $WORKERS;  database: $DATABASE_URL"
  say "Logs:       $LOGS;  stop with: bash scripts/cluster.sh stop"
}

# TERM to every process group at once (each ends its work in flight), KILL to what is left after 10 s.
stop_processes() {
  local pid_file pids=()
  for pid_file in "$@"; do
    if is_running "$pid_file"; then
      pids+=("$(cat "$pid_file")")
      kill -TERM -- "-${pids[-1]}" 2>/dev/null || kill -TERM "${pids[-1]}" 2>/dev/null || true
    fi
  done
  local pid alive
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -f "$@"
}

stop() {
  if [ -f "$RUN_DIR/nginx/nginx.conf" ] && is_running "$PIDS/nginx.pid"; then
    nginx -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -e "$LOGS/nginx-error.log" -s quit || true
  fi
  local pid_files=()
  for pid_file in "$PIDS"/*.pid; do
    [ -e "$pid_file" ] && [ "$(basename "$pid_file")" != nginx.pid ] && pid_files+=("$pid_file")
  done
  [ ${#pid_files[@]} -eq 0 ] || stop_processes "${pid_files[@]}"
  for _ in $(seq 1 50); do
    is_running "$PIDS/nginx.pid" || break
    sleep 0.1
  done
  if [ -f "$RUN_DIR/postgres.started" ]; then
    "$PYTHON" scripts/cluster_postgres.py stop "$RUN_DIR/pgdata" 2>>"$LOGS/postgres.log"
    rm -f "$RUN_DIR/postgres.started"
  fi
  say "Stopped the cluster in $RUN_DIR."
}

status() {
  local pid_file name any=1
  if ! compgen -G "$PIDS/*.pid" >/dev/null; then
    say "The cluster is not running (bash scripts/cluster.sh start)."
    return 3
  fi
  for pid_file in "$PIDS"/*.pid; do
    [ -e "$pid_file" ] || continue
    name="$(basename "$pid_file" .pid)"
    if is_running "$pid_file"; then
      say "$name: running (pid $(cat "$pid_file"))"
    else
      say "$name: not running"
      any=0
    fi
  done
  [ -f "$RUN_DIR/postgres.started" ] && say "postgres: $(cat "$RUN_DIR/database_url" 2>/dev/null)"
  [ -e "$PIDS/nginx.pid" ] && say "Dashboard: http://127.0.0.1:$PROXY_PORT/"
  return $((1 - any))
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    say "usage: bash scripts/cluster.sh start|stop|status" >&2
    exit 2
    ;;
esac
