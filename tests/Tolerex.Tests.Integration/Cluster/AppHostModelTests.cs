using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The AppHost's application model, built but not started.</summary>
public sealed class AppHostModelTests : IDisposable
{
    private readonly string _dataRoot = Directory.CreateTempSubdirectory("tolerex-model-").FullName;

    private async Task<IDistributedApplicationTestingBuilder> BuilderAsync(params string[] args) =>
        await DistributedApplicationTestingBuilder.CreateAsync<Projects.Tolerex_AppHost>(
            [$"--Tolerex:DataRoot={_dataRoot}", $"--Tolerex:CertificateRoot={Path.Combine(_dataRoot, "certs")}", .. args],
            TestContext.Current.CancellationToken);

    /// <summary>A node's environment as a manifest would show it (publish mode: endpoints and parameters stay
    /// expressions, so nothing has to be allocated or started).</summary>
    private static async Task<Dictionary<string, string>> EnvironmentOf(IDistributedApplicationTestingBuilder builder, string resource)
    {
        var configuration = await ExecutionConfigurationBuilder.Create(builder.Resources.Single(r => r.Name == resource))
            .WithEnvironmentVariablesConfig()
            .BuildAsync(new(DistributedApplicationOperation.Publish), NullLogger.Instance, TestContext.Current.CancellationToken);
        return configuration.EnvironmentVariables.ToDictionary();
    }

    private static async Task<string?> ParameterValue(IDistributedApplicationTestingBuilder builder, string name) =>
        await builder.Resources.OfType<ParameterResource>().Single(p => p.Name == name).GetValueAsync(TestContext.Current.CancellationToken);

    [Fact(Timeout = 180_000)]
    public async Task Every_node_traces_the_configured_share_of_requests_and_all_of_them_by_default()
    {
        var sampled = await BuilderAsync("--Parameters:traceSampling=0.05");
        foreach (var node in new[] { "leader", "member1", "member3" })
        {
            var environment = await EnvironmentOf(sampled, node);
            Assert.Equal("parentbased_traceidratio", environment["OTEL_TRACES_SAMPLER"]);
            Assert.Equal("{traceSampling.value}", environment["OTEL_TRACES_SAMPLER_ARG"]);
        }

        Assert.Equal("0.05", await ParameterValue(sampled, "traceSampling"));
        Assert.Equal("1", await ParameterValue(await BuilderAsync(), "traceSampling"));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_sampling_share_outside_0_to_1_stops_the_apphost_with_a_clear_message()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => BuilderAsync("--Parameters:traceSampling=2"));
        Assert.Contains("Parameter 'traceSampling' must be a number from 0 to 1 (got '2')", error.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task Nodes_are_configured_through_tolerex_settings_only()
    {
        var builder = await BuilderAsync();
        foreach (var node in new[] { "leader", "member1", "member2", "member3" })
        {
            // Every setting is a Tolerex__ name (OpenTelemetry's own variables aside), and nothing goes through arguments.
            var environment = await EnvironmentOf(builder, node);
            Assert.All(environment.Keys.Where(k => !k.StartsWith("OTEL_", StringComparison.Ordinal)),
                k => Assert.StartsWith("Tolerex__", k, StringComparison.Ordinal));
            Assert.Contains(node == "leader" ? "Tolerex__Leader__DataDir" : "Tolerex__Member__DataDir", environment.Keys);
            Assert.Contains("Tolerex__Tls__Certificate", environment.Keys);
            var resource = builder.Resources.Single(r => r.Name == node);
            Assert.False(resource.TryGetAnnotationsOfType<CommandLineArgsCallbackAnnotation>(out _), $"{node} gets command-line arguments");
        }

        var member = await EnvironmentOf(builder, "member2");
        Assert.Equal(("member2", "{leader.bindings.grpc.host}:{leader.bindings.grpc.port}"), (member["Tolerex__Member__Name"], member["Tolerex__Member__Leader"]));
        // One leader node: no group to configure.
        Assert.DoesNotContain("Tolerex__Leader__Peers", (await EnvironmentOf(builder, "leader")).Keys);
    }

    [Fact(Timeout = 180_000)]
    public async Task Three_leaders_form_a_group_every_node_and_member_knows_and_each_serves_clients_on_its_own_port()
    {
        var builder = await BuilderAsync("--Parameters:leaders=3");
        const string peers = "{leader1.bindings.grpc.host}:{leader1.bindings.grpc.port},{leader2.bindings.grpc.host}:{leader2.bindings.grpc.port},"
            + "{leader3.bindings.grpc.host}:{leader3.bindings.grpc.port}";
        Assert.DoesNotContain(builder.Resources, r => r.Name == "leader");
        for (var i = 1; i <= 3; i++)
        {
            var name = $"leader{i}";
            var environment = await EnvironmentOf(builder, name);
            Assert.Equal(peers, environment["Tolerex__Leader__Peers"]);
            Assert.Equal(name, environment["Tolerex__Leader__Name"]);
            Assert.EndsWith(name, environment["Tolerex__Leader__DataDir"], StringComparison.Ordinal);
            var endpoints = builder.Resources.Single(r => r.Name == name).Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name);
            Assert.Equal(6665 + i, endpoints["hatokuse"].Port);
            Assert.False(endpoints["grpc"].IsProxied, "a node finds itself in the peer list by the port it listens on");
        }

        Assert.Equal(peers, (await EnvironmentOf(builder, "member1"))["Tolerex__Member__Leader"]);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("2")]
    [InlineData("0")]
    public async Task A_leader_group_of_other_than_1_3_or_5_nodes_stops_the_apphost_with_a_clear_message(string leaders)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => BuilderAsync($"--Parameters:leaders={leaders}"));
        Assert.Contains($"Parameter 'leaders' must be one of 1, 3, 5 (got '{leaders}')", error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dataRoot, recursive: true);
}
