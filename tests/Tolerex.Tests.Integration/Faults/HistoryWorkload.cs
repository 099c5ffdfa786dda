using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Tolerex.Testing.History;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>
/// Concurrent clients running random SET/GET/DEL over a small id space, each SET writing a value no other
/// write uses, recording what every operation saw: when it was invoked, when it completed, and its outcome.
/// An <c>ERROR</c> or a connection lost before the answer makes the outcome unknown (the write may or may not
/// have happened). Clients reconnect whenever their connection goes away, as a real client would;
/// <c>connect</c> opens client <c>c</c>'s connection (attempt <c>a</c>), so a test chooses which node or proxy
/// each client reaches.
/// </summary>
internal sealed class HistoryWorkload(Func<int, int, Task<HaToKuSeConnection>> connect, int clients, int ids, int seed)
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromMilliseconds(50);
    private readonly ConcurrentQueue<Operation> _history = new();
    private long _operations;

    public IReadOnlyCollection<Operation> History => _history;

    /// <summary>Against one leader: every other client passes the client proxy, so client-side faults hit some of them.</summary>
    public static HistoryWorkload Of(ProcessCluster cluster, int clients, int ids, int seed) =>
        new((client, _) => client % 2 == 0 && cluster.ClientProxy is not null ? cluster.ConnectViaProxyAsync() : cluster.ConnectAsync(), clients, ids, seed);

    /// <summary>Operations completed or given up so far.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    /// <summary>Runs until <paramref name="stop"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c, new Random(seed * 1000 + c), stop))));

    private async Task ClientAsync(int client, Random random, CancellationToken stop)
    {
        var sequence = 0;
        for (var attempt = 0; !stop.IsCancellationRequested; attempt++)
        {
            HaToKuSeConnection connection;
            try
            {
                connection = await connect(client, attempt);
            }
            catch (Exception e) when (IsConnectionFailure(e))
            {
                await Task.Delay(100, CancellationToken.None); // the node is down: retry, as a client would
                continue;
            }

            await using (connection)
            {
                while (!stop.IsCancellationRequested)
                {
                    var id = random.Next(ids);
                    var roll = random.Next(100);
                    var kind = roll < 45 ? OperationKind.Set : roll < 90 ? OperationKind.Get : OperationKind.Delete;
                    var value = kind == OperationKind.Set ? $"c{client}-{++sequence}" : null;
                    var line = kind switch
                    {
                        OperationKind.Set => $"SET {id} {value}",
                        OperationKind.Get => $"GET {id}",
                        _ => $"DEL {id}",
                    };
                    var invoked = Stopwatch.GetTimestamp();
                    string reply;
                    try
                    {
                        await connection.SendAsync(line + "\r\n");
                        reply = await connection.ReadLineAsync(ReplyTimeout);
                    }
                    catch (Exception e) when (IsConnectionFailure(e))
                    {
                        Record(new Operation(client, id, kind, value, invoked, null));
                        break; // reconnect
                    }

                    var completed = Stopwatch.GetTimestamp();
                    Record(Outcome(client, id, kind, value, reply, invoked, completed));
                    if (reply.StartsWith("ERROR", StringComparison.Ordinal))
                        await Task.Delay(ErrorBackoff, CancellationToken.None); // as a client would, rather than spin on a refusing leader
                }
            }
        }
    }

    private void Record(Operation operation)
    {
        _history.Enqueue(operation);
        Interlocked.Increment(ref _operations);
    }

    private static Operation Outcome(int client, long id, OperationKind kind, string? value, string reply, long invoked, long completed)
    {
        if (reply.StartsWith("ERROR", StringComparison.Ordinal))
            return new Operation(client, id, kind, value, invoked, null);
        return kind switch
        {
            OperationKind.Set => reply == "OK" ? new Operation(client, id, kind, value, invoked, completed) : throw Unexpected(reply, kind),
            OperationKind.Get => new Operation(client, id, kind, reply == "NOT_FOUND" ? null : reply, invoked, completed),
            _ => reply is "OK" or "NOT_FOUND" ? new Operation(client, id, kind, null, invoked, completed, Deleted: reply == "OK") : throw Unexpected(reply, kind),
        };
    }

    private static InvalidOperationException Unexpected(string reply, OperationKind kind) => new($"unexpected reply to {kind}: '{reply}'");

    private static bool IsConnectionFailure(Exception e) =>
        e is IOException or SocketException or EndOfStreamException or TimeoutException or OperationCanceledException or ObjectDisposedException;
}
