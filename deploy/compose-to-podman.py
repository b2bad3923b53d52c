#!/usr/bin/env python3
"""Turns one service of deploy/compose.yaml into the arguments of `podman run`, so the container check
runs the containers exactly as the compose file describes them (no compose tool needed).

usage: compose-to-podman.py -f COMPOSE_FILE [-f OVERRIDE_FILE …] SERVICE --container NAME
                            [--secrets-dir DIR] [--restart POLICY]

Prints one argument per line (NUL-free, none contains a newline): everything after `podman run`,
image and command included. The project's network is `<name>_default` with the service name as
its alias; named volumes are `<name>_<volume>`; a file secret is bind-mounted read-only at
/run/secrets/<secret>, from --secrets-dir when given (else the file the compose file names).
Later files are merged over earlier ones as `docker compose -f A -f B` does for these keys:
mappings merge, `volumes`, `tmpfs`, `cap_drop`, `security_opt` and `secrets` lists add up,
anything else is replaced. --restart replaces the service's restart policy (for a container that
must exit once, such as the check's worker with a wrong token).
Any key it does not translate is an error: a compose file that says more than this script knows
must not pass the check silently.
"""
import argparse
import os
import sys

import yaml

# Keys the translation understands; `build` is served by the image built beforehand.
SERVICE_KEYS = {"image", "build", "secrets", "read_only", "tmpfs", "cap_drop", "security_opt", "command",
                "volumes", "expose", "restart", "depends_on"}
TOP_KEYS = {"name", "services", "volumes", "secrets"}


def fail(message):
    print(f"compose-to-podman: {message}", file=sys.stderr)
    sys.exit(2)


def as_list(value, key):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        fail(f"{key}: expected a list, got {type(value).__name__}")
    return value


LIST_KEYS = {"volumes", "tmpfs", "cap_drop", "security_opt", "secrets"}


def merge(base, over, key=None):
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v, k) if k in base else v
        return out
    if key in LIST_KEYS and isinstance(base, list) and isinstance(over, list):
        return base + [v for v in over if v not in base]
    return over


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-f", dest="files", action="append", required=True, help="compose file (repeatable)")
    ap.add_argument("service")
    ap.add_argument("--container", required=True, help="container name")
    ap.add_argument("--secrets-dir", help="folder holding each file secret under its secret name")
    ap.add_argument("--restart", help="restart policy replacing the service's")
    a = ap.parse_args()
    a.compose = a.files[0]

    doc = None
    for path in a.files:
        try:
            with open(path, encoding="utf-8") as f:
                part = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            fail(f"{path}: {e}")
        if not isinstance(part, dict):
            fail(f"{path}: not a mapping")
        doc = part if doc is None else merge(doc, part)
    unknown = {k for k in doc if not k.startswith("x-")} - TOP_KEYS
    if unknown:
        fail(f"{a.compose}: top-level keys not translated: {sorted(unknown)}")
    project = doc.get("name") or fail(f"{a.compose}: no top-level name")
    services = doc.get("services") or {}
    if a.service not in services:
        fail(f"{a.compose}: no service {a.service!r} (has {sorted(services)})")
    svc = services[a.service]
    unknown = set(svc) - SERVICE_KEYS
    if unknown:
        fail(f"{a.compose}: services.{a.service}: keys not translated: {sorted(unknown)}")

    args = ["--name", a.container, "--network", f"{project}_default", "--network-alias", a.service]
    if svc.get("read_only"):
        args.append("--read-only")
    for t in as_list(svc.get("tmpfs", []), "tmpfs"):
        args += ["--tmpfs", t]
    for c in as_list(svc.get("cap_drop", []), "cap_drop"):
        args += ["--cap-drop", c]
    for s in as_list(svc.get("security_opt", []), "security_opt"):
        args += ["--security-opt", s]
    for p in as_list(svc.get("expose", []), "expose"):
        args += ["--expose", str(p)]
    restart = a.restart or svc.get("restart")
    if restart:
        args += ["--restart", restart]
    declared_volumes = doc.get("volumes") or {}
    for v in as_list(svc.get("volumes", []), "volumes"):
        if not isinstance(v, str) or ":" not in v:
            fail(f"services.{a.service}.volumes: only short NAME:PATH entries are translated, got {v!r}")
        source, rest = v.split(":", 1)
        if source.startswith((".", "/")):
            source = os.path.join(os.path.dirname(os.path.abspath(a.compose)), source)
        elif source in declared_volumes:
            source = f"{project}_{source}"
        else:
            fail(f"services.{a.service}.volumes: {source!r} is not a declared volume")
        args += ["-v", f"{source}:{rest}"]
    declared_secrets = doc.get("secrets") or {}
    for s in as_list(svc.get("secrets", []), "secrets"):
        if not isinstance(s, str):
            fail(f"services.{a.service}.secrets: only short entries (the secret's name) are translated")
        spec = declared_secrets.get(s)
        if not isinstance(spec, dict) or "file" not in spec:
            fail(f"secrets.{s}: only file secrets are translated")
        if a.secrets_dir:
            path = os.path.join(os.path.abspath(a.secrets_dir), s)
        else:
            path = os.path.join(os.path.dirname(os.path.abspath(a.compose)), spec["file"])
        if not os.path.isfile(path):
            fail(f"secret {s}: no file {path}")
        args += ["-v", f"{path}:/run/secrets/{s}:ro"]
    image = svc.get("image") or fail(f"services.{a.service}: no image")
    args.append(image)
    args += [str(c) for c in as_list(svc.get("command", []), "command")]
    for arg in args:
        if "\n" in arg or "\0" in arg:
            fail(f"argument with a newline: {arg!r}")
        print(arg)


if __name__ == "__main__":
    main()
