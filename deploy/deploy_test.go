package deploy

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hpsandbox/sandbox"
)

// serveEnv are the environment variables `sandbox serve` reads: read
// from the configuration itself, so that a renamed variable fails here.
func serveEnv(t *testing.T) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	cfg := sandbox.Defaults()
	if err := cfg.LoadEnv(func(k string) string { seen[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 10 || !seen["HPS_STORE"] || !seen["HPS_REDIS_URL"] {
		t.Fatalf("LoadEnv read only %v", seen)
	}
	return seen
}

// pinned reports whether image names a tag other than latest (or a
// digest).
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false
	}
	tag := image[i+1:]
	return tag != "" && tag != "latest"
}

func TestPinned(t *testing.T) {
	for image, want := range map[string]bool{
		"redis:7.4.6-alpine": true, "registry.example.org/hp-sandbox:1.0.0": true,
		"registry.example.org:5000/hp-sandbox": false, "redis": false, "redis:latest": false,
		"redis@sha256:0123": true,
	} {
		if got := pinned(image); got != want {
			t.Errorf("pinned(%q) = %v", image, got)
		}
	}
}

var kustomizations = []string{"k8s/base", "k8s/overlays/dev", "k8s/overlays/production"}

func TestKubernetes_Manifests(t *testing.T) {
	env := serveEnv(t)
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			objs, err := render(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkKubernetes(t, dir, objs, env)
		})
	}
}

func checkKubernetes(t *testing.T, dir string, objs []object, env map[string]bool) {
	for _, o := range objs {
		if str(o, "apiVersion") == "" || str(o, "kind") == "" || str(o, "metadata", "name") == "" {
			t.Errorf("an object without apiVersion, kind or name: %v", o)
		}
		if strings.Contains(dir, "overlays") && str(o, "metadata", "namespace") == "" {
			t.Errorf("%s/%s has no namespace", str(o, "kind"), str(o, "metadata", "name"))
		}
	}
	for _, kind := range []string{"Deployment", "Service", "Ingress", "ConfigMap", "Secret", "HorizontalPodAutoscaler",
		"PodDisruptionBudget", "Job"} {
		if len(all(objs, kind)) != 1 {
			t.Errorf("want one %s, have %d", kind, len(all(objs, kind)))
		}
	}
	cm, secret := find(objs, "ConfigMap", "hp-sandbox-config"), find(objs, "Secret", "hp-sandbox-secrets")
	if cm == nil || secret == nil {
		t.Fatal("the ConfigMap or the Secret is missing")
	}
	// Every variable given is one the server reads.
	for _, src := range []object{cm["data"].(object), secret["stringData"].(object)} {
		for k := range src {
			if !env[k] {
				t.Errorf("%s is not an environment variable of sandbox serve", k)
			}
		}
	}
	_, port, err := net.SplitHostPort(str(cm, "data", "HPS_ADDR"))
	if err != nil {
		t.Fatalf("HPS_ADDR %q", str(cm, "data", "HPS_ADDR"))
	}
	appPort, _ := strconv.Atoi(port)

	dep := all(objs, "Deployment")[0]
	if n, _ := get(dep, "spec", "replicas").(int); n < 2 {
		t.Errorf("Deployment replicas %v, want 2 or more", get(dep, "spec", "replicas"))
	}
	podLabels, _ := get(dep, "spec", "template", "metadata", "labels").(object)
	if !selects(get(dep, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the Deployment's selector does not select its pods")
	}
	checkWorkload(t, dep, cm, secret)
	c := containers(dep)[0]
	ports := map[string]int{}
	for _, p := range list(c, "ports") {
		ports[str(p, "name")], _ = get(p, "containerPort").(int)
	}
	if ports["http"] != appPort {
		t.Errorf("container port http %d, but HPS_ADDR listens on %d", ports["http"], appPort)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := str(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s on %q, want %s", probe, got, path)
		}
		if p := get(c, probe, "httpGet", "port"); p != "http" && p != appPort {
			t.Errorf("%s on port %v, not the container's http port %d", probe, p, appPort)
		}
	}

	job := all(objs, "Job")[0]
	checkWorkload(t, job, cm, secret)
	jc := containers(job)[0]
	if args := list(jc, "args"); len(args) == 0 || args[0] != "migrate" {
		t.Errorf("the Job runs %v, want migrate", args)
	}
	if rp := str(podSpec(job), "restartPolicy"); rp != "OnFailure" && rp != "Never" {
		t.Errorf("the Job's restartPolicy %q", rp)
	}
	if jc["image"] != c["image"] {
		t.Errorf("the Job runs %v, the gateways %v: one release migrates for itself", jc["image"], c["image"])
	}

	svc := all(objs, "Service")[0]
	if !selects(get(svc, "spec", "selector"), podLabels) {
		t.Error("the Service does not select the gateways")
	}
	svcPorts := map[string]bool{}
	for _, p := range list(svc, "spec", "ports") {
		svcPorts[str(p, "name")] = true
		if tp := get(p, "targetPort"); tp != "http" && tp != appPort {
			t.Errorf("the Service targets %v, not the http port", tp)
		}
	}
	if svcPorts["metrics"] {
		t.Error("the Service exposes the metrics port")
	}
	ing := all(objs, "Ingress")[0]
	for _, r := range list(ing, "spec", "rules") {
		for _, p := range list(r, "http", "paths") {
			if n := str(p, "backend", "service", "name"); n != str(svc, "metadata", "name") {
				t.Errorf("the Ingress routes to service %q", n)
			}
			if pn := str(p, "backend", "service", "port", "name"); !svcPorts[pn] {
				t.Errorf("the Ingress routes to port %q, which the Service has not", pn)
			}
		}
	}
	if len(list(ing, "spec", "tls")) == 0 {
		t.Error("the Ingress has no TLS")
	}
	hpa := all(objs, "HorizontalPodAutoscaler")[0]
	if str(hpa, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa, "spec", "scaleTargetRef", "name") != str(dep, "metadata", "name") {
		t.Error("the HPA does not scale the Deployment")
	}
	minReplicas, _ := get(hpa, "spec", "minReplicas").(int)
	maxReplicas, _ := get(hpa, "spec", "maxReplicas").(int)
	if minReplicas < 2 || maxReplicas < minReplicas {
		t.Errorf("HPA replicas %d..%d", minReplicas, maxReplicas)
	}
	pdb := all(objs, "PodDisruptionBudget")[0]
	if !selects(get(pdb, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the PDB does not select the gateways")
	}
	if ma, _ := get(pdb, "spec", "minAvailable").(int); ma < 1 || ma >= minReplicas {
		t.Errorf("PDB minAvailable %d with at least %d replicas: a node drain would block or nothing is protected", ma, minReplicas)
	}
}

// checkWorkload checks what every pod of a workload must have: a pinned
// image, limits, a non-root user, a read-only root and no capabilities,
// and its configuration from the ConfigMap and Secret.
func checkWorkload(t *testing.T, o, cm, secret object) {
	t.Helper()
	name := str(o, "kind") + "/" + str(o, "metadata", "name")
	pod := podSpec(o)
	cs := containers(o)
	if len(cs) == 0 {
		t.Fatalf("%s has no containers", name)
	}
	for _, c := range cs {
		img := str(c, "image")
		if !pinned(img) || !strings.Contains(img, "/") {
			t.Errorf("%s: image %q is not pinned to a registry and tag", name, img)
		}
		for _, kind := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if get(c, "resources", kind, res) == nil {
					t.Errorf("%s: no %s %s", name, res, kind)
				}
			}
		}
		nonRoot := get(c, "securityContext", "runAsNonRoot") == true || get(pod, "securityContext", "runAsNonRoot") == true
		uid, ok := get(pod, "securityContext", "runAsUser").(int)
		if cu, cok := get(c, "securityContext", "runAsUser").(int); cok {
			uid, ok = cu, true
		}
		if !nonRoot || !ok || uid == 0 {
			t.Errorf("%s: not pinned to a non-root user (runAsNonRoot and a runAsUser other than 0)", name)
		}
		if get(c, "securityContext", "readOnlyRootFilesystem") != true {
			t.Errorf("%s: root filesystem not read-only", name)
		}
		if get(c, "securityContext", "allowPrivilegeEscalation") != false {
			t.Errorf("%s: privilege escalation not refused", name)
		}
		if !slices.Contains(list(c, "securityContext", "capabilities", "drop"), any("ALL")) {
			t.Errorf("%s: capabilities not dropped", name)
		}
		var refs []string
		for _, e := range list(c, "envFrom") {
			if n := str(e, "configMapRef", "name"); n != "" {
				refs = append(refs, n)
			}
			if n := str(e, "secretRef", "name"); n != "" {
				refs = append(refs, n)
			}
		}
		if !slices.Contains(refs, str(cm, "metadata", "name")) || !slices.Contains(refs, str(secret, "metadata", "name")) {
			t.Errorf("%s: configured from %v, want the ConfigMap and the Secret", name, refs)
		}
		mounts := map[string]bool{}
		for _, m := range list(c, "volumeMounts") {
			mounts[str(m, "mountPath")] = true
		}
		if !mounts[str(cm, "data", "HPS_DATA")] || !mounts["/tmp"] {
			t.Errorf("%s: with a read-only root, %s and /tmp need volumes; mounted %v", name, str(cm, "data", "HPS_DATA"), mounts)
		}
	}
}

// selects reports whether the labels of selector are all in labels.
func selects(selector any, labels object) bool {
	sel, _ := selector.(object)
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// The overlays change what they say they change.
func TestKubernetes_OverlaysApply(t *testing.T) {
	prod, err := render("k8s/overlays/production")
	if err != nil {
		t.Fatal(err)
	}
	dep := find(prod, "Deployment", "hp-sandbox")
	if get(dep, "spec", "replicas") != 3 || str(containers(dep)[0], "image") != "registry.example.org/hp-sandbox:1.0.0" {
		t.Errorf("production: replicas %v image %v", get(dep, "spec", "replicas"), containers(dep)[0]["image"])
	}
	if str(containers(dep)[0], "readinessProbe", "httpGet", "path") != "/readyz" {
		t.Error("the production patch lost the base's probes")
	}
	if str(find(prod, "ConfigMap", "hp-sandbox-config"), "data", "HPS_OTLP_ENDPOINT") == "" ||
		str(find(prod, "ConfigMap", "hp-sandbox-config"), "data", "HPS_ADDR") == "" {
		t.Error("production ConfigMap patch did not merge")
	}
	dev, err := render("k8s/overlays/dev")
	if err != nil {
		t.Fatal(err)
	}
	if h := str(list(find(dev, "Ingress", "hp-sandbox"), "spec", "rules")[0], "host"); h != "sandbox.dev.example.org" {
		t.Errorf("dev Ingress host %q", h)
	}
	if ns := str(find(dev, "Job", "hp-sandbox-migrate"), "metadata", "namespace"); ns != "hp-sandbox-dev" {
		t.Errorf("dev namespace %q", ns)
	}
}

// Every YAML file under k8s parses and is used by a kustomization.
func TestKubernetes_NoStrayFiles(t *testing.T) {
	used := map[string]bool{}
	for _, dir := range kustomizations {
		used[filepath.Join(dir, "kustomization.yaml")] = true
		objs, err := parseYAML(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"resources", "patches"} {
			for _, r := range list(objs[0], key) {
				p, ok := r.(string)
				if !ok {
					p = str(r, "path")
				}
				used[filepath.Join(dir, p)] = true
			}
		}
	}
	err := filepath.WalkDir("k8s", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, err := parseYAML(path); err != nil {
			t.Error(err)
		}
		if !used[path] {
			t.Errorf("%s is in no kustomization", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCompose(t *testing.T) {
	env := serveEnv(t)
	docs, err := parseYAML("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	services, _ := docs[0]["services"].(object)
	for _, name := range []string{"proxy", "gateway-1", "gateway-2", "migrate", "postgres", "redis"} {
		if services[name] == nil {
			t.Fatalf("no service %s", name)
		}
	}
	volumes, _ := docs[0]["volumes"].(object)
	for name, s := range services {
		img := str(s, "image")
		if !pinned(img) {
			t.Errorf("%s: image %q not pinned", name, img)
		}
		if name != "migrate" && get(s, "healthcheck", "test") == nil {
			t.Errorf("%s has no health check", name)
		}
		for _, v := range list(s, "volumes") {
			src, _, _ := strings.Cut(v.(string), ":")
			if _, declared := volumes[src]; !strings.HasPrefix(src, ".") && !declared {
				t.Errorf("%s mounts undeclared volume %s", name, src)
			}
		}
		if strings.HasPrefix(name, "gateway") || name == "migrate" {
			for k := range get(s, "environment").(object) {
				if !env[k] {
					t.Errorf("%s: %s is not an environment variable of sandbox serve", name, k)
				}
			}
		}
	}
	for _, name := range []string{"gateway-1", "gateway-2"} {
		g := services[name]
		want := map[string]string{"postgres": "service_healthy", "redis": "service_healthy", "migrate": "service_completed_successfully"}
		for dep, cond := range want {
			if got := str(g, "depends_on", dep, "condition"); got != cond {
				t.Errorf("%s waits for %s until %q, want %s", name, dep, got, cond)
			}
		}
		test := list(g, "healthcheck", "test")
		if len(test) < 3 || test[0] != "CMD" || test[1] != "/sandbox" || test[2] != "healthcheck" || !slices.Contains(test, any("http://127.0.0.1:8080/readyz")) {
			t.Errorf("%s health check %v: want the binary's own healthcheck of /readyz (the image has no shell)", name, test)
		}
		e := get(g, "environment").(object)
		if !strings.HasPrefix(str(e, "HPS_STORE"), "postgres://") || !strings.HasPrefix(str(e, "HPS_REDIS_URL"), "redis://redis:") {
			t.Errorf("%s is not wired to PostgreSQL and Redis: %v", name, e)
		}
		if get(g, "read_only") != true {
			t.Errorf("%s: root filesystem not read-only", name)
		}
		if len(list(g, "ports")) != 0 {
			t.Errorf("%s publishes ports; only the proxy should", name)
		}
	}
	if args := list(services["migrate"], "command"); len(args) == 0 || args[0] != "migrate" {
		t.Errorf("the migrate service runs %v", args)
	}
	if str(services["migrate"], "depends_on", "postgres", "condition") != "service_healthy" {
		t.Error("migrate does not wait for PostgreSQL")
	}
	for _, g := range []string{"gateway-1", "gateway-2"} {
		if str(services["proxy"], "depends_on", g, "condition") != "service_healthy" {
			t.Errorf("the proxy does not wait for %s", g)
		}
	}
	for _, p := range list(services["proxy"], "ports") {
		if !strings.HasPrefix(p.(string), "127.0.0.1:") {
			t.Errorf("the proxy publishes %v beyond loopback", p)
		}
	}
	checkVersionAtLeast(t, str(services["postgres"], "image"), 16)
	checkVersionAtLeast(t, str(services["redis"], "image"), 7)

	caddy, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gateway-1:8080", "gateway-2:8080", "health_uri /readyz"} {
		if !strings.Contains(string(caddy), want) {
			t.Errorf("the Caddyfile lacks %q", want)
		}
	}
}

// checkVersionAtLeast checks the major version of image's tag.
func checkVersionAtLeast(t *testing.T, image string, major int) {
	t.Helper()
	_, tag, _ := strings.Cut(image, ":")
	m := regexp.MustCompile(`^(\d+)`).FindString(tag)
	if n, _ := strconv.Atoi(m); n < major {
		t.Errorf("%s: want version %d or later", image, major)
	}
}

func TestDockerfile(t *testing.T) {
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var from []string
	var user, entrypoint, healthcheck string
	var body strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		body.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, "FROM "):
			from = append(from, strings.Fields(line)[1])
		case strings.HasPrefix(line, "USER "):
			user = strings.TrimPrefix(line, "USER ")
		case strings.HasPrefix(line, "ENTRYPOINT "):
			entrypoint = strings.TrimPrefix(line, "ENTRYPOINT ")
		case strings.HasPrefix(line, "HEALTHCHECK "):
			healthcheck = line
		}
	}
	if len(from) < 2 {
		t.Fatalf("stages %v: want a build stage and a final one", from)
	}
	for _, img := range from {
		if !pinned(img) {
			t.Errorf("base image %q not pinned", img)
		}
	}
	final := from[len(from)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage %q: want distroless static or scratch", final)
	}
	if uid := strings.Split(user, ":")[0]; user == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-tags=nomsgpack", "./cmd/sandbox"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("the build lacks %s", want)
		}
	}
	if entrypoint != `["/sandbox"]` {
		t.Errorf("ENTRYPOINT %s: want the binary alone in exec form, so that a command (serve, migrate) follows", entrypoint)
	}
	if !strings.Contains(healthcheck, `CMD ["/sandbox", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q: want the binary's own, in exec form (no shell in the image)", healthcheck)
	}
}
