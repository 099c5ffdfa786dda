#!/usr/bin/env bash
# Issues the cluster's identities with the project's own certificate code (Tolerex.Leader issue-certificates)
# and prints the Secret `tolerex-tls` holding them:
#
#   deploy/kubernetes/make-secret.sh | kubectl apply -f -
#
# The CA's key stays in $TOLEREX_CA_DIR (default ~/.config/tolerex/kubernetes-ca), never in the Secret or the
# repository: keep it, and run this again to renew certificates or to add members (MEMBERS=5 …).
# LEADERS (3), MEMBERS (3) and NAMESPACE (tolerex) must match the manifests.
set -euo pipefail

leaders=${LEADERS:-3}
members=${MEMBERS:-3}
namespace=${NAMESPACE:-tolerex}
ca_dir=${TOLEREX_CA_DIR:-$HOME/.config/tolerex/kubernetes-ca}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The names a node's peers dial: its stable name under its headless Service, short and qualified.
names() { echo "$1.$2" "$1.$2.$namespace.svc" "$1.$2.$namespace.svc.cluster.local"; }

leader_hosts=(tolerex "tolerex.$namespace.svc" "tolerex.$namespace.svc.cluster.local")
for ((i = 0; i < leaders; i++)); do
  read -ra hosts <<< "$(names "leader-$i" leaders)"
  leader_hosts+=("${hosts[@]}")
done
member_args=()
for ((i = 0; i < members; i++)); do
  member_args+=(--member "member-$i=$(names "member-$i" members | tr ' ' ',')")
done

dotnet run --project "$root/Tolerex.Leader" -c Release -- issue-certificates \
  --ca-dir "$ca_dir" --out "$out" --leader "${leader_hosts[@]}" "${member_args[@]}" --client client >&2

printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: tolerex-tls\n  namespace: %s\ntype: Opaque\ndata:\n' "$namespace"
for file in "$out"/*; do
  printf '  %s: %s\n' "$(basename "$file")" "$(base64 -w0 < "$file")"
done
