// Command devserver is chant's local Temporal server for trials and tests:
// a whole Temporal cluster (frontend, history, matching, worker services)
// in one process, on SQLite, in the foreground until killed. Run it
// through scripts/temporal-dev-server, which builds it once.
//
// It is a module of its own so that the server stays out of chant's binary
// and out of the main module's dependencies: chant links only the Temporal
// SDK. The setup follows go.temporal.io/server/temporaltest's lite server
// (MIT licensed), which listens on a random port and cannot be imported.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-dev-server:", err)
		os.Exit(1)
	}
}

// options are the command line's.
type options struct {
	db, tlsCert, tlsKey, tlsClientCA string
	namespaces                       []string
	quiet                            bool
	host                             string
	port                             int
}

func run() error {
	o, err := parseArgs()
	if err != nil || o == nil {
		return err
	}
	level := "info"
	if o.quiet {
		level = "error"
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Stdout: true, Level: level}))
	sqlConfig, err := storeConfig(o.db)
	if err != nil {
		return err
	}
	cfg := serverConfig(o.host, o.port, sqlConfig)
	if err := o.applyTLS(cfg); err != nil {
		return err
	}
	registered, err := setUpStore(sqlConfig, o)
	if err != nil {
		return err
	}
	return serve(cfg, logger, net.JoinHostPort(o.host, strconv.Itoa(o.port)), registered)
}

// parseArgs reads the command line; nil options (and no error) after
// printing the usage asked for. A usage error exits with status 2.
func parseArgs() (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("temporal-dev-server", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: temporal-dev-server [--db FILE] [--namespace NS]... [--tls-cert F --tls-key F [--tls-client-ca F]] HOST:PORT\n\n"+
			"Runs a local Temporal server on HOST:PORT until killed. Without --db its\n"+
			"state is in memory and goes with the process.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.db, "db", "", "keep the server's state in this SQLite file (created if missing)")
	fs.Func("namespace", "register this namespace too (\"default\" always is)", func(s string) error {
		o.namespaces = append(o.namespaces, s)
		return nil
	})
	fs.BoolVar(&o.quiet, "quiet", false, "log only errors")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve TLS with this certificate `FILE` (PEM; it must name HOST)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the certificate's key `FILE` (PEM)")
	fs.StringVar(&o.tlsClientCA, "tls-client-ca", "", "require client certificates signed by this CA `FILE` (mutual TLS); the server's certificate must then be one too (its system workers present it)")
	// Usage goes to stdout when asked for, to stderr with an error.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fs.Usage()
			return nil, nil
		}
		fmt.Fprintln(os.Stderr, "temporal-dev-server:", err)
		fs.SetOutput(os.Stderr)
		fs.Usage()
		os.Exit(2)
	}
	if fs.NArg() != 1 {
		fs.SetOutput(os.Stderr)
		fs.Usage()
		os.Exit(2)
	}
	host, portText, err := net.SplitHostPort(fs.Arg(0))
	if err != nil {
		return nil, fmt.Errorf("%s: not HOST:PORT: %w", fs.Arg(0), err)
	}
	if o.port, err = strconv.Atoi(portText); err != nil || o.port <= 0 || o.port > 65535-4 {
		return nil, fmt.Errorf("%s: not a port number", portText)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	o.host = host
	if (o.tlsCert == "") != (o.tlsKey == "") || o.tlsClientCA != "" && o.tlsCert == "" {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together, and --tls-client-ca needs them")
	}
	return o, nil
}

// storeConfig is the SQLite store: in memory, or the file db.
func storeConfig(db string) (*config.SQL, error) {
	sqlConfig := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if db == "" {
		sqlConfig.ConnectAttributes["mode"] = "memory"
		sqlConfig.ConnectAttributes["cache"] = "shared"
		sqlConfig.DatabaseName = fmt.Sprintf("chant-dev-%d-%d", os.Getpid(), time.Now().UnixNano())
		return sqlConfig, nil
	}
	path, err := filepath.Abs(db)
	if err != nil {
		return nil, err
	}
	sqlConfig.ConnectAttributes["mode"] = "rwc"
	sqlConfig.DatabaseName = path
	return sqlConfig, nil
}

// serverConfig is the cluster of one: the frontend listens on host:port;
// the other services on the ports after it, their membership ports after
// those and the metrics on port+8, so that nothing is picked at random.
func serverConfig(host string, port int, sqlConfig *config.SQL) *config.Config {
	ports := func(i int) int { return port + i }
	service := func(i int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: ports(i), MembershipPort: ports(4 + i), BindOnIP: host}}
	}
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(host, strconv.Itoa(ports(8))), HandlerPath: "/metrics"}},
		},
		Persistence: config.Persistence{
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlConfig}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
			ClusterInformation: map[string]cluster.ClusterInformation{"active": {
				Enabled: true, InitialFailoverVersion: 1, RPCAddress: net.JoinHostPort(host, strconv.Itoa(port))}},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(0), "history": service(1), "matching": service(2), "worker": service(3),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		PublicClient: config.PublicClient{HostPort: net.JoinHostPort(host, strconv.Itoa(port))},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
	}
}

// applyTLS has the frontend serve TLS when asked.
func (o *options) applyTLS(cfg *config.Config) error {
	if o.tlsCert == "" {
		return nil
	}
	server := config.ServerTLS{CertFile: o.tlsCert, KeyFile: o.tlsKey}
	worker := config.WorkerTLS{Client: config.ClientTLS{ServerName: o.host, DisableHostVerification: true, ForceTLS: true}}
	if o.tlsClientCA != "" {
		server.ClientCAFiles, server.RequireClientAuth = []string{o.tlsClientCA}, true
		worker.CertFile, worker.KeyFile = o.tlsCert, o.tlsKey
	}
	// The cluster's own system workers reach the frontend in this
	// process: they skip checking its name.
	cfg.Global.TLS = config.RootTLS{Frontend: config.GroupTLS{Server: server}, SystemWorker: worker}
	return nil
}

// setUpStore makes the schema of a new store file and registers the
// namespaces ("default" and those asked for); it returns their names.
func setUpStore(sqlConfig *config.SQL, o *options) ([]string, error) {
	if o.db != "" {
		if _, err := os.Stat(sqlConfig.DatabaseName); os.IsNotExist(err) {
			if err := sqlite.SetupSchema(sqlConfig); err != nil {
				return nil, fmt.Errorf("set up the schema in %s: %w", o.db, err)
			}
		}
	}
	var nsConfigs []*sqlite.NamespaceConfig
	var registered []string
	seen := map[string]bool{}
	for _, ns := range append([]string{"default"}, o.namespaces...) {
		if ns = strings.TrimSpace(ns); ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		registered = append(registered, ns)
		c, err := sqlite.NewNamespaceConfig("active", ns, false, nil)
		if err != nil {
			return nil, err
		}
		nsConfigs = append(nsConfigs, c)
	}
	if err := sqlite.CreateNamespaces(sqlConfig, nsConfigs...); err != nil {
		return nil, fmt.Errorf("create namespaces: %w", err)
	}
	return registered, nil
}

// serve runs the server until SIGINT or SIGTERM.
func serve(cfg *config.Config, logger log.Logger, addr string, registered []string) error {
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return err
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return err
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		}),
	)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	fmt.Printf("temporal-dev-server: listening on %s (namespaces: %s)\n", addr, strings.Join(registered, ", "))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return srv.Stop()
}
