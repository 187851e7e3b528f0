"""The Flask side of the interop spec: a small Flask-JWT-Extended 4 app.

Started by spec/interop/flask.spec.ts with /usr/bin/python3. It binds a free
loopback port, prints it on the first line of stdout, and serves until killed.
JWT_SECRET_KEY comes from the environment (the demo's secret), so tokens pass
between the two apps in both directions.
"""
import os
import sys
from datetime import timedelta

from flask import Flask, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
    set_access_cookies,
    set_refresh_cookies,
)
from werkzeug.serving import make_server

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["JWT_SECRET_KEY"]
app.config["JWT_TOKEN_LOCATION"] = ["headers", "cookies"]
app.config["JWT_COOKIE_SECURE"] = False
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=5)
JWTManager(app)

FOREIGN_SECRET = "a-secret-the-node-app-has-never-seen-0123456789"


def seconds_or_none(value):
    return None if value is None else timedelta(seconds=value)


@app.post("/token")
def token():
    """Mints one token as asked: {identity, type, fresh (bool or seconds), expires (seconds), foreign}."""
    body = request.get_json()
    identity = body["identity"]
    fresh = body.get("fresh", False)
    if not isinstance(fresh, bool):
        fresh = timedelta(seconds=fresh)
    expires = seconds_or_none(body.get("expires"))
    original = app.config["JWT_SECRET_KEY"]
    if body.get("foreign"):
        app.config["JWT_SECRET_KEY"] = FOREIGN_SECRET
    try:
        if body.get("type") == "refresh":
            minted = create_refresh_token(identity=identity, expires_delta=expires)
        else:
            minted = create_access_token(identity=identity, fresh=fresh, expires_delta=expires)
    finally:
        app.config["JWT_SECRET_KEY"] = original
    return jsonify(token=minted)


@app.get("/protected")
@jwt_required()
def protected():
    return jsonify(identity=get_jwt_identity(), fresh=get_jwt()["fresh"])


@app.get("/protected-fresh")
@jwt_required(fresh=True)
def protected_fresh():
    return jsonify(identity=get_jwt_identity())


@app.post("/refresh")
@jwt_required(refresh=True)
def refresh():
    return jsonify(access_token=create_access_token(identity=get_jwt_identity()))


@app.post("/cookie/login")
def cookie_login():
    identity = request.get_json()["identity"]
    response = jsonify(login=True)
    set_access_cookies(response, create_access_token(identity=identity, fresh=True))
    set_refresh_cookies(response, create_refresh_token(identity=identity))
    return response


@app.post("/cookie/protected")
@jwt_required(locations=["cookies"])
def cookie_protected():
    return jsonify(identity=get_jwt_identity())


if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, app)
    print(server.server_port, flush=True)
    sys.stdout.flush()
    server.serve_forever()
