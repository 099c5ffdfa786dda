using System.Diagnostics;
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

    /// <summary>
    /// Starts <paramref name="project"/>'s build output with a scrubbed environment (nothing of the developer's
    /// shell), <paramref name="environment"/> on top, and the development CA in <paramref name="caDirectory"/>:
    /// each test brings its own, so no test touches the shared one in the home directory. In
    /// <paramref name="networkNamespace"/>, when given (<c>ip netns exec</c> replaces itself with the node, so the
    /// process is the node's).
    /// </summary>
    public static NodeProcess Start(string project, IEnumerable<string> args, IDictionary<string, string> environment, string caDirectory,
        string? workingDirectory = null, string? networkNamespace = null)
    {
        var info = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        if (networkNamespace is not null)
        {
            foreach (var a in (string[])["netns", "exec", networkNamespace, "dotnet"])
                info.ArgumentList.Add(a);
        }

        info.ArgumentList.Add(AssemblyPath(project));
        foreach (var a in args)
            info.ArgumentList.Add(a);
        TestEnvironment.Scrub(info.Environment);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        info.Environment["Tolerex__Tls__DevCaDirectory"] = caDirectory;
        // Leaders started side by side cannot all have RESP's default port; a test that speaks RESP sets one.
        info.Environment["Tolerex__Leader__RespPort"] = "0";
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

    /// <summary>A port for a node to listen on (see <see cref="TestPorts"/>).</summary>
    public static int FreePort() => TestPorts.Next();

    /// <summary>The project's build output, in the same configuration as this test assembly.</summary>
    internal static string AssemblyPath(string project)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory); // …/Tolerex.Tests/bin/<Configuration>/<tfm>/
        var tfm = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var path = Path.Combine(TestEnvironment.RepositoryRoot, project, "bin", configuration, tfm, project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the solution first", path);
    }
}
