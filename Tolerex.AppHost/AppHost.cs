using Tolerex.ServiceDefaults.Identity;

var builder = DistributedApplication.CreateBuilder(args);
var cluster = ClusterSettings.From(builder.Configuration, builder.AppHostDirectory);

var parameters = new ClusterParameters(
    builder.AddParameter("tolerance", cluster.Tolerance.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    builder.AddParameter("balancer", cluster.Balancer),
    builder.AddParameter("io", cluster.Io),
    builder.AddParameter("clientTls", cluster.ClientTls ? "true" : "false"),
    builder.AddParameter("traceSampling", cluster.TraceSampling));
var members = Enumerable.Range(1, cluster.Members).Select(i => new PeerIdentity(NodeRole.Member, $"member{i}")).ToList();

// Publishing (a manifest for a deployment target): containers, volumes and secret parameters, no local path.
if (builder.ExecutionContext.IsPublishMode)
{
    builder.AddPublishedCluster(cluster, parameters, members, imageTag: "latest");
    builder.Build().Run();
    return;
}

var certificates = ClusterCertificates.Create(cluster.CertificateRoot, [PeerIdentity.Leader, .. members, new PeerIdentity(NodeRole.Client, "client")]);

// HaToKuSe on localhost:6666 (telnet/nc), RESP on 6380 (redis-cli), gRPC (mutual TLS) for members and the other leader nodes, HTTP for
// health and metrics. A group of 3 or 5 (parameter leaders) is leader1… on 6666, 6667… (RESP 6380, 6381…): any node serves clients.
var leaders = ClusterSettings.LeaderNames(cluster.Leaders).Select((name, i) =>
    builder.AddProject<Projects.Tolerex_Leader>(name)
        .WithEndpoint(name: "hatokuse", port: 6666 + i, scheme: "tcp", env: "Tolerex__Leader__TcpPort")
        .WithEndpoint(name: "resp", port: 6380 + i, scheme: "tcp", env: "Tolerex__Leader__RespPort")
        // Not proxied: each node finds itself in the peer list by the port it listens on.
        .WithEndpoint(name: "grpc", scheme: "https", env: "Tolerex__Leader__GrpcPort", isProxied: false)
        .WithEndpoint("grpc", e => e.Transport = "http2")
        .WithHttpEndpoint(name: "metrics", env: "Tolerex__Leader__MetricsPort")
        .WithHttpHealthCheck("/health", endpointName: "metrics")
        .WithEnvironment("Tolerex__Leader__Name", name)
        .WithEnvironment("Tolerex__Leader__DataDir", Path.Combine(cluster.DataRoot, name))
        .WithEnvironment("Tolerex__Leader__Tolerance", parameters.Tolerance)
        .WithEnvironment("Tolerex__Leader__Balancer", parameters.Balancer)
        .WithEnvironment("Tolerex__Leader__Tls", parameters.ClientTls)
        .WithIdentity(certificates, PeerIdentity.Leader)).ToList();

// Every leader node's gRPC address: the group's peers, and where members look for the current leader.
var peers = new ReferenceExpressionBuilder();
foreach (var node in leaders)
{
    if (!peers.IsEmpty)
        peers.AppendLiteral(",");
    peers.AppendFormatted(node.GetEndpoint("grpc").Property(EndpointProperty.HostAndPort));
}

var leaderAddresses = peers.Build();
if (cluster.Leaders > 1)
    leaders.ForEach(node => node.WithEnvironment("Tolerex__Leader__Peers", leaderAddresses));

List<IResourceBuilder<ProjectResource>> nodes = [.. leaders];
foreach (var identity in members)
{
    // Members are not proxied: the address a member advertises is the one it listens on, and a killed
    // member's port refuses connections at once instead of a proxy accepting them.
    nodes.Add(builder.AddProject<Projects.Tolerex_Member>(identity.Name)
        .WithEndpoint(name: "grpc", scheme: "https", env: "Tolerex__Member__Port", isProxied: false)
        .WithEndpoint("grpc", e => e.Transport = "http2")
        .WithHttpEndpoint(name: "metrics", env: "Tolerex__Member__MetricsPort")
        .WithHttpHealthCheck("/health", endpointName: "metrics")
        .WithEnvironment("Tolerex__Member__Name", identity.Name)
        .WithEnvironment("Tolerex__Member__Io", parameters.Io)
        .WithEnvironment("Tolerex__Member__DataDir", Path.Combine(cluster.DataRoot, identity.Name))
        .WithEnvironment("Tolerex__Member__Leader", leaderAddresses)
        .WithIdentity(certificates, identity));
}

// The share of SETs and GETs traced (the OpenTelemetry SDK's standard sampler variables); the decision made
// at the leader travels with each call, so a member traces exactly the requests the leader traced.
foreach (var node in nodes)
{
    node.WithEnvironment("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", parameters.TraceSampling);
}

// Prometheus scraping every node's /metrics, when the binary is installed (apt-get install prometheus).
builder.AddPrometheusIfInstalled(cluster.DataRoot, nodes);

builder.Build().Run();
