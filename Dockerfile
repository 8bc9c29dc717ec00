# The release image, built by goreleaser's dockers_v2 from the binary it has
# already built: it places each platform's binary at $TARGETPLATFORM/ in the
# build context (linux/amd64/leader-elector, linux/arm64/leader-elector), so
# nothing is compiled here. Build it with `goreleaser release --snapshot`,
# not `docker build .` (the repository root has no such directory).
#
# distroless/static: CA certificates, /etc/passwd with the nonroot user, /tmp,
# and no shell. The binary is static (CGO_ENABLED=0).
FROM gcr.io/distroless/static-debian12:nonroot

ARG TARGETPLATFORM
COPY $TARGETPLATFORM/leader-elector /leader-elector

# nonroot's uid:gid, numeric so runAsNonRoot can verify it without /etc/passwd.
# The image writes nothing outside the status file's directory: run it with
# readOnlyRootFilesystem and mount an emptyDir shared with the app on a
# directory (e.g. /var/run/leader), the status file inside it.
USER 65532:65532

ENTRYPOINT ["/leader-elector"]
CMD ["elect"]
