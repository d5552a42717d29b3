#!/bin/bash
# Starts moto's server on https://0.0.0.0:9000 with authentication on: the first three requests (setup.py's
# CreateUser, PutUserPolicy, CreateAccessKey) go unchecked, every later one must carry an access key id moto's IAM
# knows. The key setup.py makes is written to /run/s3/credentials (AWS_ACCESS_KEY_ID=… / AWS_SECRET_ACCESS_KEY=…).
set -euo pipefail
export INITIAL_NO_AUTH_ACTION_COUNT=3
python3 /usr/local/bin/serve.py -H 0.0.0.0 -p 9000 -c /etc/s3/certs/cert.pem -k /etc/s3/certs/key.pem &
server=$!
trap 'kill -TERM "$server"' TERM INT
python3 /usr/local/bin/setup.py
wait "$server"
