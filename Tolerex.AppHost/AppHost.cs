using Tolerex.ServiceDefaults.Identity;

var builder = DistributedApplication.CreateBuilder(args);
var cluster = ClusterSettings.From(builder.Configuration, builder.AppHostDirectory);

var tolerance = builder.AddParameter("tolerance", cluster.Tolerance.ToString(System.Globalization.CultureInfo.InvariantCulture));
var balancer = builder.AddParameter("balancer", cluster.Balancer);
var io = builder.AddParameter("io", cluster.Io);
var clientTls = builder.AddParameter("clientTls", cluster.ClientTls ? "true" : "false");
var traceSampling = builder.AddParameter("traceSampling", cluster.TraceSampling);
var members = Enumerable.Range(1, cluster.Members).Select(i => new PeerIdentity(NodeRole.Member, $"member{i}")).ToList();
var certificates = ClusterCertificates.Create(cluster.CertificateRoot, [PeerIdentity.Leader, .. members, new PeerIdentity(NodeRole.Client, "client")]);

// HaToKuSe on localhost:6666 (telnet/nc), gRPC (mutual TLS) for members, HTTP for health and metrics.
var leader = builder.AddProject<Projects.Tolerex_Leader>("leader")
    .WithEndpoint(name: "hatokuse", port: 6666, scheme: "tcp", env: "LEADER_TCP_PORT")
    .WithEndpoint(name: "grpc", scheme: "https", env: "LEADER_GRPC_PORT")
    .WithEndpoint("grpc", e => e.Transport = "http2")
    .WithHttpEndpoint(name: "metrics", env: "LEADER_METRICS_PORT")
    .WithHttpHealthCheck("/health", endpointName: "metrics")
    .WithArgs("--data-dir", Path.Combine(cluster.DataRoot, "leader"))
    .WithEnvironment("TOLERANCE", tolerance)
    .WithEnvironment("BALANCER_STRATEGY", balancer)
    .WithEnvironment("Tolerex__Leader__Tls", clientTls)
    .WithIdentity(certificates, PeerIdentity.Leader);

List<IResourceBuilder<ProjectResource>> nodes = [leader];
foreach (var identity in members)
{
    var name = identity.Name;
    // Members are not proxied: the address a member advertises is the one it listens on, and a killed
    // member's port refuses connections at once instead of a proxy accepting them.
    nodes.Add(builder.AddProject<Projects.Tolerex_Member>(name)
        .WithEndpoint(name: "grpc", scheme: "https", env: "MEMBER_GRPC_PORT", isProxied: false)
        .WithEndpoint("grpc", e => e.Transport = "http2")
        .WithHttpEndpoint(name: "metrics", env: "MEMBER_METRICS_PORT")
        .WithHttpHealthCheck("/health", endpointName: "metrics")
        .WithEnvironment("MEMBER_IO_MODE", io)
        .WithArgs("--data-dir", Path.Combine(cluster.DataRoot, name))
        .WithIdentity(certificates, identity)
        .WithReference(leader.GetEndpoint("grpc")));
}

// The share of SETs and GETs traced (the OpenTelemetry SDK's standard sampler variables); the decision made
// at the leader travels with each call, so a member traces exactly the requests the leader traced.
foreach (var node in nodes)
{
    node.WithEnvironment("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", traceSampling);
}

// Prometheus scraping every node's /metrics, when the binary is installed (apt-get install prometheus).
builder.AddPrometheusIfInstalled(cluster.DataRoot, nodes);

builder.Build().Run();
