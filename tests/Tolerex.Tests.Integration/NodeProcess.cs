using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tolerex.Tests.Integration;

/// <summary>A leader or member started as a real OS process from its build output, for standalone-launch tests.</summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NodeProcess(Process process) => _process = process;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>SIGSTOP (true) or SIGCONT (false): a stopped process keeps its connections open but never answers.</summary>
    public void Freeze(bool stop)
    {
        using var kill = Process.Start("kill", [stop ? "-STOP" : "-CONT", $"{_process.Id}"])!;
        kill.WaitForExit();
    }

    /// <summary>Peak resident memory of the process so far (Linux VmHWM), in bytes.</summary>
    public long PeakResidentBytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public static NodeProcess Start(string project, IEnumerable<string> args, IDictionary<string, string> environment, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        info.ArgumentList.Add(AssemblyPath(project));
        foreach (var a in args)
            info.ArgumentList.Add(a);
        // Keep the child independent of whatever Aspire/OTLP settings the test host has.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("services__", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (k, v) in environment)
            info.Environment[k] = v;

        var process = new Process { StartInfo = info };
        var node = new NodeProcess(process);
        process.OutputDataReceived += (_, e) => node.Append(e.Data);
        process.ErrorDataReceived += (_, e) => node.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public Task WaitForOutputAsync(string text, TimeSpan timeout) =>
        Eventually.HoldsAsync(() => Task.FromResult(Output.Contains(text, StringComparison.Ordinal)), timeout, $"output '{text}'; so far:\n{Output}");

    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>A port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The project's build output, in the same configuration as this test assembly.</summary>
    private static string AssemblyPath(string project)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory); // …/Tolerex.Tests/bin/<Configuration>/<tfm>/
        var tfm = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var path = Path.Combine(TestEnvironment.RepositoryRoot, project, "bin", configuration, tfm, project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the solution first", path);
    }
}
