#!/usr/bin/env bash
# Deploys Tolerex for real with podman and checks it from outside, on a machine with only the .NET SDK (and
# root, apt): builds a base image equivalent to mcr.microsoft.com/dotnet/aspnet:10.0 from Debian packages and the
# installed SDK's runtimes (no public registry is needed), serves it from a local registry, builds the leader and
# member images with the SDK's own `dotnet publish -t:PublishContainer` against it, issues identities with
# deploy/kubernetes/make-secret.sh, turns deploy/kubernetes into what `podman kube play` runs
# (deploy/podman/kube-to-podman.py lists every change), plays it, and checks:
#   - SETs and GETs through HaToKuSe on 127.0.0.1:$HATOKUSE_PORT (the first leader node; any node serves);
#   - with a member pod killed, every GET still answers its value;
#   - that member pod restarted on its volume holds as many messages as before;
#   - every leader pod restarted, the group keeps its index: every GET answers its value.
# Cleans up what it made (pods, volumes, images, registry, temporary files) and exits non-zero on any failure.
#
#   sudo scripts/test-deploy.sh            # HATOKUSE_PORT=6666 RESP_PORT=6380 BASE_PORT=27000 KEEP=1 (leave it running)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
HATOKUSE_PORT=${HATOKUSE_PORT:-6666}
RESP_PORT=${RESP_PORT:-6380}
BASE_PORT=${BASE_PORT:-27000}
IDS=${IDS:-40}
py=/usr/bin/python3
work=$(mktemp -d /tmp/tolerex-deploy.XXXXXX)
chmod 755 "$work" # apt downloads as _apt
started=$(date +%s)
registry_pid=
say() { printf '[test-deploy %4ds] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() { say "FAILED: $*"; exit 1; }

cleanup() {
  local rc=$?
  if [[ ${KEEP:-0} == 1 && $rc == 0 ]]; then
    say "KEEP=1: left running; podman kube down $work/podman.yaml, kill $registry_pid"
    exit 0
  fi
  if [[ -f $work/podman.yaml ]]; then
    podman kube down "$work/podman.yaml" >/dev/null 2>&1 || true
    for volume in $(cat "$work/volumes" 2>/dev/null); do podman volume rm -f "$volume" >/dev/null 2>&1 || true; done
  fi
  [[ -n $registry_pid ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null || true
  for image in ${images:-}; do podman rmi -f -i "$image" >/dev/null 2>&1 || true; done
  rm -rf "$work"
  say "done (exit $rc)"
  exit $rc
}
trap cleanup EXIT

# ---- 1. tools: podman (runc, as this machine's cgroups need; catatonit, which kube play builds each pod's
# infra image from and podman only recommends), the registry, PyYAML for the adapter.
[[ $(id -u) == 0 ]] || fail "run as root (podman with host networking, volumes owned by the image's user)"
missing=()
for package in podman runc catatonit docker-registry python3-yaml; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# crun fails here (hybrid cgroups, setrlimit); runc with cgroupfs works.
conf=/etc/containers/containers.conf
want=$'[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"'
if [[ ! -f $conf || "$(cat "$conf")" != "$want" ]]; then
  [[ -f $conf ]] && cp -a "$conf" "$conf.before-tolerex"
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" > "$conf"
fi
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for port in "$HATOKUSE_PORT" "$RESP_PORT"; do
  "$py" -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port))" 2>/dev/null \
    || fail "port $port is taken (set HATOKUSE_PORT or RESP_PORT)"
done

# ---- 2. a local registry (plain HTTP on loopback; the SDK is told so).
registry=127.0.0.1:$(free_port)
mkdir -p "$work/registry"
printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "%s"}\n' "$work/registry" "$registry" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
"$py" - "$registry" <<'EOF' || fail "the registry did not start: $(cat "$work/registry.log")"
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=1); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
export DOTNET_CONTAINER_INSECURE_REGISTRIES=$registry DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
base=$registry/dotnet/aspnet:10.0
images="$base $registry/tolerex/leader:latest $registry/tolerex/member:latest"

# ---- 3. the base image: Debian's C/C++/TLS libraries, CA bundle and time zones, the SDK's ASP.NET Core runtime, and
# the non-root user `app` (1654), as in mcr.microsoft.com/dotnet/aspnet:10.0 (which has no shell either). One
# addition: an empty /data owned by app. podman gives a new volume the owner of the directory it is mounted on, so
# the claims' volumes are writable by the nodes; on Kubernetes the pods' fsGroup does that (kube play has no fsGroup
# and refuses volumes made beforehand).
say "building the base image"
rootfs=$work/rootfs debs=$work/debs
mkdir -p "$rootfs" "$debs"
chown _apt "$debs" 2>/dev/null || true
(cd "$debs" && apt-get download -qq libc6 libgcc-s1 libstdc++6 libssl3 zlib1g ca-certificates tzdata >/dev/null)
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/home/app" "$rootfs/usr/bin" "$rootfs/data"
find "$rootfs/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat > "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
chown 1654:1654 "$rootfs/home/app" "$rootfs/data"
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
version=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -1)
target=$rootfs/usr/share/dotnet
mkdir -p "$target/host/fxr" "$target/shared/Microsoft.NETCore.App" "$target/shared/Microsoft.AspNetCore.App"
cp -a "$dotnet_root/dotnet" "$target/"
cp -a "$dotnet_root/host/fxr/$(ls "$dotnet_root/host/fxr" | sort -V | tail -1)" "$target/host/fxr/"
cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$version" "$target/shared/Microsoft.NETCore.App/"
cp -a "$dotnet_root/shared/Microsoft.AspNetCore.App/$version" "$target/shared/Microsoft.AspNetCore.App/"
ln -sf /usr/share/dotnet/dotnet "$rootfs/usr/bin/dotnet"
# An import keeps the files' owners (a Containerfile COPY would make them root's).
tar -C "$rootfs" --numeric-owner -cf - . | podman import -q \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV APP_UID=1654' \
  --change 'ENV ASPNETCORE_HTTP_PORTS=8080' --change 'ENV DOTNET_RUNNING_IN_CONTAINER=true' \
  --change 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true' --change "ENV DOTNET_VERSION=$version" --change "ENV ASPNET_VERSION=$version" \
  - "$base" >/dev/null
rm -rf "$rootfs"
podman push -q --tls-verify=false "$base"

# ---- 4. the images, by the SDK's container support, exactly as docs/operations.md says (registry and base aside).
for project in Leader Member; do
  say "dotnet publish Tolerex.$project -t:PublishContainer"
  dotnet publish "$root/Tolerex.$project" -c Release -t:PublishContainer \
    -p:ContainerBaseImage="$base" -p:ContainerRegistry="$registry" > "$work/publish-$project.log" 2>&1 \
    || { tail -30 "$work/publish-$project.log"; fail "publishing Tolerex.$project"; }
done
for image in leader member; do
  id=$(podman pull -q --tls-verify=false "$registry/tolerex/$image:latest")
  user=$(podman image inspect --format '{{.Config.User}}' "$id")
  [[ $user == 1654 ]] || fail "tolerex/$image runs as '$user', not 1654"
  # No key or certificate in the image: the app's files hold none (the base image's public CA bundle aside).
  container=$(podman create "$id")
  podman export -o "$work/$image.tar" "$container"
  podman rm -f "$container" >/dev/null
  app_files=$(tar -tf "$work/$image.tar" | grep -c '^\(\./\)\?app/.' || true)
  ((app_files > 10)) || fail "tolerex/$image: no application under /app"
  secrets=$(tar -xOf "$work/$image.tar" --wildcards 'app/*' './app/*' 2>/dev/null | grep -a -c -e 'PRIVATE KEY-----' -e 'BEGIN CERTIFICATE-----' || true)
  rm -f "$work/$image.tar"
  [[ $secrets == 0 ]] || fail "tolerex/$image carries $secrets PEM blocks under /app"
done

# ---- 5. identities, and the cluster as podman runs it.
say "issuing identities (deploy/kubernetes/make-secret.sh)"
TOLEREX_CA_DIR=$work/ca "$root/deploy/kubernetes/make-secret.sh" > "$work/secret.yaml" 2> "$work/secret.log" \
  || { cat "$work/secret.log"; fail "make-secret.sh"; }
"$py" "$root/deploy/podman/kube-to-podman.py" "$root/deploy/kubernetes" "$work/secret.yaml" --registry "$registry" \
  --base-port "$BASE_PORT" --hatokuse-port "$HATOKUSE_PORT" --resp-port "$RESP_PORT" > "$work/podman.yaml" 2> "$work/adapt.log" \
  || { cat "$work/adapt.log"; fail "kube-to-podman.py"; }
grep '^kube-to-podman:' "$work/adapt.log" | sed 's/^/  /'
ports=$(tail -1 "$work/adapt.log")
# The claims' volumes: kube down leaves them, so they are removed at the end (and any left by an earlier run now).
"$py" -c 'import sys, yaml; [print(d["metadata"]["name"]) for d in yaml.safe_load_all(open(sys.argv[1])) if d["kind"] == "PersistentVolumeClaim"]' \
  "$work/podman.yaml" > "$work/volumes"
for volume in $(cat "$work/volumes"); do podman volume rm -f "$volume" >/dev/null 2>&1 || true; done
say "podman kube play"
podman kube play --tls-verify=false "$work/podman.yaml" > "$work/play.log" 2>&1 || { cat "$work/play.log"; fail "podman kube play"; }

# ---- 6. checks, from outside, with deadlines.
check() {
  "$py" - "$HATOKUSE_PORT" "$ports" "$IDS" "$@" <<'EOF'
import json, socket, sys, time, urllib.request
port, ports, ids, action = int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def exchange(lines):
    """Every reply line to the commands in lines, on one connection, without the banner."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PROMPT OFF\r\n" + b"".join(l.encode() + b"\r\n" for l in lines) + b"QUIT\r\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    replies = data.decode(errors="replace").split("\r\n")
    at = next(i for i, r in enumerate(replies) if r.endswith("OK"))  # the banner ends where PROMPT OFF answers
    return replies[at + 1:]

def session(lines):
    """The one-line reply to each command in lines."""
    return exchange(lines)[:len(lines)]

def until(what, seconds, probe):
    deadline, last = time.time() + seconds, None
    while time.time() < deadline:
        try:
            result = probe()
            if result is True:
                return
            last = result
        except (OSError, StopIteration, ValueError) as e:
            last = repr(e)
        time.sleep(0.5)
    print(f"timed out after {seconds} s waiting for {what}; last: {last}"); sys.exit(1)

def all_read(what, seconds):
    until(what, seconds, lambda: (r := session([f"GET {i}" for i in range(1, ids + 1)])) == [f"value-{i}" for i in range(1, ids + 1)] or r)

def members_alive():
    return next(int(l.split("=", 1)[1]) for l in exchange(["STATUS"]) if l.startswith("members_alive="))

def messages(pod):
    text = urllib.request.urlopen(f"http://127.0.0.1:{ports[pod]['metrics']}/metrics", timeout=5).read().decode()
    return int(float(next(l.split()[-1] for l in text.splitlines() if l.startswith("tolerex_member_messages"))))

if action == "members":
    want = int(sys.argv[5])
    until(f"{want} members alive", 120, lambda: (n := members_alive()) >= want or f"members_alive={n}")
elif action == "write":
    until("every SET acknowledged", 180, lambda: (r := session([f"SET {i} value-{i}" for i in range(1, ids + 1)])) == ["OK"] * ids or r)
    all_read("every GET answered", 30)
elif action == "read":
    all_read(f"every GET answered ({sys.argv[5]})", 90)
elif action == "messages":
    until(f"{sys.argv[5]}'s metrics", 90, lambda: messages(sys.argv[5]) >= 0)
    print(messages(sys.argv[5]))
EOF
}
pod_down() { podman pod kill "$1" >/dev/null; }
pod_up() { podman pod start "$1" >/dev/null; }

# Every member registered first: member-1 must take a share of the writes for the checks below.
check members 3 || fail "three members registered with the leader"
say "SET and GET $IDS ids through 127.0.0.1:$HATOKUSE_PORT"
check write || fail "SET/GET through the published port"
held=$(check messages member-1) || fail "member-1's metrics"
((held > 0)) || fail "member-1 holds no message"
say "member-1 holds $held messages; killing its pod"
pod_down member-1
check read "member-1 killed" || fail "GETs with a member pod killed"
say "restarting member-1 on its volume"
pod_up member-1
now=$(check messages member-1) || fail "member-1's metrics after its restart"
[[ $now == "$held" ]] || fail "member-1 held $held messages before its restart and $now after"
say "member-1 holds $now messages after its restart; restarting every leader pod"
for pod in leader-0 leader-1 leader-2; do podman pod stop -t 10 "$pod" >/dev/null; done
for pod in leader-0 leader-1 leader-2; do pod_up "$pod"; done
check read "every leader pod restarted" || fail "GETs after the leader pods restarted (index lost?)"
say "all checks passed"
