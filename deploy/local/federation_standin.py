#!/usr/bin/env python3
"""A local stand-in for the AWS federation endpoint (https://signin.aws.amazon.com/federation),
which is reachable only on the internet: for tests/run and deploy/local/demo. Python stdlib only.

    federation_standin.py [--port N] [--moto URL]

Listens on 127.0.0.1 only (port 0 = any free port) and prints exactly one stdout line
`FEDERATION_URL=http://127.0.0.1:PORT/federation` once listening. It answers as AWS documents
for a custom identity broker ("Enable custom identity broker access to the AWS console"):

  GET /federation?Action=getSigninToken&Session=JSON[&SessionDuration=N]
      200 {"SigninToken": "..."} when Session is a JSON object of exactly the string keys
      sessionId, sessionKey, sessionToken, the session is a temporary one (ASIA...) that moto
      (--moto) knows as an assumed role, and SessionDuration, when present, is a whole number
      of seconds from 900 to 43200; anything else is a 400 with a one-line reason.
  GET /federation?Action=login&Issuer=URL&Destination=URL&SigninToken=T
      200 a small page naming the session and the destination, for a token issued here in the
      last 15 minutes; else 400.
  GET /received   what was asked so far, newest last (at most 1000 entries), as JSON: never the
                  session's key or token themselves, only their SHA-256.
  GET /healthz    200 ok

Requests are bounded (request line 16 KiB, 10 s per connection); the log names paths only,
never query strings (they hold the session).
"""

import argparse
import datetime
import hashlib
import hmac
import html
import json
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_TARGET = 16 * 1024
MAX_RECORDS = 1000
TOKEN_LIFETIME = 15 * 60
SESSION_KEYS = {"sessionId", "sessionKey", "sessionToken"}
ACCESS_KEY = re.compile(r"^ASIA[A-Z0-9]{16}$")

lock = threading.Lock()
records = []
tokens = {}  # SigninToken -> (issued at, session id, caller ARN)


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def record(entry):
    with lock:
        records.append(entry)
        del records[:-MAX_RECORDS]


class Refused(Exception):
    """A request the real endpoint would refuse: 400 with this reason."""


def caller_arn(moto, session):
    """GetCallerIdentity at moto, signed (SigV4) with the session: the ARN moto knows it by."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    url = urllib.parse.urlsplit(moto)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "host": url.netloc,
        "x-amz-date": amz_date,
        "x-amz-security-token": session["sessionToken"],
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        ["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
         hashlib.sha256(body).hexdigest()])
    scope = f"{day}/us-east-1/sts/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(canonical)])
    key = ("AWS4" + session["sessionKey"]).encode()
    for part in (day, "us-east-1", "sts", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={session['sessionId']}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}")
    req = urllib.request.Request(moto.rstrip("/") + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            text = resp.read(64 * 1024).decode(errors="replace")
    except urllib.error.HTTPError as e:
        raise Refused(f"moto refused the session (HTTP {e.code})") from None
    found = re.search(r"<Arn>([^<]+)</Arn>", text)
    if not found:
        raise Refused("moto returned no identity for the session")
    return found.group(1)


def one_each(query, required, optional=()):
    """The query's parameters, each given exactly once, none unknown."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = set(params) - set(required) - set(optional)
    if unknown:
        raise Refused(f"unknown parameters: {', '.join(sorted(unknown))}")
    for name, values in params.items():
        if len(values) != 1:
            raise Refused(f"{name} is given {len(values)} times")
    missing = [n for n in required if n not in params]
    if missing:
        raise Refused(f"missing parameters: {', '.join(missing)}")
    return {k: v[0] for k, v in params.items()}


def get_signin_token(params, moto, entry):
    try:
        session = json.loads(params["Session"])
    except ValueError:
        raise Refused("Session is not JSON") from None
    if not isinstance(session, dict) or set(session) != SESSION_KEYS:
        keys = sorted(session) if isinstance(session, dict) else type(session).__name__
        raise Refused(f"Session must have exactly the keys sessionId, sessionKey, sessionToken; got {keys}")
    if not all(isinstance(v, str) and v for v in session.values()):
        raise Refused("Session values must be non-empty strings")
    entry.update(session_id=session["sessionId"], session_key_sha256=sha256(session["sessionKey"]),
                 session_token_sha256=sha256(session["sessionToken"]))
    if not ACCESS_KEY.match(session["sessionId"]):
        raise Refused("sessionId is not the access key id of temporary credentials (ASIA...)")
    duration = params.get("SessionDuration")
    if duration is not None:
        if not duration.isdigit() or not 900 <= int(duration) <= 43200:
            raise Refused("SessionDuration must be a whole number of seconds from 900 to 43200")
        entry["session_duration"] = int(duration)
    arn = caller_arn(moto, session) if moto else None
    if moto and ":assumed-role/" not in arn:
        raise Refused(f"the session is not one of an assumed role (moto says {arn})")
    entry["caller_arn"] = arn
    token = secrets.token_urlsafe(96)
    with lock:
        now = time.time()
        for old in [t for t, (at, _, _) in tokens.items() if now - at > TOKEN_LIFETIME]:
            del tokens[old]
        tokens[token] = (now, session["sessionId"], arn)
    entry["signin_token"] = token
    return json.dumps({"SigninToken": token})


def login(params, entry):
    token = params["SigninToken"]
    entry.update(issuer=params["Issuer"], destination=params["Destination"], signin_token=token)
    with lock:
        issued = tokens.get(token)
    if issued is None or time.time() - issued[0] > TOKEN_LIFETIME:
        raise Refused("the SigninToken is unknown or older than 15 minutes")
    _, session_id, arn = issued
    entry["session_id"] = session_id
    return (f"<!doctype html><title>AWS console (stand-in)</title>"
            f"<h1>Signed in (federation stand-in)</h1>"
            f"<p>Session {html.escape(arn or session_id)}, issued by {html.escape(params['Issuer'])}.</p>"
            f"<p>The real endpoint would now open <a href=\"{html.escape(params['Destination'])}\">"
            f"{html.escape(params['Destination'])}</a>.</p>")


class Handler(BaseHTTPRequestHandler):
    timeout = 10
    server_version = "federation-standin"
    moto = None

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.address_string()} {self.command} {self.path.split('?')[0]}\n")

    def answer(self, status, body, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if len(self.path) > MAX_TARGET:
            return self.answer(414, json.dumps({"error": "request target too long"}))
        path, _, query = self.path.partition("?")
        if path == "/healthz":
            return self.answer(200, "ok\n", "text/plain")
        if path == "/received":
            with lock:
                return self.answer(200, json.dumps(records))
        if path != "/federation":
            return self.answer(404, json.dumps({"error": "not found"}))
        action = urllib.parse.parse_qs(query).get("Action", [None])[0]
        entry = {"action": action, "at": time.time()}
        try:
            if action == "getSigninToken":
                params = one_each(query, ("Action", "Session"), ("SessionDuration",))
                status, body, kind = 200, get_signin_token(params, self.moto, entry), "application/json"
            elif action == "login":
                params = one_each(query, ("Action", "Issuer", "Destination", "SigninToken"))
                status, body, kind = 200, login(params, entry), "text/html; charset=utf-8"
            else:
                raise Refused("Action must be getSigninToken or login")
        except Refused as e:
            entry["error"] = str(e)
            status, body, kind = 400, json.dumps({"error": str(e)}), "application/json"
        except (OSError, urllib.error.URLError) as e:
            entry["error"] = f"cannot reach moto: {e}"
            status, body, kind = 502, json.dumps({"error": entry["error"]}), "application/json"
        entry["status"] = status
        record(entry)
        self.answer(status, body, kind)

    def refuse_method(self):
        self.answer(405, json.dumps({"error": "only GET is answered"}))

    do_POST = do_PUT = do_DELETE = do_PATCH = refuse_method


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--moto", help="moto's URL: sessions must be assumed roles moto knows")
    args = ap.parse_args()
    Handler.moto = args.moto
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"FEDERATION_URL=http://127.0.0.1:{server.server_address[1]}/federation", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
