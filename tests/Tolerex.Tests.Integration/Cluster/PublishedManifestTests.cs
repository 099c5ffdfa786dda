using System.Text.Json.Nodes;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The AppHost's published manifest (<c>--publisher manifest</c>, the real AppHost as a process), as a deployment target reads it.</summary>
public sealed class PublishedManifestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-manifest-").FullName;

    private async Task<JsonObject> PublishAsync(params string[] args)
    {
        var path = Path.Combine(_dir, $"manifest-{Guid.NewGuid():N}.json");
        var (exit, stdout, stderr) = await TestEnvironment.RunAsync(TestEnvironment.DotnetHost,
            [NodeProcess.AssemblyPath("Tolerex.AppHost"), "--publisher", "manifest", "--output-path", path, .. args], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"publishing failed ({exit}): {stdout}{stderr}");
        return Assert.IsType<JsonObject>(JsonNode.Parse(await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken)))["resources"]!.AsObject();
    }

    [Theory(Timeout = 180_000)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task The_manifest_names_no_path_of_this_machine_and_gives_every_node_its_own_volume_and_identity(int leaders)
    {
        var resources = await PublishAsync($"--Parameters:leaders={leaders}");

        // Nothing that only exists here: no project or executable resource (their paths are this checkout's), no
        // bind mount, and no string that is an absolute path other than the containers' data directory.
        Assert.All(resources, r => Assert.Contains(r.Value!["type"]!.GetValue<string>(), (string[])["container.v0", "parameter.v0"]));
        var strings = Strings(resources).ToList();
        Assert.DoesNotContain(strings, s => s.StartsWith('/') && s != "/data");
        Assert.DoesNotContain(strings, s => s.Contains(TestEnvironment.RepositoryRoot, StringComparison.Ordinal) || s.Contains(Path.GetTempPath().TrimEnd('/'), StringComparison.Ordinal));
        Assert.All(resources, r => Assert.Null(r.Value!["bindMounts"]));

        var nodes = resources.Where(r => r.Value!["type"]!.GetValue<string>() == "container.v0").ToDictionary(r => r.Key, r => r.Value!.AsObject());
        var leaderNames = leaders == 1 ? ["leader"] : Enumerable.Range(1, leaders).Select(i => $"leader{i}").ToArray();
        Assert.Equal([.. leaderNames, "member1", "member2", "member3"], nodes.Keys.Order());

        // Every node: its own data volume at /data, and its identity from secret parameters.
        var volumes = nodes.Select(n => Assert.Single(n.Value["volumes"]!.AsArray())!).ToList();
        Assert.All(volumes, v => Assert.Equal("/data", v["target"]!.GetValue<string>()));
        Assert.Equal(nodes.Count, volumes.Select(v => v["name"]!.GetValue<string>()).Distinct().Count());
        foreach (var (name, node) in nodes)
        {
            var env = node["env"]!.AsObject();
            var identity = name.StartsWith("leader", StringComparison.Ordinal) ? "leader" : name;
            Assert.Equal("{tls-ca.value}", env["Tolerex__Tls__CaCertificate"]!.GetValue<string>());
            Assert.Equal($"{{{identity}-tls-certificate.value}}", env["Tolerex__Tls__Certificate"]!.GetValue<string>());
            Assert.Equal($"{{{identity}-tls-key.value}}", env["Tolerex__Tls__Key"]!.GetValue<string>());
            foreach (var parameter in (string[])["tls-ca", $"{identity}-tls-certificate", $"{identity}-tls-key"])
                Assert.True(resources[parameter]!["inputs"]!["value"]!["secret"]!.GetValue<bool>(), $"{parameter} is a secret parameter");
            Assert.Equal("/data", env[name.StartsWith("leader", StringComparison.Ordinal) ? "Tolerex__Leader__DataDir" : "Tolerex__Member__DataDir"]!.GetValue<string>());
        }

        // Clients reach every leader node on 6666; members and the group find the leaders by their bindings.
        var peers = string.Join(',', leaderNames.Select(n => $"{{{n}.bindings.grpc.host}}:{{{n}.bindings.grpc.targetPort}}"));
        foreach (var name in leaderNames)
        {
            var hatokuse = nodes[name]["bindings"]!["hatokuse"]!;
            Assert.Equal(6666, hatokuse["targetPort"]!.GetValue<int>());
            Assert.True(hatokuse["external"]!.GetValue<bool>());
            Assert.Equal(leaders == 1 ? null : peers, nodes[name]["env"]!["Tolerex__Leader__Peers"]?.GetValue<string>());
        }

        foreach (var member in (string[])["member1", "member2", "member3"])
        {
            var env = nodes[member]["env"]!;
            Assert.Equal(peers, env["Tolerex__Member__Leader"]!.GetValue<string>());
            Assert.Equal($"https://{{{member}.bindings.grpc.host}}:{{{member}.bindings.grpc.targetPort}}", env["Tolerex__Member__AdvertiseAddress"]!.GetValue<string>());
        }
    }

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => Strings(p.Value)),
        JsonArray a => a.SelectMany(Strings),
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        _ => [],
    };

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
