"""Writes the log lines Powertools for AWS Lambda (Python) Logger writes for one
invocation, for tests/logging.rs to compare lambda-kit's Powertools schema with.

Usage: logger.py REQUEST_ID FUNCTION_ARN
Environment: AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
POWERTOOLS_SERVICE_NAME, _X_AMZN_TRACE_ID (as Lambda sets them).

The handler logs "charging" at INFO with order_id=7, "slow card network" at WARNING,
then fails with PaymentDeclined("card declined"), which it logs with logger.exception as
"invocation failed". The lines go to stdout, one JSON object each.
"""

import os
import sys

from aws_lambda_powertools import Logger

logger = Logger()


class PaymentDeclined(Exception):
    pass


class Context:
    """The parts of a Lambda context the Logger reads."""

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = sys.argv[2]
    aws_request_id = sys.argv[1]


@logger.inject_lambda_context
def handler(event, context):
    logger.info("charging", extra={"order_id": 7})
    logger.warning("slow card network")
    try:
        raise PaymentDeclined("card declined")
    except PaymentDeclined:
        logger.exception("invocation failed")


handler({}, Context())
