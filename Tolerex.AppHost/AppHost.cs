var builder = DistributedApplication.CreateBuilder(args);
var cluster = ClusterSettings.From(builder.Configuration, builder.AppHostDirectory);

var tolerance = builder.AddParameter("tolerance", cluster.Tolerance.ToString(System.Globalization.CultureInfo.InvariantCulture));
var balancer = builder.AddParameter("balancer", cluster.Balancer);
var io = builder.AddParameter("io", cluster.Io);

// HaToKuSe on localhost:6666 (telnet/nc), gRPC for members, HTTP for health (and later metrics).
var leader = builder.AddProject<Projects.Tolerex_Leader>("leader")
    .WithEndpoint(name: "hatokuse", port: 6666, scheme: "tcp", env: "LEADER_TCP_PORT")
    .WithEndpoint(name: "grpc", scheme: "http", env: "LEADER_GRPC_PORT")
    .WithEndpoint("grpc", e => e.Transport = "http2")
    .WithHttpEndpoint(name: "metrics", env: "LEADER_METRICS_PORT")
    .WithHttpHealthCheck("/health", endpointName: "metrics")
    .WithArgs("--data-dir", Path.Combine(cluster.DataRoot, "leader"))
    .WithEnvironment("TOLERANCE", tolerance)
    .WithEnvironment("BALANCER_STRATEGY", balancer);

for (var i = 1; i <= cluster.Members; i++)
{
    var name = $"member{i}";
    // Members are not proxied: the address a member advertises is the one it listens on, and a killed
    // member's port refuses connections at once instead of a proxy accepting them.
    builder.AddProject<Projects.Tolerex_Member>(name)
        .WithEndpoint(name: "grpc", scheme: "http", env: "MEMBER_GRPC_PORT", isProxied: false)
        .WithEndpoint("grpc", e => e.Transport = "http2")
        .WithHttpEndpoint(name: "metrics", env: "MEMBER_METRICS_PORT")
        .WithHttpHealthCheck("/health", endpointName: "metrics")
        .WithEnvironment("MEMBER_IO_MODE", io)
        .WithArgs("--data-dir", Path.Combine(cluster.DataRoot, name))
        .WithReference(leader.GetEndpoint("grpc"));
}

builder.Build().Run();
