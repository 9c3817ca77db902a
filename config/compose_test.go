package config_test

// Checks docker-compose.yml (SPEC 2: the one-host production/staging stack)
// without a Docker engine: the file is loaded by compose-go, the loader
// docker compose itself uses, and the result is checked against config.Names()
// and against the wiring between the services.

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow/config"
)

const composePath = "../docker-compose.yml"

// The services docker-compose.yml must define. The staging fakes sit behind
// the "staging" profile; everything else runs on a plain `docker compose up`.
var (
	coreServices = []string{
		"postgres",
		"temporal-schema",    // one-shot: temporal-sql-tool, both schemas
		"temporal",           // the server
		"temporal-namespace", // one-shot: temporal operator namespace create
		"temporal-setup",     // one-shot: refundflow temporal setup
		"temporal-ui",
		"migrate", // one-shot: refundflow migrate up
		"api",
		"worker",
	}
	stagingServices    = []string{"stripe-mock", "mailpit"}
	monitoringServices = []string{"prometheus", "grafana"}

	// The services that run the refundflow image, and their subcommands.
	refundflowCommands = map[string][]string{
		"migrate":        {"migrate", "up"},
		"temporal-setup": {"temporal", "setup"},
		"api":            {"api"},
		"worker":         {"worker"},
	}

	// SPEC 2 variables an operator must be able to override from the
	// environment (the compose file interpolates them as ${NAME:-default}).
	// HTTP_ADDR is left out on purpose: it is container-internal, and the
	// port mapping and health check depend on it.
	overridable = []string{
		"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_UI_URL",
		"STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET", "STRIPE_RATE_PER_SECOND",
		"PLATFORM_WEBHOOK_URL", "PLATFORM_WEBHOOK_SECRET", "SMTP_URL",
		"REFUNDFLOW_OFFER_WINDOW", "REFUNDFLOW_APPROVAL_SLA",
	}
)

// loadCompose loads docker-compose.yml as `docker compose` would, with the
// given environment (nil: none at all, so every ${VAR:-default} takes its
// default, as on a host with no .env file) and profiles.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	path, err := filepath.Abs(composePath)
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	mapping := types.Mapping{}
	maps.Copy(mapping, env)
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: content}},
		Environment: mapping,
	}
	p, err := loader.LoadWithContext(context.Background(), details, loader.WithProfiles(profiles))
	if err != nil {
		t.Fatalf("docker-compose.yml does not load (profiles %v): %v", profiles, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml: no enabled service %q (services: %v)", name, slices.Sorted(maps.Keys(p.Services)))
	}
	return s
}

// env returns a service's environment with nil values (NAME without =) as "".
func env(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		} else {
			m[k] = ""
		}
	}
	return m
}

func hostPort(t *testing.T, what, addr string) (string, int) {
	t.Helper()
	h, ps, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q is not host:port: %v", what, addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil {
		t.Fatalf("%s %q: port: %v", what, addr, err)
	}
	return h, port
}

// goModVersion returns the version go.mod requires of module, without the v.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	return requiredVersion(t, "../go.mod", module)
}

// requiredVersion is the version (without the v) of module that the
// go.mod file at path requires.
func requiredVersion(t *testing.T, path, module string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s does not require %s", path, module)
	}
	return string(m[1])
}

func TestComposeLoadsWithoutEnvironment(t *testing.T) {
	p := loadCompose(t, nil)
	for _, name := range coreServices {
		service(t, p, name)
	}
	for _, name := range stagingServices {
		if _, ok := p.Services[name]; ok {
			t.Errorf("%s runs without the staging profile; it is a staging fake (profiles: [staging])", name)
		}
		if _, ok := p.DisabledServices[name]; !ok {
			t.Errorf("docker-compose.yml: no service %q", name)
		}
	}

	staging := loadCompose(t, nil, "staging")
	for _, name := range append(slices.Clone(coreServices), stagingServices...) {
		service(t, staging, name)
	}
}

// Interpolation without a default would need the variable in the environment
// (compose only warns and substitutes ""), so every ${...} has one.
func TestComposeEveryVariableHasADefault(t *testing.T) {
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "$$", "")
	// ${NAME:-default} / ${NAME-default} are fine; ${NAME}, ${NAME:?err},
	// ${NAME?err} and $NAME are not.
	bad := regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(\}|:?\?)|\$[A-Za-z_]`)
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if m := bad.FindString(line); m != "" {
			t.Errorf("docker-compose.yml:%d: %q needs a default (${NAME:-default}) or $$ escaping: %s", i+1, m, strings.TrimSpace(line))
		}
	}
}

func TestComposeRefundflowServices(t *testing.T) {
	p := loadCompose(t, nil, "staging")
	known := map[string]bool{}
	for _, n := range config.Names() {
		known[n] = true
	}
	root := p.WorkingDir

	for name, cmd := range refundflowCommands {
		s := service(t, p, name)
		if s.Build == nil {
			t.Errorf("%s: not built from the repository's Dockerfile (no build:)", name)
		} else {
			if ctx := filepath.Clean(s.Build.Context); ctx != root {
				t.Errorf("%s: build context %q, want the repository root %q", name, ctx, root)
			}
			df := s.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if !filepath.IsAbs(df) {
				df = filepath.Join(s.Build.Context, df)
			}
			if filepath.Clean(df) != filepath.Join(root, "Dockerfile") {
				t.Errorf("%s: builds %s, want the repository's Dockerfile", name, df)
			}
		}
		if len(s.Entrypoint) != 0 {
			t.Errorf("%s: overrides the image's entrypoint (/refundflow) with %q", name, s.Entrypoint)
		}
		if !slices.Equal(s.Command, cmd) {
			t.Errorf("%s: runs `refundflow %s`, want `refundflow %s`", name, strings.Join(s.Command, " "), strings.Join(cmd, " "))
		}

		e := env(s)
		for _, k := range slices.Sorted(maps.Keys(e)) {
			if !known[k] {
				t.Errorf("%s: sets %s, which refundflow does not read (not in config.Names()); "+
					"renamed in config/config.go? Update docker-compose.yml to match", name, k)
			}
		}
		for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS"} {
			if e[k] == "" {
				t.Errorf("%s: %s is not set", name, k)
			}
		}
		checkConfigValid(t, name, e)
	}
}

// checkConfigValid feeds a service's environment to config.FromEnv: the
// defaults in docker-compose.yml must make a valid configuration.
func checkConfigValid(t *testing.T, name string, e map[string]string) {
	t.Helper()
	for _, k := range config.Names() {
		t.Setenv(k, e[k]) // "" for the unset ones: same as unset for config
	}
	if _, err := config.FromEnv(); err != nil {
		t.Errorf("%s: the environment docker-compose.yml gives it is not a valid configuration: %v", name, err)
	}
}

func TestComposeVariablesCanBeOverridden(t *testing.T) {
	given := map[string]string{}
	for _, k := range overridable {
		given[k] = "override-" + strings.ToLower(k)
	}
	p := loadCompose(t, given, "staging")
	for _, name := range []string{"api", "worker"} {
		e := env(service(t, p, name))
		for _, k := range overridable {
			if e[k] != given[k] {
				t.Errorf("%s: %s=%q with %s=%q in the environment; interpolate it as ${%s:-default}", name, k, e[k], k, given[k], k)
			}
		}
	}
}

func TestComposeAPIPublishesItsPort(t *testing.T) {
	p := loadCompose(t, nil)
	api := service(t, p, "api")
	host, port := hostPort(t, "api HTTP_ADDR", env(api)["HTTP_ADDR"])
	if host != "0.0.0.0" && host != "" && host != "::" {
		t.Errorf("api: HTTP_ADDR binds %q inside the container; published ports only reach 0.0.0.0", host)
	}
	published := false
	for _, pc := range api.Ports {
		if int(pc.Target) == port && pc.Published != "" {
			published = true
		}
	}
	if !published {
		t.Errorf("api: HTTP_ADDR port %d is not published (ports: %+v)", port, api.Ports)
	}
	if hc := api.HealthCheck; hc == nil || hc.Disable {
		t.Errorf("api: no health check")
	} else if test := strings.Join(hc.Test, " "); !strings.Contains(test, ":"+strconv.Itoa(port)+"/readyz") {
		t.Errorf("api: health check %q does not probe /readyz on port %d", test, port)
	}

	w := service(t, p, "worker")
	if len(w.Ports) != 0 || w.ContainerName != "" {
		t.Errorf("worker: published ports or a container_name prevent `--scale worker=N`")
	}
}

func TestComposeTemporalWiring(t *testing.T) {
	p := loadCompose(t, nil)
	temporal := service(t, p, "temporal")
	te := env(temporal)
	// The images run the versions the dev stack embeds (go.mod), so that
	// what is tested is what runs.
	serverTag := goModVersion(t, "go.temporal.io/server")
	if want := "temporalio/server:" + serverTag; temporal.Image != want {
		t.Errorf("temporal: image %q, want %s (go.temporal.io/server in go.mod)", temporal.Image, want)
	}
	if ui, want := service(t, p, "temporal-ui").Image, "temporalio/ui:"+goModVersion(t, "github.com/temporalio/ui-server/v2"); ui != want {
		t.Errorf("temporal-ui: image %q, want %s (github.com/temporalio/ui-server/v2 in go.mod)", ui, want)
	}
	if te["DB"] != "postgres12" && te["DB"] != "postgres12_pgx" {
		t.Errorf("temporal: DB=%q, want postgres12", te["DB"])
	}
	if te["POSTGRES_SEEDS"] != "postgres" {
		t.Errorf("temporal: POSTGRES_SEEDS=%q, want the postgres service", te["POSTGRES_SEEDS"])
	}
	frontendPort := 7233
	if v := te["FRONTEND_GRPC_PORT"]; v != "" {
		frontendPort, _ = strconv.Atoi(v)
	}

	for name := range refundflowCommands {
		host, port := hostPort(t, name+" TEMPORAL_ADDRESS", env(service(t, p, name))["TEMPORAL_ADDRESS"])
		if host != "temporal" || port != frontendPort {
			t.Errorf("%s: TEMPORAL_ADDRESS=%s:%d, want the temporal service's frontend temporal:%d", name, host, port, frontendPort)
		}
	}

	// The schema job: Temporal's own tool, from the same release as the server.
	schema := service(t, p, "temporal-schema")
	if schema.Image != "temporalio/admin-tools:"+serverTag {
		t.Errorf("temporal-schema: image %q, want temporalio/admin-tools:%s (schema files of the server's release)", schema.Image, serverTag)
	}
	if se := env(schema); se["SQL_PLUGIN"] != "postgres12" || se["SQL_HOST"] != "postgres" {
		t.Errorf("temporal-schema: SQL_PLUGIN=%q SQL_HOST=%q, want postgres12 on the postgres service", se["SQL_PLUGIN"], se["SQL_HOST"])
	}
	var steps []string // the script's commands, one a line
	for _, arg := range append(slices.Clone(schema.Entrypoint), schema.Command...) {
		for line := range strings.Lines(arg) {
			steps = append(steps, strings.Join(strings.Fields(line), " "))
		}
	}
	dbs := map[string]string{"temporal": te["DBNAME"], "visibility": te["VISIBILITY_DBNAME"]}
	for kind, db := range dbs {
		if db == "" {
			t.Errorf("temporal: the %s database name is not set", kind)
			continue
		}
		for _, step := range []string{
			"temporal-sql-tool --db " + db + " create-database",
			"temporal-sql-tool --db " + db + " setup-schema -v 0.0",
			"temporal-sql-tool --db " + db + " update-schema -d /etc/temporal/schema/postgresql/v12/" + kind + "/versioned",
		} {
			if !slices.Contains(steps, step) {
				t.Errorf("temporal-schema: does not run %q", step)
			}
		}
	}
	if dep, ok := temporal.DependsOn["temporal-schema"]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("temporal: must wait for temporal-schema to complete successfully")
	}

	// The namespace one-shot and the UI use the same version / server.
	ns := service(t, p, "temporal-namespace")
	if ns.Image != schema.Image {
		t.Errorf("temporal-namespace: image %q, want %q", ns.Image, schema.Image)
	}
	if got, want := env(ns)["NAMESPACE"], env(service(t, p, "api"))["TEMPORAL_NAMESPACE"]; got != want {
		t.Errorf("temporal-namespace creates %q but refundflow uses TEMPORAL_NAMESPACE=%q", got, want)
	}

	ui := service(t, p, "temporal-ui")
	ue := env(ui)
	if host, port := hostPort(t, "temporal-ui TEMPORAL_ADDRESS", ue["TEMPORAL_ADDRESS"]); host != "temporal" || port != frontendPort {
		t.Errorf("temporal-ui: TEMPORAL_ADDRESS=%q, want temporal:%d", ue["TEMPORAL_ADDRESS"], frontendPort)
	}
	if ue["TEMPORAL_DISABLE_WRITE_ACTIONS"] != "true" {
		t.Errorf("temporal-ui: TEMPORAL_DISABLE_WRITE_ACTIONS=%q, want true (the UI reads; cases move through the API)", ue["TEMPORAL_DISABLE_WRITE_ACTIONS"])
	}
	uiPort := uint32(8080) // the image's default TEMPORAL_UI_PORT
	if v := ue["TEMPORAL_UI_PORT"]; v != "" {
		n, _ := strconv.Atoi(v)
		uiPort = uint32(n)
	}
	found := false
	for _, pc := range ui.Ports {
		if pc.Published == "8233" && pc.Target == uiPort {
			found = true
		}
	}
	if !found {
		t.Errorf("temporal-ui: want host port 8233 -> the UI's port %d (ports: %+v)", uiPort, ui.Ports)
	}
	u, err := url.Parse(env(service(t, p, "api"))["TEMPORAL_UI_URL"])
	if err != nil || u.Port() != "8233" {
		t.Errorf("api: TEMPORAL_UI_URL %q does not point at the published UI port 8233", u)
	}
}

func TestComposePostgres(t *testing.T) {
	p := loadCompose(t, nil)
	pg := service(t, p, "postgres")
	if !strings.HasPrefix(pg.Image, "postgres:16") && !strings.HasPrefix(pg.Image, "postgres:15") {
		t.Errorf("postgres: image %q, want the official postgres:16 (or 15)", pg.Image)
	}
	pe := env(pg)

	for name := range refundflowCommands {
		u, err := url.Parse(env(service(t, p, name))["DATABASE_URL"])
		if err != nil {
			t.Errorf("%s: DATABASE_URL: %v", name, err)
			continue
		}
		if u.Hostname() != "postgres" || strings.TrimPrefix(u.Path, "/") != "refundflow" {
			t.Errorf("%s: DATABASE_URL names %s%s, want the refundflow database on the postgres service", name, u.Host, u.Path)
		}
		if pw, _ := u.User.Password(); u.User.Username() != "refundflow" || pw != pe["REFUNDFLOW_DB_PASSWORD"] {
			t.Errorf("%s: DATABASE_URL's credentials are not the refundflow role that postgres creates", name)
		}
	}

	// The Temporal services log in as the role the init script creates.
	te, se := env(service(t, p, "temporal")), env(service(t, p, "temporal-schema"))
	if te["POSTGRES_USER"] != "temporal" || se["SQL_USER"] != "temporal" ||
		te["POSTGRES_PWD"] != pe["TEMPORAL_DB_PASSWORD"] || se["SQL_PASSWORD"] != pe["TEMPORAL_DB_PASSWORD"] {
		t.Errorf("temporal / temporal-schema: credentials differ from the temporal role postgres creates")
	}

	// The init script creates the three databases.
	var initdb string
	for _, v := range pg.Volumes {
		if v.Target == "/docker-entrypoint-initdb.d" {
			initdb = v.Source
		}
	}
	if initdb == "" {
		t.Fatalf("postgres: nothing mounted on /docker-entrypoint-initdb.d")
	}
	files, _ := filepath.Glob(filepath.Join(initdb, "*.sh"))
	var sql strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sql.Write(b)
	}
	for _, db := range []string{"refundflow", "temporal", "temporal_visibility"} {
		if !strings.Contains(sql.String(), "CREATE DATABASE "+db+" ") {
			t.Errorf("postgres init scripts in %s do not create database %s", initdb, db)
		}
	}
}

func TestComposeStartupOrder(t *testing.T) {
	p := loadCompose(t, nil, "staging")
	want := map[string]map[string]string{
		"temporal-schema":    {"postgres": types.ServiceConditionHealthy},
		"temporal":           {"temporal-schema": types.ServiceConditionCompletedSuccessfully},
		"temporal-namespace": {"temporal": types.ServiceConditionHealthy},
		"temporal-setup":     {"temporal-namespace": types.ServiceConditionCompletedSuccessfully},
		"migrate":            {"postgres": types.ServiceConditionHealthy},
	}
	for _, name := range []string{"api", "worker"} {
		want[name] = map[string]string{
			"migrate":        types.ServiceConditionCompletedSuccessfully,
			"temporal":       types.ServiceConditionHealthy,
			"temporal-setup": types.ServiceConditionCompletedSuccessfully,
		}
	}
	for name, deps := range want {
		s := service(t, p, name)
		for dep, cond := range deps {
			got, ok := s.DependsOn[dep]
			if !ok {
				t.Errorf("%s: does not depend on %s", name, dep)
			} else if got.Condition != cond {
				t.Errorf("%s: depends on %s with condition %s, want %s", name, dep, got.Condition, cond)
			}
		}
	}

	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				continue // the loader has already rejected required ones
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				// All images used here get their health check from this file.
				if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no health check", name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if r := target.Restart; r != "" && r != types.RestartPolicyNo && !strings.HasPrefix(r, types.RestartPolicyOnFailure) {
					t.Errorf("%s is a one-shot (%s waits for it to complete) but has restart: %s", dep, name, r)
				}
			}
		}
	}
}

func TestComposeMountedFilesExist(t *testing.T) {
	p := loadCompose(t, nil, "staging")
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: mounts %s, which is missing: %v", name, v.Source, err)
			}
		}
	}
}

func TestComposeNoRealSecrets(t *testing.T) {
	p := loadCompose(t, nil, "staging")
	for name := range refundflowCommands {
		key := env(service(t, p, name))["STRIPE_SECRET_KEY"]
		if key != "" && !strings.HasPrefix(key, "sk_test_") {
			t.Errorf("%s: the default STRIPE_SECRET_KEY must be an obviously fake test key, not %.8s...", name, key)
		}
	}
}

func TestDockerfileBuildsRefundflow(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FROM golang:1\.26\.\d+\S* AS build`),
		regexp.MustCompile(`(?m)^COPY go\.mod go\.sum \./\nRUN go mod download`),
		regexp.MustCompile(`CGO_ENABLED=0`),
		regexp.MustCompile(`go build -trimpath -ldflags="-s -w" -o /out/refundflow \./cmd/refundflow\n`),
		regexp.MustCompile(`(?m)^COPY --from=build /out/refundflow /refundflow$`),
		regexp.MustCompile(`(?m)^USER \d+`),
		regexp.MustCompile(`(?m)^ENTRYPOINT \["/refundflow"\]$`),
	} {
		if !want.MatchString(df) {
			t.Errorf("Dockerfile: no match for %s", want)
		}
	}
	if strings.Contains(df, "HEALTHCHECK") {
		t.Errorf("Dockerfile: has a HEALTHCHECK; docker-compose.yml owns health checks")
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(ignore))
	for _, want := range []string{".git", ".data", "bin", "test-artifacts"} {
		if !slices.Contains(lines, want) && !slices.Contains(lines, want+"/") {
			t.Errorf(".dockerignore: does not exclude %s", want)
		}
	}
}

// The monitoring profile runs Prometheus — the release whose promtool tests
// the alert rules — scraping the api and every worker where they serve
// /metrics, with the rules loaded, and Grafana provisioned with it and the
// dashboard.
func TestComposeMonitoring(t *testing.T) {
	plain := loadCompose(t, nil)
	for _, name := range monitoringServices {
		if _, ok := plain.Services[name]; ok {
			t.Errorf("%s runs without the monitoring profile (profiles: [monitoring])", name)
		}
	}
	p := loadCompose(t, nil, "monitoring")
	prom, graf := service(t, p, "prometheus"), service(t, p, "grafana")

	// prometheus/prometheus v0.3XX.Y is Prometheus v3.XX.Y.
	v := requiredVersion(t, "../tools/go.mod", "github.com/prometheus/prometheus")
	minor, patch, _ := strings.Cut(strings.TrimPrefix(v, "0.3"), ".")
	n, err := strconv.Atoi(minor)
	if err != nil {
		t.Fatalf("github.com/prometheus/prometheus v%s is not a v0.3XX release", v)
	}
	if want := fmt.Sprintf("prom/prometheus:v3.%d.%s", n, patch); prom.Image != want {
		t.Errorf("prometheus: image %q, want %s (promtool's release in tools/go.mod tests the rules)", prom.Image, want)
	}
	if !regexp.MustCompile(`^grafana/grafana:\d+\.\d+\.\d+$`).MatchString(graf.Image) {
		t.Errorf("grafana: image %q is not pinned to a release", graf.Image)
	}

	mounts := func(s types.ServiceConfig) map[string]string {
		m := map[string]string{}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				m[v.Target] = v.Source
			}
		}
		return m
	}
	root := p.WorkingDir
	pm := mounts(prom)
	configFile := "/etc/prometheus/prometheus.yml"
	if !slices.Contains(prom.Command, "--config.file="+configFile) || pm[configFile] != filepath.Join(root, "deploy/prometheus/prometheus.yml") {
		t.Fatalf("prometheus: does not run deploy/prometheus/prometheus.yml (command %v, mounts %v)", prom.Command, pm)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	b, err := os.ReadFile(pm[configFile])
	if err != nil {
		t.Fatal(err)
	}
	if err = yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.RuleFiles) != 1 || filepath.Dir(cfg.RuleFiles[0]) != "/etc/prometheus/rules" ||
		pm["/etc/prometheus/rules"] != filepath.Join(root, "deploy/prometheus/rules") {
		t.Errorf("prometheus: rule_files %v do not load deploy/prometheus/rules (mounts %v)", cfg.RuleFiles, pm)
	}
	var targets []string
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
		for _, dns := range sc.DNSSDConfigs {
			for _, n := range dns.Names {
				targets = append(targets, net.JoinHostPort(n, strconv.Itoa(dns.Port)))
			}
		}
	}
	_, apiPort := hostPort(t, "api HTTP_ADDR", env(service(t, p, "api"))["HTTP_ADDR"])
	host, workerPort := hostPort(t, "worker METRICS_ADDR", env(service(t, p, "worker"))["METRICS_ADDR"])
	if host != "0.0.0.0" {
		t.Errorf("worker: METRICS_ADDR binds %q; Prometheus reaches it from another container", host)
	}
	for _, want := range []string{"api:" + strconv.Itoa(apiPort), "worker:" + strconv.Itoa(workerPort)} {
		if !slices.Contains(targets, want) {
			t.Errorf("prometheus: scrapes %v, not %s", targets, want)
		}
	}

	gm := mounts(graf)
	if gm["/etc/grafana/provisioning"] != filepath.Join(root, "deploy/prometheus/grafana/provisioning") {
		t.Errorf("grafana: not provisioned from deploy/prometheus/grafana/provisioning (mounts %v)", gm)
	}
	var providers struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if b, err = os.ReadFile(filepath.Join(root, "deploy/prometheus/grafana/provisioning/dashboards/refundflow.yml")); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &providers); err != nil {
		t.Fatal(err)
	}
	if len(providers.Providers) != 1 || gm[providers.Providers[0].Options.Path] != filepath.Join(root, "deploy/prometheus/grafana/dashboards") {
		t.Errorf("grafana: the dashboard provider reads %+v, where deploy/prometheus/grafana/dashboards is not mounted (mounts %v)", providers.Providers, gm)
	}
	var sources struct {
		Datasources []struct {
			URL string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if b, err = os.ReadFile(filepath.Join(root, "deploy/prometheus/grafana/provisioning/datasources/prometheus.yml")); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &sources); err != nil {
		t.Fatal(err)
	}
	if len(sources.Datasources) != 1 || sources.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("grafana: data sources %+v, want the prometheus service", sources.Datasources)
	}
}
