using System.Buffers;
using System.Diagnostics;
using Tolerex.Client.Connections;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Session;

/// <summary>What a probe sends: the same kind of work as the load it accompanies, on the prober's own id.</summary>
internal enum ProbeKind { Ping, Set, Get }

/// <summary>
/// <c>--measure</c>: a second connection that issues its own probe commands — a SET of the load's payload size
/// on the client's reserved id (<see cref="SessionOptions.Offset"/>), a GET of it, or a PING — and times them.
/// It measures what another client sees while the load runs; it never re-sends the load's commands, so no
/// load command runs twice.
/// </summary>
internal sealed class Prober : IAsyncDisposable
{
    private readonly LeaderConnection _leader;
    private readonly SessionOptions _options;
    private readonly CsvLog? _csv;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ArrayBufferWriter<byte> _command = new();

    private Prober(LeaderConnection leader, SessionOptions options, CsvLog? csv)
    {
        _leader = leader;
        _options = options;
        _csv = csv;
    }

    /// <summary>Successful probes (guarded by the gate).</summary>
    public LatencySamples Samples { get; } = new();

    public long Errors { get; private set; }

    public static async Task<Prober?> OpenAsync(IReadOnlyList<(string Host, int Port)> endpoints, SessionOptions options, CsvLog? csv, TextWriter log,
        CancellationToken cancellationToken)
    {
        var leader = await LeaderConnection.ConnectAsync(endpoints, options.Password, options.Tls, log, options.ReconnectFor, cancellationToken);
        return leader is null ? null : new Prober(leader, options, csv);
    }

    /// <summary>One probe; its round trip in microseconds, or null when it failed (counted in <see cref="Errors"/>).</summary>
    public async Task<double?> SampleAsync(ProbeKind kind, long payloadSize, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _command.ResetWrittenCount();
            switch (kind)
            {
                case ProbeKind.Set:
                    HaToKuSeWriter.Write(_command, "SET "u8);
                    HaToKuSeWriter.WriteNumber(_command, _options.Offset);
                    HaToKuSeWriter.Write(_command, " "u8);
                    _command.GetSpan((int)payloadSize)[..(int)payloadSize].Fill((byte)'p');
                    _command.Advance((int)payloadSize);
                    HaToKuSeWriter.Write(_command, HaToKuSeText.NewLine);
                    break;
                case ProbeKind.Get:
                    HaToKuSeWriter.WriteGet(_command, _options.Offset);
                    break;
                default:
                    HaToKuSeWriter.Write(_command, "PING\r\n"u8);
                    break;
            }

            var started = Stopwatch.GetTimestamp();
            bool ok;
            try
            {
                await _leader.Line.SendAsync(_command.WrittenMemory, cancellationToken);
                ok = IsExpected(kind, _leader.Line.Line(await _leader.Line.ReadLineAsync(cancellationToken)));
            }
            catch (IOException)
            {
                ok = false;
                await _leader.ReconnectAsync(cancellationToken);
            }

            var ticks = Stopwatch.GetTimestamp() - started;
            var us = LatencySamples.ToUs(ticks);
            _csv?.Row("PROBE_" + kind.ToString().ToUpperInvariant(), 1, _command.WrittenCount, us, _options.Mode, ok, kind == ProbeKind.Set ? payloadSize : 0);
            if (!ok)
            {
                Errors++;
                return null;
            }

            Samples.Add(ticks);
            return us;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The reply a probe must get; anything else (an ERROR, or a line meant for another probe) is a failure.</summary>
    private static bool IsExpected(ProbeKind kind, ReadOnlySpan<byte> reply) => kind switch
    {
        ProbeKind.Set => reply.SequenceEqual("OK"u8),
        // The probe id holds only what SET probes wrote ('p' × size), or nothing yet.
        ProbeKind.Get => reply.SequenceEqual("NOT_FOUND"u8) || !reply.ContainsAnyExcept((byte)'p'),
        _ => reply.SequenceEqual("PONG"u8),
    };

    /// <summary>Probes every <see cref="SessionOptions.ProbeInterval"/> until the returned handle is disposed.</summary>
    public IAsyncDisposable RunWhile(ProbeKind kind, long payloadSize, CancellationToken cancellationToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var loop = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    // A probe in flight is never cancelled (only the session's own token stops it): an abandoned
                    // read would leave its reply queued, and the next probe would time that stale line.
                    await SampleAsync(kind, payloadSize, cancellationToken);
                    await Task.Delay(_options.ProbeInterval, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);
        return new Loop(stop, loop);
    }

    public ValueTask DisposeAsync() => _leader.DisposeAsync();

    private sealed class Loop(CancellationTokenSource stop, Task loop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await loop;
            stop.Dispose();
        }
    }
}
