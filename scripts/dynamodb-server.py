#!/usr/bin/env python3
"""moto's DynamoDB-compatible server, answering one request at a time.

`python -m moto.server` serves each request on its own thread, and moto's DynamoDB
backend checks a write's condition and stores the item in separate Python steps, with no
lock between them: a thread switch between the two lets two racing conditional PutItems
(the idempotency store's acquire) both win, which real DynamoDB never allows. A CI run
saw it as two charges in `processes_on_dynamodb_charge_once`. Served one request at a
time, every write is atomic, as DynamoDB's are, and the cross-process idempotency tests
test lambda-kit rather than moto's threading. `scripts/dynamodb-race.py` races acquires
against either server.

Usage: dynamodb-server.py HOST PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    # threaded=False: one request at a time (werkzeug then also closes each connection
    # after its answer, which the AWS SDK handles).
    run_simple(host, port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
