"""A client test written in Python against `lsconform mock --admin`, as an SDK author would write
one: the official LicenseSpring Python SDK (PyPI `licensespring`) makes the calls, and the double's
admin API (under /__lsconform/, JSON in and out, called with `requests`, the SDK's own HTTP
library) scripts a 503, reads the journal and verifies expectations. Prints what happened as one
JSON line on stdout; tests/double/admin.rs runs it with the interpreter scripts/python-sdk-venv.sh
prints, and checks that line.

    python admin_api.py --url http://127.0.0.1:PORT --public-key fixtures/keys/reference-public.pem \
        --api-key K --shared-key S --product TP --license-key L --hardware-id H

What it does, in order:
  1. expects, through the admin API, two activation requests and one deactivation request for
     this device, and scripts one 503 for this device's next activation request;
  2. activate_offline_dump, then activate_offline: the SDK raises requests.HTTPError for the 503.
     The SDK has no retry of its own here: APIClient.send_request calls raise_for_status() on any
     5xx and resends only after a 4xx oauth_token_expired / oauth_token_malformed (OAuth clients
     only). So the application retries: the same request file (the same request_id) through the
     same SDK call, which now succeeds and verifies license_signature_v2 with the pinned key;
  3. deactivate_offline_dump, deactivate_offline;
  4. reads the journal, verifies the expectations (200), then adds one that cannot hold (it counts
     only the requests that arrive after it is added) and verifies again (409 with the unmet one);
  5. resets the licenses and seats, clears the faults and expectations.

Exit status 0 when every step ran (the output says what each answered; the caller judges it);
1 with {"error": ...} on stdout and the traceback on stderr; 2 for bad usage.
"""

import argparse
import json
import socket
import sys
import traceback
from urllib.parse import urlsplit

import requests

import licensespring
from licensespring.api import APIClient

from interop import verifier_for  # the same pinned verifier as the interop driver, beside this file


class Admin:
    """The double's admin API: every call answers JSON."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/") + "/__lsconform/"

    def call(self, method, call, body=None):
        response = requests.request(method, self.base + call, json=body, timeout=60)
        return {"status": response.status_code, "body": response.json()}


def run(args, out):
    url = urlsplit(args.url)
    with open(args.public_key, encoding="utf-8") as f:
        verifier = verifier_for(f.read())
    api = APIClient(
        api_key=args.api_key,
        shared_key=args.shared_key,
        api_protocol=url.scheme,
        api_domain=url.netloc,
        signature_verifier=verifier,
    )
    admin = Admin(args.url)
    device = dict(product=args.product, license_key=args.license_key, hardware_id=args.hardware_id)

    out["step"] = "set-up"
    out["journal_before"] = admin.call("GET", "journal")
    out["expect_activations"] = admin.call(
        "POST",
        "expectations",
        {"endpoint": "activation", "license_key": args.license_key, "hardware_id": args.hardware_id, "times": 2},
    )
    out["expect_deactivation"] = admin.call(
        "POST", "expectations", {"endpoint": "deactivation", "hardware_id": args.hardware_id, "times": 1}
    )
    out["fault"] = admin.call(
        "POST",
        "faults",
        {"answer": "status", "status": 503, "times": 1, "endpoint": "activation", "hardware_id": args.hardware_id},
    )

    out["step"] = "activate_offline_dump"
    request_file = api.activate_offline_dump(**device)
    out["attempts"] = []
    for _ in range(2):  # the application's retry: at most one more try, with the same file
        out["step"] = "activate_offline"
        try:
            answer = api.activate_offline(request_file)
        except requests.HTTPError as e:
            out["attempts"].append({"error": "HTTPError", "status": e.response.status_code})
            continue
        out["attempts"].append({"answer_hardware_id": answer["hardware_id"], "request_id": answer["request_id"]})
        break
    out["license_signature_v2_verified"] = verifier.v2_verified

    out["step"] = "deactivate_offline"
    out["deactivation_answer"] = api.deactivate_offline(api.deactivate_offline_dump(**device))

    out["step"] = "admin"
    out["faults_after"] = admin.call("GET", "faults")
    out["journal"] = admin.call("GET", "journal")
    out["verify"] = admin.call("POST", "expectations/verify")
    out["expect_too_many"] = admin.call("POST", "expectations", {"endpoint": "activation", "times": {"min": 3}})
    out["verify_unmet"] = admin.call("POST", "expectations/verify")
    out["reset"] = admin.call("POST", "reset")
    out["clear_faults"] = admin.call("DELETE", "faults")
    out["clear_expectations"] = admin.call("DELETE", "expectations")
    out["verify_nothing"] = admin.call("POST", "expectations/verify")
    del out["step"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("url", "public-key", "api-key", "shared-key", "product", "license-key", "hardware-id"):
        p.add_argument("--" + name, required=True)
    args = p.parse_args()

    socket.setdefaulttimeout(60)
    out = {"sdk_version": licensespring.version}
    try:
        run(args, out)
    except Exception as e:  # any failure: report it and exit non-zero
        out["error"] = {"step": out.pop("step", None), "type": type(e).__name__, "text": str(e)}
        print(json.dumps(out))
        traceback.print_exc()
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
