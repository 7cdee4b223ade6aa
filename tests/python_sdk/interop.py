"""Drives the official LicenseSpring Python SDK (PyPI `licensespring`) against a server, exactly as
an application does, and prints what happened as one JSON line on stdout. Used by
tests/python_sdk.rs; the interpreter is the one scripts/python-sdk-venv.sh prints.

    python interop.py --url http://127.0.0.1:PORT --public-key fixtures/keys/reference-public.pem \
        --api-key K --shared-key S --product TP --license-key L --hardware-id H --hostname N \
        --mode roundtrip

Modes:
  roundtrip       activate_offline_dump -> activate_offline (the SDK verifies license_signature_v2)
                  -> deactivate_offline_dump -> deactivate_offline.
  wrong-file-key  the request file is dumped by a client holding a wrong shared key
                  ("wrong-" + the shared key), then posted by a client holding the right one (so the
                  Authorization header is right and only the file's signatures are wrong).

The output also lists every HTTP exchange the SDK made ("http": path, status, the Content-Type it
sent), observed by wrapping requests.request, which the SDK calls; nothing the SDK sends changes.
Sockets time out after 60 s (the SDK sets no timeout), so a server that hangs fails the run.

Exit status 0 when every SDK call returned; otherwise 1, with {"error": {...}} (and whatever was
done before) on stdout and the traceback on stderr. 2 for bad usage.
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
from licensespring.api.error import ClientError
from licensespring.api.signature import SignatureVerifier


def verifier_for(public_key_pem):
    """The verifier an application pins its server's key with: a subclass with PUBLIC_KEY set.

    It also counts the SDK's calls to verify_license_signature_v2 (after they return, i.e. after
    the signature held), so that the caller can tell the SDK really checked the answer."""

    class PinnedVerifier(SignatureVerifier):
        PUBLIC_KEY = public_key_pem
        v2_verified = 0

        def verify_license_signature_v2(self, message, signature_b64):
            super().verify_license_signature_v2(message, signature_b64)
            type(self).v2_verified += 1

    return PinnedVerifier


def record_exchanges(log):
    """Wraps requests.request (what the SDK's send_request calls) to note each exchange."""
    inner = requests.request

    def request(*args, **kwargs):
        response = inner(*args, **kwargs)
        log.append(
            {
                "path": urlsplit(response.request.url).path,
                "status": response.status_code,
                "content_type_sent": response.request.headers.get("Content-Type"),
            }
        )
        return response

    requests.request = request


def client(args, verifier, shared_key):
    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
        raise SystemExit(f"interop.py: --url must be scheme://host:port, got {args.url!r}")
    # The SDK builds f"{api_protocol}://{api_domain}/api/{api_version}" + "/activate_offline".
    return APIClient(
        api_key=args.api_key,
        shared_key=shared_key,
        api_protocol=url.scheme,
        api_domain=url.netloc,
        signature_verifier=verifier,
    )


def identity(args):
    return dict(
        product=args.product,
        license_key=args.license_key,
        hardware_id=args.hardware_id,
        hostname=args.hostname,
    )


def run(args, out):
    with open(args.public_key, encoding="utf-8") as f:
        verifier = verifier_for(f.read())
    api = client(args, verifier, args.shared_key)

    if args.mode == "wrong-file-key":
        out["file_shared_key"] = "wrong-" + args.shared_key
        dumper = client(args, verifier, out["file_shared_key"])
    else:
        dumper = api

    out["step"] = "activate_offline_dump"
    out["activation_request"] = dumper.activate_offline_dump(**identity(args))
    out["step"] = "activate_offline"
    out["answer"] = api.activate_offline(out["activation_request"])
    out["license_signature_v2_verified"] = verifier.v2_verified
    if verifier.v2_verified != 1:
        raise AssertionError(
            f"the SDK returned the answer but verified license_signature_v2 {verifier.v2_verified} times"
        )

    out["step"] = "deactivate_offline_dump"
    out["deactivation_request"] = api.deactivate_offline_dump(**identity(args))
    out["step"] = "deactivate_offline"
    out["deactivation_answer"] = api.deactivate_offline(out["deactivation_request"])
    del out["step"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--public-key", required=True, help="PEM file of the key the answers must verify with")
    p.add_argument("--api-key", required=True)
    p.add_argument("--shared-key", required=True)
    p.add_argument("--product", required=True)
    p.add_argument("--license-key", required=True)
    p.add_argument("--hardware-id", required=True)
    p.add_argument("--hostname", required=True)
    p.add_argument("--mode", required=True, choices=["roundtrip", "wrong-file-key"])
    args = p.parse_args()

    socket.setdefaulttimeout(60)
    out = {"sdk_version": licensespring.version, "http": []}
    record_exchanges(out["http"])
    try:
        run(args, out)
    except Exception as e:  # any SDK failure: report it and exit non-zero
        error = {"step": out.pop("step", None), "type": type(e).__name__, "text": str(e)}
        if isinstance(e, ClientError):
            error.update(status=e.status, code=e.code, message=e.message)
        out["error"] = error
        print(json.dumps(out))
        traceback.print_exc()
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
