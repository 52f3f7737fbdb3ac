// Package deploy holds the deployment of HP Sandbox: the container image
// (Dockerfile), a scaled-out compose file (two gateways behind Caddy,
// PostgreSQL, Redis) and Kubernetes manifests with kustomize overlays
// (k8s/base, k8s/overlays/dev, k8s/overlays/production).
//
// There is no Go code to run here: deploy_test.go parses every file and
// checks what a review would (pinned images, probes on /readyz and
// /healthz at the container's port, resource limits, a non-root user, a
// read-only root filesystem, the migration Job, the compose health checks
// and start order, and that every HPS_ variable is one `sandbox serve`
// reads). It renders each overlay itself, well enough for these files
// (resources, strategic-merge patches matched by kind and name, lists of
// named items merged by name, images, namespace); it is not kustomize.
package deploy
