#!/bin/bash
# outside-in NAT instance, run once by cloud-init: forward IPv4 and masquerade everything that
# leaves through the default interface, so the private subnets reach the internet through this
# instance. The steps and their order are those of the AWS VPC user guide ("Create a NAT AMI",
# Amazon Linux 2023), with the interface found rather than assumed:
#   install iptables-services; enable and start the iptables service; forward IPv4;
#   masquerade; flush FORWARD; save.
# Starting the service loads /etc/sysconfig/iptables, whose packaged default rejects every
# forwarded packet; the NAT's own rules go in after it and are then saved, so the same rules are
# loaded again on every boot.
set -euo pipefail

SYSCTL_FILE=${SYSCTL_FILE:-/etc/sysctl.d/90-outside-in-nat.conf}
RETRY_DELAY=${RETRY_DELAY:-10}

log() { echo "outside-in-nat: $*" >&2; }

n=0
until dnf install -y iptables-services >/dev/null; do
  n=$((n + 1))
  if [ "$n" -ge 10 ]; then
    log "could not install iptables-services"
    exit 1
  fi
  sleep "$RETRY_DELAY"
done
systemctl enable --now iptables

printf 'net.ipv4.ip_forward = 1\n' >"$SYSCTL_FILE"
sysctl --system >/dev/null

interface=$(ip -4 route show default | awk '{ print $5; exit }')
if [ -z "$interface" ]; then
  log "no default route"
  exit 1
fi
iptables -t nat -A POSTROUTING -o "$interface" -j MASQUERADE
iptables -F FORWARD
service iptables save
log "forwarding through $interface"
