using System.Diagnostics;

namespace Tolerex.Testing;

/// <summary>Where tests find the repository and the third-party tools some of them run.</summary>
public static class TestEnvironment
{
    /// <summary>The folder holding Tolerex.sln, found upwards from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>A tool on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>A tool a test needs: skips the test when it is missing on a developer machine, fails it in CI
    /// (where <c>.ci/run</c> installs the tool, so a missing one is a broken CI).</summary>
    public static string RequireTool(string package, params string[] names)
    {
        var found = names.Select(FindOnPath).FirstOrDefault(p => p is not null);
        Assert.SkipWhen(found is null && Environment.GetEnvironmentVariable("CI") is null, $"{names[0]} is not installed (apt-get install {package})");
        Assert.True(found is not null, $"{names[0]} must be on PATH in CI");
        return found;
    }

    /// <summary>The dotnet host running these tests (so child processes use the same SDK).</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    /// <summary>A built program beside the test assembly (tolerex.dll, Tolerex.Leader.dll, …).</summary>
    public static string Beside(string file) => Path.Combine(AppContext.BaseDirectory, file);

    /// <summary>
    /// Runs a process to completion within <paramref name="deadline"/> (or kills it and fails the test), feeding
    /// it <paramref name="stdin"/>; both output pipes are drained while waiting, so a chatty child cannot block.
    /// </summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, TimeSpan deadline,
        string? stdin = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        Scrub(start.Environment);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(deadline);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), timeout.Token);
                process.StandardInput.Close();
            }

            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout, await stderr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(file)} did not exit within {deadline.TotalSeconds} s");
            throw;
        }
    }

    /// <summary>
    /// Removes what a developer's shell may hold that would change how a started node or client behaves: Tolerex
    /// settings, the original program's names, Aspire and OpenTelemetry variables. Tests set what they need.
    /// </summary>
    public static void Scrub(IDictionary<string, string?> environment)
    {
        string[] prefixes = ["Tolerex__", "TOLEREX_", "TOLERANCE", "BALANCER_", "LEADER_", "MEMBER_", "OTEL_", "services__", "ASPNETCORE_", "DOTNET_ENVIRONMENT", "Logging__"];
        foreach (var key in environment.Keys.Where(k => prefixes.Any(p => k.StartsWith(p, StringComparison.OrdinalIgnoreCase))).ToList())
            environment.Remove(key);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Tolerex.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Tolerex.sln) not found above " + AppContext.BaseDirectory);
    }
}
