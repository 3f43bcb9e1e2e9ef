#!/bin/bash
# outside-in NAT instance, run once by cloud-init: forward IPv4 and masquerade everything that
# leaves through the default interface, so the private subnets reach the internet through this
# instance. The steps of the AWS VPC user guide ("NAT instances": Amazon Linux 2023), with the
# interface found rather than assumed.
set -euo pipefail

log() { echo "outside-in-nat: $*" >&2; }

printf 'net.ipv4.ip_forward = 1\n' >/etc/sysctl.d/90-outside-in-nat.conf
sysctl --system >/dev/null

n=0
until dnf install -y iptables-services >/dev/null; do
  n=$((n + 1))
  if [ "$n" -ge 10 ]; then
    log "could not install iptables-services"
    exit 1
  fi
  sleep 10
done

interface=$(ip -4 route show default | awk '{ print $5; exit }')
if [ -z "$interface" ]; then
  log "no default route"
  exit 1
fi
iptables -t nat -A POSTROUTING -o "$interface" -j MASQUERADE
iptables -F FORWARD
service iptables save
systemctl enable --now iptables
log "forwarding through $interface"
