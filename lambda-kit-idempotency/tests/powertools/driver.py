"""Runs Powertools for AWS Lambda (Python) idempotency for the Rust tests in
powertools_python.rs, on the DynamoDB-compatible test server.

One JSON command per line on stdin, one JSON answer per line on stdout:

  {"op": "key", "event": TEXT, "handler": "app.lambda_handler", "key": EXPR, "validation": EXPR}
      -> {"key": "...", "validation": "..."}   what Powertools computes for the event
  {"op": "invoke", "event": TEXT, "handler": ..., "key": ..., "validation": ...,
   "remaining_ms": N, "hold": BOOL}
      -> {"ran": BOOL, "response": ..., "error": null | "<exception class>"}

The event is the text Lambda would deliver; it is read with json.loads, as the Python
runtime reads it. An invoked handler answers {"handled_by": "python", "run": N}. With
"hold", the handler writes {"held": true} once its in-progress record is stored and
reads one more line: "release" lets it return, "crash" ends the process on the spot (an
invocation that died, leaving its record in progress).

Environment: AWS_LAMBDA_FUNCTION_NAME, LAMBDA_KIT_TEST_DYNAMODB_URL, LAMBDA_KIT_TEST_TABLE.
"""

import json
import os
import sys

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)

CLIENT = boto3.client(
    "dynamodb",
    endpoint_url=os.environ["LAMBDA_KIT_TEST_DYNAMODB_URL"],
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
TABLE = os.environ["LAMBDA_KIT_TEST_TABLE"]
RUNS = [0]


class Context:
    """The parts of a Lambda context Powertools reads."""

    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.aws_request_id = "req-python"

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def answer(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def setup(command):
    config = IdempotencyConfig(
        event_key_jmespath=command.get("key") or "",
        payload_validation_jmespath=command.get("validation") or "",
        use_local_cache=False,
    )
    persistence = DynamoDBPersistenceLayer(table_name=TABLE, boto3_client=CLIENT)
    return config, persistence


def key(command):
    config, persistence = setup(command)
    persistence.configure(config, function_name=command["handler"])
    event = json.loads(command["event"])
    return {
        "key": persistence._get_hashed_idempotency_key(event),
        "validation": persistence._get_hashed_payload(event),
    }


def invoke(command):
    config, persistence = setup(command)
    module, _, qualname = command["handler"].rpartition(".")
    ran = [False]

    def handler(event, context):
        ran[0] = True
        if command.get("hold"):
            answer({"held": True})
            if sys.stdin.readline().strip() == "crash":
                os._exit(3)
        RUNS[0] += 1
        return {"handled_by": "python", "run": RUNS[0]}

    handler.__module__ = module
    handler.__qualname__ = qualname
    handler = idempotent(config=config, persistence_store=persistence)(handler)
    event = json.loads(command["event"])
    try:
        response = handler(event, Context(command.get("remaining_ms", 60_000)))
        return {"ran": ran[0], "response": response, "error": None}
    except Exception as error:  # the test reads which one
        return {"ran": ran[0], "response": None, "error": type(error).__name__}


for line in sys.stdin:
    command = json.loads(line)
    answer({"key": key, "invoke": invoke}[command["op"]](command))
