#!/bin/bash
# outside-in k3s node bootstrap, run once by cloud-init on every k3s server and agent.
#
# It reads its settings from /etc/outside-in/k3s.env (written by the same cloud-config), labels
# the node with its availability zone, fetches the join token (and, on the first server, the
# cluster's CA files) from SSM Parameter Store with the instance's role, downloads the pinned k3s
# binary and refuses to run it unless its sha256 matches, then starts k3s under systemd. A server
# first mounts its data volume, which keeps the datastore, the certificates and the node's k3s
# identity across a replacement of the instance.
# Nothing secret is in the user data: tokens and keys exist only in Parameter Store and on disk.
set -euo pipefail

ENV_FILE=${ENV_FILE:-/etc/outside-in/k3s.env}
K3S_DIR=${K3S_DIR:-/var/lib/rancher/k3s}
CONFIG_DIR=${CONFIG_DIR:-/etc/rancher/k3s}
NODE_DIR=${NODE_DIR:-/etc/rancher/node}
FSTAB=${FSTAB:-/etc/fstab}

log() { echo "outside-in-k3s: $*" >&2; }

# retry runs a command until it succeeds, at most RETRY_ATTEMPTS times (30) RETRY_DELAY (10 s)
# apart: the NAT route, the instance role and the servers may each come up after this node.
# The command runs as an `until` condition, where bash ignores set -e: a function given to it
# must return its own failures.
retry() {
  local n=0
  until "$@"; do
    n=$((n + 1))
    if [ "$n" -ge "${RETRY_ATTEMPTS:-30}" ]; then
      log "giving up after $n attempts: $*"
      return 1
    fi
    sleep "${RETRY_DELAY:-10}"
  done
}

# imds reads instance metadata with an IMDSv2 session token (IMDSv1 is off).
imds() {
  local token
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  curl -fsS -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/meta-data/$1"
}

# parameter prints a SecureString parameter under PARAMETER_PREFIX, ending in one newline; it
# fails when Parameter Store does not answer or the value is empty.
parameter() {
  local value
  value=$(aws ssm get-parameter --region "$AWS_REGION" --with-decryption \
    --name "${PARAMETER_PREFIX}/$1" --query Parameter.Value --output text) || return 1
  [ -n "$value" ] || return 1
  printf '%s\n' "$value"
}

# choose_server writes the join address: the first of JOIN_SERVERS whose supervisor answers
# (its /cacerts needs no credentials), so a node joins while any server is up.
choose_server() {
  local ip
  for ip in $JOIN_SERVERS; do
    if curl -fsk --connect-timeout 5 --max-time 10 -o /dev/null "https://${ip}:6443/cacerts"; then
      mkdir -p "$CONFIG_DIR/config.yaml.d"
      printf 'server: "https://%s:6443"\n' "$ip" >"$CONFIG_DIR/config.yaml.d/20-join.yaml"
      log "joining the cluster through $ip"
      return 0
    fi
  done
  return 1
}

# write_zone_label labels the node with its availability zone, in a config drop-in k3s reads.
write_zone_label() {
  mkdir -p "$CONFIG_DIR/config.yaml.d"
  printf 'node-label:\n  - "topology.kubernetes.io/zone=%s"\n' "$1" >"$CONFIG_DIR/config.yaml.d/10-zone.yaml"
}

# write_parameter stores a parameter in a file readable by root only.
write_parameter() {
  local name=$1 path=$2 tmp
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "${path}.XXXXXX")
  chmod 0600 "$tmp"
  retry parameter "$name" >"$tmp"
  mv -f "$tmp" "$path"
}

# wait_for_device waits up to 10 minutes for the data volume, which EC2 attaches after boot.
wait_for_device() {
  local n=0
  until [ -b "$DATA_DEVICE" ]; do
    n=$((n + 1))
    if [ "$n" -gt 120 ]; then
      log "no data volume at $DATA_DEVICE after 10 minutes"
      return 1
    fi
    sleep 5
  done
}

# mount_data mounts the server's own EBS volume on k3s's server directory, formatting it only when
# it holds no file system yet: a replaced server finds its datastore and certificates there. The
# fstab entry names the volume by label, so the NVMe name EC2 gives the device does not matter;
# the k3s unit requires this mount, so k3s never starts on the bare root volume.
mount_data() {
  wait_for_device
  if ! blkid "$DATA_DEVICE" >/dev/null 2>&1; then
    mkfs.xfs -L k3s-data "$DATA_DEVICE"
  fi
  mkdir -p "$K3S_DIR/server"
  if ! grep -q 'LABEL=k3s-data' "$FSTAB"; then
    echo "LABEL=k3s-data $K3S_DIR/server xfs defaults,nofail 0 2" >>"$FSTAB"
  fi
  if ! mountpoint -q "$K3S_DIR/server"; then
    mount "$K3S_DIR/server"
  fi
}

# keep_node_identity keeps the node's k3s identity (NODE_DIR, /etc/rancher/node: its node
# password) on the data volume, as NODE_DIR linked to a directory there. A replaced server
# registers under its old name, and k3s refuses a known name that comes with a new password.
keep_node_identity() {
  local kept="$K3S_DIR/server/etc-rancher-node"
  mkdir -p "$kept"
  chmod 0700 "$kept"
  if [ -d "$NODE_DIR" ] && [ ! -L "$NODE_DIR" ]; then
    # k3s ran here before its identity was on the volume: keep it, unless the volume has one.
    cp -an "$NODE_DIR/." "$kept/"
    rm -rf "$NODE_DIR"
  fi
  mkdir -p "$(dirname "$NODE_DIR")"
  ln -sfn "$kept" "$NODE_DIR"
}

install_k3s() {
  local part=/usr/local/bin/k3s.part
  retry curl -fsSL --connect-timeout 10 -o "$part" "$K3S_BINARY_URL"
  if ! echo "${K3S_SHA256}  ${part}" | sha256sum -c - >/dev/null; then
    rm -f "$part"
    log "the k3s binary from $K3S_BINARY_URL does not have the pinned sha256 $K3S_SHA256; not running it"
    return 1
  fi
  chmod 0755 "$part"
  mv -f "$part" /usr/local/bin/k3s
}

main() {
  # shellcheck source=/dev/null
  . "$ENV_FILE"
  : "${ROLE:?}" "${K3S_BINARY_URL:?}" "${K3S_SHA256:?}" "${PARAMETER_PREFIX:?}" "${AWS_REGION:?}"

  local zone
  zone=$(retry imds placement/availability-zone)
  write_zone_label "$zone"

  # protect-kernel-defaults: the kubelet refuses to start unless these are set.
  sysctl --system >/dev/null

  if ! command -v aws >/dev/null 2>&1; then
    retry dnf install -y awscli-2
  fi

  if [ "$ROLE" = server ]; then
    mount_data
    keep_node_identity
    write_parameter server/token "$CONFIG_DIR/token"
    write_parameter server/agent-token "$CONFIG_DIR/agent-token"
    # The first server of a new cluster starts from the program's CAs; the others, and a
    # replaced first server, get them from the datastore.
    if [ "${SERVER_INDEX:-0}" = 0 ] && [ ! -e "$K3S_DIR/server/tls/server-ca.crt" ]; then
      local file
      for file in $CA_FILES; do
        write_parameter "server/tls/$file" "$K3S_DIR/server/tls/$file"
      done
    fi
  else
    write_parameter agent/token "$CONFIG_DIR/token"
  fi

  if [ -n "${JOIN_SERVERS:-}" ]; then
    # A new cluster's first server takes a few minutes to boot: wait up to 15 minutes.
    RETRY_ATTEMPTS=90 retry choose_server
  fi

  install_k3s
  systemctl daemon-reload
  systemctl enable --now k3s
  log "k3s $ROLE started in $zone"
}

# Run when executed; sourcing the file (as its tests do) only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
