#!/usr/bin/env bash
# Static checks of deploy/docker/Dockerfile that need no Docker engine (the image build itself is
# docker_build_test, skipped where no engine answers): every base image has a release tag, not
# "latest"; one target per service whose binary, port and user agree with the Kubernetes
# manifests (k8s/base/cc-<service>.yaml); the runtime runs as an unprivileged user; the build
# context leaves build outputs, node_modules and .git out.
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dockerfile="$checkout/deploy/docker/Dockerfile"
errors=0
fail() { echo "dockerfile: FAIL $*" >&2; errors=$((errors + 1)); }

# Base images: FROM lines naming an image (not an earlier stage); ARG defaults resolved.
declare -A args stages
while read -r name value; do args[$name]=$value; done < <(sed -n 's/^ARG \([A-Z_]*\)=\(.*\)$/\1 \2/p' "$dockerfile")
while read -r image stage; do
  [[ -n $stage ]] && stages[$stage]=1
  [[ -n ${stages[$image]:-} ]] && continue
  if [[ $image =~ ^\$\{([A-Z_]+)\}$ ]]; then image=${args[${BASH_REMATCH[1]}]:-}; fi
  last=${image##*/}
  if [[ $image != *@sha256:* && ($last != *:* || $last == *:latest) ]]; then
    fail "base image \"$image\" has no release tag"
  fi
done < <(sed -n 's/^FROM \([^ ]*\)\( AS \([a-z]*\)\)\{0,1\}$/\1 \3/p' "$dockerfile")

user=$(sed -n 's/^USER \([0-9]*\):[0-9]*$/\1/p' "$dockerfile" | tail -n 1)
[[ -n $user && $user != 0 ]] || fail "the runtime image must set USER to a non-zero uid"

for service in calls customers surveys knowledge analytics; do
  block=$(awk -v target="$service" '$1 == "FROM" {on = ($NF == target)} on' "$dockerfile")
  [[ -n $block ]] || { fail "no target $service"; continue; }
  grep -q "^COPY --from=build /out/cc-$service /usr/local/bin/cc-$service$" <<<"$block" ||
    fail "target $service does not install cc-$service"
  grep -q "^ENTRYPOINT \[\"/usr/local/bin/cc-$service\"\]$" <<<"$block" ||
    fail "target $service does not run cc-$service"
  port=$(sed -n 's/^EXPOSE \([0-9]*\)$/\1/p' <<<"$block")
  manifest="$checkout/k8s/base/cc-$service.yaml"
  grep -q "containerPort: $port$" "$manifest" || fail "target $service exposes $port, not the manifest's port"
  grep -q "runAsUser: $user$" "$manifest" || fail "the manifest of $service runs as another uid than $user"
  grep -q "image: contactcentre/cc-$service:" "$manifest" || fail "the manifest of $service names another image"
done

for pattern in .git build build-\* .cc-run '\*\*/node_modules'; do
  grep -qx "$pattern" "$checkout/.dockerignore" || fail ".dockerignore does not leave out $pattern"
done

((errors == 0)) || exit 1
echo "dockerfile: base images tagged, five targets agree with k8s/ (ports, uid $user, images), context trimmed"
