"""The Python contender of the end-to-end benchmark: the README's hello, as a Python
function run by AWS's runtime interface client (awslambdaric)."""


def handler(event, context):
    name = event.get("name") or "world"
    return {"message": f"Hello, {name}!"}
