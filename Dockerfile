# catbench as a container: built by the same script as everywhere else, and
# shipped as the single static binary in an otherwise empty image.
#
#   docker build -t catbench .
#   docker run --rm catbench                 # the default comparison
#   docker run --rm catbench load http://host.docker.internal:8080/
FROM swift:6.3-bookworm AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjemalloc-dev libnghttp2-dev libssl-dev libsqlite3-dev git file \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build

FROM scratch
COPY --from=build /src/bin/catbench /catbench
# Results go to ./catbench-results/ under the working directory.
WORKDIR /results
ENTRYPOINT ["/catbench"]
