#!/usr/bin/env bash
# Runs `make e2e-kind` on a machine that cannot pull images (this workplace, its CI): when the
# kind-offline tools sit next to the repository in ../shared/tools, the Docker engine is started,
# the node image is built from sources (cached after the first time) and the docker wrapper that
# works without --privileged goes first on PATH. Anywhere else it is plain `make e2e-kind` with
# the standard node image.
#
#   e2e/run-offline.sh            # from anywhere; extra arguments go to make (e.g. E2E_KEEP=1)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
tools="$root/../shared/tools"
cd "$root"

if [ -x "$tools/kind-offline/build-node-image" ]; then
  "$tools/docker-up" >&2
  begin=$SECONDS
  # Prints the image name on stdout, progress on stderr; a no-op once the image exists.
  image="$("$tools/kind-offline/build-node-image")"
  echo "e2e: node image $image ready after $((SECONDS - begin)) s" >&2
  eval "$("$tools/kind-offline/env")"
  export KIND_NODE_IMAGE="$image"
fi

exec make e2e-kind "$@"
