"""Kubernetes control-plane test bed: real kube-apiserver/etcd/scheduler/controller-manager, kwok nodes."""
