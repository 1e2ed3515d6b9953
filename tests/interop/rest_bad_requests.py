"""Bad requests against a running `floe serve`: each gets the right 4xx with an Iceberg
error body, nothing is committed, and the server keeps serving.

Usage: rest_bad_requests.py URI

Prints {"ok": true, "checked": n, "cases": [...]} or fails with the first mismatch.
"""

from __future__ import annotations

import json
import sys

import requests


def main() -> None:
    uri = sys.argv[1].rstrip("/")
    s = requests.Session()
    cases = []

    def check(name: str, method: str, path: str, status: int, body=None, raw=None, etype=None):
        kwargs = {}
        if raw is not None:
            kwargs["data"] = raw
            kwargs["headers"] = {"Content-Type": "application/json"}
        elif body is not None:
            kwargs["json"] = body
        # Paths are sent exactly as written (percent-encodings preserved).
        req = requests.Request(method, uri + path, **kwargs).prepare()
        req.url = uri + path
        r = s.send(req)
        assert r.status_code == status, f"{name}: {method} {path} -> {r.status_code} {r.text}"
        err = r.json().get("error")
        assert err and err["code"] == status and err["message"] and err["type"], f"{name}: {r.text}"
        if etype:
            assert err["type"] == etype, f"{name}: {r.text}"
        cases.append({"name": name, "status": status, "type": err["type"]})

    schema = {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "id", "type": "long", "required": True}],
    }

    def create(name: str, **extra):
        return {"name": name, "schema": schema, **extra}

    r = s.post(f"{uri}/v1/namespaces", json={"namespace": ["safe"], "properties": {}})
    assert r.status_code == 200, r.text
    r = s.post(f"{uri}/v1/namespaces/safe/tables", json=create("ok"))
    assert r.status_code == 200, r.text
    warehouse_table = r.json()["metadata"]["location"]

    # Path traversal in names: `..`, `/` encoded, backslash, in namespaces and tables.
    check("ns dotdot", "POST", "/v1/namespaces", 400, {"namespace": [".."], "properties": {}}, etype="BadRequestException")
    check("ns slash", "POST", "/v1/namespaces", 400, {"namespace": ["a/../../etc"], "properties": {}})
    check("ns encoded dotdot path", "GET", "/v1/namespaces/%2E%2E", 400)
    check("ns encoded slash path", "GET", "/v1/namespaces/a%2F..%2Fb", 400)
    check("table dotdot", "POST", "/v1/namespaces/safe/tables", 400, create(".."))
    check("table slash", "POST", "/v1/namespaces/safe/tables", 400, create("../../escape"))
    check("table encoded slash", "POST", "/v1/namespaces/safe/tables", 400, create("a/b"))
    check("table backslash", "POST", "/v1/namespaces/safe/tables", 400, create("a\\..\\b"))
    check("load encoded traversal", "GET", "/v1/namespaces/safe/tables/..%2F..%2Fetc", 400)
    check("rename traversal", "POST", "/v1/tables/rename", 400,
          {"source": {"namespace": ["safe"], "name": "ok"},
           "destination": {"namespace": ["safe"], "name": "../x"}})
    check("register traversal name", "POST", "/v1/namespaces/safe/register", 400,
          {"name": "../x", "metadata-location": warehouse_table + "/metadata/x.metadata.json"})

    # Locations outside the warehouse.
    check("location outside", "POST", "/v1/namespaces/safe/tables", 400, create("outside", location="file:///tmp/floe-outside-warehouse"))
    check("location traversal", "POST", "/v1/namespaces/safe/tables", 400, create("outside2", location=warehouse_table + "/../../../../tmp/x"))
    check("set-location outside", "POST", "/v1/namespaces/safe/tables/ok", 400,
          {"requirements": [], "updates": [{"action": "set-location", "location": "file:///tmp/elsewhere"}]})
    check("register outside", "POST", "/v1/namespaces/safe/register", 400,
          {"name": "reg", "metadata-location": "file:///etc/passwd"})
    check("write.data.path outside", "POST", "/v1/namespaces/safe/tables", 400,
          create("outside3", properties={"write.data.path": "file:///tmp/floe-outside"}))

    # Malformed bodies.
    check("malformed json", "POST", "/v1/namespaces/safe/tables", 400, raw="{not json")
    check("unknown update", "POST", "/v1/namespaces/safe/tables/ok", 400,
          {"requirements": [], "updates": [{"action": "frobnicate"}]})
    check("wrong types", "POST", "/v1/namespaces", 400, {"namespace": "flat", "properties": {}})

    # Nothing was committed: the namespace holds only `ok`, unchanged, and no other
    # namespace appeared.
    r = s.get(f"{uri}/v1/namespaces/safe/tables")
    assert r.status_code == 200 and [t["name"] for t in r.json()["identifiers"]] == ["ok"], r.text
    r = s.get(f"{uri}/v1/namespaces")
    assert r.json()["namespaces"] == [["safe"]], r.text
    r = s.get(f"{uri}/v1/namespaces/safe/tables/ok")
    meta = r.json()["metadata"]
    assert meta["location"] == warehouse_table and not meta.get("snapshots"), r.text
    assert "write.data.path" not in meta.get("properties", {}), r.text

    # Still serving.
    assert s.get(f"{uri}/health").status_code == 200
    print(json.dumps({"ok": True, "checked": len(cases), "cases": cases}))


if __name__ == "__main__":
    main()
