#!/usr/bin/env bash
# Installs (when missing) and starts the servers the idempotency tests use, on 127.0.0.1
# with free ports: a real redis-server (Debian package) and moto's DynamoDB-compatible
# server (PyPI), serving one request at a time. Creates the table the examples use.
# Meant to be sourced by test.sh: it exports the servers' addresses and stops them when
# the sourcing shell exits.
#
#   LAMBDA_KIT_TEST_REDIS_URL     redis://127.0.0.1:PORT
#   LAMBDA_KIT_TEST_DYNAMODB_URL  http://127.0.0.1:PORT
#   LAMBDA_KIT_TEST_TABLE         a table with partition key `id` (Powertools' schema)
#   LAMBDA_KIT_TEST_MOTO_URL      the same moto server, for the SSM and Secrets Manager
#                                 tests of lambda-kit-parameters (moto speaks every service)

if ! command -v redis-server >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check "moto[server]>=5.0"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (up to 30 s) until `$@` succeeds: the server is ready.
wait_until() {
  for _ in $(seq 300); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not come up: $*" >&2
  return 1
}

SERVERS_DIR="$(mktemp -d)"
REDIS_PORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --dir "$SERVERS_DIR" >"$SERVERS_DIR/redis.log" 2>&1 &
REDIS_PID=$!
DYNAMODB_PORT="$(free_port)"
# One request at a time: moto's threaded server applies racing conditional writes
# non-atomically (see the script), which real DynamoDB never does.
python3 "$(dirname "${BASH_SOURCE[0]}")/dynamodb-server.py" 127.0.0.1 "$DYNAMODB_PORT" \
  >"$SERVERS_DIR/moto.log" 2>&1 &
MOTO_PID=$!
stop_servers() {
  kill "$REDIS_PID" "$MOTO_PID" 2>/dev/null || true
  wait "$REDIS_PID" "$MOTO_PID" 2>/dev/null || true
  rm -rf "$SERVERS_DIR"
}
trap stop_servers EXIT

wait_until redis-cli -p "$REDIS_PORT" ping
wait_until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$DYNAMODB_PORT/moto-api/')"

export LAMBDA_KIT_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export LAMBDA_KIT_TEST_DYNAMODB_URL="http://127.0.0.1:$DYNAMODB_PORT"
export LAMBDA_KIT_TEST_MOTO_URL="$LAMBDA_KIT_TEST_DYNAMODB_URL"
export LAMBDA_KIT_TEST_TABLE="idempotency"

# The table, as examples/template.yaml declares it (moto accepts any credentials).
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test python3 - <<PY
import boto3
client = boto3.client("dynamodb", endpoint_url="$LAMBDA_KIT_TEST_DYNAMODB_URL", region_name="us-east-1")
client.create_table(
    TableName="$LAMBDA_KIT_TEST_TABLE",
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    BillingMode="PAY_PER_REQUEST",
)
client.update_time_to_live(
    TableName="$LAMBDA_KIT_TEST_TABLE",
    TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
)
PY
echo "test servers: redis $LAMBDA_KIT_TEST_REDIS_URL, DynamoDB (moto) $LAMBDA_KIT_TEST_DYNAMODB_URL"
