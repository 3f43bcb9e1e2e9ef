//go:build tools

// Package kube pins the Kubernetes control-plane binaries that the test suite runs (see
// scripts/install-kube-tools.sh): etcd, kube-apiserver, and for the behaviour tests the
// controller manager and the scheduler of the same release. It is never imported; the blank
// imports only make the packages part of this module's build list so that `go build` inside
// this module can compile them.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
