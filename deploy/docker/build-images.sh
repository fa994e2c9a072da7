#!/usr/bin/env bash
# Builds the five service images from deploy/docker/Dockerfile (the C++ build runs once; each
# image is the shared runtime layer plus one binary):
#
#   deploy/docker/build-images.sh                 contactcentre/cc-<service>:<project version>
#   CC_IMAGE_PREFIX=registry.example.com/cc/ CC_IMAGE_TAG=0.1.0-rc1 deploy/docker/build-images.sh
#
# Needs a Docker engine (docker build). Prints the image names it built, one a line.
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(sed -n 's/^project(contactcentre VERSION \([0-9.]*\).*/\1/p' "$checkout/CMakeLists.txt")
prefix=${CC_IMAGE_PREFIX:-contactcentre/}
tag=${CC_IMAGE_TAG:-$version}
if [[ $tag == latest || -z $tag ]]; then
  echo "build-images: give images a release tag, not \"${tag}\"" >&2
  exit 2
fi
for service in calls customers surveys knowledge analytics; do
  image="${prefix}cc-$service:$tag"
  echo "build-images: $image" >&2
  docker build --file "$checkout/deploy/docker/Dockerfile" --target "$service" --tag "$image" \
    ${CC_DOCKER_BUILD_ARGS:-} "$checkout" >&2
  echo "$image"
done
