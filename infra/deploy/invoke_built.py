"""Runs inside a bare interpreter of the function runtime's version (`python3.12 -I -S`): only the standard library,
then the built function's folder and the built layer, are on sys.path, as in Lambda. Imports the handler and
invokes it with each event given; prints one JSON line of results. Standard library only.

    python3.12 -I -S invoke_built.py '{"code": ".aws-sam/build/SubmitFunction", "layer": ".../CoreLayer/python",
                                       "handler": "app.handler", "events": [...]}'
"""
import importlib
import json
import sys
import traceback
import uuid


class LambdaContext:
    function_name = "built-check"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:built-check"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/built-check"
    log_stream_name = "built-check"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self):
        return 10_000


def main(spec):
    sys.path[:0] = [spec["code"], spec["layer"]]
    module_name, _, attr = spec["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attr)
    except Exception:  # noqa: BLE001 - the report is the point
        return {"imported": False, "error": traceback.format_exc()}
    results = []
    for event in spec.get("events", []):
        try:
            response = handler(event, LambdaContext())
            results.append({"statusCode": response.get("statusCode"), "body": response.get("body")})
        except Exception:  # noqa: BLE001
            results.append({"statusCode": None, "error": traceback.format_exc()})
    foreign = sorted({m.__file__ for m in list(sys.modules.values())
                      if getattr(m, "__file__", None) and "site-packages" in m.__file__})
    return {"imported": True, "callable": callable(handler), "results": results, "site_packages": foreign}


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(json.loads(sys.argv[1]))))
