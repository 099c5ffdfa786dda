#!/usr/bin/env python3
"""Turns deploy/kubernetes (the kustomization's resources) into YAML that `podman kube play` (4.3) runs on one
machine, changing only what podman's subset or a single host requires. Every change is listed on stderr:

- StatefulSets become one Pod per replica (`leader-0`, ...), each volume claim template a PersistentVolumeClaim
  per pod (`data-leader-0`, as Kubernetes names them): kube play knows Pods, Deployments and claims only.
- Services, PodDisruptionBudgets and the Namespace are dropped: there is no cluster network or scheduler. Pods
  use the host's network on 127.0.0.1, so every pod gets its own ports (from --base-port; the first leader
  keeps HaToKuSe on --hatokuse-port and RESP on --resp-port), and the stable names a Service gives (`leader-0.leaders:5555`) become
  127.0.0.1 and that pod's port.
- `$(POD_NAME)` (the downward API) is replaced by the pod's name.
- The Secret's files are given to each node as PEM text in its Tolerex__Tls__* variables (the nodes take PEM text
  as well as paths) instead of a mounted secret volume.
- Probes are dropped: kube play 4.3 turns an httpGet probe into a `curl` run inside the container (the images
  have no shell or curl) on a systemd timer, and ignores readiness; the test checks the nodes from outside.
- Images get --registry in front of their name and the kustomization's tag.

usage: kube-to-podman.py <deploy/kubernetes> <secret.yaml> --registry 127.0.0.1:5000 [--base-port 27000] [--hatokuse-port 6666] [--resp-port 6380] > podman.yaml
Prints the ports chosen as JSON on the last stderr line: {"leader-0": {"hatokuse": 6666, "resp": 6380, "grpc": ..., "metrics": ...}, ...}
"""
import argparse
import base64
import copy
import json
import os
import re
import sys

import yaml

# Settings that carry each role's ports, and the port a Service name stands for.
ROLE_PORTS = {
    "leader": {"hatokuse": "Tolerex__Leader__TcpPort", "resp": "Tolerex__Leader__RespPort", "grpc": "Tolerex__Leader__GrpcPort", "metrics": "Tolerex__Leader__MetricsPort"},
    "member": {"grpc": "Tolerex__Member__Port", "metrics": "Tolerex__Member__MetricsPort"},
}
TLS_FILES = {"Tolerex__Tls__CaCertificate", "Tolerex__Tls__Certificate", "Tolerex__Tls__Key"}


def note(text):
    print(f"kube-to-podman: {text}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kustomization_dir")
    parser.add_argument("secret")
    parser.add_argument("--registry", required=True)
    parser.add_argument("--base-port", type=int, default=27000)
    parser.add_argument("--hatokuse-port", type=int, default=6666)
    parser.add_argument("--resp-port", type=int, default=6380)
    args = parser.parse_args()

    with open(os.path.join(args.kustomization_dir, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    tags = {i["name"]: i.get("newTag", "latest") for i in kustomization.get("images", [])}
    documents = []
    for resource in kustomization["resources"]:
        with open(os.path.join(args.kustomization_dir, resource)) as f:
            documents += [d for d in yaml.safe_load_all(f) if d]
    with open(args.secret) as f:
        secret = yaml.safe_load(f)
    files = {name: base64.b64decode(value).decode() for name, value in secret["data"].items()}

    # Ports first: every pod's, so that names of other pods can be rewritten.
    ports, next_port = {}, args.base_port
    sets = [d for d in documents if d["kind"] == "StatefulSet"]
    for s in sets:
        role = s["spec"]["template"]["spec"]["containers"][0]["name"]
        for i in range(s["spec"].get("replicas", 1)):
            pod = f"{s['metadata']['name']}-{i}"
            ports[pod] = {}
            for kind in ROLE_PORTS[role]:
                if kind == "hatokuse" and not any("hatokuse" in p for p in ports.values()):
                    ports[pod][kind] = args.hatokuse_port
                elif kind == "resp" and not any("resp" in p for p in ports.values()):
                    ports[pod][kind] = args.resp_port
                else:
                    ports[pod][kind] = next_port
                    next_port += 1

    def rewrite(value, pod):
        value = value.replace("$(POD_NAME)", pod)
        # <pod>.<service>:<port> -> 127.0.0.1:<that pod's gRPC port>
        return re.sub(r"\b([a-z]+-\d+)\.[a-z]+(?:\.[a-z0-9.]+)?:\d+", lambda m: f"127.0.0.1:{ports[m.group(1)]['grpc']}", value)

    out = []
    for d in documents:
        if d["kind"] != "StatefulSet":
            note(f"dropped {d['kind']} {d['metadata']['name']} (no cluster network or scheduler here)")
            continue
        template = d["spec"]["template"]
        for i in range(d["spec"].get("replicas", 1)):
            pod_name = f"{d['metadata']['name']}-{i}"
            spec = copy.deepcopy(template["spec"])
            spec["hostNetwork"] = True
            spec["restartPolicy"] = "Always"
            volumes = [v for v in spec.get("volumes", []) if "secret" not in v]
            for claim in d["spec"].get("volumeClaimTemplates", []):
                claim_name = f"{claim['metadata']['name']}-{pod_name}"
                out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim_name}, "spec": copy.deepcopy(claim["spec"])})
                volumes.append({"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
            spec["volumes"] = volumes
            for c in spec["containers"]:
                role = c["name"]
                repository = c["image"]
                c["image"] = f"{args.registry}/{repository}:{tags.get(repository, 'latest')}"
                env = []
                for e in c.get("env", []):
                    if e["name"] == "POD_NAME":
                        continue
                    value = rewrite(str(e.get("value", "")), pod_name)
                    if e["name"] in TLS_FILES:
                        value = files[os.path.basename(value)]
                    env.append({"name": e["name"], "value": value})
                for kind, setting in ROLE_PORTS[role].items():
                    env.append({"name": setting, "value": str(ports[pod_name][kind])})
                if role == "leader":
                    env.append({"name": "Tolerex__Leader__TcpListenAddress", "value": "127.0.0.1"})
                c["env"] = env
                c.pop("ports", None)
                c.pop("readinessProbe", None)
                c.pop("livenessProbe", None)
                c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["name"] != "tls"]
            out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name, "labels": dict(template["metadata"].get("labels", {}))}, "spec": spec})
        note(f"StatefulSet {d['metadata']['name']}: {d['spec'].get('replicas', 1)} Pods with their own claims, host network, "
             "Secret files as PEM text, no probes")

    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)
    print(json.dumps(ports), file=sys.stderr)


if __name__ == "__main__":
    main()
