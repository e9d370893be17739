#!/usr/bin/env python3
"""Races conditional PutItems, as idempotency acquires do, against a DynamoDB-compatible
server, and counts the trials in which more than one of them won.

Usage: dynamodb-race.py ENDPOINT [TRIALS] [RACERS]

Each trial creates a fresh key and has RACERS threads put it at once with the store's
acquire condition; DynamoDB lets exactly one win. Prints the trials with more than one
winner.
"""

import sys
import threading
import uuid

import boto3
from botocore.config import Config


def main() -> None:
    endpoint = sys.argv[1]
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    racers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    clients = [
        session.client("dynamodb", endpoint_url=endpoint, config=Config(retries={"max_attempts": 0}))
        for _ in range(racers)
    ]
    table = f"race-{uuid.uuid4().hex[:8]}"
    clients[0].create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    doubled = 0
    for _ in range(trials):
        key = uuid.uuid4().hex
        barrier = threading.Barrier(racers)
        wins = []

        def acquire(client) -> None:
            barrier.wait()
            try:
                client.put_item(
                    TableName=table,
                    Item={
                        "id": {"S": key},
                        "status": {"S": "INPROGRESS"},
                        "expiration": {"N": "9999999999"},
                        "in_progress_expiration": {"N": "9999999999000"},
                    },
                    # The DynamoDB store's acquire condition.
                    ConditionExpression="attribute_not_exists(#pk) OR #expiration <= :now "
                    "OR (#status = :in_progress AND attribute_exists(#in_progress_expiration) "
                    "AND #in_progress_expiration <= :now_ms)",
                    ExpressionAttributeNames={
                        "#pk": "id",
                        "#expiration": "expiration",
                        "#status": "status",
                        "#in_progress_expiration": "in_progress_expiration",
                    },
                    ExpressionAttributeValues={
                        ":now": {"N": "1700000000"},
                        ":now_ms": {"N": "1700000000000"},
                        ":in_progress": {"S": "INPROGRESS"},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                wins.append(1)
            except client.exceptions.ConditionalCheckFailedException:
                pass

        threads = [threading.Thread(target=acquire, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        doubled += len(wins) > 1
    print(f"{doubled} of {trials} trials had more than one winner ({racers} racers)")


if __name__ == "__main__":
    main()
