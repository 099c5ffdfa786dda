using Tolerex.ServiceDefaults.Identity;

/// <summary>
/// The cluster as a deployment target gets it (publish mode): each node a container of the image
/// <c>dotnet publish -t:PublishContainer</c> builds, on fixed ports inside its container, its data on a volume of
/// its own, its identity (CA, certificate, key) from secret parameters. Nothing names a path of this machine.
/// </summary>
internal static class PublishedCluster
{
    public const string DataPath = "/data";
    public const int HaToKuSePort = 6666;
    public const int RespPort = 6380;
    public const int LeaderGrpcPort = 5555;
    public const int MemberGrpcPort = 5556;
    public const int LeaderMetricsPort = 9090;
    public const int MemberMetricsPort = 9092;

    public static void AddPublishedCluster(this IDistributedApplicationBuilder builder, ClusterSettings cluster, ClusterParameters parameters,
        IReadOnlyList<PeerIdentity> members, string imageTag)
    {
        var ca = builder.AddParameter("tls-ca", secret: true);
        var leaderIdentity = Identity(builder, PeerIdentity.Leader);
        var leaders = ClusterSettings.LeaderNames(cluster.Leaders).Select(name =>
            builder.AddContainer(name, "tolerex/leader", imageTag)
                .WithEndpoint(name: "hatokuse", port: HaToKuSePort, targetPort: HaToKuSePort, scheme: "tcp", isExternal: true)
                .WithEndpoint(name: "resp", port: RespPort, targetPort: RespPort, scheme: "tcp", isExternal: true)
                .WithEndpoint(name: "grpc", targetPort: LeaderGrpcPort, scheme: "https")
                .WithEndpoint("grpc", e => e.Transport = "http2")
                .WithHttpEndpoint(name: "metrics", targetPort: LeaderMetricsPort)
                .WithVolume($"{name}-data", DataPath)
                .WithEnvironment("Tolerex__Leader__Name", name)
                .WithEnvironment("Tolerex__Leader__DataDir", DataPath)
                .WithEnvironment("Tolerex__Leader__TcpListenAddress", "0.0.0.0") // clients come from other hosts
                .WithEnvironment("Tolerex__Leader__TcpPort", Text(HaToKuSePort))
                .WithEnvironment("Tolerex__Leader__RespPort", Text(RespPort))
                .WithEnvironment("Tolerex__Leader__GrpcPort", Text(LeaderGrpcPort))
                .WithEnvironment("Tolerex__Leader__MetricsPort", Text(LeaderMetricsPort))
                .WithEnvironment("Tolerex__Leader__Tolerance", parameters.Tolerance)
                .WithEnvironment("Tolerex__Leader__Balancer", parameters.Balancer)
                .WithEnvironment("Tolerex__Leader__Tls", parameters.ClientTls)
                .WithIdentity(ca, leaderIdentity)).ToList();

        // Each node finds itself in the peer list by its name (its service's host name).
        var peers = GrpcAddresses(leaders);
        if (cluster.Leaders > 1)
            leaders.ForEach(node => node.WithEnvironment("Tolerex__Leader__Peers", peers));

        List<IResourceBuilder<ContainerResource>> nodes = [.. leaders];
        foreach (var identity in members)
        {
            var member = builder.AddContainer(identity.Name, "tolerex/member", imageTag)
                .WithEndpoint(name: "grpc", targetPort: MemberGrpcPort, scheme: "https")
                .WithEndpoint("grpc", e => e.Transport = "http2")
                .WithHttpEndpoint(name: "metrics", targetPort: MemberMetricsPort)
                .WithVolume($"{identity.Name}-data", DataPath)
                .WithEnvironment("Tolerex__Member__Name", identity.Name)
                .WithEnvironment("Tolerex__Member__DataDir", DataPath)
                .WithEnvironment("Tolerex__Member__Port", Text(MemberGrpcPort))
                .WithEnvironment("Tolerex__Member__MetricsPort", Text(MemberMetricsPort))
                .WithEnvironment("Tolerex__Member__Io", parameters.Io)
                .WithEnvironment("Tolerex__Member__Leader", peers)
                .WithIdentity(ca, Identity(builder, identity));
            var grpc = member.GetEndpoint("grpc");
            // The address the leader dials: the member's service name, its port inside the container.
            member.WithEnvironment("Tolerex__Member__AdvertiseAddress",
                ReferenceExpression.Create($"https://{grpc.Property(EndpointProperty.Host)}:{grpc.Property(EndpointProperty.TargetPort)}"));
            nodes.Add(member);
        }

        foreach (var node in nodes)
        {
            node.WithOtlpExporter()
                .WithEnvironment("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
                .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", parameters.TraceSampling);
        }
    }

    private static string Text(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>host:port of every leader node's gRPC endpoint, comma-separated.</summary>
    private static ReferenceExpression GrpcAddresses(IEnumerable<IResourceBuilder<ContainerResource>> leaders)
    {
        var addresses = new ReferenceExpressionBuilder();
        foreach (var node in leaders)
        {
            if (!addresses.IsEmpty)
                addresses.AppendLiteral(",");
            var grpc = node.GetEndpoint("grpc");
            addresses.AppendFormatted(grpc.Property(EndpointProperty.Host));
            addresses.AppendLiteral(":");
            addresses.AppendFormatted(grpc.Property(EndpointProperty.TargetPort));
        }

        return addresses.Build();
    }

    private static (IResourceBuilder<ParameterResource> Certificate, IResourceBuilder<ParameterResource> Key) Identity(IDistributedApplicationBuilder builder, PeerIdentity identity) =>
        (builder.AddParameter($"{identity.Name}-tls-certificate", secret: true), builder.AddParameter($"{identity.Name}-tls-key", secret: true));

    /// <summary>The node's identity as PEM text in <c>Tolerex__Tls__*</c> (the nodes take PEM text as well as paths).</summary>
    private static IResourceBuilder<ContainerResource> WithIdentity(this IResourceBuilder<ContainerResource> node, IResourceBuilder<ParameterResource> ca,
        (IResourceBuilder<ParameterResource> Certificate, IResourceBuilder<ParameterResource> Key) identity) =>
        node.WithEnvironment("Tolerex__Tls__CaCertificate", ca)
            .WithEnvironment("Tolerex__Tls__Certificate", identity.Certificate)
            .WithEnvironment("Tolerex__Tls__Key", identity.Key);
}

/// <summary>The AppHost's parameters that reach the nodes, in run and publish mode alike.</summary>
internal sealed record ClusterParameters(IResourceBuilder<ParameterResource> Tolerance, IResourceBuilder<ParameterResource> Balancer,
    IResourceBuilder<ParameterResource> Io, IResourceBuilder<ParameterResource> ClientTls, IResourceBuilder<ParameterResource> TraceSampling);
