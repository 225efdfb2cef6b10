#!/usr/bin/env bash
# `make run`: a local DynamoDB that keeps its data in .local/, migrations, tables, and the dev server.
# Ctrl-C stops everything this started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8001}
WEBSOCKET_PORT=${WEBSOCKET_PORT:-8002}
MANAGEMENT_PORT=${MANAGEMENT_PORT:-8003}

# Decide the model backend before any stand-in credentials exist: Bedrock only with real credentials.
if [ -z "${LLM_BACKEND:-}" ]; then
  LLM_BACKEND=$($BIN/python -c 'import boto3; print("bedrock" if boto3.Session().get_credentials() else "offline")')
fi
export LLM_BACKEND
if [ "$LLM_BACKEND" = offline ] && [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
  # The local DynamoDB accepts any credentials; botocore just needs some to sign with.
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
fi
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}
# Sign-up works offline: confirmation and password-reset mail is printed in this terminal.
export EMAIL_URL=${EMAIL_URL:-consolemail://}
export AWS_ENDPOINT_URL_DYNAMODB=${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:$DYNAMODB_PORT}
export AWS_EC2_METADATA_DISABLED=${AWS_EC2_METADATA_DISABLED:-true}

$BIN/python scripts/local_dynamodb.py --port "$DYNAMODB_PORT" --data .local/dynamodb.pickle &
DYNAMODB_PID=$!
GATEWAY_PID=
trap 'kill $DYNAMODB_PID $GATEWAY_PID 2>/dev/null; wait $DYNAMODB_PID $GATEWAY_PID 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 50); do
  (echo > "/dev/tcp/127.0.0.1/$DYNAMODB_PORT") 2>/dev/null && break
  sleep 0.2
done

$BIN/python manage.py migrate --noinput
$BIN/python manage.py ensure_tables

# Streaming: the local stand-in for API Gateway's WebSocket API, running the same handler as Lambda would. The
# page gets WEBSOCKET_URL from GET /api/v1/session; the handler posts frames to the gateway's @connections.
export WEBSOCKET_URL=${WEBSOCKET_URL-ws://127.0.0.1:$WEBSOCKET_PORT/}
# The site's own origins: the socket's $connect admits pages from these (and CORS_ALLOWED_ORIGINS) only.
export DJANGO_CSRF_TRUSTED_ORIGINS=${DJANGO_CSRF_TRUSTED_ORIGINS-http://127.0.0.1:$PORT,http://localhost:$PORT}
export AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI=http://127.0.0.1:$MANAGEMENT_PORT
if [ -n "$WEBSOCKET_URL" ]; then
  $BIN/python manage.py websocket_gateway --port "$WEBSOCKET_PORT" --management-port "$MANAGEMENT_PORT" &
  GATEWAY_PID=$!
fi
cat <<MSG

  Chat:        http://127.0.0.1:$PORT/
  Accounts:    http://127.0.0.1:$PORT/accounts/signup/   ($( [ "$EMAIL_URL" = consolemail:// ] && echo "mail is printed below: open its link to confirm" || echo "mail goes out by EMAIL_URL"))
  Admin:       http://127.0.0.1:$PORT/admin/   (create a login: .venv/bin/python manage.py createsuperuser)
               moderation queue: /admin/security/blockedprompt/ (staff users in the "moderators" group)
  Models:      $LLM_BACKEND$( [ "$LLM_BACKEND" = offline ] && echo " (no AWS credentials found: replies explain how to enable Bedrock)")
  DynamoDB:    $AWS_ENDPOINT_URL_DYNAMODB (data kept in .local/)
  Streaming:   ${WEBSOCKET_URL:-off (WEBSOCKET_URL is empty)}$( [ -n "$WEBSOCKET_URL" ] && echo " (manage.py websocket_gateway; Management API $AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI)")

MSG
$BIN/python manage.py runserver "127.0.0.1:$PORT"
