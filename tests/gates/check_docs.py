"""ansible-doc renders every plugin and role of the installed collection.

Usage: check_docs.py ANSIBLE_DOC INSTALLED_COLLECTION_DIR

Modules, filters and other plugins are listed from the installed tree (so a
new one is covered when it lands); each must render as text and as JSON,
be read from the installed copy, and, for modules, carry EXAMPLES and
RETURN. Each role must render with ``-t role`` and show its entry point.
"""
import json
import os
import subprocess
import sys

# plugins/<dir> -> ansible-doc type; module_utils, plugin_utils and doc_fragments are not plugins of their own.
TYPES = {"modules": "module", "filter": "filter", "test": "test", "lookup": "lookup",
         "callback": "callback", "connection": "connection", "inventory": "inventory",
         "action": None, "module_utils": None, "plugin_utils": None, "doc_fragments": None}


def ansible_doc(binary, *args):
    proc = subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise SystemExit("ansible-doc %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout


def plugin_names(binary, installed, directory, kind):
    if kind in ("filter", "test"):
        # One file may hold several; ansible-doc lists them by name.
        listing = ansible_doc(binary, "-t", kind, "-l", "netplumb.linux")
        return sorted(line.split()[0] for line in listing.splitlines() if line.startswith("netplumb.linux."))
    path = os.path.join(installed, "plugins", directory)
    return sorted("netplumb.linux." + name[:-3] for name in os.listdir(path)
                  if name.endswith(".py") and not name.startswith("_"))


def main(binary, installed):
    problems, rendered = [], 0
    plugin_dirs = sorted(os.listdir(os.path.join(installed, "plugins")))
    for directory in plugin_dirs:
        if directory not in TYPES:
            problems.append("plugins/%s: no ansible-doc type known for it" % directory)
            continue
        kind = TYPES[directory]
        if kind is None:
            continue
        names = plugin_names(binary, installed, directory, kind)
        if not names:
            continue
        docs = json.loads(ansible_doc(binary, "-t", kind, "--json", *names))
        for name in names:
            doc = docs.get(name) or {}
            body = doc.get("doc") or {}
            if not body.get("short_description"):
                problems.append("%s: no documentation" % name)
            elif not body.get("filename", "").startswith(installed + os.sep):
                problems.append("%s: read from %s, not the installed copy" % (name, body.get("filename")))
            if kind == "module" and not (doc.get("examples") and doc.get("return")):
                problems.append("%s: EXAMPLES or RETURN missing" % name)
        text = ansible_doc(binary, "-t", kind, *names)
        for name in names:
            if name not in text:
                problems.append("%s: not in the rendered text" % name)
        rendered += len(names)
        print("%s: %s" % (kind, " ".join(names)))
    roles = sorted("netplumb.linux." + name for name in os.listdir(os.path.join(installed, "roles")))
    for role in roles:
        text = ansible_doc(binary, "-t", "role", role).replace("*", "")  # no-color bold
        if "ENTRY POINT: main" not in text or installed not in text:
            problems.append("%s: no main entry point rendered from the installed copy" % role)
        rendered += 1
    print("role: " + " ".join(roles))
    if not any(n for n in os.listdir(os.path.join(installed, "plugins", "modules"))):
        problems.append("no modules installed")
    for problem in problems:
        print("FAIL: " + problem, file=sys.stderr)
    print("ansible-doc rendered %d plugins and roles" % rendered)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], os.path.realpath(sys.argv[2])))
