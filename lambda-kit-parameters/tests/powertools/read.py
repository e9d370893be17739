"""Reads values with Powertools for AWS Lambda (Python)'s Parameters utility, for
tests/powertools_python.rs to compare with lambda-kit-parameters' reads of the same store.

Reads one JSON request on stdin and prints one JSON answer. The AWS endpoint, region and
credentials come from the environment (AWS_ENDPOINT_URL and the rest), as boto3 reads them.
Binary values are printed as {"bytes": [...]}, since JSON has no bytes.
"""

import json
import sys

from aws_lambda_powertools.utilities import parameters


def printable(value):
    if isinstance(value, bytes):
        return {"bytes": list(value)}
    if isinstance(value, dict):
        return {key: printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [printable(item) for item in value]
    return value


def main() -> None:
    request = json.load(sys.stdin)
    path = request["ssm_path"]
    names = request["ssm_names"]
    table = parameters.DynamoDBProvider(table_name=request["table"])
    table_multiple = parameters.DynamoDBProvider(table_name=request["table_multiple"])
    by_name = parameters.get_parameters_by_name(
        parameters={name: {} for name in names}, raise_on_error=False, max_age=0
    )
    answer = {
        "ssm_path": parameters.get_parameters(path, max_age=0),
        "ssm_path_auto": parameters.get_parameters(path, transform="auto", max_age=0),
        "ssm_path_direct": parameters.get_parameters(path, recursive=False, max_age=0),
        "ssm_by_name": {name: value for name, value in by_name.items() if name != "_errors"},
        "ssm_by_name_failed": sorted(by_name.get("_errors", [])),
        "dynamodb_one": table.get(request["dynamodb_name"], max_age=0),
        "dynamodb_multiple_auto": table_multiple.get_multiple(
            request["dynamodb_partition"], transform="auto", max_age=0
        ),
    }
    print(json.dumps(printable(answer), sort_keys=True))


if __name__ == "__main__":
    main()
