namespace Tolerex.Tests;

/// <summary>Where tests find the repository and the third-party tools some of them run.</summary>
internal static class TestEnvironment
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

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Tolerex.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Tolerex.sln) not found above " + AppContext.BaseDirectory);
    }
}
