"""The durable examples' scenarios, run against AWS's local durable-execution emulator.

    scenarios.py RUNNER_URL

Starts each scenario's execution, answers the approval callbacks as an approver would
(SendDurableExecutionCallbackSuccess), waits for the execution to end, and checks its
status and result. Exit 0 when every scenario ends as expected.
"""

import json
import sys
import time
import urllib.request
import uuid

import boto3
from botocore.config import Config

ACCOUNT, REGION = "123456789012", "us-west-2"
DEADLINE_SECONDS = 120


def start(runner: str, function: str, event: object) -> str:
    body = {
        "AccountId": ACCOUNT,
        "FunctionName": function,
        "FunctionQualifier": "$LATEST",
        "ExecutionName": f"{function}-{uuid.uuid4().hex[:12]}",
        "ExecutionTimeoutSeconds": 900,
        "ExecutionRetentionPeriodDays": 7,
        "InvocationId": str(uuid.uuid4()),
        "Input": json.dumps(event),
    }
    request = urllib.request.Request(
        f"{runner}/start-durable-execution",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["ExecutionArn"]


def pending_callback(client, arn: str) -> str | None:
    """The id of a callback the execution waits on, if any."""
    history = client.get_durable_execution_history(DurableExecutionArn=arn)
    started = {
        event["CallbackStartedDetails"]["CallbackId"]
        for event in history.get("Events", [])
        if event.get("EventType") == "CallbackStarted"
    }
    ended = {
        event.get("Id")
        for event in history.get("Events", [])
        if event.get("EventType", "").startswith("Callback") and event.get("EventType") != "CallbackStarted"
    }
    return next(iter(started), None) if not ended else None


def run(client, runner: str, function: str, event: object, answer: object | None) -> dict:
    """Runs one execution to its end; answers its callback with `answer`."""
    arn = start(runner, function, event)
    answered = False
    deadline = time.time() + DEADLINE_SECONDS
    while time.time() < deadline:
        execution = client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] in ("SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"):
            return execution
        if answer is not None and not answered:
            callback = pending_callback(client, arn)
            if callback:
                client.send_durable_execution_callback_success(
                    CallbackId=callback, Result=json.dumps(answer).encode()
                )
                answered = True
        time.sleep(0.2)
    raise TimeoutError(f"{function} did not end in {DEADLINE_SECONDS} s")


SCENARIOS = [
    (
        "an order that goes through is shipped",
        "OrderSaga",
        {"id": "o-1", "amount_cents": 4200, "items": ["book"]},
        None,
        {"status": "shipped", "tracking": "tracking-o-1"},
    ),
    (
        "a failed shipment refunds, then releases the stock",
        "OrderSaga",
        {"id": "o-2", "amount_cents": 4200, "items": ["book", "refuse:shipping"]},
        None,
        {
            "status": "cancelled",
            "reason": 'step "ship" failed: Refused: no carrier serves the address',
            "undone": ["refunded payment-o-2", "released reservation-o-2"],
        },
    ),
    (
        "a small expense is approved without asking",
        "HumanApproval",
        {"employee": "ada", "amount_cents": 5000, "approver": "grace"},
        None,
        {"decision": "auto_approved"},
    ),
    (
        "the approver's answer decides",
        "HumanApproval",
        {"employee": "ada", "amount_cents": 90000, "approver": "grace"},
        {"approved": True, "comment": "fine"},
        {"decision": "answered", "approved": True, "comment": "fine"},
    ),
]


def main() -> int:
    runner = sys.argv[1]
    client = boto3.client(
        "lambda",
        endpoint_url=runner,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2}),
    )
    failures = 0
    for title, function, event, answer, expected in SCENARIOS:
        execution = run(client, runner, function, event, answer)
        result = json.loads(execution.get("Result") or "null")
        ok = execution["Status"] == "SUCCEEDED" and result == expected
        failures += not ok
        print(f"{'passed' if ok else 'FAILED'}  {function}: {title}")
        if not ok:
            print(f"        status {execution['Status']}, result {result!r}, error {execution.get('Error')!r}")
    print(f"{len(SCENARIOS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
