#!/usr/bin/env bash
# ansible-test sanity on a clean copy of the collection, laid out as
# ansible_collections/netplumb/linux as ansible-test requires.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# Outside the checkout: inside it, git would report the copy as ignored.
base=$(mktemp -d "${TMPDIR:-/tmp}/netplumb-sanity.XXXXXX")
trap 'rm -rf "$base"' EXIT
tree=$base/ansible_collections/netplumb/linux
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tree"
# ansible-test downloads its pip bootstrap from a host we cannot reach.
# The file is named after the pip version ansible-test pins.
pip_version=$(grep -oP "pip='\K[0-9.]+" \
  "$("$root/.venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")
mkdir -p ~/.ansible/test/cache
cp tests/sanity/get_pip_standin.py ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"
cd "$tree"
"$root/.venv/bin/ansible-test" sanity --local --requirements --python 3.11 "$@"
